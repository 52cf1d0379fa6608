"""``open_store``: one string names any store, so ``--db`` takes a path or a PostgreSQL URL.

A command-line tool or a settings file holds one value for "where the data lives".
A ``postgresql://`` (or ``postgres://``) URL opens a ``PostgresStore``; anything else
is a path to an SQLite file. PostgreSQL support is an optional extra, imported only
when a URL asks for it.
"""

from __future__ import annotations

from typing import Final

from ..errors import StoreError
from ..protocols import Store
from .sqlite import SQLiteStore

__all__ = ["open_store"]

#: URL schemes that name a PostgreSQL database (libpq accepts both spellings).
POSTGRES_SCHEMES: Final = ("postgresql://", "postgres://")


def open_store(db: str, *, read_only: bool = False, connect_timeout: float = 10.0) -> Store:
    """Open the store ``db`` names: a PostgreSQL URL or an SQLite file path.

    ``read_only`` opens an existing store for reading (nothing is created or
    migrated; a database without the recoverykit marker is ``ForeignDatabase``).
    ``connect_timeout`` bounds how long an unreachable PostgreSQL server is waited for.

    >>> store = open_store(":memory:")
    >>> type(store).__name__
    'SQLiteStore'
    >>> store.close()
    """
    if db.lower().startswith(POSTGRES_SCHEMES):
        try:
            from .postgres import PostgresStore  # noqa: PLC0415 - optional extra
        except ImportError as exc:
            where = db.rsplit("@", maxsplit=1)[-1]
            msg = (
                f"Cannot open {where!r}: PostgreSQL support is not installed "
                f"({exc.name or 'psycopg'} is missing); install it with "
                "pip install 'recoverykit[postgres]'"
            )
            raise StoreError(msg) from exc
        return PostgresStore(db, read_only=read_only, connect_timeout=connect_timeout)
    return SQLiteStore(db, read_only=read_only)

"""Stores that keep recoveries, consent, contact history, the outbox and the event log.

``MemoryStore`` lives in memory (tests, examples); ``SQLiteStore`` is the embedded
default for production on one machine; ``PostgresStore`` (the ``postgres`` extra)
serves many workers on one database. All implement ``recoverykit.protocols.Store``
and pass ``recoverykit.testing.store_contract.StoreContract``. ``open_store(db)``
opens a file path or a ``postgresql://`` URL. ``recoverykit.stores.codec`` is the
JSON every bundled store writes, for a store of your own.

Each name loads on first use, so ``MemoryStore`` never imports ``sqlite3`` and
``PostgresStore`` needs psycopg only when it is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .._lazy import exports

if TYPE_CHECKING:
    from ._open import open_store
    from .memory import MemoryStore
    from .postgres import PostgresStore
    from .sqlite import SQLiteStore

#: Submodule -> the names this package exports from it.
_EXPORTS: Final = {
    "_open": ("open_store",),
    "memory": ("MemoryStore",),
    "postgres": ("PostgresStore",),
    "sqlite": ("SQLiteStore",),
}

__all__ = ["MemoryStore", "PostgresStore", "SQLiteStore", "open_store"]

# Hidden from type checkers, which see the TYPE_CHECKING imports and flag any other name.
if not TYPE_CHECKING:
    __getattr__, __dir__ = exports(__name__, _EXPORTS)

"""``open_store`` picks the store from the string it is given."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from recoverykit.errors import StoreError
from recoverykit.stores import SQLiteStore, open_store
from recoverykit.stores.postgres import MIGRATIONS, PostgresStore


def test_a_path_opens_an_sqlite_file(tmp_path: Path) -> None:
    """Anything that is not a PostgreSQL URL is an SQLite path."""
    store = open_store(str(tmp_path / "shop.db"))
    try:
        assert SQLiteStore is type(store)
        assert (tmp_path / "shop.db").exists()
    finally:
        store.close()


def test_a_postgres_url_opens_a_postgres_store(pg_conninfo: str) -> None:
    """A postgresql:// URL opens a PostgresStore on that database."""
    store = open_store(pg_conninfo)
    try:
        assert isinstance(store, PostgresStore)
        assert len(MIGRATIONS) == store.schema_version
    finally:
        store.close()


def test_a_missing_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without psycopg, a PostgreSQL URL says which extra to install, password hidden."""
    monkeypatch.setitem(sys.modules, "recoverykit.stores.postgres", None)
    with pytest.raises(StoreError, match=r"recoverykit\[postgres\]") as caught:
        open_store("postgres://app:secret@db.example/shop")
    assert "secret" not in str(caught.value)

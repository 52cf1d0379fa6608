"""The provider-id index behind Transaction.sent_message, on an SQLite file made by an
earlier release (schema version 1): opening it adds the index and keeps every row."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from recoverykit.protocols import OutboxStatus
from recoverykit.stores import SQLiteStore
from recoverykit.stores import sqlite as sqlite_module
from recoverykit.testing.store_contract import T0, outbox_entry
from recoverykit.values.model import Channel


def _indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    conn.close()
    return {name for (name,) in rows}


def test_a_version_1_file_gains_the_index_and_finds_old_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file at schema version 1, with a message sent before the upgrade, opens at the
    latest version with the index, and the old message is found by its provider id."""
    path = tmp_path / "old.db"
    with monkeypatch.context() as patch:
        patch.setattr(sqlite_module, "MIGRATIONS", sqlite_module.MIGRATIONS[:1])
        with SQLiteStore(path) as old:
            assert old.schema_version == 1
            with old.transaction() as tx:
                tx.add_outbox(outbox_entry("k1"))
            old.mark_outbox("k1", OutboxStatus.SENT, at=T0, provider_id="SM-before-upgrade")
    assert "outbox_provider" not in _indexes(path)
    with SQLiteStore(path) as store:
        assert store.schema_version == len(sqlite_module.MIGRATIONS)
        with store.transaction() as tx:
            found = tx.sent_message(Channel.SMS, "SM-before-upgrade")
    assert found is not None
    assert found.key == "k1"
    assert "outbox_provider" in _indexes(path)


def test_the_lookup_uses_the_index(tmp_path: Path) -> None:
    """sent_message is answered from the provider-id index, not a scan of the outbox."""
    with SQLiteStore(tmp_path / "r.db") as store:
        plan = store._conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM outbox WHERE provider_id = ?"
            " AND json_extract(message, '$.channel') = ? ORDER BY created_at DESC LIMIT 1",
            ("SM1", "sms"),
        ).fetchall()
    assert any("USING INDEX outbox_provider" in row[3] for row in plan)

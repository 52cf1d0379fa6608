"""SQLiteStore: the Store contract, plus what a database file adds (schema, WAL, processes)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import cast

import pytest

from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.errors import StoreError
from recoverykit.protocols import Claimed, Store
from recoverykit.runtime.runner import Runner
from recoverykit.stores import SQLiteStore
from recoverykit.stores import sqlite as sqlite_module
from recoverykit.testing.fakes import FakeClock
from recoverykit.testing.store_contract import (
    HOUR,
    LEASE,
    T0,
    StoreContract,
    active,
    grant,
)


class TestSQLiteStoreOnFile(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return SQLiteStore(tmp_path / "recoveries.db")


class TestSQLiteStoreInMemory(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return SQLiteStore(":memory:")


def _pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


def test_a_file_runs_in_wal_mode_with_normal_sync(tmp_path: Path) -> None:
    """The file is switched to WAL and the store's connection syncs at NORMAL (SEAMS 6)."""
    path = tmp_path / "r.db"
    store = SQLiteStore(path)
    try:
        assert _pragma(path, "journal_mode") == "wal"
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 1
    finally:
        store.close()


def test_a_new_file_gets_the_latest_schema(tmp_path: Path) -> None:
    """Opening a new file applies every migration and records the version."""
    store = SQLiteStore(tmp_path / "r.db")
    try:
        assert len(sqlite_module.MIGRATIONS) == store.schema_version
    finally:
        store.close()


def test_data_survives_closing_and_reopening(tmp_path: Path) -> None:
    """What one store object committed is there when the file is opened again."""
    path = tmp_path / "r.db"
    with SQLiteStore(path) as store, store.transaction() as tx:
        tx.save(active("chk-1"), expected_version=None)
        tx.append_consent(grant("cus-1", T0))
    with SQLiteStore(path) as store, store.transaction() as tx:
        assert Claimed(active("chk-1"), 1) == tx.load("chk-1")
        assert (grant("cus-1", T0),) == tx.ledger("cus-1").events


def test_a_new_migration_is_applied_once_and_keeps_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A migration added by a later release runs when an older file is opened, once."""
    path = tmp_path / "r.db"
    with SQLiteStore(path) as store, store.transaction() as tx:
        tx.save(active("chk-1"), expected_version=None)
    extra = "CREATE TABLE notes_extra (id INTEGER PRIMARY KEY, body TEXT);"
    monkeypatch.setattr(sqlite_module, "MIGRATIONS", (*sqlite_module.MIGRATIONS, extra))
    with SQLiteStore(path) as store:
        assert len(sqlite_module.MIGRATIONS) == store.schema_version
        with store.transaction() as tx:
            assert tx.load("chk-1") is not None
    with SQLiteStore(path) as store:  # a second open finds nothing left to do
        assert len(sqlite_module.MIGRATIONS) == store.schema_version


def test_a_file_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    """A schema version above what this release knows raises StoreError naming both."""
    path = tmp_path / "r.db"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    conn.close()
    known = len(sqlite_module.MIGRATIONS)
    with pytest.raises(StoreError, match=f"schema version 99.*up to {known}"):
        SQLiteStore(path)


def test_consent_rows_cannot_be_rewritten(tmp_path: Path) -> None:
    """The consent table itself refuses UPDATE and DELETE: the ledger is append-only."""
    path = tmp_path / "r.db"
    with SQLiteStore(path) as store, store.transaction() as tx:
        tx.append_consent(grant("cus-1", T0))
    conn = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM consent")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE consent SET customer_id = 'x'")
    finally:
        conn.close()


def test_claims_use_the_due_index(tmp_path: Path) -> None:
    """The claim query is answered from the due-time index, not a table scan."""
    with SQLiteStore(tmp_path / "r.db") as store:
        plan = store._conn.execute(
            "EXPLAIN QUERY PLAN SELECT checkout_id FROM recoveries"
            " WHERE due IS NOT NULL AND due <= 0 AND (lease_until IS NULL OR lease_until <= 0)"
            " ORDER BY due LIMIT 10"
        ).fetchall()
    assert any("recoveries_due" in str(row[-1]) for row in plan)


def test_two_store_objects_share_one_file(tmp_path: Path) -> None:
    """A second connection sees what the first committed, and a claim made by one is
    respected by the other."""
    path = tmp_path / "r.db"
    with SQLiteStore(path) as first, SQLiteStore(path) as second:
        with first.transaction() as tx:
            tx.save(active("chk-1"), expected_version=None)
            tx.save(active("chk-2", wakeup_at=T0 + HOUR), expected_version=None)
        assert second.next_due() == T0
        assert [
            c.state.checkout_id for c in first.claim_due(T0, limit=5, lease=LEASE, worker="a")
        ] == ["chk-1"]
        assert second.claim_due(T0, limit=5, lease=LEASE, worker="b") == []


def test_a_writer_waits_then_reports_a_held_lock(tmp_path: Path) -> None:
    """While one connection holds a write transaction, another gives up after its busy
    timeout with a StoreError that says what to do."""
    path = tmp_path / "r.db"
    with SQLiteStore(path) as holder, SQLiteStore(path, busy_timeout=0.05) as waiter:
        with holder.transaction() as tx:
            tx.save(active("chk-1"), expected_version=None)
            started = time.perf_counter()
            with pytest.raises(StoreError, match="busy_timeout"):
                waiter.claim_due(T0, limit=5, lease=LEASE, worker="b")
            assert time.perf_counter() - started >= 0.04
        assert len(waiter.claim_due(T0, limit=5, lease=LEASE, worker="b")) == 1


_WORKER = """
import json, sys, time
from datetime import UTC, datetime, timedelta
from recoverykit.stores import SQLiteStore

import os
path, worker, go = sys.argv[1], sys.argv[2], sys.argv[3]
store = SQLiteStore(path)
print("ready", flush=True)
deadline = time.time() + 60
while not os.path.exists(go) and time.time() < deadline:
    time.sleep(0.001)
now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
claimed = []
while batch := store.claim_due(now, limit=10, lease=timedelta(minutes=5), worker=worker):
    claimed += [item.state.checkout_id for item in batch]
store.close()
print(json.dumps(claimed))
"""


def test_two_processes_never_claim_the_same_recovery(tmp_path: Path) -> None:
    """Two worker processes claiming from one file at the same time never both get a
    recovery within its lease, and between them claim every due one."""
    path = tmp_path / "r.db"
    total = 3_000
    with SQLiteStore(path) as store, store.transaction() as tx:
        for index in range(total):
            tx.save(active(f"chk-{index:05d}"), expected_version=None)
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(path), name, str(go)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in ("w1", "w2")
    ]
    # Both have opened the store before either claims: a slow start on a loaded
    # machine cannot leave one worker all the work.
    for worker in workers:
        assert worker.stdout is not None
        assert "ready" == worker.stdout.readline().strip()
    go.touch()
    results = []
    for worker in workers:
        out, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0
        results.append(json.loads(out))
    everything = [name for claimed in results for name in claimed]
    assert total == len(everything)
    assert total == len(set(everything))
    assert all(claimed for claimed in results), "both workers should have claimed some"


def test_erased_and_purged_data_leaves_the_file(tmp_path: Path) -> None:
    """With secure_delete, the bytes of an erased customer and of purged messages are
    overwritten: neither the name, the number nor the text is found in the file."""
    from datetime import timedelta

    from recoverykit.policies.caps import ContactRecord
    from recoverykit.protocols import LogRecord, OutboxEntry, OutboxStatus
    from recoverykit.testing.store_contract import finished, message
    from recoverykit.values.model import Channel, Customer

    path = tmp_path / "r.db"
    store = SQLiteStore(path)
    try:
        marker = "Zebulonia"
        with store.transaction() as tx:
            for index in range(200):
                customer_id = f"cus-{index}"
                tx.save_customer(Customer(id=customer_id, first_name=marker, phone="+48601234567"))
                tx.save(finished(f"chk-{index}", customer_id, at=T0), expected_version=None)
                tx.add_contact(customer_id, ContactRecord(T0, Channel.SMS, f"chk-{index}"))
                sent = message(f"k-{index}", f"chk-{index}", customer_id)
                tx.add_outbox(OutboxEntry(f"k-{index}", sent, T0))
                tx.log(LogRecord(T0, "send", f"chk-{index}", customer_id, {"text": marker * 3}))
        for index in range(200):
            store.mark_outbox(f"k-{index}", OutboxStatus.SENT, at=T0)
        assert store.erase_customer("cus-0") > 0
        while store.purge(T0 + timedelta(days=1), limit=500):
            pass
        store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    wal = tmp_path / "r.db-wal"
    raw = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert marker.encode() not in raw
    assert b"601234567" not in raw
    assert b"your cart is waiting" not in raw


def test_checkpoints_are_explicit_with_a_high_safety_net(tmp_path: Path) -> None:
    """SQLite's own checkpoint threshold is raised (it would run inside a tick's commit);
    checkpoint() copies the whole log into the file and says nothing is left."""
    store = SQLiteStore(tmp_path / "r.db")
    try:
        assert (
            store._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
            == sqlite_module.WAL_AUTOCHECKPOINT
        )
        with store.transaction() as tx:
            for number in range(50):
                tx.save(active(f"chk-{number}"), expected_version=None)
        assert store.checkpoint() == 0
        with sqlite3.connect(tmp_path / "r.db") as raw:
            busy, in_log, copied = raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert (busy, in_log) == (0, copied)
    finally:
        store.close()


class _CountingCheckpoints:
    """A store that counts its checkpoints (everything else is the SQLite store's)."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self.checkpoints = 0

    def checkpoint(self) -> int:
        self.checkpoints += 1
        return self.store.checkpoint()

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


def test_the_runner_checkpoints_between_ticks_work_not_inside_it(tmp_path: Path) -> None:
    """run_due checkpoints when it finds nothing due, or finished all that was due, and
    not after a full batch (more is waiting: the log goes out when the work is done)."""
    store = _CountingCheckpoints(SQLiteStore(tmp_path / "r.db"))
    clock = FakeClock(T0)
    runner = Runner(RecoveryPolicy(store_name="Shop"), cast(Store, store), {}, clock)
    try:
        runner.run_due()
        assert store.checkpoints == 1
        with store.store.transaction() as tx:
            for number in range(3):
                tx.save(active(f"chk-{number}", f"cus-{number}"), expected_version=None)
        runner.run_due(limit=2)
        assert store.checkpoints == 1
        runner.run_due(limit=2)
        assert store.checkpoints == 2
    finally:
        runner.close()

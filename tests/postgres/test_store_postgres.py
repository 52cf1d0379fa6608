"""The Store contract and the PostgreSQL-specific promises, on a real server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from recoverykit.errors import ConflictError, StoreError
from recoverykit.protocols import Store
from recoverykit.stores.postgres import MIGRATIONS, PostgresStore
from recoverykit.testing.store_contract import LEASE, T0, StoreContract, active, grant

from .conftest import fresh_schema, make_store


class TestPostgresStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _server(self, pg_conninfo: str) -> None:
        self.conninfo = pg_conninfo

    def make_store(self, tmp_path: Path) -> Store:
        return make_store(self.conninfo)


def test_a_new_schema_is_migrated_to_the_latest_version(pg_conninfo: str) -> None:
    """Opening an empty schema applies every migration and records the version."""
    with make_store(pg_conninfo) as store:
        assert len(MIGRATIONS) == store.schema_version


def test_reopening_keeps_the_data_and_the_version(pg_conninfo: str) -> None:
    """A second store on the same schema migrates nothing and sees what the first wrote."""
    schema = fresh_schema()
    with PostgresStore(pg_conninfo, schema=schema) as first, first.transaction() as tx:
        tx.save(active("chk-1"), expected_version=None)
    with PostgresStore(pg_conninfo, schema=schema) as second:
        assert len(MIGRATIONS) == second.schema_version
        assert ["chk-1"] == [state.checkout_id for state in second.states()]


def test_a_newer_schema_is_refused(pg_conninfo: str) -> None:
    """A schema written by a later release is refused with StoreError, not misread."""
    schema = fresh_schema()
    with PostgresStore(pg_conninfo, schema=schema) as store, store._pool.connection() as conn:
        conn.execute("UPDATE schema_version SET version = version + 1")
    with pytest.raises(StoreError, match="upgrade recoverykit"):
        PostgresStore(pg_conninfo, schema=schema)


def test_consent_rows_cannot_be_rewritten(pg_conninfo: str) -> None:
    """The consent table refuses updates and deletes even from raw SQL."""
    import psycopg

    with make_store(pg_conninfo) as store:
        with store.transaction() as tx:
            tx.append_consent(grant("cus-1", T0))
        with store._pool.connection() as conn, pytest.raises(psycopg.Error, match="append-only"):
            conn.execute("DELETE FROM consent")


def test_an_unreachable_server_raises_store_error() -> None:
    """A server that does not answer gives StoreError naming the (redacted) target."""
    with pytest.raises(StoreError, match=r"'postgresql://u:\*\*\*@127\.0\.0\.1:1/db'"):
        PostgresStore("postgresql://u:secret@127.0.0.1:1/db", timeout=1.0)


def test_a_bad_schema_name_is_refused(pg_conninfo: str) -> None:
    """Schema names are checked before they reach SQL."""
    with pytest.raises(StoreError, match="Invalid schema name"):
        PostgresStore(pg_conninfo, schema="x; DROP TABLE log")


def test_a_lock_held_by_another_transaction_makes_the_claim_skip_it(pg_conninfo: str) -> None:
    """A recovery whose row another transaction holds is skipped, not waited for."""
    with make_store(pg_conninfo) as store:
        with store.transaction() as tx:
            tx.save(active("chk-1"), expected_version=None)
            tx.save(active("chk-2", wakeup_at=T0 + timedelta(minutes=1)), expected_version=None)
        with store._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT 1 FROM recoveries WHERE checkout_id = 'chk-1' FOR UPDATE")
            got = store.claim_due(T0 + LEASE, limit=10, lease=LEASE, worker="w1")
        assert ["chk-2"] == [claimed.state.checkout_id for claimed in got]


def test_a_broken_transaction_reports_a_conflict_at_its_end(pg_conninfo: str) -> None:
    """After a database error inside a transaction, further calls and the commit raise
    instead of silently keeping half of the work."""
    with make_store(pg_conninfo) as store:
        failures: list[str] = []
        with pytest.raises(StoreError, match="PostgreSQL failed"):  # noqa: PT012, SIM117
            with store.transaction() as tx:
                tx.save(active("chk-1"), expected_version=None)
                bad = (lambda: tx._execute("SELECT nope FROM recoveries"), lambda: tx.load("x"))
                for attempt in bad:
                    try:
                        attempt()
                    except StoreError as exc:
                        failures.append(type(exc).__name__)
        assert ["StoreError", "StoreError"] == failures
        with store.transaction() as tx:
            assert tx.load("chk-1") is None


def test_saving_an_existing_recovery_does_not_break_the_transaction(pg_conninfo: str) -> None:
    """An insert conflict is a ConflictError the caller may catch and carry on after."""
    with make_store(pg_conninfo) as store:
        with store.transaction() as tx:
            tx.save(active("chk-1"), expected_version=None)
        with store.transaction() as tx:
            with pytest.raises(ConflictError):
                tx.save(active("chk-1"), expected_version=None)
            tx.save(active("chk-2"), expected_version=None)
        assert ["chk-1", "chk-2"] == [state.checkout_id for state in store.states()]

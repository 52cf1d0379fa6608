"""The provider-id index behind Transaction.sent_message on a PostgreSQL schema made by an
earlier release (version 1): opening it adds the index and keeps every row."""

from __future__ import annotations

import pytest

from recoverykit.protocols import OutboxStatus
from recoverykit.stores import postgres as postgres_module
from recoverykit.stores.postgres import PostgresStore
from recoverykit.testing.store_contract import T0, outbox_entry
from recoverykit.values.model import Channel

from .conftest import fresh_schema


def test_a_version_1_schema_gains_the_index_and_finds_old_messages(
    pg_conninfo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A schema at version 1 with a message sent before the upgrade opens at the latest
    version, with the index, and the old message is found by its provider id."""
    schema = fresh_schema()
    with monkeypatch.context() as patch:
        patch.setattr(postgres_module, "MIGRATIONS", postgres_module.MIGRATIONS[:1])
        with PostgresStore(pg_conninfo, schema=schema) as old:
            assert old.schema_version == 1
            with old.transaction() as tx:
                tx.add_outbox(outbox_entry("k1"))
            old.mark_outbox("k1", OutboxStatus.SENT, at=T0, provider_id="SM-before-upgrade")
    with PostgresStore(pg_conninfo, schema=schema) as store:
        assert store.schema_version == len(postgres_module.MIGRATIONS)
        with store.transaction() as tx:
            found = tx.sent_message(Channel.SMS, "SM-before-upgrade")
        with store._pool.connection() as conn:
            row = conn.execute(
                "SELECT 1 FROM pg_indexes WHERE schemaname = %s AND indexname = 'outbox_provider'",
                (schema,),
            ).fetchone()
    assert found is not None
    assert found.key == "k1"
    assert row is not None

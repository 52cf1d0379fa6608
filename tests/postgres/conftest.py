"""Finds the PostgreSQL server the tests in this folder run against.

``RECOVERYKIT_TEST_PG`` holds its conninfo (``make test`` starts a throw-away server
with ``scripts/pg-test-server.sh`` and sets it). Without it these tests are skipped
with the reason, except when ``CI`` is set: there a missing server is a failure, so a
CI run can never pass without having exercised the PostgreSQL store.

Each store gets its own schema, dropped when the session ends.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Final

import pytest

psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")

from recoverykit.stores.postgres import PostgresStore  # noqa: E402

ENV: Final = "RECOVERYKIT_TEST_PG"
_SCHEMAS: Final[list[str]] = []


def _conninfo() -> str:
    conninfo = os.environ.get(ENV, "")
    if conninfo:
        return conninfo
    reason = (
        f"{ENV} is not set: start a server with scripts/pg-test-server.sh DIR and export "
        f"{ENV}=<the conninfo it prints>"
    )
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so the PostgreSQL tests must run, but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_conninfo() -> Iterator[str]:
    """The test server's conninfo; drops every schema the tests made once they end."""
    conninfo = _conninfo()
    yield conninfo
    if _SCHEMAS:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            for schema in _SCHEMAS:
                conn.execute(
                    psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                        psycopg.sql.Identifier(schema)
                    )
                )


def fresh_schema() -> str:
    """A new schema name, remembered so the session can drop it."""
    name = f"rk_test_{uuid.uuid4().hex[:16]}"
    _SCHEMAS.append(name)
    return name


def make_store(conninfo: str, *, max_size: int = 4) -> PostgresStore:
    """A new, empty store in a schema of its own."""
    return PostgresStore(conninfo, schema=fresh_schema(), max_size=max_size)

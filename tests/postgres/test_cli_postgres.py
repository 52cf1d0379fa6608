"""`--db postgresql://…` works for simulate, report and explain as a file path does."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from recoverykit.runtime.cli import main

DEMO = Path(__file__).parents[2] / "examples" / "demo" / "scenario.json"


@pytest.fixture
def database_url(pg_conninfo: str) -> Iterator[str]:
    """A new, empty database on the test server, dropped afterwards."""
    name = f"rk_cli_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = pg_conninfo.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(pg_conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def run(*argv: str) -> tuple[int, str]:
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        code = main(list(argv))
    return code, buffer.getvalue()


def test_simulate_report_and_explain_on_postgres(database_url: str) -> None:
    """The demo runs into PostgreSQL, and report and explain read it back from the URL."""
    code, _ = run("simulate", str(DEMO), "--db", database_url, "--format", "jsonl")
    assert 0 == code
    code, text = run("report", "--db", database_url, "--format", "json")
    assert 0 == code
    totals = json.loads(text)["totals"]
    assert totals["checkouts"] >= 10
    assert totals["sends"] > 0
    code, text = run("explain", "pl-1001", "--db", database_url)
    assert 0 == code
    assert "pl-1001" in text

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

DEMO = Path(__file__).parents[2] / "examples" / "demo" / "tiny.json"


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
    assert totals["checkouts"] == 6
    assert totals["sends"] > 0
    code, text = run("explain", "f-2", "--db", database_url)
    assert 0 == code
    assert "f-2" in text


def test_report_refuses_a_database_without_a_store_and_creates_nothing(database_url: str) -> None:
    """report opens read-only: an empty database is bad input (2) and gets no tables."""
    code, _ = run("report", "--db", database_url)
    assert 2 == code
    with psycopg.connect(database_url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
    assert tables is not None
    assert 0 == tables[0]


def test_simulate_leaves_a_foreign_customers_table_alone(database_url: str) -> None:
    """A database whose customers table another application owns is refused, untouched."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE customers (id text PRIMARY KEY, email text)")
        conn.execute("INSERT INTO customers VALUES ('u1', 'ann@example.com')")
    code, _ = run("simulate", str(DEMO), "--db", database_url, "--format", "jsonl")
    assert 2 == code
    with psycopg.connect(database_url) as conn:
        names = {row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}  # fmt: skip
        rows = conn.execute("SELECT * FROM customers").fetchall()
    assert {"customers"} == names
    assert [("u1", "ann@example.com")] == rows


def test_a_second_simulate_into_the_same_database_needs_append(database_url: str) -> None:
    """Runs never merge silently: the second simulate is refused until --append says so."""
    assert 0 == run("simulate", str(DEMO), "--db", database_url, "--format", "jsonl")[0]
    assert 2 == run("simulate", str(DEMO), "--db", database_url, "--format", "jsonl")[0]
    code, _ = run("simulate", str(DEMO), "--db", database_url, "--format", "jsonl", "--append")
    assert 0 == code

"""The command line never shows a traceback and never touches a database it does not own.

Each case below is one of the failures issue 19 found by hand: it must end in one
clear message and the documented exit status (2 bad input, 3 store unavailable,
1 only for lint findings), with the foreign file left byte for byte as it was.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from recoverykit.runtime.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_STORE, main
from recoverykit.stores.sqlite import APPLICATION_ID, SQLiteStore

from .test_cli import SCENARIO, write


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def no_traceback(err: str) -> None:
    assert "Traceback" not in err
    assert err.count("\n") <= 3, err


def django_file(tmp_path: Path, *, with_customers: bool = False) -> Path:
    """A small stand-in for a Django ``db.sqlite3``: someone else's tables, rollback journal."""
    path = tmp_path / "db.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE django_migrations (id INTEGER PRIMARY KEY, app TEXT, name TEXT)")
    conn.execute("INSERT INTO django_migrations (app, name) VALUES ('auth', '0001_initial')")
    if with_customers:
        conn.execute("CREATE TABLE customers (id TEXT PRIMARY KEY, email TEXT)")
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize("command", ["report", "explain"])
@pytest.mark.parametrize("with_customers", [False, True])
def test_report_and_explain_leave_a_foreign_sqlite_file_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, with_customers: bool
) -> None:
    """A Django database is refused (exit 2): no table added, the journal mode unchanged."""
    path = django_file(tmp_path, with_customers=with_customers)
    before = fingerprint(path)
    argv = (
        ["report", "--db", str(path)]
        if command == "report"
        else ["explain", "k1", "--db", str(path)]
    )
    code, _, err = run(argv, capsys)
    assert code == EXIT_BAD_INPUT
    assert "not a recoverykit store" in err
    no_traceback(err)
    assert fingerprint(path) == before
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()


def test_simulate_refuses_a_foreign_file_and_an_existing_store_without_append(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """simulate --db: a foreign file is refused; a second run needs --append, then adds."""
    scenario = write(tmp_path, "s.json", SCENARIO)
    foreign = django_file(tmp_path)
    before = fingerprint(foreign)
    code, _, err = run(["simulate", str(scenario), "--db", str(foreign)], capsys)
    assert code == EXIT_BAD_INPUT
    assert "--append" in err
    code, _, err = run(["simulate", str(scenario), "--db", str(foreign), "--append"], capsys)
    assert code == EXIT_BAD_INPUT
    assert "not a recoverykit store" in err
    assert fingerprint(foreign) == before

    store = tmp_path / "run.db"
    assert run(["simulate", str(scenario), "--db", str(store)], capsys)[0] == EXIT_OK
    code, _, err = run(["simulate", str(scenario), "--db", str(store)], capsys)
    assert code == EXIT_BAD_INPUT
    assert "pass --append" in err
    assert run(["simulate", str(scenario), "--db", str(store), "--append"], capsys)[0] == EXIT_OK
    code, _, err = run(["simulate", str(tmp_path / "new.db"), "--db", str(tmp_path / "x.db"),
                        "--append"], capsys)  # fmt: skip
    assert code == EXIT_BAD_INPUT


def test_a_store_carries_the_schema_marker_and_report_reads_it_read_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file simulate made carries application_id 'RKIT'; report leaves it byte for byte."""
    scenario = write(tmp_path, "s.json", SCENARIO)
    store = tmp_path / "run.db"
    assert run(["simulate", str(scenario), "--db", str(store)], capsys)[0] == EXIT_OK
    conn = sqlite3.connect(store)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = fingerprint(store)
    assert run(["report", "--db", str(store)], capsys)[0] == EXIT_OK
    assert run(["explain", "k1", "--db", str(store)], capsys)[0] == EXIT_OK
    assert fingerprint(store) == before


def test_a_store_written_before_the_marker_is_still_recognised(tmp_path: Path) -> None:
    """Files from earlier releases (recoverykit tables, no application id) open and get it."""
    path = tmp_path / "old.db"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 0")
    conn.commit()
    conn.close()
    SQLiteStore(path, read_only=True).close()
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    conn.close()


@pytest.mark.parametrize(
    ("make", "expected", "fragment"),
    [
        (lambda d: d / "x.json", EXIT_BAD_INPUT, "not an SQLite database"),
        (lambda d: d, EXIT_BAD_INPUT, "is a directory"),
        (lambda d: d / "missing" / "x.db", EXIT_BAD_INPUT, "no database at"),
    ],
    ids=["json-file", "directory", "missing-dir"],
)
@pytest.mark.parametrize("command", ["report", "explain"])
def test_a_db_that_is_no_store_is_bad_input(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Any,
    expected: int,
    fragment: str,
    command: str,
) -> None:
    """--db naming a JSON file, a directory or a missing path: exit 2, one line, no traceback."""
    (tmp_path / "x.json").write_text('{"a": 1}', "utf-8")
    db = str(make(tmp_path))
    argv = ["report", "--db", db] if command == "report" else ["explain", "k1", "--db", db]
    code, _, err = run(argv, capsys)
    assert code == expected
    assert fragment in err
    no_traceback(err)
    assert (tmp_path / "x.json").read_text("utf-8") == '{"a": 1}'


@pytest.mark.parametrize(
    ("db", "fragment"),
    [("{dir}", "is a directory"), ("/nonexistent/dir/x.db", "does not exist"),
     ("{dir}/x.json", "already exists")],
)  # fmt: skip
def test_simulate_db_paths_it_cannot_create_are_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], db: str, fragment: str
) -> None:
    """simulate --db at a directory, under a missing directory, or over a file: exit 2."""
    scenario = write(tmp_path, "s.json", SCENARIO)
    (tmp_path / "x.json").write_text("{}", "utf-8")
    code, _, err = run(["simulate", str(scenario), "--db", db.format(dir=tmp_path)], capsys)
    assert code == EXIT_BAD_INPUT
    assert fragment in err
    no_traceback(err)


def test_an_unreachable_postgres_url_is_store_unavailable_quickly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A PostgreSQL URL nobody answers: exit 3 with one message, well under the old 31 s."""
    pytest.importorskip("psycopg")
    import time

    started = time.monotonic()
    code, _, err = run(["report", "--db", "postgresql://rk:secret@127.0.0.1:9/none"], capsys)
    assert code == EXIT_STORE
    assert time.monotonic() - started < 10
    assert err.count("Could not connect") == 1
    assert "secret" not in err
    no_traceback(err)


def test_a_deeply_nested_scenario_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scenario nested 100 000 levels deep (RecursionError before): exit 2, one problem."""
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, "utf-8")
    code, _, err = run(["simulate", str(path)], capsys)
    assert code == EXIT_BAD_INPUT
    assert "nested too deeply" in err
    no_traceback(err)


def test_a_utf8_bom_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file saved with a byte order mark (as some Windows editors do) reads normally."""
    path = tmp_path / "s.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(SCENARIO).encode())
    code, _, err = run(["simulate", str(path), "--format", "jsonl"], capsys)
    assert code == EXIT_OK, err


def test_a_date_without_a_zone_gets_advice_about_text_not_python(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--until 2026-03-12T00:00 names the option and says to add an offset such as Z."""
    path = write(tmp_path, "s.json", SCENARIO)
    code, _, err = run(["simulate", str(path), "--until", "2026-03-12T00:00"], capsys)
    assert code == EXIT_BAD_INPUT
    assert "--until" in err
    assert "'2026-03-12T00:00Z'" in err
    assert "tzinfo" not in err


def test_a_huge_exponent_amount_never_shows_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An amount of 1e400 (decimal.InvalidOperation before): exit 2 or a run, never a crash."""
    data = json.loads(json.dumps(SCENARIO))
    data["checkouts"][0]["total"]["amount"] = "1e400"
    data["checkouts"][0]["items"][0]["unit_price"]["amount"] = "1e400"
    path = write(tmp_path, "s.json", data)
    code, _, err = run(["simulate", str(path)], capsys)
    assert code in (EXIT_OK, EXIT_BAD_INPUT)
    no_traceback(err)
    assert "<class" not in err


def test_prices_with_jsonl_is_refused_not_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--prices only shapes the text report; with --format jsonl it is bad input, not silence."""
    path = write(tmp_path, "s.json", SCENARIO)
    prices = Path(__file__).parents[2] / "examples" / "demo" / "prices.json"
    argv = ["simulate", str(path), "--format", "jsonl", "--prices", str(prices)]
    code, out, err = run(argv, capsys)
    assert code == EXIT_BAD_INPUT
    assert "recoverykit report" in err
    assert out == ""


def test_lint_default_lints_the_built_in_pack(capsys: pytest.CaptureFixture[str]) -> None:
    """The docs call the built-in pack "default": lint accepts that name."""
    code, out, err = run(["lint", "default"], capsys)
    assert code == EXIT_OK, err
    assert "default: 0 error(s)" in out


def test_a_broken_pipe_stops_quietly() -> None:
    """simulate | head: the reader leaves early; no BrokenPipe message, exit 0."""
    demo = Path(__file__).parents[2] / "examples" / "demo" / "tiny.json"
    script = (
        "import sys; from recoverykit.runtime.cli import main; "
        f"sys.exit(main(['simulate', {str(demo)!r}, '--verbose']))"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout is not None
        process.stdout.readline()
        process.stdout.close()
        err = process.stderr.read().decode() if process.stderr else ""
        code = process.wait(timeout=60)
    assert code == EXIT_OK
    assert "Broken" not in err
    assert "Traceback" not in err

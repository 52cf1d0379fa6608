"""The ``recoverykit`` command line: exit codes, output shapes, and what each command reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from recoverykit.runtime.cli import main

SCENARIO: dict[str, Any] = {
    "store": {"name": "Fern & Co", "locale": "en"},
    "until": "2026-03-16T00:00:00Z",
    "customers": [
        {
            "id": "c1", "first_name": "Ola", "phone": "+48601234567", "locale": "pl",
            "consent": [
                {"channel": "sms", "purpose": "recovery", "action": "granted",
                 "at": "2026-03-10T09:00:00Z", "source": "checkout_checkbox",
                 "text": "Tak, przypomnij mi SMS-em.", "version": "1"}
            ],
        }
    ],
    "checkouts": [
        {
            "id": "k1", "customer": "c1", "abandoned_at": "2026-03-10T10:00:00Z",
            "link": "https://fern.example/r/k1",
            "items": [{"sku": "S1", "name": "Kubek", "quantity": 1,
                       "unit_price": {"amount": "39.00", "currency": "PLN"}}],
            "total": {"amount": "39.00", "currency": "PLN"},
        }
    ],
    "events": [{"at": "2026-03-11T06:00:00Z", "type": "order_placed", "checkout": "k1"}],
}  # fmt: skip


def write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_simulate_jsonl_is_time_ordered_and_ends_with_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each JSONL line has at/kind/checkout/customer, in time order; the last is the summary."""
    path = write(tmp_path, "s.json", SCENARIO)
    code, out, _ = run(["simulate", str(path), "--format", "jsonl"], capsys)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    *lines, summary = rows
    assert summary["kind"] == "summary"
    assert [row["at"] for row in lines] == sorted(row["at"] for row in lines)
    assert all({"at", "kind", "checkout", "customer"} <= row.keys() for row in lines)
    sends = [row for row in lines if row["kind"] == "send"]
    assert [row["touch"] for row in sends] == [1]
    assert {"channel", "to", "touch", "text", "segments", "encoding"} <= sends[0].keys()
    finishes = [row["reason"] for row in lines if row["kind"] == "finish"]
    assert finishes == ["ordered"]
    assert (summary["sent"], summary["finished_by"]) == (1, {"ordered": 1})


def test_simulate_text_and_until(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Text output shows UTC and local time per line; ``--until`` stops the run early."""
    path = write(tmp_path, "s.json", SCENARIO)
    code, out, _ = run(
        ["simulate", str(path), "--until", "2026-03-10T10:05:00Z", "--verbose"], capsys
    )
    assert code == 0
    assert "2026-03-10 10:00 UTC | 2026-03-10 11:00 Europe/Warsaw" in out
    assert "sent: 0 touches" in out


def test_simulate_keeps_the_database_for_explain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--db`` keeps the run; ``explain`` then prints the decisions and log of one checkout."""
    path = write(tmp_path, "s.json", SCENARIO)
    db = tmp_path / "run.sqlite3"
    assert run(["simulate", str(path), "--db", str(db)], capsys)[0] == 0
    code, out, _ = run(["explain", "k1", "--db", str(db)], capsys)
    assert code == 0
    assert "Checkout k1 (customer c1): finished, ordered" in out
    assert "send" in out
    code, _, err = run(["explain", "k9", "--db", str(db)], capsys)
    assert (code, err.strip().split(": ", 1)[1]) == (2, "no recovery for checkout 'k9'")


def test_bad_scenario_exits_2_with_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad input exits with status 2 and prints each problem with its JSON path."""
    bad = json.loads(json.dumps(SCENARIO))
    bad["policy"] = {"holdout": 2}
    bad["checkouts"][0]["customer"] = "nobody"
    path = write(tmp_path, "bad.json", bad)
    code, out, err = run(["simulate", str(path)], capsys)
    assert (code, out) == (2, "")
    assert "$.policy.holdout" in err
    assert "$.checkouts[0].customer: no customer with id 'nobody'" in err


def test_missing_file_and_bad_arguments_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing file or an unknown option is bad input: status 2, never a traceback."""
    assert run(["simulate", str(tmp_path / "nope.json")], capsys)[0] == 2
    assert run(["simulate"], capsys)[0] == 2
    assert run(["explain", "k1", "--db", str(tmp_path / "none.sqlite3")], capsys)[0] == 2


def test_plan_prints_each_touch_in_local_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``plan`` lists the touches in the customer's local time, assuming consent if none given."""
    customer = {k: v for k, v in SCENARIO["customers"][0].items() if k != "consent"}
    checkout = {**SCENARIO["checkouts"][0], "customer": customer}
    path = write(tmp_path, "c.json", {"checkout": checkout, "store": {"name": "Fern & Co"}})
    code, out, _ = run(["plan", str(path)], capsys)
    assert code == 0
    assert "assuming a recovery grant" in out
    touches = [line for line in out.splitlines() if " on sms: " in line]
    assert len(touches) == 3
    assert all("Europe/Warsaw" in line for line in touches)
    assert "finished: sequence_done" in out


def test_lint_reports_template_errors_with_status_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pack with an error-level finding exits 1; a clean sequence file exits 0."""
    pack = {"name": "mine", "languages": {"en": {"messages": {
        "remind": {"sms": "We saw you looked at {first_name}!"}}}}}  # fmt: skip
    code, out, _ = run(["lint", str(write(tmp_path, "pack.json", pack))], capsys)
    assert code == 1
    assert "RK103" in out
    sequence = {"name": "short", "touches": [{"delay": "1h", "purpose": "remind",
                                              "message": "remind"}]}  # fmt: skip
    code, out, _ = run(["lint", str(write(tmp_path, "seq.json", sequence))], capsys)
    assert code == 0
    assert "is valid" in out
    broken = {"name": "short", "touches": [{"delay": "later"}]}
    assert run(["lint", str(write(tmp_path, "bad.json", broken))], capsys)[0] == 2


def test_python_dash_m_runs_the_same_command_line() -> None:
    """``python -m recoverykit`` is the same entry point as the console script."""
    done = subprocess.run(
        [sys.executable, "-m", "recoverykit", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("recoverykit ")

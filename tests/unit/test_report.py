"""The report renderers (text, JSON, CSV, HTML) and the ``report`` command."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from recoverykit.metrics import Report, render
from recoverykit.protocols import LogRecord
from recoverykit.runtime.cli import main

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
ROOT = Path(__file__).resolve().parents[2]


def small_log() -> list[LogRecord]:
    """Two messaged checkouts (one recovered in EUR, one in PLN) and one holdout."""
    log: list[LogRecord] = []
    for cid, arm, currency in (("a", "messaged", "EUR"), ("b", "messaged", "PLN"),
                               ("h", "holdout", "EUR")):  # fmt: skip
        data: dict[str, Any] = {
            "type": "CheckoutAbandoned",
            "total": {"amount": "30.00", "currency": currency},
            "arm": arm,
            "stage": "payment",
        }
        log.append(LogRecord(T0, "event", cid, f"cu-{cid}", data))
    log.append(LogRecord(T0 + HOUR, "send", "a", "cu-a", {"touch": 1, "channel": "sms"}))
    log.append(LogRecord(T0 + HOUR, "send", "b", "cu-b", {"touch": 1, "channel": "whatsapp"}))
    for cid in ("a", "b"):
        order = {"type": "OrderPlaced", "id": f"o-{cid}"}
        log.append(LogRecord(T0 + 2 * HOUR, "event", cid, f"cu-{cid}", order))
    return log


def test_json_has_the_documented_keys() -> None:
    """JSON has totals, by, lift (each arm's n and recovered, difference, ci, verdict), warnings.

    These keys are the documented contract of ``report --format json``.
    """
    data = json.loads(render(Report.from_events(small_log()), "json"))
    totals = data["totals"]
    for key in ("checkouts", "eligible", "holdout", "messaged", "sends", "delivered", "replied",
                "clicked", "opted_out", "recovered"):  # fmt: skip
        assert isinstance(totals[key], int), key
    assert {"EUR": "30.00", "PLN": "30.00"} == totals["recovered_revenue"]
    lift = data["lift"]
    assert {"n": 2, "recovered": 2} == {k: lift["messaged"][k] for k in ("n", "recovered")}
    assert {"n": 1, "recovered": 0} == {k: lift["holdout"][k] for k in ("n", "recovered")}
    assert {"difference", "ci", "verdict"} <= set(lift)
    assert isinstance(data["warnings"], list)
    assert {"touch", "channel", "segment", "stage"} <= set(data["by"])


def test_text_shows_attributed_and_incremental_revenue_side_by_side() -> None:
    """The text report puts attributed and incremental revenue next to each other."""
    text = render(Report.from_events(small_log()), "text")
    assert "attributed revenue:  30.00 EUR, 30.00 PLN" in text
    assert "incremental revenue:" in text
    assert "verdict: " in text


def test_csv_has_a_total_row_and_one_row_per_breakdown_value() -> None:
    """CSV starts with the totals row, then one row per (dimension, value)."""
    report = Report.from_events(small_log(), by=("channel",))
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert [("total", "all"), ("channel", "none"), ("channel", "sms"), ("channel", "whatsapp")] == [
        (row["dimension"], row["value"]) for row in rows
    ]
    assert "EUR:30.00;PLN:30.00" == rows[0]["recovered_revenue"]
    assert "1.000000" == rows[2]["recovery_rate"]


def test_html_is_self_contained() -> None:
    """The HTML page has inline SVG charts and no scripts or external resources."""
    page = render(Report.from_events(small_log()), "html")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") >= 3
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", page)


def test_html_escapes_labels() -> None:
    """Labels from the log are escaped, so a crafted value cannot inject markup."""
    log = small_log()
    log[0].data["stage"] = "<b>x</b>"
    page = render(Report.from_events(log), "html")
    assert "<b>x</b>" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


def test_unknown_format_is_refused() -> None:
    """An unknown format names the choices."""
    with pytest.raises(ValueError, match="text, json, csv, html"):
        render(Report.from_events([]), "pdf")  # type: ignore[arg-type]


def test_report_command_reads_a_simulated_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``simulate --db`` then ``report --db --format json`` gives the scorecard of that run."""
    db = tmp_path / "demo.sqlite3"
    scenario = ROOT / "examples" / "demo" / "tiny.json"
    assert 0 == main(["simulate", str(scenario), "--db", str(db)])
    simulated = capsys.readouterr().out
    assert "verdict   not enough data yet" in simulated
    assert 0 == main(["report", "--db", str(db), "--format", "json", "--by", "touch,channel"])
    data = json.loads(capsys.readouterr().out)
    assert ["channel", "touch"] == sorted(data["by"])
    assert data["totals"]["checkouts"] > 0


def test_report_command_filters_by_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--until`` before the first event leaves an empty scorecard."""
    db = tmp_path / "demo.sqlite3"
    scenario = ROOT / "examples" / "demo" / "tiny.json"
    assert 0 == main(["simulate", str(scenario), "--db", str(db)])
    capsys.readouterr()
    code = main(["report", "--db", str(db), "--until", "2000-01-01T00:00:00Z", "--format", "json"])
    assert 0 == code
    assert 0 == json.loads(capsys.readouterr().out)["totals"]["checkouts"]


def test_report_command_refuses_a_missing_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing database file is bad input (exit 2) with the path in the message."""
    assert 2 == main(["report", "--db", str(tmp_path / "nope.sqlite3")])
    assert "nope.sqlite3" in capsys.readouterr().err


def test_report_command_refuses_an_unknown_breakdown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown ``--by`` name is bad input naming the choices."""
    db = tmp_path / "demo.sqlite3"
    scenario = ROOT / "examples" / "demo" / "tiny.json"
    assert 0 == main(["simulate", str(scenario), "--db", str(db)])
    capsys.readouterr()
    assert 2 == main(["report", "--db", str(db), "--by", "colour"])
    assert "colour" in capsys.readouterr().err

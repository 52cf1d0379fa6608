"""The HTML report in a real browser: it renders without console messages, every chart drawn.

Debian's ``chromium`` opens the page headless, at a phone's width, and hands back the
document as it parsed it; the test counts each chart's marks there against what the
report's figures call for. ``.ci/run`` installs chromium when it is missing; elsewhere
this one test is skipped, saying how to get it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from recoverykit.metrics import Report, render
from recoverykit.metrics.charts import HOUR_BINS, breakdown_bars
from recoverykit.runtime.playback import run_scenario
from recoverykit.runtime.scenario import Scenario
from recoverykit.stores import MemoryStore

ROOT = Path(__file__).resolve().parents[2]
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    BROWSER is None,
    reason="chromium is not installed: `apt-get install chromium` (Debian) runs this test; "
    ".ci/run installs it",
)


class _Marks(HTMLParser):
    """Counts ``class="mark"`` elements inside each ``<svg data-chart=...>``."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, int] = {}
        self.declared: dict[str, int] = {}
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "svg" and found.get("data-chart"):
            self._current = str(found["data-chart"])
            self.charts[self._current] = 0
            self.declared[self._current] = int(found.get("data-marks") or -1)
        elif self._current is not None and "mark" in (found.get("class") or "").split():
            self.charts[self._current] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._current = None


def _browse(page: Path, folder: Path) -> tuple[str, list[str]]:
    """The parsed document and the console lines of ``page`` in headless chromium."""
    assert BROWSER is not None
    result = subprocess.run(
        [
            BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
            "--v=0", "--window-size=390,2400", f"--user-data-dir={folder / 'profile'}",
            "--dump-dom", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert 0 == result.returncode, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return result.stdout, console


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """The demo's stories with 300 generated checkouts: every chart has something to draw."""
    data = json.loads((ROOT / "examples" / "demo" / "scenario.json").read_text("utf-8"))
    data["traffic"] = {"checkouts": 300, "seed": 4}
    path = tmp_path_factory.mktemp("browser") / "scenario.json"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    scenario = Scenario.load(path)
    store = MemoryStore()
    run_scenario(scenario, store)
    return Report.from_events(store.events())


def expected_marks(report: Report) -> dict[str, int]:
    """How many marks each chart must draw, from the report's own figures."""
    card = report.scorecard
    days = {o.abandoned_at.date() for o in card.outcomes.values() if o.messaged and not o.holdout}
    return {
        "funnel": 5,
        "daily": len(days),
        "hours": len(HOUR_BINS),
        "touch": len(breakdown_bars(card, "touch") + breakdown_bars(card, "channel")),
        "lift": 1,
        "category": len(breakdown_bars(card, "category")),
        "hour": 24,
    }


@needs_chromium
def test_the_report_renders_every_chart_without_console_messages(
    report: Report, tmp_path: Path
) -> None:
    """No console output at all (the page has no scripts), and each chart's marks all drawn."""
    page = tmp_path / "report.html"
    page.write_text(render(report, "html"), "utf-8")
    dom, console = _browse(page, tmp_path)
    assert [] == console
    marks = _Marks()
    marks.feed(dom)
    expected = expected_marks(report)
    assert expected == marks.charts
    assert expected == marks.declared
    assert all(count > 0 for count in expected.values())
    assert 4 <= expected["category"]


@needs_chromium
def test_the_console_check_sees_a_console_error(tmp_path: Path) -> None:
    """The check itself works: a page that logs an error is caught."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><script>console.error("broken chart")</script>', "utf-8")
    _, console = _browse(page, tmp_path)
    assert any("broken chart" in line for line in console)


def test_the_page_is_one_file_for_phones_and_print(report: Report) -> None:
    """Nothing fetched, no scripts; scales to a phone's width; prints without split charts."""
    page = render(report, "html")
    for outside in ("<script", "src=", "href=", "@import", "url("):
        assert outside not in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "svg{width:100%;height:auto" in page
    assert "@media print{" in page
    assert "break-inside:avoid" in page

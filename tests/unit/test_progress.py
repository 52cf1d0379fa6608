"""The simulate progress bar: only on a terminal, only for long runs, erased at the end."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recoverykit.runtime.cli import main
from recoverykit.runtime.progress import Progress

START = datetime(2026, 3, 10, tzinfo=UTC)
END = START + timedelta(days=10)


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class Timer:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def small_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "s.json"
    scenario = {
        "store": {"name": "Fern & Co"},
        "traffic": {"checkouts": 20, "seed": 1, "days": 2},
        "start": "2026-03-10T00:00:00Z",
    }
    path.write_text(json.dumps(scenario), "utf-8")
    return path


def test_a_pipe_never_gets_a_bar() -> None:
    """Piped stderr (not a terminal) receives nothing, however long the run."""
    stream, timer = io.StringIO(), Timer()
    progress = Progress(stream, START, END, timer=timer)
    timer.now = 60.0
    progress.update(START + timedelta(days=5))
    progress.close()
    assert stream.getvalue() == ""


def test_a_short_run_gets_no_bar() -> None:
    """A run that ends within the first seconds prints nothing, even on a terminal."""
    stream, timer = Terminal(), Timer()
    progress = Progress(stream, START, END, timer=timer, show_after=2.0)
    timer.now = 1.9
    progress.update(START + timedelta(days=9))
    progress.close()
    assert stream.getvalue() == ""


def test_a_long_run_on_a_terminal_shows_how_far_it_came_then_erases_it() -> None:
    """After the first seconds the bar shows the share of virtual time done; close erases it."""
    stream, timer = Terminal(), Timer()
    progress = Progress(stream, START, END, timer=timer, show_after=2.0)
    timer.now = 2.5
    progress.update(START + timedelta(days=5))
    drawn = stream.getvalue()
    assert drawn.startswith("\r")
    assert " 50 %" in drawn
    assert "#" * 15 + "." * 15 in drawn
    timer.now = 2.55  # too soon to redraw
    progress.update(START + timedelta(days=6))
    assert stream.getvalue() == drawn
    timer.now = 3.0
    progress.update(END)
    assert "100 %" in stream.getvalue()
    progress.close()
    assert stream.getvalue().endswith("\r")
    last = stream.getvalue().rsplit("\r", 2)[-2]
    assert last.strip() == ""  # the last line written is blank: the bar is gone


def test_simulate_keeps_a_piped_stderr_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """simulate with stderr captured (not a terminal) writes nothing there."""
    path = small_scenario(tmp_path)
    assert main(["simulate", str(path)]) == 0
    assert capsys.readouterr().err == ""


def test_simulate_draws_the_bar_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a terminal stderr, a run longer than the threshold shows the bar and erases it."""
    path = small_scenario(tmp_path)
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setattr("recoverykit.runtime.progress.SHOW_AFTER", 0.0)
    assert main(["simulate", str(path)]) == 0
    assert "simulating [" in terminal.getvalue()
    assert terminal.getvalue().endswith("\r")
    assert "simulating" not in capsys.readouterr().out

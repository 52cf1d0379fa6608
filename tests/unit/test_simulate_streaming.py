"""``recoverykit simulate`` streams: the in-memory run says what the stored run says.

Without ``--db`` a simulation runs over a ``MemoryStore`` that hands each log line
on as its step commits and packs finished recoveries; with ``--db`` it runs over
SQLite and reads the log back at the end, as it always did. Both must print the
same thing, line for line, for generated scenarios and for the stories in the demo.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from recoverykit.runtime.cli import main
from recoverykit.runtime.playback import make_runner, play
from recoverykit.runtime.scenario import Scenario
from recoverykit.stores import MemoryStore

DEMO = Path(__file__).parents[2] / "examples" / "demo" / "scenario.json"


def generated(checkouts: int, seed: int) -> dict[str, Any]:
    """A scenario of made-up traffic: replies, orders, STOPs and receipts included."""
    return {
        "store": {"name": "Fern & Co", "locale": "en"},
        "policy": {"holdout": 0.1, "channels": ["sms", "whatsapp", "email"]},
        "traffic": {"checkouts": checkouts, "seed": seed, "days": 3, "reply_rate": 0.3,
                    "stop_rate": 0.05},
        "receipts": {"seed": seed},
        "start": "2026-03-10T00:00:00Z",
    }  # fmt: skip


def output(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("seed", [3, 11])
@pytest.mark.parametrize("fmt", ["jsonl", "text"])
def test_streamed_run_prints_what_the_stored_run_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], seed: int, fmt: str
) -> None:
    """Generated traffic: the in-memory, streamed run and the SQLite run print the same."""
    path = tmp_path / "s.json"
    path.write_text(json.dumps(generated(40, seed)), "utf-8")
    extra = ["--verbose"] if fmt == "text" else []
    streamed = output(["simulate", str(path), "--format", fmt, *extra], capsys)
    stored = output(
        ["simulate", str(path), "--format", fmt, *extra, "--db", str(tmp_path / "r.db")], capsys
    )
    assert streamed == stored
    assert streamed.count("\n") > 100


def test_demo_stories_are_the_same_streamed_and_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's one-screen summary (its stories and scorecard) does not depend on the store."""
    streamed = output(["simulate", str(DEMO), "--until", "2026-03-12T00:00:00Z"], capsys)
    stored = output(
        ["simulate", str(DEMO), "--until", "2026-03-12T00:00:00Z", "--db",
         str(tmp_path / "r.db")],
        capsys,
    )  # fmt: skip
    assert streamed == stored
    assert "What happened to each customer" in streamed


def test_the_log_leaves_the_store_step_by_step() -> None:
    """Each step's lines are handed on when it commits; the store keeps none of them."""
    scenario = Scenario.from_dict(generated(30, 5))
    lines: list[Any] = []
    store = MemoryStore(log_to=lines.append, pack_finished=True)
    runner = make_runner(scenario, store)
    seen_at_steps = [len(lines) for _ in play(scenario, runner)]
    assert lines
    assert list(store.events()) == []
    assert seen_at_steps[0] > 0  # the first abandonment's lines arrive with its own step
    assert seen_at_steps == sorted(seen_at_steps)
    ats = [line.at for line in lines]
    assert ats == sorted(ats)
    # Every finished recovery is packed; its state still reads back whole.
    finished = [state for state in store.states() if not state.open]
    assert finished
    rows = store._tables.recoveries
    assert all(isinstance(rows[state.checkout_id].stored, bytes) for state in finished)


def test_stdout_is_written_while_the_run_goes_on(tmp_path: Path) -> None:
    """--verbose prints the first lines before the last step is played."""
    scenario = Scenario.from_dict(generated(30, 5))
    lines: list[Any] = []
    store = MemoryStore(log_to=lines.append)
    steps = play(scenario, make_runner(scenario, store))
    next(steps)
    assert lines  # available at once, not only at the end
    assert next(steps, None) is not None

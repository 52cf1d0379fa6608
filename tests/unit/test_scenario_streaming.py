"""Scenario files are read item by item, with the same result and the same problems.

``Scenario.load`` streams the customers, checkouts and events of a file; reading the
whole document (``load_scenario``) is the reference. For valid files the scenarios
are equal; for broken ones the error lists the same problems at the same JSON paths,
whatever order the file's keys are in; a file that is not a plain JSON object is
read whole and reports as it always did.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from benchmarks.make_scenario import write_scenario

from recoverykit.errors import DefinitionError
from recoverykit.runtime import pieces
from recoverykit.runtime.scenario import Scenario, load_scenario

DEMO = Path(__file__).parents[2] / "examples" / "demo" / "scenario.json"


def demo() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEMO.read_text("utf-8"))
    del data["traffic"]  # the stories alone: quick, and every item comes from the file
    return data


def reordered(data: dict[str, Any], first: list[str]) -> dict[str, Any]:
    """The same members, ``first`` leading: arrays before what they refer to."""
    return {key: data[key] for key in first} | {k: v for k, v in data.items() if k not in first}


def outcome(load: Callable[[], Scenario]) -> Scenario | str:
    try:
        return load()
    except DefinitionError as exc:
        return str(exc)


def both(tmp_path: Path, data: Any, text: str | None = None) -> tuple[Any, Any]:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data, ensure_ascii=False) if text is None else text, "utf-8")
    streamed = outcome(lambda: Scenario.load(path))
    whole = outcome(lambda: load_scenario(json.loads(path.read_text("utf-8")),
                                          what=f"Invalid scenario {str(path)!r}"))  # fmt: skip
    return streamed, whole


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of a few bytes: every item straddles a chunk boundary somewhere."""
    monkeypatch.setattr(pieces, "CHUNK", 97)


@pytest.mark.parametrize(
    "order",
    [[], ["events", "checkouts", "customers"], ["customers", "store"], ["checkouts", "policy"]],
)
def test_a_valid_file_loads_the_same_streamed_or_whole(tmp_path: Path, order: list[str]) -> None:
    """The demo's stories, in the usual order and with arrays before what they refer to."""
    streamed, whole = both(tmp_path, reordered(demo(), order))
    assert isinstance(streamed, Scenario)
    assert streamed == whole
    assert len(streamed.checkouts) == 10


def _break(data: dict[str, Any]) -> None:
    data["customers"][1]["phone"] = "+7 999"
    data["customers"][2]["consent"][0]["channel"] = "pigeon"
    data["checkouts"][0]["customer"] = "nobody"
    data["checkouts"][3]["id"] = data["checkouts"][2]["id"]
    data["checkouts"][4]["total"] = {"amount": "x", "currency": "EUR"}
    data["events"][0]["customer"] = "cust-nobody"
    data["events"][2]["checkout"] = "gone"
    data["events"].append({"at": "2026-03-12T09:30:00Z", "type": "teleport"})
    data["policy"]["holdout"] = 3
    data["until"] = "2026-03-01T00:00:00Z"
    data["colour"] = "blue"


@pytest.mark.parametrize(
    "order", [[], ["colour", "events", "checkouts"], ["checkouts", "customers", "policy"]]
)
def test_a_broken_file_reports_the_same_problems_at_the_same_paths(
    tmp_path: Path, order: list[str]
) -> None:
    """Every problem, once, with its JSON path, in the same order as reading it whole."""
    data = demo()
    _break(data)
    streamed, whole = both(tmp_path, reordered(data, ["colour", *order] if order else []))
    assert isinstance(streamed, str)
    assert streamed == whole
    for path in ("$.customers[1]", "$.checkouts[0].customer", "$.events[2].checkout",
                 "$.policy", "$.until", "$.colour", "$.events[6].type"):  # fmt: skip
        assert path in streamed


@pytest.mark.parametrize(
    "text",
    [
        '{"store": {"name": "A"}, "store": {"name": "B"}, "start": "2026-03-10T00:00:00Z"}',
        '{"store": {"name": "A"}, "customers": [1,], }',
        '[{"store": {"name": "A"}}]',
        '{"store": {"name": "A"}, "start": "2026-03-10T00:00:00Z"} trailing',
        "",
    ],
)
def test_a_file_that_is_not_a_plain_object_is_read_whole(tmp_path: Path, text: str) -> None:
    """Repeated keys, syntax errors, other shapes: the whole-document reading decides."""
    path = tmp_path / "s.json"
    path.write_text(text, "utf-8")
    streamed = outcome(lambda: Scenario.load(path))
    try:
        reference: Any = outcome(
            lambda: load_scenario(json.loads(text), what=f"Invalid scenario {str(path)!r}")
        )
    except json.JSONDecodeError as exc:
        reference = exc.msg
    if isinstance(reference, str) and not reference.startswith("Invalid scenario"):
        assert isinstance(streamed, str)
        assert "is not JSON" in streamed
        assert reference in streamed
    else:
        assert streamed == reference


def test_items_are_read_as_the_caller_goes(tmp_path: Path) -> None:
    """A streamed array hands over one item at a time and is read once."""
    path = tmp_path / "a.json"
    items = [{"id": n, "pad": "é" * 50} for n in range(40)]
    path.write_text(json.dumps({"a": 1, "checkouts": items, "z": [2]}), "utf-8")
    got: dict[str, Any] = {}
    for key, value in pieces.members(path, ("checkouts",)):
        if isinstance(value, pieces.Streamed):
            stream = iter(value)
            assert next(stream) == items[0]
            got[key] = [items[0], *stream]
            with pytest.raises(RuntimeError):
                iter(value)
        else:
            got[key] = value
    assert got == {"a": 1, "checkouts": items, "z": [2]}


def test_copying_a_document_does_not_change_its_loading() -> None:
    """load_scenario takes any mapping, and leaves it as it was."""
    data = demo()
    before = copy.deepcopy(data)
    load_scenario(data)
    assert data == before


def test_the_big_scenario_generator_writes_a_valid_repeatable_file(tmp_path: Path) -> None:
    """benchmarks.make_scenario: every checkout in the file, loadable, the same each time."""
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    for path in paths:
        with path.open("w", encoding="utf-8") as out:
            write_scenario(out, 25, seed=3)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    scenario = Scenario.load(paths[0])
    assert len(scenario.checkouts) == len(scenario.stories) == 25
    assert scenario.receipts is not None
    assert scenario.events


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 8, 13])
def test_a_number_cut_by_a_chunk_is_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """A number at a chunk's end is taken only once the next character shows it ended."""
    monkeypatch.setattr(pieces, "CHUNK", chunk)
    document = {"n": 1234567890, "events": [9876543210, -1.25e-7, 42], "z": 31415926}
    path = tmp_path / "n.json"
    path.write_text(json.dumps(document), "utf-8")
    got = {
        key: list(value) if isinstance(value, pieces.Streamed) else value
        for key, value in pieces.members(path, ("events",))
    }
    assert got == document

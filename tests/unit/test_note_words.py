"""Skip reasons and ``Info`` topics are closed lists the engine keeps to, and stored
notes keep their JSON words."""

from __future__ import annotations

import ast
import enum
from pathlib import Path

import pytest

import recoverykit
from recoverykit.engine.notes import Info, InfoTopic, Skipped, SkipReason, note_from_dict

PACKAGE = Path(recoverykit.__file__).parent

#: Calls whose first string argument becomes a skip reason or an info topic.
_WORDS: dict[str, tuple[int, type[enum.StrEnum]]] = {
    "Skipped": (1, SkipReason),
    "Unsendable": (0, SkipReason),
    "Refusal": (0, SkipReason),
    "Info": (0, InfoTopic),
}


def _literal_words() -> list[tuple[str, str, type[enum.StrEnum]]]:
    found: list[tuple[str, str, type[enum.StrEnum]]] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name not in _WORDS:
                continue
            position, words = _WORDS[name]
            if len(node.args) > position:
                arg = node.args[position]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.append((f"{path.name}:{node.lineno}", arg.value, words))
    return found


def test_the_engine_writes_only_listed_words() -> None:
    """Every reason and topic the package writes as a literal is a listed member."""
    found = _literal_words()
    assert len(found) > 20
    unlisted = [
        (where, word) for where, word, words in found if word not in words.__members__.values()
    ]
    assert unlisted == []


def test_notes_keep_their_json() -> None:
    """A note's JSON holds the plain word, and reads back as the enum member."""
    skipped = Skipped(2, "program", "US texts: one per abandonment")
    assert skipped.reason is SkipReason.PROGRAM
    assert skipped.to_dict()["reason"] == "program"
    info = note_from_dict(Info("holdout", "kept out").to_dict())
    assert isinstance(info, Info)
    assert info.what is InfoTopic.HOLDOUT


@pytest.mark.parametrize("kind", ["skipped", "info"])
def test_a_word_from_elsewhere_still_loads(kind: str) -> None:
    """A stored note with a word this release does not list (another release, a store
    of your own) loads as itself rather than losing the recovery's state."""
    key = "reason" if kind == "skipped" else "what"
    data = {"type": kind, "touch": 1, key: "carrier_outage", "detail": ""}
    note = note_from_dict(data)
    assert note.to_dict()[key] == "carrier_outage"
    assert "carrier_outage" not in {m.value for m in SkipReason} | {m.value for m in InfoTopic}

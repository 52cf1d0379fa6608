"""Recovery states as stored JSON: notes kept last, their text reused, nothing changed.

``state_to_json`` writes the notes at the end of the object so ``state_from_json`` can
cut their text out and a later save can append to it instead of encoding every note
again (states grow to several kilobytes of notes). These tests hold that shortcut to
plain ``json.dumps(state.to_dict())``: the same object, the same state back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recoverykit.engine.notes import (
    DeferReason,
    Deferred,
    Ignored,
    IgnoreReason,
    Info,
    Note,
    Skipped,
)
from recoverykit.engine.state import RecoveryState
from recoverykit.stores import codec
from recoverykit.stores.codec import dumps, state_from_json, state_to_json
from recoverykit.stores.trusted import STAMP, STAMP_KEY
from recoverykit.testing.store_contract import active, with_checkout

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
#: Text that looks like the layout's own markers, to try to fool the cut.
_TRICKY = st.sampled_from(
    [',"notes":[', ',"notes":[1]}', '"]}', "]}", '{"notes":[]}', "zażółć 😀", "\\", ""]
)
_TEXTS = st.text(max_size=40) | _TRICKY
_WHEN = st.integers(min_value=0, max_value=10_000).map(lambda m: T0 + timedelta(minutes=m))
_NOTES: st.SearchStrategy[Note] = st.one_of(
    st.builds(
        Deferred,
        touch=st.integers(0, 4),
        reason=st.sampled_from(DeferReason),
        rule=_TEXTS,
        from_=_WHEN,
        to=_WHEN,
        zone=st.none() | st.just("Europe/Warsaw"),
    ),
    st.builds(Skipped, touch=st.integers(0, 4), reason=_TEXTS, detail=_TEXTS),
    st.builds(Ignored, reason=st.sampled_from(IgnoreReason), event=_TEXTS, detail=_TEXTS),
    st.builds(Info, what=_TEXTS, detail=_TEXTS),
)


@pytest.fixture(autouse=True)
def _forget_notes() -> Iterator[None]:
    """Each test starts with no notes text remembered."""
    codec._notes_seen.clear()
    yield
    codec._notes_seen.clear()


def state(notes: Sequence[Note], *, checkout: bool = True) -> RecoveryState:
    base = active("chk-1", "cus-1")
    if checkout:
        base = with_checkout(base, T0 - timedelta(hours=1))
    return attrs.evolve(base, notes=tuple(notes), seen=("evt-1", "evt-2"), updated_at=T0)


@given(notes=st.lists(_NOTES, max_size=12), checkout=st.booleans())
def test_a_state_round_trips_and_is_the_same_json_object(notes: list[Note], checkout: bool) -> None:
    """state_to_json writes the object to_dict describes (plus the trust stamp), and
    state_from_json reads it, or plain to_dict JSON in the old key order, back to an
    equal state."""
    saved = state(notes, checkout=checkout)
    text = state_to_json(saved)
    assert json.loads(text) == {STAMP_KEY: STAMP, **saved.to_dict()}
    codec._notes_seen.clear()
    assert saved == state_from_json(text)
    assert saved == state_from_json(dumps(saved.to_dict()))


@given(first=st.lists(_NOTES, max_size=8), added=st.lists(_NOTES, max_size=4))
def test_reused_notes_text_is_what_encoding_afresh_gives(
    first: list[Note], added: list[Note]
) -> None:
    """A state read back, given more notes and written again, is the same text whether
    the earlier notes' text is reused or every note is encoded afresh."""
    loaded = state_from_json(state_to_json(state(first)))
    grown = attrs.evolve(loaded, notes=(*loaded.notes, *added), wakeup_at=T0 + timedelta(days=1))
    reused = state_to_json(grown)
    codec._notes_seen.clear()
    assert state_to_json(grown) == reused
    assert grown == state_from_json(reused)


def test_notes_read_from_the_store_are_not_encoded_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Saving a state whose notes start with the ones it was read with encodes only
    the notes added since; with nothing remembered, every note is encoded."""
    old = [Info("holdout", "assigned to the holdout group"), Info("reply", "unknown reply")]
    loaded = state_from_json(state_to_json(state(old)))
    new = Info("stock", "all in stock")
    grown = attrs.evolve(loaded, notes=(*loaded.notes, new))
    encoded: list[Note] = []
    real = Info.to_dict

    def counting(self: Info) -> dict[str, object]:
        encoded.append(self)
        return real(self)

    monkeypatch.setattr(Info, "to_dict", counting)
    text = state_to_json(grown)
    assert encoded == [new]
    codec._notes_seen.clear()
    encoded.clear()
    assert state_to_json(grown) == text
    assert encoded == list(grown.notes)


def test_text_in_another_layout_is_read_whole() -> None:
    """A state whose JSON does not end with its notes (older rows, other writers) reads
    back all the same, notes included."""
    saved = state([Info("a", ',"notes":[1]}'), Skipped(2, "cap", "]}")])
    old_layout = json.dumps(saved.to_dict())
    assert not old_layout.endswith("]}")
    assert saved == state_from_json(old_layout)
    nested_last = dumps({**saved.to_dict(notes=False), "notes": [n.to_dict() for n in saved.notes]})
    assert saved == state_from_json(nested_last)


def test_notes_that_only_start_alike_are_encoded_afresh() -> None:
    """Only notes that begin with every note read before reuse its text: a state that
    shares just the first note object (or has fewer notes) is encoded in full."""
    first = Info("holdout", "assigned")
    loaded = state_from_json(state_to_json(state([first, Info("reply", "one")])))
    shared = loaded.notes[0]
    for notes in [(shared, Info("reply", "two")), (shared,), (shared, Info("reply", "two"), first)]:
        other = attrs.evolve(loaded, notes=notes)
        assert json.loads(state_to_json(other)) == {STAMP_KEY: STAMP, **other.to_dict()}

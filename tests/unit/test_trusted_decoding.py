"""Trusted decoding: what the store wrote itself is read back fast, anything else is checked.

A bundled store stamps the states and consent events it writes; a row carrying this
release's stamp is rebuilt without validators, every other row (written before the
stamp existed, by another release, by hand) goes through the checked loaders.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given

from recoverykit.engine.conversation import ConversationLine, Direction
from recoverykit.engine.state import RecoveryState, SentTouch
from recoverykit.errors import DefinitionError, RecoveryKitError
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.stores import SQLiteStore, codec, trusted
from recoverykit.stores.codec import dumps, state_from_json, state_to_json
from recoverykit.stores.trusted import (
    STAMP,
    STAMP_KEY,
    consent_from_stored,
    consent_to_stored,
    state_from_stored,
    trusted_checkout,
    trusted_consent,
    trusted_state,
)
from recoverykit.testing import strategies as rks
from recoverykit.testing.store_contract import active, with_checkout
from recoverykit.values.model import Channel, Checkout, Friction, LineItem
from recoverykit.values.money import Money

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _forget_notes() -> Iterator[None]:
    codec._notes_seen.clear()
    yield
    codec._notes_seen.clear()


def _same(left: Any, right: Any) -> None:
    """Equal, and equal in every field's type too (an ``int`` is not a ``bool``, a
    ``str`` is not a ``Channel``): what the engine reads must not differ at all."""
    assert left == right
    assert type(left) is type(right)
    if attrs.has(type(left)):
        for item in attrs.fields(type(left)):
            _same(getattr(left, item.name), getattr(right, item.name))
    elif isinstance(left, tuple | list | frozenset):
        for a, b in zip(sorted(left, key=repr), sorted(right, key=repr), strict=True):
            _same(a, b)
    elif isinstance(left, datetime):
        assert left.utcoffset() == right.utcoffset()


@given(state=rks.recovery_states())
def test_the_fast_path_rebuilds_exactly_what_the_checked_path_does(state: RecoveryState) -> None:
    """For any state, the trusted rebuild of its stored JSON equals, field by field and
    type by type, what RecoveryState.from_dict makes of the same JSON."""
    data = json.loads(state_to_json(state))
    _same(trusted_state(data), RecoveryState.from_dict(data))
    _same(state_from_json(state_to_json(state)), state)


@given(checkout=rks.checkouts())
def test_a_trusted_checkout_equals_the_checked_one(checkout: Checkout) -> None:
    """Checkout.to_dict output rebuilt without validation is what Checkout.from_dict reads."""
    data = json.loads(dumps(checkout.to_dict()))
    _same(trusted_checkout(data), Checkout.from_dict(data))


@given(event=rks.consent_events())
def test_a_trusted_consent_event_equals_the_checked_one(event: ConsentEvent) -> None:
    """A stored consent event comes back equal through either path."""
    data = json.loads(dumps(consent_to_stored(event)))
    assert data[STAMP_KEY] == STAMP
    _same(trusted_consent(data), event)
    _same(consent_from_stored(data), event)


class _Counted:
    """Counts the checked loader's calls (the fast path must not make any)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> None:
        self.calls = 0
        original = getattr(owner, name).__func__

        def counting(cls: Any, *args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return original(cls, *args, **kwargs)

        monkeypatch.setattr(owner, name, classmethod(counting))


def _state() -> RecoveryState:
    return with_checkout(active("chk-1", "cus-1"), T0 - timedelta(hours=1))


def test_a_stamped_state_skips_the_checked_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's own row is not validated again: neither loader runs."""
    text = state_to_json(_state())
    states = _Counted(monkeypatch, RecoveryState, "from_dict")
    checkouts = _Counted(monkeypatch, Checkout, "from_dict")
    assert state_from_json(text) == _state()
    assert (states.calls, checkouts.calls) == (0, 0)


@pytest.mark.parametrize(
    "stamp",
    [None, "0.00000000", f"{trusted.TRUST_SCHEMA + 1}.{STAMP.split('.')[1]}"],
    ids=["before-the-stamp", "another-field-list", "a-later-trust-schema"],
)
def test_a_state_without_this_release_s_stamp_is_checked(
    monkeypatch: pytest.MonkeyPatch, stamp: str | None
) -> None:
    """A row from before the stamp, or stamped by a release with other fields or rules,
    goes through RecoveryState.from_dict (and so Checkout.from_dict)."""
    data = _state().to_dict()
    if stamp is not None:
        data[STAMP_KEY] = stamp
    checkouts = _Counted(monkeypatch, Checkout, "from_dict")
    assert state_from_stored(data) == _state()
    assert state_from_json(dumps(data)) == _state()
    assert checkouts.calls == 2


def test_an_unstamped_row_with_bad_data_is_refused_by_the_checked_loader() -> None:
    """Validation still guards rows the store did not stamp: a negative quantity in an
    old row fails with the checked loader's report, naming the field."""
    data = _state().to_dict()
    data["checkout"]["items"][0]["quantity"] = -1
    with pytest.raises(DefinitionError, match=r"items\[0\]\.quantity"):
        state_from_stored(data)


def test_a_damaged_stamped_row_fails_with_the_checked_report() -> None:
    """A stamped row the fast path cannot read is handed to the checked loader, whose
    error names what is missing, instead of a bare KeyError."""
    data = json.loads(state_to_json(_state()))
    del data["checkout"]["link"]
    with pytest.raises(DefinitionError, match=r"\$\.link"):
        state_from_stored(data)


def test_a_stored_row_from_before_the_stamp_still_loads_from_an_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file written by the previous release (plain to_dict JSON, no stamp) keeps
    working: its row loads through the checked path, and the next save stamps it."""
    path = tmp_path / "r.db"
    store = SQLiteStore(path)
    try:
        with store.transaction() as tx:
            tx.save(_state(), expected_version=None)
        with sqlite3.connect(path) as raw:
            raw.execute(
                "UPDATE recoveries SET state = ? WHERE checkout_id = 'chk-1'",
                (dumps(_state().to_dict()),),
            )
        checkouts = _Counted(monkeypatch, Checkout, "from_dict")
        with store.transaction() as tx:
            found = tx.load("chk-1")
            assert found is not None
            assert found.state == _state()
            assert checkouts.calls == 1
            tx.save(found.state, expected_version=found.version)
        with sqlite3.connect(path) as raw:
            (text,) = raw.execute("SELECT state FROM recoveries").fetchone()
        assert json.loads(text)[STAMP_KEY] == STAMP
    finally:
        store.close()


def test_consent_rows_are_stamped_and_old_ones_still_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store stamps the consent events it appends; an unstamped one (an older file)
    is read by ConsentEvent.from_dict, a stamped one without it."""
    grant = ConsentEvent(
        "cus-1", Channel.SMS, Purpose.RECOVERY, ConsentAction.GRANTED, T0, "checkout_checkbox"
    )
    path = tmp_path / "r.db"
    store = SQLiteStore(path)
    try:
        with store.transaction() as tx:
            tx.append_consent(grant)
        with sqlite3.connect(path) as raw:
            (text,) = raw.execute("SELECT event FROM consent").fetchone()
            assert json.loads(text)[STAMP_KEY] == STAMP
            raw.execute(
                "INSERT INTO consent (customer_id, event) VALUES ('cus-1', ?)",
                (dumps(grant.to_dict()),),
            )
        events = _Counted(monkeypatch, ConsentEvent, "from_dict")
        with store.transaction() as tx:
            assert tx.ledger("cus-1").events == (grant, grant)
        assert events.calls == 1
        assert STAMP_KEY not in json.dumps(store.export_customer("cus-1"))
    finally:
        store.close()


def test_the_stamp_changes_with_the_field_lists() -> None:
    """A class with one more field has another fingerprint: rows written before it are
    then read through the checked path."""

    @attrs.frozen
    class Narrow:
        a: int

    @attrs.frozen
    class Wide:
        a: int
        b: int = 0

    Wide.__qualname__ = Narrow.__qualname__
    assert trusted._fingerprint((Narrow,)) != trusted._fingerprint((Wide,))
    assert trusted._fingerprint(trusted._REBUILT) == STAMP.split(".")[1]


def test_a_trusted_builder_needs_every_field() -> None:
    """The fast builders take every field by name: one forgotten is a TypeError, never
    a value with an empty slot."""
    with pytest.raises(TypeError):
        trusted._MONEY(amount=1)
    assert isinstance(trusted._MONEY(amount=1, currency="EUR"), object)


def test_the_fast_path_does_not_swallow_a_checked_error_type() -> None:
    """A stamped row with an unknown note kind fails as the checked reader says."""
    data = json.loads(state_to_json(attrs.evolve(_state(), notes=())))
    data["notes"] = [{"type": "mystery"}]
    with pytest.raises((ValueError, RecoveryKitError), match="unknown note type"):
        state_from_stored(data)


def test_every_optional_field_survives_the_fast_path() -> None:
    """Fields the strategies leave at their defaults (stock facts, category, friction,
    a hold, a discount code on a sent touch, a closed WhatsApp window, a pause and the
    conversation) come back from a stamped row as they were."""
    base = _state()
    assert base.checkout is not None
    item = LineItem(
        "sku-2", "Lamp", 2, Money(Decimal("10.50"), "EUR"), category="Home",
        in_stock=False, stock_level=0, stock_as_of=T0 - timedelta(hours=2),
    )  # fmt: skip
    checkout = attrs.evolve(
        base.checkout,
        items=(*base.checkout.items, item),
        total=Money(Decimal("63.00"), "EUR"),
        friction=Friction.SHIPPING_COST,
        hold_until=T0 + timedelta(days=1),
    )
    sent = SentTouch(1, Channel.SMS, T0, "k-1", attempt=1, delivered=True, read=True,
                     failed=True, discount_code="SAVE5")  # fmt: skip
    lines = (
        ConversationLine(T0, Channel.SMS, Direction.OUT, "Lamp shop: saved", "remind", 1),
        ConversationLine(T0 + timedelta(hours=1), Channel.SMS, Direction.IN, "00-950"),
    )
    state = attrs.evolve(
        base, checkout=checkout, sent=(sent,), failed_channels=frozenset({Channel.EMAIL}),
        window_closed_at=T0 + timedelta(minutes=30), paused_at=T0 + timedelta(hours=1),
        conversation=lines,
    )  # fmt: skip
    data = json.loads(state_to_json(state))
    _same(trusted_state(data), state)
    _same(trusted_state(data), RecoveryState.from_dict(data))

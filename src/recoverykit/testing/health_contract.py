"""The store contract's checks of ``HealthTransaction``: channel holds and released attempts.

``StoreContract`` inherits them; a store whose transactions lack ``HealthTransaction``
skips them (the runner then keeps holds in its own memory).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Final

import pytest

from ..engine.commands import MessageKind, SendMessage
from ..protocols import ChannelHold, HealthTransaction, OutboxEntry, OutboxStatus, Store
from ..values.model import Channel

__all__ = ["HealthContract"]

_T0: Final = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _hold(channel: Channel = Channel.SMS, recipient: str = "", **changes: object) -> ChannelHold:
    values: dict[str, object] = {
        "channel": channel,
        "opened_at": _T0,
        "next_probe_at": _T0 + timedelta(minutes=1),
        "reason": "the provider refused the credentials",
        "code": "20003",
        "probes": 0,
        "recipient": recipient,
    }
    values.update(changes)
    return ChannelHold(**values)  # type: ignore[arg-type]


def _message(key: str) -> SendMessage:
    return SendMessage(
        idempotency_key=key, checkout_id="chk-1", customer_id="cus-1", channel=Channel.SMS,
        to="+48601234567", kind=MessageKind.TOUCH, key="remind",
        text="Shop: your cart is waiting. STOP to opt out", locale="en", touch=1,
    )  # fmt: skip


@contextmanager
def _health(store: Store) -> Iterator[HealthTransaction]:
    with store.transaction() as tx:
        if not isinstance(tx, HealthTransaction):
            pytest.skip("this store keeps no channel holds (HealthTransaction)")
        yield tx


class _Abandoned(Exception):
    """Raised inside a transaction to roll it back."""


def _open_then_fail(store: Store) -> None:
    with _health(store) as tx:
        tx.open_hold(_hold())
        raise _Abandoned


class HealthContract:
    """``HealthTransaction``'s promises, as pytest tests (mixed into ``StoreContract``)."""

    def test_a_hold_opens_once_and_round_trips(self, store: Store) -> None:
        """``open_hold`` stores a hold only where none is kept (``True`` once), and every
        field comes back as saved; a channel's circuit and a recipient's hold are apart."""
        circuit = _hold()
        recipient = _hold(recipient="ab" * 32, code=None, next_probe_at=_T0 + timedelta(hours=24))
        with _health(store) as tx:
            assert tx.open_hold(circuit)
            assert not tx.open_hold(_hold(reason="another worker's view"))
            assert tx.open_hold(recipient)
        with _health(store) as tx:
            assert sorted(tx.holds(), key=lambda hold: hold.recipient) == [circuit, recipient]

    def test_saving_a_hold_replaces_it_and_dropping_reports_who_dropped(self, store: Store) -> None:
        """``save_hold`` writes over the kept hold (a failed probe); ``drop_hold`` returns the
        hold it removed, and ``None`` to a second caller (one ``channel_up`` per outage)."""
        later = _hold(probes=3, next_probe_at=_T0 + timedelta(minutes=8), code="190")
        with _health(store) as tx:
            tx.save_hold(_hold())
            tx.save_hold(later)
            tx.save_hold(_hold(Channel.WHATSAPP))
        with _health(store) as tx:
            assert later in tx.holds()
            assert tx.drop_hold(Channel.SMS) == later
            assert tx.drop_hold(Channel.SMS) is None
        with _health(store) as tx:
            assert [hold.channel for hold in tx.holds()] == [Channel.WHATSAPP]

    def test_holds_roll_back_with_their_transaction(self, store: Store) -> None:
        """A hold written in a transaction that raises is not kept."""
        with pytest.raises(_Abandoned):
            _open_then_fail(store)
        with _health(store) as tx:
            assert tx.holds() == []

    def test_release_attempt_puts_a_pending_entry_back(self, store: Store) -> None:
        """``release_attempt`` clears ``attempted_at`` of a pending entry claimed at that very
        instant, so it waits like an unsent one; never a settled or re-claimed entry."""
        with store.transaction() as tx:
            for key in ("k1", "k2"):
                tx.add_outbox(OutboxEntry(key, _message(key), _T0))
        at = _T0 + timedelta(seconds=1, microseconds=7)
        assert store.mark_attempted(["k1", "k2"], at=at) == ["k1", "k2"]
        store.mark_outbox("k2", OutboxStatus.SENT, at=at)
        with _health(store) as tx:
            assert not tx.release_attempt("k1", at + timedelta(seconds=1))
            assert tx.release_attempt("k1", at)
            assert not tx.release_attempt("k2", at)
            assert not tx.release_attempt("k-unknown", at)
        entry = next(entry for entry in store.outbox() if entry.key == "k1")
        assert entry.attempted_at is None
        assert store.mark_attempted(["k1"], at=at) == ["k1"]

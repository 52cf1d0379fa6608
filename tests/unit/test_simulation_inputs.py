"""Simulated receipts and generated traffic: reproducible, at the rates asked, never absurd."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from recoverykit.engine.commands import MessageKind, SendMessage
from recoverykit.engine.events import MessageDelivered, MessageFailed, MessageRead, OrderPlaced
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.errors import DefinitionError, InvalidInputError
from recoverykit.runtime.receipts import ReceiptRates, SimulatedReceipts
from recoverykit.runtime.scenario import load_scenario
from recoverykit.runtime.traffic import Traffic
from recoverykit.values.model import Channel

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def message(index: int, channel: Channel = Channel.WHATSAPP, touch: int | None = 1) -> SendMessage:
    return SendMessage(
        idempotency_key=f"k{index}", checkout_id=f"c{index}", customer_id=f"u{index}",
        channel=channel, to="+48601234567", kind=MessageKind.TOUCH, key="remind", text="hi",
        locale="en", touch=touch,
    )  # fmt: skip


def test_receipts_come_at_the_rates_asked() -> None:
    """Over 3 000 WhatsApp touches: about 2 % fail, 96 % are delivered, 82 % of those read."""
    model = SimulatedReceipts(seed=3)
    found = [receipt for i in range(3000) for receipt in model.for_send(message(i), T0)]
    failed = sum(isinstance(r, MessageFailed) for r in found) / 3000
    delivered = sum(isinstance(r, MessageDelivered) for r in found) / 3000
    read = sum(isinstance(r, MessageRead) for r in found) / 3000
    assert 0.01 < failed < 0.03
    assert 0.94 < delivered < 0.98
    assert 0.75 < read / delivered < 0.89
    assert all(r.at > T0 for r in found)


def test_receipts_are_reproducible_and_follow_the_seed() -> None:
    """The same seed gives the same receipts; another seed, others."""
    first = [SimulatedReceipts(seed=1).for_send(message(i), T0) for i in range(200)]
    again = [SimulatedReceipts(seed=1).for_send(message(i), T0) for i in range(200)]
    other = [SimulatedReceipts(seed=2).for_send(message(i), T0) for i in range(200)]
    assert first == again
    assert first != other


def test_replies_and_texts_get_no_read_receipt() -> None:
    """A reply (no touch) gets nothing; an SMS is never read, only delivered or failed."""
    model = SimulatedReceipts()
    assert [] == model.for_send(message(1, touch=None), T0)
    sms = [r for i in range(500) for r in model.for_send(message(i, Channel.SMS), T0)]
    assert not any(isinstance(r, MessageRead) for r in sms)


def test_rates_that_add_up_to_more_than_everything_are_refused() -> None:
    """Delivered plus failed above 1 names both values and the fix."""
    with pytest.raises(InvalidInputError, match=r"delivered \(0\.9\) and failed \(0\.2\)"):
        ReceiptRates(delivered=0.9, failed=0.2)


def _scenario(**extra: Any) -> dict[str, Any]:
    return {"store": {"name": "Shop"}, "start": "2026-03-10T00:00:00Z", **extra}


def test_bad_receipts_and_traffic_settings_are_reported_with_their_paths() -> None:
    """Every problem at once: an unknown channel, a share above 1, a missing checkout count."""
    data = _scenario(
        receipts={"pigeon": {}, "sms": {"delivered": 1.5}},
        traffic={"seed": 1, "lift": "a lot"},
    )
    with pytest.raises(DefinitionError) as caught:
        load_scenario(data)
    paths = {problem.path for problem in caught.value.problems}
    assert {"$.receipts.pigeon", "$.receipts.sms", "$.traffic.lift", "$.traffic.checkouts"} <= paths


def test_traffic_is_the_same_for_the_same_seed() -> None:
    """Two loads of one file give the same generated checkouts, orders and replies."""
    data = _scenario(policy={"holdout": 0.1}, traffic={"checkouts": 60, "seed": 5})
    first, second = load_scenario(data), load_scenario(data)
    assert first.checkouts == second.checkouts
    assert first.events == second.events
    assert () == first.stories
    assert 60 == len(first.checkouts)
    assert all(first.start <= checkout.abandoned_at for checkout in first.checkouts)


def test_held_out_checkouts_order_only_at_the_base_rate() -> None:
    """The lift goes to the messaged arm only: with no base rate, no held-out checkout orders."""
    policy = RecoveryPolicy(store_name="Shop", holdout=0.3)
    batch = Traffic(400, seed=9, base_rate=0.0, lift=0.5).generate(T0, policy)
    ordered = {event.checkout_id for event in batch.events if isinstance(event, OrderPlaced)}
    held = {c.id for c in batch.checkouts if policy.in_holdout(c.id)}
    assert held
    assert not ordered & held
    assert 0.35 < len(ordered) / (400 - len(held)) < 0.65


def test_traffic_rates_that_exceed_everything_are_refused() -> None:
    """A base rate and a lift adding up to more than 1 name both and the fix."""
    with pytest.raises(InvalidInputError, match="lower one of them"):
        Traffic(10, base_rate=0.6, lift=0.5)

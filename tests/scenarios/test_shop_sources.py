"""From a shop's webhooks to a recovery, end to end (issue 21's "done when").

Shopify's own webhooks, signed as Shopify signs them, go through ``ShopifySource``
into ``Runner.observe``; ``Runner.detect`` finds the abandonment after the idle time,
``run_due`` sends touch 1, and the order webhook a minute later stops everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from recoverykit.detector import CheckoutActivity, ShopOrder
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.engine.state import RecoveryStatus
from recoverykit.protocols import Store
from recoverykit.runtime.runner import Runner
from recoverykit.sources.shopify import ShopifySource
from recoverykit.stores import MemoryStore, SQLiteStore
from recoverykit.testing.fakes import FakeChannel, FakeClock
from recoverykit.values.model import Channel
from tests.shop_payloads import (
    SHOPIFY_SECRET,
    TOKEN,
    shopify_checkout,
    shopify_order,
    shopify_request,
)

#: 11:00 in Warsaw: inside the default contact hours.
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
SOURCE = ShopifySource(secret=SHOPIFY_SECRET)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    made: Store = MemoryStore() if request.param == "memory" else SQLiteStore(":memory:")
    yield made
    made.close()


def _stamp(moment: datetime) -> str:
    return moment.isoformat()


def _webhook(runner: Runner, clock: FakeClock, topic: str, payload: dict[str, object]) -> None:
    request = shopify_request(topic, payload, webhook_id=f"{topic}-{clock.now().timestamp()}")
    for fact in SOURCE.parse(request, now=clock.now()):
        assert isinstance(fact, CheckoutActivity | ShopOrder)
        runner.observe(fact)


def _shop(store: Store) -> tuple[Runner, FakeClock, FakeChannel]:
    clock = FakeClock(T0)
    sms = FakeChannel(Channel.SMS, clock=clock)
    runner = Runner(RecoveryPolicy(store_name="Northwind"), store, {Channel.SMS: sms}, clock)
    return runner, clock, sms


def test_abandoned_at_payment_then_ordered_a_minute_after_touch_1(store: Store) -> None:
    """Abandoned at payment: touch 1 after the idle time; the order a minute later: no more."""
    runner, clock, sms = _shop(store)
    _webhook(
        runner, clock, "checkouts/create", shopify_checkout(stage="contact", updated_at=_stamp(T0))
    )
    clock.advance(2 * MINUTE)
    left_at = clock.now()
    _webhook(runner, clock, "checkouts/update", shopify_checkout(updated_at=_stamp(left_at)))
    clock.advance(29 * MINUTE)
    assert 0 == runner.detect()
    clock.set(left_at + 30 * MINUTE)
    assert 1 == runner.detect()
    assert 0 == runner.detect()  # once per cart version
    clock.set(left_at + 61 * MINUTE)
    runner.run_due()
    assert [("remind", "+48601234567")] == [(m.key, m.to) for m in sms.sent]
    assert f"shopify:{TOKEN}" == sms.sent[0].checkout_id
    clock.advance(MINUTE)
    _webhook(runner, clock, "orders/create", shopify_order(at=_stamp(clock.now())))
    _webhook(runner, clock, "orders/paid", shopify_order(at=_stamp(clock.now())))
    for _ in range(8):
        clock.advance(timedelta(hours=12))
        runner.detect()
        runner.run_due()
    assert 1 == len(sms.sent)
    [state] = list(store.states())
    assert RecoveryStatus.FINISHED == state.status
    assert "ordered" == str(state.finish_reason)


def test_order_before_the_idle_time_means_no_recovery(store: Store) -> None:
    """Ordered 10 minutes after leaving: nothing is ever detected or sent."""
    runner, clock, sms = _shop(store)
    _webhook(runner, clock, "checkouts/update", shopify_checkout(updated_at=_stamp(T0)))
    clock.advance(10 * MINUTE)
    _webhook(runner, clock, "orders/create", shopify_order(at=_stamp(clock.now())))
    clock.advance(timedelta(days=3))
    assert 0 == runner.detect()
    runner.run_due()
    assert [] == sms.sent
    assert [] == list(store.states())


def test_an_order_on_another_checkout_suppresses_this_one(store: Store) -> None:
    """The same customer ordered through another checkout an hour ago: no reminder."""
    runner, clock, sms = _shop(store)
    _webhook(runner, clock, "orders/create", shopify_order(token="other", at=_stamp(T0)))
    clock.advance(timedelta(hours=1))
    _webhook(runner, clock, "checkouts/update", shopify_checkout(updated_at=_stamp(clock.now())))
    clock.advance(timedelta(hours=2))
    assert 0 == runner.detect()
    runner.run_due()
    assert [] == sms.sent
    assert any(record.kind == "detect" and record.data["outcome"] == "ordered_recently"
               for record in store.events())  # fmt: skip


def test_a_changed_cart_while_the_recovery_runs_is_not_a_second_sequence(store: Store) -> None:
    """The customer comes back, changes the cart and leaves again: the running recovery
    carries the new cart; no second recovery starts for the same checkout."""
    runner, clock, _sms = _shop(store)
    _webhook(runner, clock, "checkouts/update", shopify_checkout(updated_at=_stamp(T0)))
    clock.set(T0 + 30 * MINUTE)
    assert 1 == runner.detect()
    clock.set(T0 + 2 * timedelta(hours=1))
    changed = shopify_checkout(updated_at=_stamp(clock.now()))
    changed["line_items"][0]["quantity"] = 1
    changed["total_price"] = "84.00"
    _webhook(runner, clock, "checkouts/update", changed)
    [running] = list(store.states())
    assert running.checkout is not None
    assert 1 == running.checkout.item_count  # at once, before the detector's next tick
    clock.advance(timedelta(hours=1))
    assert 0 == runner.detect()
    assert [f"shopify:{TOKEN}"] == [state.checkout_id for state in store.states()]
    [state] = list(store.states())
    assert state.checkout is not None
    assert 1 == state.checkout.item_count


def test_shopify_unsubscribe_reaches_the_running_recovery(store: Store) -> None:
    """An "unsubscribed" SMS consent in a later checkout update revokes at once."""
    runner, clock, sms = _shop(store)
    _webhook(runner, clock, "checkouts/update", shopify_checkout(updated_at=_stamp(T0)))
    clock.set(T0 + 30 * MINUTE)
    assert 1 == runner.detect()
    clock.advance(MINUTE)
    revoked = shopify_checkout(updated_at=_stamp(clock.now()), sms_state="unsubscribed")
    revoked["customer"]["sms_marketing_consent"]["consent_updated_at"] = _stamp(clock.now())
    _webhook(runner, clock, "checkouts/update", revoked)
    for _ in range(6):
        clock.advance(timedelta(hours=12))
        runner.run_due()
    assert [] == sms.sent


def test_a_replayed_webhook_changes_nothing_twice(store: Store) -> None:
    """Shopify retries a webhook with the same X-Shopify-Webhook-Id: the second delivery
    is recognised and changes nothing (DESIGN invariant 10)."""
    runner, clock, sms = _shop(store)
    request = shopify_request("checkouts/update", shopify_checkout(updated_at=_stamp(T0)))
    [activity] = SOURCE.parse(request, now=clock.now())
    assert isinstance(activity, CheckoutActivity)
    runner.observe(activity)
    clock.advance(20 * MINUTE)
    runner.observe(activity)  # the retry, twenty minutes later: the idle clock keeps its start
    clock.set(T0 + 30 * MINUTE)
    assert 1 == runner.detect()
    duplicates = [
        r for r in store.events() if r.kind == "detect" and r.data["outcome"] == "duplicate"
    ]
    assert 1 == len(duplicates)
    clock.set(T0 + 61 * MINUTE)
    runner.run_due()
    assert 1 == len(sms.sent)

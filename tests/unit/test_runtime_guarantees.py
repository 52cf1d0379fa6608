"""Issue 18 regressions: the guarantees hold at the moment of sending, in the runtime.

Each test reproduces one of the issue's findings on the real ``Runner`` and a real
store (an SQLite file, and memory) and states the rule it checks.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from recoverykit.channels.keys import KEY_PARAMETER
from recoverykit.channels.twilio import with_key
from recoverykit.engine.commands import SendMessage
from recoverykit.engine.events import CheckoutAbandoned, Event, OrderPlaced, ReplyReceived
from recoverykit.engine.machine import Decision
from recoverykit.engine.offer import decide_just_in_time
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.engine.state import RecoveryState, RecoveryStatus
from recoverykit.errors import DefinitionError
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.policies.replies import classify_reply
from recoverykit.protocols import OutboxStatus, RecordKind, Store
from recoverykit.runtime import apply as apply_module
from recoverykit.runtime.runner import Runner
from recoverykit.runtime.scenario import load_plan_input
from recoverykit.stores import MemoryStore, SQLiteStore
from recoverykit.testing.fakes import FakeChannel, FakeClock
from recoverykit.testing.faults import (
    CrashingChannel,
    CrashingStore,
    Fault,
    FaultyChannel,
    SimulatedCrash,
)
from recoverykit.values.model import Channel, Checkout, Customer, LineItem, Stage
from recoverykit.values.money import Money
from recoverykit.webhooks.types import DeliveryStatus, InboundMessage, StatusUpdate

T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # 10:00 in London
POLICY = RecoveryPolicy(store_name="Guarantee Shop")
PRICE = Money(Decimal("40.00"), "GBP")


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store = (
        SQLiteStore(tmp_path / "store.sqlite3") if request.param == "sqlite" else MemoryStore()
    )
    yield made
    made.close()


def person(name: str, phone: str = "+447400123451") -> Customer:
    return Customer(id=name, first_name="Sam", phone=phone, timezone="Europe/London", country="GB")


def abandon(runner: Runner, who: Customer, checkout_id: str, at: datetime = T0) -> None:
    with runner.store.transaction() as tx:
        tx.append_consent(
            ConsentEvent(who.id, Channel.SMS, Purpose.RECOVERY, ConsentAction.GRANTED,
                         at - timedelta(minutes=5), "checkout_checkbox", "Text me.", "1",
                         address=who.phone)
        )  # fmt: skip
    checkout = Checkout(
        id=checkout_id,
        customer=who,
        items=(LineItem("SKU-1", "Teapot", 1, PRICE),),
        total=PRICE,
        stage=Stage.PAYMENT,
        abandoned_at=at,
        link=f"https://shop.example/r/{checkout_id}",
    )
    runner.handle(CheckoutAbandoned(checkout, at))


def tick(runner: Runner, clock: FakeClock, until: datetime, *, limit: int = 500) -> None:
    while (due := runner.store.next_due()) is not None and due <= until:
        clock.set(max(due, clock.now()))
        runner.run_due(limit=limit)
    clock.set(max(until, clock.now()))


def crash_after_commit(store: Store, clock: FakeClock) -> None:
    """Decide what is due and die right after the commit: entries stay pending."""
    dying = Runner(POLICY, CrashingStore(store, "after_commit", exit_process=False), {}, clock)
    with pytest.raises(SimulatedCrash):
        dying.run_due()


def outbox_detail(store: Store, status: OutboxStatus) -> list[str]:
    return [entry.detail or "" for entry in store.outbox(status=status, limit=10_000)]


# -- item 1: reconcile never sends a stale decision ----------------------------------------------
def test_reconcile_after_an_order_cancels_instead_of_sending(store: Store) -> None:
    """A touch committed before a crash is not sent by reconcile after the customer
    ordered (two days later, at 02:00 local): it is cancelled with the reason."""
    clock = FakeClock(T0)
    channel = FakeChannel(Channel.SMS, clock=clock)
    runner = Runner(POLICY, store, {Channel.SMS: channel}, clock)
    abandon(runner, person("c1"), "co-1")
    due = store.next_due()
    assert due is not None
    clock.set(due)
    crash_after_commit(store, clock)
    runner.handle(OrderPlaced("co-1", due + timedelta(minutes=1), customer_id="c1"))
    clock.set(datetime(2026, 3, 12, 2, 0, tzinfo=UTC))
    runner.reconcile()
    assert [] == channel.sent
    [detail] = outbox_detail(store, OutboxStatus.CANCELLED)
    assert "ordered" in detail


def test_reconcile_at_night_decides_the_touch_again(store: Store) -> None:
    """Reconcile at 03:00 local does not send a left-over touch: the engine decides it
    again, and it goes out once, inside contact hours, under a new key."""
    clock = FakeClock(T0)
    channel = FakeChannel(Channel.SMS, clock=clock)
    runner = Runner(POLICY, store, {Channel.SMS: channel}, clock)
    abandon(runner, person("c1"), "co-1")
    due = store.next_due()
    assert due is not None
    clock.set(due)
    crash_after_commit(store, clock)
    clock.set(datetime(2026, 3, 11, 3, 0, tzinfo=UTC))
    runner.reconcile()
    assert [] == channel.sent
    assert "decided again" in outbox_detail(store, OutboxStatus.CANCELLED)[0]
    tick(runner, clock, datetime(2026, 3, 11, 12, 0, tzinfo=UTC))
    [message] = [m for m in channel.sent if m.touch == 1]
    assert message.attempt == 1
    sent_at = [r.at for r in store.events() if r.kind == RecordKind.SEND and r.data["touch"] == 1]
    assert 9 <= sent_at[-1].hour < 20


# -- item 2: nothing after a STOP or an order committed during a batch ------------------------
def test_a_stop_or_order_committed_mid_batch_stops_the_rest_of_the_batch(store: Store) -> None:
    """While a batch is being sent, one customer orders and another texts STOP: their
    touches later in the same batch never reach the provider."""
    clock = FakeClock(T0)
    people = [person(f"c{n}", f"+44740012340{n}") for n in range(4)]
    runner: Runner
    others: list[Customer] = []

    def interfere(message: SendMessage) -> None:
        if others:
            return
        others.extend(who for who in people if who.id != message.customer_id)
        others.append(next(who for who in people if who.id == message.customer_id))
        runner.handle(OrderPlaced(f"co-{others[0].id[1:]}", clock.now(), customer_id=others[0].id))
        runner.receive(InboundMessage(Channel.SMS, others[1].phone or "", "STOP", "sm-1",
                                      clock.now()))  # fmt: skip

    channel = FaultyChannel(Channel.SMS, clock=clock, on_send=interfere)
    runner = Runner(POLICY, store, {Channel.SMS: channel}, clock)
    for n, who in enumerate(people):
        abandon(runner, who, f"co-{n}")
    clock.set(T0 + timedelta(hours=1, minutes=1))
    runner.run_due()
    touched = {m.customer_id for m in channel.delivered if m.touch is not None}
    assert touched == {others[3].id, others[2].id}
    assert len(outbox_detail(store, OutboxStatus.CANCELLED)) == 2


# -- item 3: a STOP binds the address across customer records ---------------------------------
def test_a_stop_from_a_shared_number_protects_every_record_using_it(store: Store) -> None:
    """A guest checkout and an account share a number: a STOP from it stops both."""
    clock = FakeClock(T0)
    channel = FakeChannel(Channel.SMS, clock=clock)
    runner = Runner(POLICY, store, {Channel.SMS: channel}, clock)
    abandon(runner, person("guest-1"), "co-guest")
    abandon(runner, person("account-1"), "co-account")
    tick(runner, clock, T0 + timedelta(hours=2))
    assert {m.customer_id for m in channel.sent} == {"guest-1", "account-1"}
    runner.receive(InboundMessage(Channel.SMS, "+447400123451", "STOP", "sm-stop", clock.now()))
    stopped_at = len(channel.sent)
    tick(runner, clock, T0 + timedelta(days=8))
    later = [m for m in channel.sent[stopped_at:] if m.touch is not None]
    assert later == []


# -- item 5: a 5xx is outcome_unknown, settled by a delivery report -----------------------------
def test_a_5xx_is_uncertain_and_a_status_callback_settles_it(store: Store) -> None:
    """The provider answers 502 after taking the message: the entry is uncertain and
    never resent; Twilio's status callback, carrying the key in its URL, makes it sent."""
    clock = FakeClock(T0)
    channel = FaultyChannel(Channel.SMS, clock=clock, script=lambda _m: Fault.SERVER_ERROR)
    runner = Runner(POLICY, store, {Channel.SMS: channel}, clock)
    abandon(runner, person("c1"), "co-1")
    tick(runner, clock, T0 + timedelta(hours=2))
    [entry] = store.outbox(status=OutboxStatus.UNCERTAIN)
    assert 1 == len(channel.delivered)
    url = with_key("https://shop.example/hooks/twilio", entry.key)
    assert KEY_PARAMETER in url
    report = StatusUpdate(Channel.SMS, "SM-late", DeliveryStatus.DELIVERED, clock.now(),
                          provider_id="SM-late:delivered", idempotency_key=entry.key)  # fmt: skip
    runner.receive(report)
    [settled] = store.outbox(status=OutboxStatus.SENT)
    assert (settled.key, settled.provider_id) == (entry.key, "SM-late")
    with store.transaction() as tx:
        found = tx.load("co-1")
    assert found is not None
    assert found.state.sent[0].delivered
    tick(runner, clock, T0 + timedelta(hours=5))
    assert [m.touch for m in channel.delivered].count(1) == 1


# -- item 6: an adapter's exception is its entry's failure alone ------------------------------
def test_an_unexpected_adapter_exception_fails_one_entry_and_the_batch_goes_on(
    store: Store,
) -> None:
    """One send raises a RuntimeError: that entry is failed with the exception's type
    and message; every other entry of the batch is sent."""
    clock = FakeClock(T0)

    def script(message: SendMessage) -> Fault:
        return Fault.EXCEPTION if message.customer_id == "c2" else Fault.ACCEPT

    channel = FaultyChannel(Channel.SMS, clock=clock, script=script)
    runner = Runner(POLICY, store, {Channel.SMS: channel}, clock)
    for n in range(5):
        abandon(runner, person(f"c{n}", f"+44740012340{n}"), f"co-{n}")
    clock.set(T0 + timedelta(hours=1, minutes=1))
    assert 4 == runner.run_due()
    [detail] = outbox_detail(store, OutboxStatus.FAILED)
    assert detail.startswith("RuntimeError: the HTTP client was closed")
    assert [] == store.outbox(status=OutboxStatus.PENDING)


# -- item 7: a kill loses at most the entry being sent ------------------------------------------
@pytest.mark.parametrize("step", ["after_attempted", "after_send"])
def test_a_crash_mid_batch_leaves_at_most_one_entry_uncertain(store: Store, step: str) -> None:
    """Killed while sending a batch of 40: after reconcile, 39 went exactly once, one
    is uncertain (it was in the provider's hands), none is lost."""
    clock = FakeClock(T0)
    channel = FakeChannel(Channel.SMS, clock=clock)
    for n in range(40):
        abandon(Runner(POLICY, store, {}, clock), person(f"c{n}", f"+4474001234{n:02d}"), f"co-{n}")
    clock.set(T0 + timedelta(hours=1, minutes=1))
    if step == "after_send":
        dying = Runner(POLICY, store, {Channel.SMS: CrashingChannel(channel, exit_process=False)},
                       clock)  # fmt: skip
    else:
        crashing = CrashingStore(store, "after_attempted", exit_process=False)
        dying = Runner(POLICY, crashing, {Channel.SMS: channel}, clock)
    with pytest.raises(SimulatedCrash):
        dying.run_due(limit=100)
    clock.set(clock.now() + timedelta(minutes=10))
    Runner(POLICY, store, {Channel.SMS: channel}, clock).reconcile()
    keys = channel.keys()
    assert len(keys) == len(set(keys))
    assert 1 == len(store.outbox(status=OutboxStatus.UNCERTAIN))
    assert 39 == len(store.outbox(status=OutboxStatus.SENT))
    assert [] == store.outbox(status=OutboxStatus.PENDING)


# -- item 8: a poison recovery is quarantined, the others go on ----------------------------------
def test_a_recovery_the_engine_raises_on_is_quarantined_and_releases_its_batch(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One recovery's data makes the engine raise: it is parked with a quarantine
    record naming the error, and every other recovery in its batch is messaged."""
    clock = FakeClock(T0)
    channel = FakeChannel(Channel.SMS, clock=clock)
    runner = Runner(POLICY, store, {Channel.SMS: channel}, clock)
    for n in range(6):
        abandon(runner, person(f"c{n}", f"+44740012340{n}"), f"co-{n}")
    real = decide_just_in_time

    def engine(state: RecoveryState | None, event: Event, **kwargs: Any) -> Decision:
        if state is not None and state.checkout_id == "co-3":
            raise decimal.InvalidOperation([decimal.InvalidOperation])
        return real(state, event, **kwargs)

    monkeypatch.setattr(apply_module, "decide_just_in_time", engine)
    tick(runner, clock, T0 + timedelta(hours=2))
    assert {m.customer_id for m in channel.sent} == {f"c{n}" for n in range(6)} - {"c3"}
    [record] = [r for r in store.events() if r.kind == RecordKind.QUARANTINE]
    assert record.checkout_id == "co-3"
    assert record.data["error"]
    due = store.next_due()
    assert due is None or due > clock.now()
    with store.transaction() as tx:
        parked = tx.load("co-3")
    assert parked is not None
    assert parked.state.status is RecoveryStatus.ACTIVE
    assert parked.state.wakeup_at is None


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("total", {"amount": "1" * 40, "currency": "GBP"}, "$.checkout.total.amount"),
        ("total", {"amount": "1E+30", "currency": "GBP"}, "$.checkout.total.amount"),
        ("abandoned_at", "0001-01-02T00:00:00+00:00", "$.checkout.abandoned_at"),
        ("abandoned_at", "9999-12-30T00:00:00+00:00", "$.checkout.abandoned_at"),
    ],
)
def test_loaders_refuse_values_the_engine_cannot_compute_with(
    field: str, value: object, path: str
) -> None:
    """Amounts with too many digits or a huge exponent, and dates far from the present,
    are refused when loaded, with the JSON path of the bad value."""
    checkout: dict[str, object] = {
        "id": "co-1",
        "customer": {"id": "c1", "phone": "+447400123451", "timezone": "Europe/London"},
        "items": [{"sku": "S", "name": "Teapot", "quantity": 1,
                   "unit_price": {"amount": "40.00", "currency": "GBP"}}],
        "total": {"amount": "40.00", "currency": "GBP"},
        "stage": "payment",
        "abandoned_at": "2026-03-10T10:00:00+00:00",
        "link": "https://shop.example/r/1",
    }  # fmt: skip
    checkout[field] = value
    with pytest.raises(DefinitionError, match=path.replace("$", r"\$").replace(".", r"\.")):
        load_plan_input({"store": {"name": "Guarantee Shop"}, "checkout": checkout})


# -- item 14: replies go to the recovery last touched on that channel --------------------------
def test_a_reply_reaches_the_recovery_last_touched_on_its_channel(store: Store) -> None:
    """Two open recoveries; the older one was messaged last on SMS: a "1" (menu) reply
    is that one's, not the newest open one's (SEAMS 2)."""
    clock = FakeClock(T0)
    channel = FakeChannel(Channel.SMS, clock=clock)
    runner = Runner(POLICY, store, {Channel.SMS: channel}, clock)
    who = person("c1")
    abandon(runner, who, "co-old")
    tick(runner, clock, T0 + timedelta(hours=2))
    abandon(runner, who, "co-new", at=clock.now())
    at = clock.now() + timedelta(minutes=5)
    clock.set(at)
    decisions = runner.handle(
        ReplyReceived("c1", Channel.SMS, classify_reply("where is the link?"), at)
    )
    assert ["co-old"] == [d.state.checkout_id for d in decisions]


def test_the_testing_driver_routes_like_the_runner() -> None:
    """EngineDriver is the runtime core: a consent change reaches the open recoveries
    (it was silently dropped before) and stops their touches."""
    from recoverykit.engine.events import ConsentChanged
    from recoverykit.testing import EngineDriver

    who = person("c1")
    grant = ConsentEvent("c1", Channel.SMS, Purpose.RECOVERY, ConsentAction.GRANTED,
                         T0 - timedelta(minutes=5), "checkout_checkbox", "Text me.")  # fmt: skip
    driver = EngineDriver(POLICY, consent=[grant])
    checkout = Checkout(id="co-1", customer=who, items=(LineItem("S", "Teapot", 1, PRICE),),
                        total=PRICE, stage=Stage.PAYMENT, abandoned_at=T0,
                        link="https://shop.example/r/1")  # fmt: skip
    driver.feed(CheckoutAbandoned(checkout, T0))
    driver.run_until(T0 + timedelta(hours=2))
    assert 1 == len(driver.touches())
    revoke = ConsentEvent("c1", Channel.SMS, Purpose.RECOVERY, ConsentAction.REVOKED,
                          T0 + timedelta(hours=3), "support_agent", "Asked by phone.")  # fmt: skip
    driver.feed(ConsentChanged(revoke))
    driver.run_until(T0 + timedelta(days=8))
    assert 1 == len(driver.touches())


def test_status_reports_without_a_key_still_match_by_provider_id(store: Store) -> None:
    """A report naming only the provider's id settles nothing new: it is a delivery
    receipt for the entry sent under that id, as before."""
    clock = FakeClock(T0)
    channel = FakeChannel(Channel.SMS, clock=clock)
    runner = Runner(POLICY, store, {Channel.SMS: channel}, clock)
    abandon(runner, person("c1"), "co-1")
    tick(runner, clock, T0 + timedelta(hours=2))
    [entry] = store.outbox(status=OutboxStatus.SENT)
    assert entry.provider_id is not None
    runner.receive(StatusUpdate(Channel.SMS, entry.provider_id, DeliveryStatus.DELIVERED,
                                clock.now(), provider_id="x"))  # fmt: skip
    with store.transaction() as tx:
        found = tx.load("co-1")
    assert found is not None
    assert found.state.sent[0].delivered

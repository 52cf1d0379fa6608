"""Issue 23 items 1 and 2: provider faults handled the way an operator would.

A fault of the whole channel holds the channel (its entries wait, one probe at a time,
nothing counted against recoveries); a ``retry_after`` is honoured for the channel, the
recipient or the message as the fault's scope says; the policy's send rate holds within
and across ticks. Every test runs the real ``Runner`` on a real store (an SQLite file and
memory) with ``FaultyProvider`` playing the provider's trouble on the test's clock.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from recoverykit.engine.events import CheckoutAbandoned
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.engine.state import RecoveryState
from recoverykit.errors import ChannelError, FaultScope, InvalidPolicy
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.protocols import ChannelHold, LogRecord, OutboxStatus, RecordKind, Store
from recoverykit.runtime.health import FIRST_PROBE, LONGEST_PROBE, SendRate, probe_wait
from recoverykit.runtime.runner import Runner
from recoverykit.stores import MemoryStore, SQLiteStore
from recoverykit.testing.fakes import FakeChannel, FakeClock
from recoverykit.testing.faults import FaultyProvider, ProviderFault
from recoverykit.values.model import Channel, Checkout, Customer, LineItem, Stage
from recoverykit.values.money import Money

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 09:00 in London
PRICE = Money(Decimal("40.00"), "GBP")
POLICY = RecoveryPolicy(store_name="Circuit Shop")


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store = (
        SQLiteStore(tmp_path / "store.sqlite3") if request.param == "sqlite" else MemoryStore()
    )
    yield made
    made.close()


class Alerts:
    """A ``ChannelHealthSink`` that remembers what it was told."""

    def __init__(self) -> None:
        self.down: list[ChannelHold] = []
        self.up: list[tuple[ChannelHold, datetime]] = []

    def channel_down(self, hold: ChannelHold) -> None:
        self.down.append(hold)

    def channel_up(self, hold: ChannelHold, at: datetime) -> None:
        self.up.append((hold, at))


def person(name: str, phone: str, *, zone: str = "Europe/London", country: str = "GB") -> Customer:
    return Customer(
        id=name, first_name="Sam", phone=phone, email=f"{name}@example.com", timezone=zone,
        country=country,
    )  # fmt: skip


def grant(
    runner: Runner, who: Customer, channel: Channel, at: datetime, *, confirm: bool = False
) -> None:
    address = who.email if channel is Channel.EMAIL else who.phone
    assert address is not None
    with runner.store.transaction() as tx:
        tx.append_consent(
            ConsentEvent(who.id, channel, Purpose.RECOVERY, ConsentAction.GRANTED,
                         at - timedelta(minutes=5), "checkout_checkbox", "Remind me.", "1",
                         address=address)
        )  # fmt: skip
        if confirm:
            tx.append_consent(
                ConsentEvent(who.id, channel, Purpose.RECOVERY, ConsentAction.CONFIRMED,
                             at - timedelta(minutes=4), "keyword", "YES", "1", address=address)
            )  # fmt: skip


def abandon(runner: Runner, who: Customer, checkout_id: str, at: datetime = T0) -> None:
    checkout = Checkout(
        id=checkout_id, customer=who, items=(LineItem("SKU-1", "Teapot", 1, PRICE),),
        total=PRICE, stage=Stage.PAYMENT, abandoned_at=at,
        link=f"https://shop.example/r/{checkout_id}",
    )  # fmt: skip
    runner.handle(CheckoutAbandoned(checkout, at))


def shoppers(runner: Runner, prefix: str, count: int, at: datetime = T0) -> list[Customer]:
    """``count`` customers with SMS consent, each abandoning a checkout ``co-<id>`` at ``at``."""
    people = [person(f"{prefix}{n}", f"+447400{ord(prefix[0]):03d}{n:03d}") for n in range(count)]
    for who in people:
        grant(runner, who, Channel.SMS, at)
        abandon(runner, who, f"co-{who.id}", at)
    return people


def tick_every(runner: Runner, clock: FakeClock, until: datetime, step: timedelta) -> None:
    """A scheduler that runs ``run_due`` every ``step`` (cron), whatever is due."""
    while clock.now() < until:
        clock.set(min(clock.now() + step, until))
        runner.run_due()


def records(store: Store, kind: RecordKind) -> list[LogRecord]:
    return [record for record in store.events() if record.kind == kind]


def failed_events(store: Store) -> list[LogRecord]:
    return [
        record
        for record in records(store, RecordKind.EVENT)
        if record.data.get("type") == "MessageFailed"
    ]


def states(store: Store) -> dict[str, RecoveryState]:
    return {state.checkout_id: state for state in store.states()}


# -- item 1: the channel circuit -----------------------------------------------------------------
def test_an_hour_of_auth_failure_burns_no_retry_and_alerts_once(store: Store) -> None:
    """Twilio refuses the credentials for an hour while 12 first touches fall due: no
    retry is burned (no failed entry, no MessageFailed, every touch on attempt 0), the
    operator is told once that SMS is down and once that it is back, only probes reach
    the provider meanwhile (1, 2, 4, ... minutes apart), and every waiting touch goes
    out once when it returns, never more than the send rate allows at once."""
    clock = FakeClock(T0)
    outage = ProviderFault.auth_failure(T0 + timedelta(minutes=20), timedelta(hours=1))
    provider = FaultyProvider(Channel.SMS, clock, [outage])
    alerts = Alerts()
    policy = RecoveryPolicy(store_name="Circuit Shop", send_rates={Channel.SMS: 2.0})
    runner = Runner(policy, store, {Channel.SMS: provider}, clock, health=alerts)
    people = shoppers(runner, "c", 12)
    tick_every(runner, clock, T0 + timedelta(hours=3), timedelta(minutes=1))

    assert [] == store.outbox(status=OutboxStatus.FAILED)
    assert [] == store.outbox(status=OutboxStatus.PENDING)
    assert [] == failed_events(store)
    for state in states(store).values():
        assert [(1, 0)] == [(sent.touch, sent.attempt) for sent in state.sent]
    assert sorted(f"co-{who.id}" for who in people) == sorted(
        message.checkout_id for message in provider.delivered
    )
    [down] = records(store, RecordKind.CHANNEL_DOWN)
    [up] = records(store, RecordKind.CHANNEL_UP)
    assert (down.data["channel"], down.data["code"]) == ("sms", "20003")
    assert up.data["channel"] == "sms"
    assert len(alerts.down) == 1
    assert len(alerts.up) == 1
    refused = [at for at, _message, _error in provider.refused]
    gaps = [later - earlier for earlier, later in itertools.pairwise(refused)]
    assert gaps, "the outage was probed more than once"
    assert all(gap >= FIRST_PROBE for gap in gaps)
    assert gaps == sorted(gaps), "the probes back off"
    end = outage.start + outage.length
    assert all(outage.start <= at < end for at in refused)
    accepted = [at for at, _message in provider.accepted]
    for moment in set(accepted):
        assert accepted.count(moment) <= 2, "no burst beyond the send rate"
    assert all(at >= end for at in accepted if at >= outage.start)


def test_a_circuit_survives_the_process_that_opened_it(tmp_path: Path) -> None:
    """The circuit is kept in the store: a new runner (the next cron tick, another worker)
    sends nothing on the channel before the next probe, and closes it on success."""
    path = tmp_path / "store.sqlite3"
    clock = FakeClock(T0)
    outage = ProviderFault.auth_failure(T0, timedelta(minutes=90))
    provider = FaultyProvider(Channel.SMS, clock, [outage])
    with Runner(POLICY, SQLiteStore(path), {Channel.SMS: provider}, clock) as first:
        shoppers(first, "p", 3)
        tick_every(first, clock, T0 + timedelta(hours=1), timedelta(minutes=5))
    assert len(provider.refused) >= 2
    last_refusal = provider.refused[-1][0]
    with SQLiteStore(path) as reopened:
        [hold] = _holds(reopened)
        assert hold.channel is Channel.SMS
        assert hold.next_probe_at > last_refusal
    asked = len(provider.requests)
    with Runner(POLICY, SQLiteStore(path), {Channel.SMS: provider}, clock) as second:
        clock.set(last_refusal + FIRST_PROBE / 2)
        second.run_due()
        assert len(provider.requests) == asked, "nothing before the next probe"
        tick_every(second, clock, T0 + timedelta(hours=4), timedelta(minutes=5))
        assert len(provider.delivered) == 3
        assert [] == _holds(second.store)
        assert len(records(second.store, RecordKind.CHANNEL_DOWN)) == 1
        assert len(records(second.store, RecordKind.CHANNEL_UP)) == 1


def _holds(store: Store) -> list[ChannelHold]:
    with store.transaction() as tx:
        return tx.holds()  # type: ignore[attr-defined,no-any-return]


def test_a_touch_past_its_program_deadline_moves_to_the_next_channel() -> None:
    """A US text waiting on a channel that is down for three days passes its 48-hour
    deadline (CP-1): at the next probe the last look hands it back to the engine, which
    moves the touch to e-mail instead of sending a stale text when SMS returns."""
    store = MemoryStore()
    clock = FakeClock(datetime(2026, 3, 10, 15, 0, tzinfo=UTC))  # 11:00 in New York
    start = clock.now()
    outage = ProviderFault.auth_failure(start, timedelta(days=3))
    sms = FaultyProvider(Channel.SMS, clock, [outage])
    email = FakeChannel(Channel.EMAIL, clock=clock)
    policy = RecoveryPolicy(store_name="Circuit Shop", channels=(Channel.SMS, Channel.EMAIL))
    runner = Runner(policy, store, {Channel.SMS: sms, Channel.EMAIL: email}, clock)
    who = person("us1", "+12025550143", zone="America/New_York", country="US")
    grant(runner, who, Channel.SMS, start, confirm=True)
    grant(runner, who, Channel.EMAIL, start)
    abandon(runner, who, "co-us1", start)
    tick_every(runner, clock, start + timedelta(days=4), timedelta(minutes=30))
    assert [] == sms.delivered
    assert [1] == [message.touch for message in email.sent][:1]
    assert [] == failed_events(store)
    cancelled = store.outbox(status=OutboxStatus.CANCELLED)
    assert any("last look" in (entry.detail or "") for entry in cancelled)


# -- item 2: rates -------------------------------------------------------------------------------
def test_no_request_before_a_429s_retry_after(store: Store) -> None:
    """HTTP 429 with Retry-After 30 s: after the refusal, the provider hears nothing on
    that channel until the 30 seconds have passed, however often the runner ticks."""
    clock = FakeClock(T0)
    provider = FaultyProvider(Channel.SMS, clock)
    runner = Runner(POLICY, store, {Channel.SMS: provider}, clock)
    shoppers(runner, "r", 4)
    first = store.next_due()
    assert first is not None
    provider.faults = (ProviderFault.too_many_requests(first, timedelta(seconds=30)),)
    tick_every(runner, clock, T0 + timedelta(hours=2), timedelta(seconds=5))
    [(refused_at, _message, error)] = provider.refused
    assert error.retry_after is not None
    allowed = refused_at + error.retry_after
    assert not [at for at, _message in provider.requests if refused_at < at < allowed]
    assert len(provider.delivered) == 4
    assert [] == failed_events(store)


def test_a_recipient_hold_defers_only_that_recipient(store: Store) -> None:
    """WhatsApp's "too many messages to this number" with a wait holds back the messages
    to that one number until then (here: a second customer record sharing the number,
    which no cap of the first holds back); the other customers' messages go as usual."""
    clock = FakeClock(T0)
    held, twin = person("h1", "+447400777001"), person("h2", "+447400777001")
    free = person("f1", "+447400777002")
    provider = FaultyProvider(Channel.SMS, clock)
    runner = Runner(POLICY, store, {Channel.SMS: provider}, clock)
    for who in (held, twin, free):
        grant(runner, who, Channel.SMS, T0)
    abandon(runner, held, "co-h1")
    abandon(runner, twin, "co-h2", T0 + timedelta(minutes=10))
    abandon(runner, free, "co-f1", T0 + timedelta(minutes=20))
    first = store.next_due()
    assert first is not None
    limit = ProviderFault.recipient_limit(held.phone or "", first, timedelta(hours=3))
    provider.faults = (limit,)
    tick_every(runner, clock, T0 + timedelta(hours=6), timedelta(minutes=1))
    [(refused_at, refused, _error)] = provider.refused
    assert refused.checkout_id == "co-h1"
    to_held = [(at, m.checkout_id) for at, m in provider.requests if m.to == held.phone]
    assert all(at >= refused_at + timedelta(hours=3) for at, _checkout in to_held[1:])
    assert {"co-h1", "co-h2"} == {checkout for _at, checkout in to_held[1:]}
    [(free_at, _message)] = [(at, m) for at, m in provider.accepted if m.checkout_id == "co-f1"]
    assert free_at < refused_at + timedelta(hours=3), "another number is not held"
    assert [] == records(store, RecordKind.CHANNEL_DOWN)


def test_one_probe_per_wait_whatever_its_answer(store: Store) -> None:
    """A probe whose answer is lost (HTTP 502: the provider may have it) neither closes
    the circuit nor lets a second entry through in the same tick: the next one waits
    for the next probe."""
    clock = FakeClock(T0)
    provider = FaultyProvider(Channel.SMS, clock)
    runner = Runner(POLICY, store, {Channel.SMS: provider}, clock)
    shoppers(runner, "u", 4)
    first = store.next_due()
    assert first is not None
    down = ProviderFault.too_many_requests(first, timedelta(minutes=40))
    lost = ProviderFault(
        first + timedelta(minutes=40), timedelta(minutes=1), "outcome_unknown",
        FaultScope.MESSAGE, "HTTP 502 after the request left (scripted)",
    )  # fmt: skip
    provider.faults = (down, lost)
    clock.set(first)
    runner.run_due()
    assert len(provider.refused) == 1
    clock.set(first + timedelta(minutes=39))  # every first touch is due and waits
    runner.run_due()
    assert len(provider.requests) == 1
    clock.set(first + timedelta(minutes=40))
    runner.run_due()
    runner.run_due()
    assert len(provider.requests) == 2, "one probe, whose answer was lost"
    clock.advance(timedelta(minutes=1))
    runner.run_due()
    assert len(provider.requests) == 2, "the next probe waits its turn"
    tick_every(runner, clock, T0 + timedelta(hours=4), timedelta(minutes=1))
    assert len(provider.delivered) == 3
    assert len(store.outbox(status=OutboxStatus.UNCERTAIN)) == 1
    assert len(records(store, RecordKind.CHANNEL_UP)) == 1


def test_a_message_faults_retry_after_sets_its_next_attempt(store: Store) -> None:
    """A refusal of one message with ``retry_after`` longer than the retry backoff: the
    retry of that touch is not attempted before it."""
    clock = FakeClock(T0)
    calls: list[datetime] = []

    class SlowDown:
        channel = Channel.SMS

        def send(self, message: Any) -> Any:
            calls.append(clock.now())
            if len(calls) == 1:
                wait = timedelta(hours=1)
                raise ChannelError(
                    "slow down", permanent=False, code="x", scope=FaultScope.MESSAGE,
                    retry_after=wait,
                )  # fmt: skip
            return FakeChannel(Channel.SMS, clock=clock).send(message)

    runner = Runner(POLICY, store, {Channel.SMS: SlowDown()}, clock)
    who = person("m1", "+447400888001")
    grant(runner, who, Channel.SMS, T0)
    abandon(runner, who, "co-m1")
    tick_every(runner, clock, T0 + timedelta(hours=4), timedelta(minutes=1))
    assert len(calls) == 2
    assert calls[1] - calls[0] >= timedelta(hours=1)


def test_the_send_rate_holds_within_and_across_ticks(store: Store) -> None:
    """At 0.5 messages per second, 10 due touches go one per tick when ticks come every
    second, and all of them eventually; nothing is failed or cancelled for it."""
    clock = FakeClock(T0)
    channel = FakeChannel(Channel.SMS, clock=clock)
    policy = RecoveryPolicy(store_name="Circuit Shop", send_rates={Channel.SMS: 0.5})
    runner = Runner(policy, store, {Channel.SMS: channel}, clock)
    shoppers(runner, "s", 10)
    due = store.next_due()
    assert due is not None
    clock.set(due + timedelta(minutes=40))  # every first touch is due now
    moments: list[datetime] = []
    for _ in range(40):
        before = len(channel.sent)
        runner.run_due()
        moments.extend([clock.now()] * (len(channel.sent) - before))
        clock.advance(timedelta(seconds=1))
    assert len(channel.sent) == 10
    for earlier, later in itertools.pairwise(moments):
        assert later - earlier >= timedelta(seconds=2)
    assert [] == store.outbox(status=OutboxStatus.CANCELLED)


def test_send_rate_bucket() -> None:
    """A second's worth at once, then one per 1/rate seconds; never more."""
    rate = SendRate(3.0)
    for _ in range(3):
        assert rate.ready(T0)
        rate.take(T0)
    assert not rate.ready(T0)
    assert rate.next_at(T0) == T0 + timedelta(seconds=1 / 3)
    assert rate.ready(T0 + timedelta(seconds=1 / 3))
    slow = SendRate(0.1)
    slow.take(T0)
    assert not slow.ready(T0 + timedelta(seconds=9))
    assert slow.ready(T0 + timedelta(seconds=10))


def test_probe_waits_double_up_to_the_cap_unless_the_provider_says() -> None:
    assert [probe_wait(n) for n in range(4)] == [FIRST_PROBE * 2**n for n in range(4)]
    assert probe_wait(40) == LONGEST_PROBE
    assert probe_wait(3, timedelta(seconds=7)) == timedelta(seconds=7)


@pytest.mark.parametrize(
    ("rate", "fix"),
    [(0, "above 0"), (-1.0, "above 0"), (float("inf"), "above 0"), (True, "above 0")],
)
def test_send_rates_are_checked(rate: Any, fix: str) -> None:
    with pytest.raises(InvalidPolicy, match=fix):
        RecoveryPolicy(store_name="Shop", send_rates={Channel.SMS: rate})
    with pytest.raises(InvalidPolicy, match="Channel values"):
        RecoveryPolicy(store_name="Shop", send_rates={"sms": 1.0})  # type: ignore[dict-item]

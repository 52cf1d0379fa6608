"""Channel health over any fault script, on the real ``Runner`` and a store.

Whatever stretches of channel-wide refusals (with or without a ``retry_after``) and
per-recipient limits the provider plays, and however often the scheduler ticks:
nothing reaches the provider while the channel's circuit is open but one probe per
wait, nothing reaches a held recipient before its wait is over, no retry is counted
for a fault of the channel, and every touch is settled once the trouble is over.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from recoverykit.engine.events import CheckoutAbandoned
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.errors import FaultScope
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.protocols import OutboxStatus, RecordKind
from recoverykit.runtime.health import FIRST_PROBE
from recoverykit.runtime.runner import Runner
from recoverykit.stores import MemoryStore
from recoverykit.testing.fakes import FakeClock
from recoverykit.testing.faults import FaultyProvider, ProviderFault
from recoverykit.values.model import Channel, Checkout, Customer, LineItem, Stage
from recoverykit.values.money import Money

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
PRICE = Money(Decimal("25.00"), "GBP")
PHONES = tuple(f"+4474001100{n:02d}" for n in range(4))


@st.composite
def faults(draw: st.DrawFn) -> ProviderFault:
    start = T0 + timedelta(minutes=draw(st.integers(0, 180)))
    kind = draw(st.sampled_from(["auth", "429", "recipient"]))
    if kind == "auth":
        return ProviderFault.auth_failure(start, timedelta(minutes=draw(st.integers(1, 120))))
    if kind == "429":
        return ProviderFault.too_many_requests(start, timedelta(seconds=draw(st.integers(1, 900))))
    length = timedelta(minutes=draw(st.integers(1, 90)))
    return ProviderFault.recipient_limit(draw(st.sampled_from(PHONES)), start, length)


def _run(
    script: list[ProviderFault], step: timedelta, rate: float | None
) -> tuple[FaultyProvider, MemoryStore]:
    clock = FakeClock(T0)
    provider = FaultyProvider(Channel.SMS, clock, script)
    rates = {} if rate is None else {Channel.SMS: rate}
    policy = RecoveryPolicy(store_name="Property Shop", send_rates=rates)
    store = MemoryStore()
    runner = Runner(policy, store, {Channel.SMS: provider}, clock)
    for n, phone in enumerate(PHONES):
        who = Customer(id=f"c{n}", first_name="Sam", phone=phone, timezone="Europe/London",
                       country="GB")  # fmt: skip
        with store.transaction() as tx:
            tx.append_consent(
                ConsentEvent(who.id, Channel.SMS, Purpose.RECOVERY, ConsentAction.GRANTED,
                             T0, "checkout_checkbox", "Remind me.", "1", address=phone)
            )  # fmt: skip
        at = T0 + timedelta(minutes=7 * n)
        checkout = Checkout(
            id=f"co-{n}", customer=who, items=(LineItem("SKU-1", "Mug", 1, PRICE),),
            total=PRICE, stage=Stage.PAYMENT, abandoned_at=at, link=f"https://shop.example/{n}",
        )  # fmt: skip
        clock.set(at)
        runner.handle(CheckoutAbandoned(checkout, at))
    end = T0 + timedelta(hours=8)
    while clock.now() < end:
        clock.set(min(clock.now() + step, end))
        runner.run_due()
    return provider, store


@settings(max_examples=max(10, settings().max_examples // 3), deadline=None)
@given(
    script=st.lists(faults(), max_size=3),
    step=st.sampled_from([timedelta(seconds=20), timedelta(minutes=1), timedelta(minutes=7)]),
    rate=st.sampled_from([None, 0.2, 5.0]),
)
def test_faults_hold_back_without_counting(
    script: list[ProviderFault], step: timedelta, rate: float | None
) -> None:
    """Only probes reach a down channel, held recipients wait their time, no retry is
    burned for a channel's fault, and nothing is left waiting once it is over."""
    provider, store = _run(script, step, rate)
    refusals = {id(message): None for _at, message, _error in provider.refused}
    assert len(refusals) <= len(provider.requests)
    requests = provider.requests
    for at, message, error in provider.refused:
        index = next(i for i, (when, sent) in enumerate(requests) if when == at and sent is message)
        later = requests[index + 1 :]
        if error.scope is FaultScope.CHANNEL:
            wait = error.retry_after if error.retry_after is not None else FIRST_PROBE
            assert all(when >= at + wait for when, _sent in later), "only a probe, after the wait"
        elif error.scope is FaultScope.RECIPIENT and error.retry_after is not None:
            assert all(
                when >= at + error.retry_after for when, sent in later if sent.to == message.to
            ), "the held recipient waits"
    for record in store.events():
        if record.kind == RecordKind.EVENT and record.data.get("type") == "MessageFailed":
            assert record.data.get("scope") != FaultScope.CHANNEL.value, "a retry was burned"
        if record.kind == RecordKind.OUTBOX and record.data.get("status") == "failed":
            assert record.data.get("scope") != FaultScope.CHANNEL.value
    assert [] == store.outbox(status=OutboxStatus.PENDING)
    downs = [r for r in store.events() if r.kind == RecordKind.CHANNEL_DOWN]
    ups = [r for r in store.events() if r.kind == RecordKind.CHANNEL_UP]
    assert len(downs) == len(ups), "every outage that was reported ended, once"

"""The eight policy tests a store writes first, with ``st.from_type`` as the only source.

Nothing here imports ``recoverykit.testing.strategies``: the values come from the
strategies recoverykit registers through Hypothesis' entry point, as they would in
a fresh project that has only installed the library.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from recoverykit import (
    Channel,
    Checkout,
    CheckoutAbandoned,
    ConsentAction,
    ConsentEvent,
    ConsentLedger,
    ContactHistory,
    ContactRecord,
    Context,
    DiscountHistory,
    DiscountPolicy,
    FrequencyCap,
    MessageKind,
    OrderPlaced,
    Purpose,
    RecoveryPolicy,
    RecoverySequence,
    RecoveryState,
    TimingScale,
    decide,
    resolve_zones,
)
from recoverykit.engine.events import Event
from recoverykit.policies.discounts import guard_refusal
from recoverykit.policies.sequence import FIRST_TOUCH_MIN, LAST_TOUCH_MAX
from recoverykit.testing import EngineDriver


def _grants(checkout: Checkout) -> list[ConsentEvent]:
    """Confirmed recovery consent on every channel, just before the abandonment."""
    return [
        ConsentEvent(
            customer_id=checkout.customer.id,
            channel=channel,
            purpose=Purpose.RECOVERY,
            action=ConsentAction.CONFIRMED,
            at=checkout.abandoned_at - timedelta(minutes=1),
            source="checkout_checkbox",
            text="Cart reminders by message; reply STOP to stop.",
            version="1",
        )
        for channel in Channel
    ]


def _run(policy: RecoveryPolicy, checkout: Checkout, *events: Event) -> EngineDriver:
    driver = EngineDriver(policy, consent=_grants(checkout))
    driver.feed(CheckoutAbandoned(checkout, checkout.abandoned_at))
    for event in events:
        driver.feed(event)
    driver.run_until(checkout.abandoned_at + LAST_TOUCH_MAX + timedelta(days=1))
    return driver


@given(st.from_type(RecoveryPolicy), st.from_type(Checkout))
def test_no_touch_goes_out_outside_the_policys_contact_hours(
    policy: RecoveryPolicy, checkout: Checkout
) -> None:
    """Every touch is sent at an instant the policy's hours allow in every candidate zone."""
    zones = resolve_zones(checkout.customer).zones
    for sent in _run(policy, checkout).touches():
        assert policy.contact_hours.allows(sent.at, zones), (sent.at, zones)


@given(st.from_type(RecoveryPolicy), st.from_type(Checkout), st.integers(0, 60 * 24 * 3))
def test_nothing_is_sent_after_an_order(
    policy: RecoveryPolicy, checkout: Checkout, minutes: int
) -> None:
    """Once the customer orders (any checkout), no touch goes out."""
    ordered = checkout.abandoned_at + timedelta(minutes=minutes)
    order = OrderPlaced("another-checkout", ordered, customer_id=checkout.customer.id)
    driver = _run(policy, checkout, order)
    assert [] == [sent for sent in driver.touches() if sent.at >= ordered]


@given(st.from_type(RecoveryPolicy), st.from_type(Checkout))
def test_a_recovery_sends_each_touch_at_most_once_and_keeps_its_caps(
    policy: RecoveryPolicy, checkout: Checkout
) -> None:
    """Touch numbers never repeat, never exceed the sequence, and every cap holds."""
    touches = _run(policy, checkout).touches()
    numbers = [sent.message.touch for sent in touches]
    longest = max(
        len(s.touches)
        for s in [policy.sequence, *(v.sequence for v in policy.variants if v.sequence)]
    )
    assert len(numbers) == len(set(numbers)) <= longest
    for cap in policy.caps:
        times = [s.at for s in touches if cap.channels is None or s.message.channel in cap.channels]
        for start in times:
            assert sum(1 for t in times if start <= t < start + cap.per) <= cap.limit


@given(st.from_type(RecoverySequence), st.from_type(TimingScale), st.from_type(Checkout))
def test_planned_touches_grow_and_stay_within_five_minutes_and_seven_days(
    sequence: RecoverySequence, scale: TimingScale, checkout: Checkout
) -> None:
    """Whatever the cart's value does to the plan, touches come in order inside the limits."""
    factor = scale.factor(checkout.total)
    start = checkout.abandoned_at
    planned = [
        sequence.planned_at(index, start, checkout.id, factor)
        for index in range(len(sequence.touches))
    ]
    assert all(start + FIRST_TOUCH_MIN <= at <= start + LAST_TOUCH_MAX for at in planned)
    assert planned == sorted(planned)


@given(st.from_type(FrequencyCap), st.from_type(ContactHistory), st.from_type(Channel))
def test_the_earliest_instant_a_cap_allows_keeps_it(
    cap: FrequencyCap, history: ContactHistory, channel: Channel
) -> None:
    """One more touch at ``earliest`` leaves no window of the cap over its limit."""
    begin = history.records[0].at if history.records else None
    if begin is None:
        return
    at = cap.earliest(begin, history)
    after = history.add(ContactRecord(at, channel, "chk-new"))
    if not cap.covers(channel):
        return
    counted = after.touches(cap.channels)
    for start in [t for t in counted if at - cap.per < t <= at]:
        assert sum(1 for t in counted if start <= t < start + cap.per) <= cap.limit


@given(st.from_type(ConsentLedger), st.from_type(ConsentEvent))
def test_a_channel_wide_revocation_wins_over_every_earlier_grant(
    ledger: ConsentLedger, event: ConsentEvent
) -> None:
    """After an opt-out on a channel, nothing may be sent there for any purpose."""
    latest = max([e.at for e in ledger.events] + [event.at])
    channel = event.channel or Channel.SMS
    stop = ConsentEvent(
        customer_id=event.customer_id,
        channel=channel,
        purpose=None,
        action=ConsentAction.REVOKED,
        at=latest + timedelta(seconds=1),
        source="keyword",
        text="STOP",
    )
    after = ledger.append(event).append(stop)
    later = stop.at + timedelta(minutes=1)
    for purpose in Purpose:
        assert not after.allows(event.customer_id, channel, purpose, later)


@given(st.from_type(DiscountPolicy), st.from_type(DiscountHistory))
def test_the_discount_guard_refuses_abusers(
    policy: DiscountPolicy, history: DiscountHistory
) -> None:
    """No discount goes to a customer who had one recently or abandons again and again."""
    now = max([*history.discounts, *history.abandonments], default=None)
    if now is None:
        return
    refusal = guard_refusal(policy, history, now)
    recent = any(now - policy.once_per < at <= now for at in history.discounts)
    abandoned = sum(1 for at in history.abandonments if now - policy.abandon_window < at <= now)
    assert (refusal is not None) == (recent or abandoned >= policy.abandon_limit)


#: ``Event`` is a union; Hypothesis resolves it, mypy's stubs only take classes.
ANY_EVENT: st.SearchStrategy[Event] = st.from_type(Event)  # type: ignore[arg-type]


@given(st.from_type(RecoveryState), ANY_EVENT, st.from_type(RecoveryPolicy))
def test_any_event_on_any_state_decides_without_error_and_keeps_time_moving(
    state: RecoveryState, event: Event, policy: RecoveryPolicy
) -> None:
    """A late, foreign or duplicate event is a note, never a crash; wake-ups never go back,
    and the state survives its JSON shape unchanged."""
    now = max(event.at, state.wakeup_at or event.at)
    decision = decide(state, event, now=now, policy=policy, context=Context())
    after = decision.state
    if after.wakeup_at is not None and state.wakeup_at is not None and after.open:
        assert after.wakeup_at >= min(state.wakeup_at, now)
    assert after == RecoveryState.from_dict(after.to_dict())
    assert all(m.kind in MessageKind for m in decision.commands if hasattr(m, "kind"))

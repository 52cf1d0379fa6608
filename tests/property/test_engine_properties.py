"""The engine's invariants (DESIGN.md 1–7), over random zones, consents, events and clocks."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from recoverykit import Channel, Checkout, Customer, LineItem, Money, Stage, presets
from recoverykit.engine.commands import MessageKind
from recoverykit.engine.events import (
    CartEmptied,
    CheckoutAbandoned,
    Event,
    LinkClicked,
    MessageDelivered,
    MessageFailed,
    MessageRead,
    OrderPlaced,
    RecoveryResumed,
    ReplyReceived,
)
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.engine.state import RecoveryState
from recoverykit.jurisdictions import rules_for
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.policies.replies import classify_reply
from recoverykit.testing import EngineDriver

T0 = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)  # spans the EU spring-forward weekend
PHONES = [
    "+48601234567",  # Poland, one zone
    "+79161234567",  # Russian mobile, many zones
    "+77012345678",  # Kazakh mobile
    "+12085551234",  # Idaho, two zones
    "+447911123456",  # UK mobile, four zones
    "+33612345678",  # France
    "+61412345678",  # Australia, eight zones
]
REPLIES = ["STOP", "СТОП", "1", "2", "yes", "help", "already bought", "what?", "ok thanks", "arrêt"]
CHANNELS = [Channel.SMS, Channel.WHATSAPP, Channel.EMAIL]
SEQUENCES = ["three-touch", "sms-three-touch", "help-first", "messenger-escalation"]


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, Any]:
    """One customer, one or two checkouts, consents and a stream of events."""
    phone = draw(st.sampled_from(PHONES))
    zone = draw(st.none() | st.sampled_from(["Europe/Warsaw", "America/Denver", "Asia/Kathmandu"]))
    who = Customer(
        id="c1",
        first_name=draw(st.none() | st.just("Ola")),
        phone=phone,
        email="ola@example.com",
        locale=draw(st.sampled_from(["en", "pl", "ru", "fr"])),
        timezone=zone,
    )
    granted = draw(st.sets(st.sampled_from(CHANNELS), max_size=3))
    consents = [
        ConsentEvent(
            customer_id="c1",
            channel=channel,
            purpose=draw(st.sampled_from([Purpose.RECOVERY, Purpose.MARKETING])),
            action=ConsentAction.GRANTED,
            at=T0 - timedelta(days=1),
            source="checkout_checkbox",
            text="Remind me about my checkout.",
            version="1",
            address=who.address_for(channel),
        )
        for channel in sorted(granted)
    ]
    checkouts = []
    for index in range(draw(st.integers(1, 2))):
        at = T0 + timedelta(minutes=draw(st.integers(0, 36 * 60)))
        price = Money("84.00", "EUR")
        checkouts.append(
            Checkout(
                id=f"chk-{index}",
                customer=who,
                items=(LineItem("s", "Kettle", 1, price),),
                total=price,
                stage=Stage.PAYMENT,
                abandoned_at=at,
                link=f"https://shop.example/c/{index}",
            )
        )
    events: list[Event] = [CheckoutAbandoned(c, c.abandoned_at) for c in checkouts]
    for _ in range(draw(st.integers(0, 6))):
        at = T0 + timedelta(minutes=draw(st.integers(0, 7 * 24 * 60)))
        target = draw(st.sampled_from(checkouts)).id
        kind = draw(st.integers(0, 8))
        channel = draw(st.sampled_from(CHANNELS))
        touch = draw(st.integers(1, 4))
        match kind:
            case 0:
                events.append(OrderPlaced(target, at, customer_id="c1"))
            case 1:
                events.append(CartEmptied(target, at))
            case 2:
                text = draw(st.sampled_from(REPLIES))
                events.append(ReplyReceived("c1", channel, classify_reply(text), at))
            case 3:
                perm = draw(st.booleans())
                events.append(MessageFailed(target, touch, channel, at, permanent=perm))
            case 4:
                events.append(MessageDelivered(target, touch, channel, at))
            case 5:
                events.append(MessageRead(target, touch, channel, at))
            case 6:
                events.append(LinkClicked(target, at))
            case 7:
                events.append(RecoveryResumed(target, at))
            case _:
                channel_or_all = draw(st.none() | st.sampled_from(CHANNELS))
                events.append(
                    ReplyReceived("c1", channel_or_all or Channel.SMS, classify_reply("STOP"), at)
                )
    events.sort(key=lambda e: e.at)
    sequence = presets.get(draw(st.sampled_from(SEQUENCES)))
    holdout = draw(st.sampled_from([0.0, 0.0, 0.5]))
    policy = RecoveryPolicy(store_name="Sklep Ola", sequence=sequence, holdout=holdout)
    return {"customer": who, "consents": consents, "events": events, "policy": policy}


def run(world: dict[str, Any]) -> EngineDriver:
    driver = EngineDriver(world["policy"], consent=world["consents"])
    for event in world["events"]:
        driver.feed(event)
    driver.run_until(T0 + timedelta(days=40))
    return driver


class TestEngineInvariants:
    """DESIGN.md invariants 1–7 hold for every zone, consent and event order."""

    @given(worlds())
    @settings(max_examples=150)
    def test_contact_hours_in_every_candidate_zone(self, world: dict[str, Any]) -> None:
        """1. No touch is sent outside the contact hours of any candidate zone."""
        driver = run(world)
        who: Customer = world["customer"]
        for sent in driver.touches():
            state = driver.states[sent.message.checkout_id]
            rules = rules_for(
                who.phone_number, state.zones, who.country, base=world["policy"].contact_hours
            )
            assert rules.hours.allows(sent.at, state.zones), (sent.at, state.zones)

    @given(worlds())
    def test_consent_and_opt_out(self, world: dict[str, Any]) -> None:
        """2. Nothing goes out without a grant; after an opt-out only its confirmation."""
        driver = run(world)
        who: Customer = world["customer"]
        for sent in driver.touches():
            channel = sent.message.channel
            address = who.address_for(channel)
            assert any(
                driver.ledger.allows("c1", channel, purpose, sent.at, address=address)
                for purpose in (Purpose.RECOVERY, Purpose.MARKETING)
            )
        for sent in driver.replies():
            if driver.ledger.opted_out("c1", sent.message.channel, sent.at):
                assert "optout_confirm" == sent.message.key

    @given(worlds())
    def test_each_touch_at_most_once(self, world: dict[str, Any]) -> None:
        """3. Each touch goes out at most once (failed attempts aside), within the sequence."""
        driver = run(world)
        keys = [sent.message.idempotency_key for sent in driver.sent]
        assert len(keys) == len(set(keys))
        for checkout_id, state in driver.states.items():
            delivered = [(s.touch, s.attempt) for s in state.sent]
            assert len(delivered) == len(set(delivered))
            ok = [s.touch for s in state.sent if not s.failed]
            assert len(ok) == len(set(ok))
            sequence = world["policy"].sequence_for(state.variant)
            assert len(set(ok)) <= len(sequence.touches)
            assert {s.message.touch for s in driver.touches(checkout_id)} <= set(
                range(1, len(sequence.touches) + 1)
            )

    @given(worlds())
    def test_nothing_after_order_or_empty_cart(self, world: dict[str, Any]) -> None:
        """4. Nothing is sent after OrderPlaced (any checkout of the customer) or CartEmptied."""
        driver = run(world)
        orders = [e.at for e in world["events"] if isinstance(e, OrderPlaced)]
        abandoned = {
            e.checkout.id: e.at for e in world["events"] if isinstance(e, CheckoutAbandoned)
        }
        for sent in driver.touches():
            started_at = abandoned[sent.message.checkout_id]
            # An order ends every recovery already open when it is placed.
            for order_at in orders:
                if started_at <= order_at:
                    assert sent.at < order_at
            emptied = [
                e.at
                for e in world["events"]
                if isinstance(e, CartEmptied)
                and e.checkout_id == sent.message.checkout_id
                and e.at >= started_at
            ]
            if emptied:
                assert sent.at < min(emptied)

    @given(worlds())
    def test_caps_across_checkouts(self, world: dict[str, Any]) -> None:
        """5. Across all the customer's checkouts, personal-channel touches are at least 6 h
        apart and at most two fall in any 24 h (the default caps)."""
        driver = run(world)
        failed = {
            (s.at, s.channel) for state in driver.states.values() for s in state.sent if s.failed
        }
        times = sorted(
            sent.at
            for sent in driver.touches()
            if sent.message.channel.personal and (sent.at, sent.message.channel) not in failed
        )
        for earlier, later in itertools.pairwise(times):
            assert later - earlier >= timedelta(hours=6)
        for first, third in zip(times, times[2:], strict=False):
            assert third - first >= timedelta(hours=24)
        mailed = [
            sent.at
            for sent in driver.touches()
            if sent.message.channel is Channel.EMAIL
            and (sent.at, sent.message.channel) not in failed
        ]
        for texted in times:
            # The channel gap: a text or chat and an e-mail are never within 12 h.
            assert all(abs(texted - at) >= timedelta(hours=12) for at in mailed)

    @given(worlds())
    def test_wakeups_and_round_trip(self, world: dict[str, Any]) -> None:
        """7. Wake-ups never point to the past, and every state survives to_dict/from_dict."""
        driver = run(world)
        for at, _event, decision in driver.decisions:
            if decision.state.wakeup_at is not None:
                assert decision.state.wakeup_at >= at
            assert decision.state == RecoveryState.from_dict(decision.state.to_dict())

    @given(worlds())
    def test_holdout_never_messaged(self, world: dict[str, Any]) -> None:
        """A holdout checkout never gets a touch or a marketing reply."""
        driver = run(world)
        for checkout_id, state in driver.states.items():
            if state.sequence and world["policy"].in_holdout(checkout_id):
                assert [] == driver.touches(checkout_id)


def test_reply_kind_never_counts_as_touch() -> None:
    """Replies are recorded as replies (SEAMS 1), so caps and touch counts ignore them."""
    who = Customer(id="c1", phone="+48601234567", locale="pl")
    grant = ConsentEvent(
        customer_id="c1",
        channel=Channel.SMS,
        purpose=Purpose.RECOVERY,
        action=ConsentAction.GRANTED,
        at=T0 - timedelta(days=1),
        source="checkout_checkbox",
        address=who.phone,
    )
    policy = RecoveryPolicy(store_name="Sklep Ola")
    driver = EngineDriver(policy, consent=[grant])
    price = Money("10", "PLN")
    checkout = Checkout(
        id="x",
        customer=who,
        items=(LineItem("s", "Mug", 1, price),),
        total=price,
        stage=Stage.CART,
        abandoned_at=T0,
        link="https://s.example/x",
    )
    driver.feed(CheckoutAbandoned(checkout, T0))
    driver.run_until(T0 + timedelta(hours=2))
    driver.feed(ReplyReceived("c1", Channel.SMS, classify_reply("tak"), T0 + timedelta(hours=2)))
    assert [MessageKind.REPLY] == [s.message.kind for s in driver.replies()]
    assert attrs.has(type(driver.states["x"]))

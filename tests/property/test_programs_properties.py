"""Program rules over random US and non-US numbers, consents and event orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from recoverykit import Channel, Checkout, Customer, LineItem, Money, Stage, presets
from recoverykit.engine.events import (
    CheckoutAbandoned,
    Event,
    MessageDelivered,
    MessageFailed,
    MessageRead,
    OrderPlaced,
    ReplyReceived,
)
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.policies.replies import classify_reply
from recoverykit.testing import EngineDriver

T0 = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # spans the US spring-forward weekend
US_PHONES = ["+12125551234", "+13055550142", "+12085551234", "+18085551234", "+19075551234"]
OTHER_PHONES = ["+48601234567", "+447911123456", "+33612345678", "+14165551234"]
CHANNELS = [Channel.SMS, Channel.WHATSAPP, Channel.EMAIL]
REPLIES = ["YES", "yes please", "STOP", "help", "what?", "Stop promotions", "1", "ok"]
SEQUENCES = ["three-touch", "sms-three-touch", "help-first", "messenger-escalation"]
ACTIONS = [ConsentAction.GRANTED, ConsentAction.CONFIRMED, ConsentAction.REVOKED]
PURPOSES = [Purpose.RECOVERY, Purpose.MARKETING, Purpose.TRANSACTIONAL]


def _customer(phone: str) -> Customer:
    return Customer(id="c1", first_name="Sam", phone=phone, email="sam@example.com", locale="en")


def _confirmed(who: Customer) -> ConsentEvent:
    return ConsentEvent(
        customer_id=who.id,
        channel=Channel.SMS,
        purpose=Purpose.RECOVERY,
        action=ConsentAction.CONFIRMED,
        at=T0 - timedelta(days=1),
        source="double_optin_reply",
        text="YES",
        address=who.phone,
    )


@st.composite
def us_worlds(draw: st.DrawFn) -> dict[str, Any]:
    """A US customer, any consents, one or two checkouts and any stream of events."""
    who = _customer(draw(st.sampled_from(US_PHONES)))
    consents = [
        ConsentEvent(
            customer_id="c1",
            channel=channel,
            purpose=draw(st.sampled_from(PURPOSES)),
            action=draw(st.sampled_from(ACTIONS)),
            at=T0 - timedelta(minutes=draw(st.integers(-600, 2000))),
            source="form",
            address=who.address_for(channel),
        )
        for channel in draw(st.lists(st.sampled_from(CHANNELS), max_size=5))
    ]
    if draw(st.booleans()):  # half the worlds start from a confirmed double opt-in
        consents.insert(0, _confirmed(who))
    price = Money("60.00", "USD")
    checkouts = [
        Checkout(
            id=f"chk-{index}",
            customer=who,
            items=(LineItem("s", "Lamp", 1, price),),
            total=price,
            stage=Stage.PAYMENT,
            abandoned_at=T0 + timedelta(minutes=draw(st.integers(0, 48 * 60))),
            link=f"https://shop.example/c/{index}",
        )
        for index in range(draw(st.integers(1, 2)))
    ]
    events: list[Event] = [CheckoutAbandoned(c, c.abandoned_at) for c in checkouts]
    for _ in range(draw(st.integers(0, 6))):
        at = T0 + timedelta(minutes=draw(st.integers(0, 6 * 24 * 60)))
        target = draw(st.sampled_from(checkouts)).id
        channel = draw(st.sampled_from(CHANNELS))
        touch = draw(st.integers(1, 4))
        kind = draw(st.integers(0, 4))
        if kind == 0:
            text = draw(st.sampled_from(REPLIES))
            reply = classify_reply(text, channel=channel, region="US")
            events.append(ReplyReceived("c1", channel, reply, at))
        elif kind == 1:
            code = draw(st.sampled_from([None, "131049", "30007"]))
            perm = draw(st.booleans())
            events.append(MessageFailed(target, touch, channel, at, permanent=perm, code=code))
        elif kind == 2:
            events.append(MessageDelivered(target, touch, channel, at))
        elif kind == 3:
            events.append(MessageRead(target, touch, channel, at))
        else:
            events.append(OrderPlaced(target, at, customer_id="c1"))
    events.sort(key=lambda e: e.at)
    policy = RecoveryPolicy(
        store_name="Lumen Goods",
        sequence=presets.get(draw(st.sampled_from(SEQUENCES))),
        request_double_optin=draw(st.booleans()),
    )
    return {"events": events, "consents": consents, "policy": policy, "checkouts": checkouts}


def _run(world: dict[str, Any]) -> EngineDriver:
    driver = EngineDriver(world["policy"], consent=world["consents"])
    for event in world["events"]:
        driver.feed(event)
    driver.run_until(T0 + timedelta(days=40))
    return driver


@given(us_worlds())
def test_us_numbers_get_at_most_one_text_within_48_hours(world: dict[str, Any]) -> None:
    """CP-1: at most one cart-reminder text per checkout, never after abandoned_at + 48 h."""
    driver = _run(world)
    for item in world["checkouts"]:
        texts = [s for s in driver.touches(item.id) if s.message.channel is Channel.SMS]
        assert len(texts) <= 1
        for sent in texts:
            assert sent.at <= item.abandoned_at + timedelta(hours=48)


@given(us_worlds())
def test_us_texts_need_a_confirmed_recovery_grant(world: dict[str, Any]) -> None:
    """CP-2: every US cart-reminder text had a recovery grant confirmed by double opt-in."""
    driver = _run(world)
    for sent in driver.touches():
        if sent.message.channel is Channel.SMS:
            assert driver.ledger.allows(
                "c1",
                Channel.SMS,
                Purpose.RECOVERY,
                sent.at,
                address=sent.message.to,
                require_confirmed=True,
            )
        assert sent.message.channel is not Channel.WHATSAPP  # WA-10


@given(
    phone=st.sampled_from(OTHER_PHONES),
    minutes=st.integers(0, 7 * 24 * 60),
    marketing=st.booleans(),
)
def test_other_numbers_keep_the_whole_sequence(phone: str, minutes: int, marketing: bool) -> None:
    """Outside the US (Canada's +1 included) the three-text preset sends all three texts."""
    who = _customer(phone)
    consent = ConsentEvent(
        customer_id="c1",
        channel=Channel.SMS,
        purpose=Purpose.MARKETING if marketing else Purpose.RECOVERY,
        action=ConsentAction.GRANTED,
        at=T0 - timedelta(days=1),
        source="form",
        address=phone,
    )
    policy = RecoveryPolicy(store_name="Lumen Goods", sequence=presets.get("sms-three-touch"))
    price = Money("60.00", "EUR")
    item = Checkout(
        id="chk-0",
        customer=who,
        items=(LineItem("s", "Lamp", 1, price),),
        total=price,
        stage=Stage.PAYMENT,
        abandoned_at=T0 + timedelta(minutes=minutes),
        link="https://shop.example/c/0",
    )
    driver = EngineDriver(policy, consent=[consent])
    driver.feed(CheckoutAbandoned(item, item.abandoned_at))
    driver.run_until(T0 + timedelta(days=40))
    assert [1, 2, 3] == [s.message.touch for s in driver.touches()]
    assert {Channel.SMS} == {s.message.channel for s in driver.touches()}

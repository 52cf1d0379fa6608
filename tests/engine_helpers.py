"""Builders shared by the engine's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from recoverykit import Channel, Checkout, Customer, Friction, LineItem, Money, Stage
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def customer(
    cid: str = "c1",
    *,
    phone: str | None = "+48601234567",
    email: str | None = "anna@example.com",
    locale: str = "pl",
    timezone: str | None = None,
    orders: int = 0,
) -> Customer:
    return Customer(
        id=cid,
        first_name="Anna",
        phone=phone,
        email=email,
        locale=locale,
        timezone=timezone,
        orders_count=orders,
    )


def checkout(
    who: Customer | None = None,
    *,
    cid: str = "chk-1",
    at: datetime = T0,
    currency: str = "PLN",
    amount: str = "84.00",
    friction: Friction | None = Friction.SHIPPING_COST,
) -> Checkout:
    who = who or customer()
    price = Money(amount, currency)
    return Checkout(
        id=cid,
        customer=who,
        items=(LineItem("sku-1", "Kettle", 1, price, "kitchen"),),
        total=price,
        stage=Stage.SHIPPING,
        abandoned_at=at,
        link="https://shop.example/c/" + cid,
        friction=friction,
    )


def grant(
    who: Customer,
    channel: Channel,
    *,
    at: datetime = T0 - timedelta(days=1),
    purpose: Purpose = Purpose.RECOVERY,
) -> ConsentEvent:
    address = {
        Channel.SMS: who.phone,
        Channel.WHATSAPP: who.phone,
        Channel.EMAIL: who.email,
        Channel.TELEGRAM: who.telegram_chat_id,
        Channel.VIBER: who.viber_id,
    }[channel]
    return ConsentEvent(
        customer_id=who.id,
        channel=channel,
        purpose=purpose,
        action=ConsentAction.GRANTED,
        at=at,
        source="checkout_checkbox",
        text="Send me a reminder about my checkout. Reply STOP to opt out.",
        version="2026-01",
        address=address,
    )

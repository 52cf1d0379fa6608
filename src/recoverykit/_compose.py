"""Choosing the channel and composing the words of one message.

Kept apart from the state machine so the machine reads as a table of decisions,
and this file as the rules of *who can be reached where* and *what we may say*.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import attrs

from ._commands import MessageKind, SendMessage
from ._consent import ConsentLedger, Purpose
from ._lint import GuardPolicy, guard
from ._model import Channel, Checkout, Customer
from ._packs import Segment, cart_tier, message_context
from ._policy import Context, RecoveryPolicy
from ._sequence import Touch, TouchPurpose
from ._templates import render
from ._whatsapp import whatsapp_template_payload
from .errors import RecoveryKitError

__all__ = [
    "Unsendable",
    "address_for",
    "choose_channel",
    "compose_reply",
    "compose_touch",
    "consented",
    "reachable",
]

#: WA-10 / CP-7: WhatsApp marketing templates (cart reminders are marketing, WA-6)
#: are paused for US numbers; texts are the fallback there.
WHATSAPP_PAUSED_REGIONS: Final = frozenset({"US"})

_GUARD: Final = GuardPolicy()


class Unsendable(RecoveryKitError):
    """A message cannot be composed; the reason becomes a ``Skipped`` note."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


def address_for(customer: Customer, channel: Channel) -> str | None:
    """Where a message on ``channel`` goes for this customer, if anywhere."""
    if channel in (Channel.SMS, Channel.WHATSAPP):
        return customer.phone
    if channel is Channel.EMAIL:
        return customer.email
    if channel is Channel.TELEGRAM:
        return customer.telegram_chat_id
    return customer.viber_id


def reachable(customer: Customer, channel: Channel) -> bool:
    """Can a message on ``channel`` physically reach this customer at all?"""
    if address_for(customer, channel) is None:
        return False
    phone = customer.phone_number
    if channel is Channel.SMS:
        return phone is not None and phone.can_receive_sms
    if channel is Channel.WHATSAPP:
        return phone is not None and phone.region not in WHATSAPP_PAUSED_REGIONS
    return True


def consented(
    ledger: ConsentLedger,
    customer: Customer,
    channel: Channel,
    at: datetime,
    policy: RecoveryPolicy,
) -> bool:
    """A current grant on this channel for this address (SEAMS 7)."""
    address = address_for(customer, channel)
    if address is None:
        return False
    if ledger.allows(customer.id, channel, Purpose.RECOVERY, at, address=address):
        return True
    return policy.marketing_consent_ok and ledger.allows(
        customer.id, channel, Purpose.MARKETING, at, address=address
    )


def choose_channel(
    customer: Customer,
    policy: RecoveryPolicy,
    context: Context,
    at: datetime,
    *,
    exclude: frozenset[Channel] = frozenset(),
) -> Channel | None:
    """The first channel in the policy's order that the customer consented to and can receive."""
    phone = customer.phone_number
    region = phone.region if phone is not None else customer.country
    for channel in policy.channel_order(region):
        if channel in exclude:
            continue
        if reachable(customer, channel) and consented(
            context.consent, customer, channel, at, policy
        ):
            return channel
    return None


def _segment(customer: Customer) -> Segment:
    return Segment.RETURNING if customer.returning else Segment.NEW


def _truthful(checkout: Checkout, now: datetime) -> Checkout:
    """The checkout as it may be spoken of now: a passed hold is no longer a deadline."""
    if checkout.hold_until is not None and checkout.hold_until <= now:
        return attrs.evolve(checkout, hold_until=None)
    return checkout


def compose_touch(
    *,
    checkout: Checkout,
    touch_number: int,
    touch: Touch,
    channel: Channel,
    attempt: int,
    zone: str,
    policy: RecoveryPolicy,
    variant: str | None,
    context: Context,
    now: datetime,
) -> SendMessage:
    """Render touch ``touch_number`` (1-based) for ``channel``; ``Unsendable`` if it cannot go."""
    customer = checkout.customer
    pack = policy.pack_for(variant)
    spoken = _truthful(checkout, now)
    try:
        template = pack.find(
            touch.message,
            channel,
            customer.locale,
            segment=_segment(customer),
            tier=cart_tier(checkout.total),
        )
        help_line = None
        if touch.purpose is TouchPurpose.HELP:
            help_line = pack.friction_line(checkout.friction, customer.locale, checkout.stage)
        context_values = message_context(
            spoken,
            store_name=policy.store_name,
            channel=channel,
            zone=zone,
            help_line=help_line,
        )
        rendered = render(template, context_values)
    except RecoveryKitError as exc:
        raise Unsendable("template", str(exc)) from None
    problems = [
        violation
        for violation in guard(
            rendered,
            _GUARD,
            store_name=policy.store_name,
            hold_until_known=spoken.hold_until is not None,
        )
        if violation.level == "error"
    ]
    if problems:
        codes = ", ".join(f"{v.code} {v.message}" for v in problems)
        raise Unsendable("guard", codes)
    payload = None
    if channel is Channel.WHATSAPP and not context.window_open(channel, now):
        ref = pack.whatsapp_template(touch.message, customer.locale)
        if ref is None:
            raise Unsendable(
                "platform",
                f"no approved WhatsApp template for {touch.message!r} ({customer.locale}) "
                "and the 24 h service window is closed",
            )
        phone = customer.phone_number
        assert phone is not None
        payload = whatsapp_template_payload(
            phone.digits,
            ref.name,
            ref.language,
            body={name: context_values[name] for name in ref.parameters},
        )
    address = address_for(customer, channel)
    assert address is not None
    return SendMessage(
        idempotency_key=f"{checkout.id}:touch{touch_number}:{attempt}",
        checkout_id=checkout.id,
        customer_id=customer.id,
        channel=channel,
        to=address,
        kind=MessageKind.TOUCH,
        key=touch.message,
        text=rendered.text,
        locale=customer.locale,
        touch=touch_number,
        attempt=attempt,
        segments=rendered.segments,
        whatsapp_payload=payload,
    )


def compose_reply(
    *,
    key: str,
    checkout: Checkout,
    channel: Channel,
    zone: str,
    policy: RecoveryPolicy,
    variant: str | None,
    event_id: str,
) -> SendMessage:
    """A reply to the customer's own message (SEAMS 1): sent at once, never marketing."""
    customer = checkout.customer
    pack = policy.pack_for(variant)
    address = address_for(customer, channel)
    if address is None:
        raise Unsendable("address", f"no {channel.value} address for customer {customer.id!r}")
    try:
        template = pack.find(key, channel, customer.locale, segment=_segment(customer))
        values = message_context(checkout, store_name=policy.store_name, channel=channel, zone=zone)
        rendered = render(template, values)
    except RecoveryKitError as exc:
        raise Unsendable("template", str(exc)) from None
    return SendMessage(
        idempotency_key=f"{checkout.id}:reply:{event_id}",
        checkout_id=checkout.id,
        customer_id=customer.id,
        channel=channel,
        to=address,
        kind=MessageKind.REPLY,
        key=key,
        text=rendered.text,
        locale=customer.locale,
        segments=rendered.segments,
    )

"""What each kind of event-log record carries: the runtime writes these lines.

The kinds themselves (``RecordKind``) live with ``LogRecord`` in ``protocols``,
where measurement reads them too; this module builds each record's data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from ..engine.commands import HandOff, MessageKind, SendMessage
from ..engine.events import (
    CheckoutAbandoned,
    ConsentChanged,
    Event,
    LinkClicked,
    MessageDelivered,
    MessageFailed,
    MessageRead,
    OrderPlaced,
    ReplyReceived,
)
from ..engine.notes import Deferred, Ignored, Info, Note, Skipped
from ..engine.policy import RecoveryPolicy
from ..messages.packs import cart_tier
from ..messages.sms import sms_segments
from ..policies.resolve import resolve_zones
from ..protocols import MESSAGE_KINDS, LogRecord, OutboxEntry, OutboxStatus, RecordKind
from ..values.model import Channel, LineItem
from ..values.zones import get_zone

__all__ = ["MESSAGE_KINDS", "RecordKind"]


#: The pack key of the opt-out confirmation: logged as ``confirm`` rather than ``reply``.
CONFIRM_KEY: Final = "optout_confirm"


def send_kind(message: SendMessage) -> RecordKind:
    """The log kind of a queued message: a touch, the opt-out confirmation, another reply."""
    if message.kind is MessageKind.TOUCH:
        return RecordKind.SEND
    return RecordKind.CONFIRM if message.key == CONFIRM_KEY else RecordKind.REPLY


def template_name(payload: Mapping[str, Any] | None) -> str | None:
    """The approved template a WhatsApp payload names (``None`` for free text)."""
    template = None if payload is None else payload.get("template")
    name = template.get("name") if isinstance(template, Mapping) else None
    return name if isinstance(name, str) else None


def template_parameters(payload: Mapping[str, Any] | None) -> list[str] | None:
    """The body parameters a WhatsApp template send fills in, in order (``None`` for free text).

    With the template's approved body they make the text the customer reads, which is
    the ``text`` the guard checked; the log keeps both so the claim can be audited.
    """
    template = None if payload is None else payload.get("template")
    if not isinstance(template, Mapping):
        return None
    for component in template.get("components") or ():
        if isinstance(component, Mapping) and component.get("type") == "body":
            params = component.get("parameters") or ()
            return [str(p.get("text", "")) for p in params if isinstance(p, Mapping)]
    return []


def send_data(message: SendMessage, zone: str | None) -> dict[str, Any]:
    info = message.segments
    if info is None and message.channel is Channel.SMS:
        info = sms_segments(message.text)
    return {
        "key": message.idempotency_key,
        "channel": message.channel.value,
        "to": message.to,
        "touch": message.touch,
        "message": message.key,
        "text": message.text,
        "locale": message.locale,
        "segments": None if info is None else info.segments,
        "encoding": None if info is None else info.encoding,
        "template": template_name(message.whatsapp_payload),
        "template_parameters": template_parameters(message.whatsapp_payload),
        "zone": zone,
        "discount_code": message.discount_code,
    }


def handoff_data(handoff: HandOff) -> dict[str, Any]:
    """A ``handoff`` log line: what the customer wrote, why a person has it, and whether
    the recovery waits for them (the cart and the conversation stay in the state)."""
    return {
        "channel": handoff.channel.value,
        "text": handoff.text,
        "reason": handoff.reason.value,
        "intent": None if handoff.intent is None else handoff.intent.value,
        "paused": handoff.paused,
    }


def note_record(note: Note) -> tuple[RecordKind, dict[str, Any]]:
    """The log kind and data of an engine note."""
    match note:
        case Deferred():
            return RecordKind.DEFER, {
                "touch": note.touch,
                "reason": note.reason.value,
                "rule": note.rule,
                "from": note.from_.isoformat(),
                "to": note.to.isoformat(),
                "zone": note.zone,
            }
        case Skipped():
            return RecordKind.SKIP, {
                "touch": note.touch,
                "reason": note.reason,
                "detail": note.detail,
            }
        case Ignored():
            return RecordKind.IGNORED, {
                "reason": note.reason.value,
                "event": note.event,
                "detail": note.detail,
            }
        case Info():
            return RecordKind.INFO, {"what": note.what, "detail": note.detail}


def outbox_record(
    now: datetime, entry: OutboxEntry, status: OutboxStatus, detail: str
) -> LogRecord:
    message = entry.message
    return LogRecord(
        now,
        RecordKind.OUTBOX,
        message.checkout_id,
        message.customer_id,
        {"key": entry.key, "status": status.value, "touch": message.touch,
         "channel": message.channel.value, "detail": detail},
    )  # fmt: skip


def arm_data(policy: RecoveryPolicy, checkout_id: str) -> dict[str, Any]:
    """The arm and variant a new checkout lands in: the same hashes ``decide`` uses."""
    variant = policy.variant_for(checkout_id)
    return {
        "arm": "holdout" if policy.in_holdout(checkout_id) else "messaged",
        "variant": None if variant is None else variant.name,
        "experiment": policy.experiment,
    }


def _main_category(items: Iterable[LineItem]) -> str | None:
    """The category of the line worth most: what the cart is mostly about."""
    best = max(items, key=lambda item: item.unit_price.amount * item.quantity, default=None)
    return None if best is None else best.category


def event_data(event: Event) -> dict[str, Any]:
    """A compact JSON-safe summary of an applied event, for measurement."""
    data: dict[str, Any] = {
        "type": type(event).__name__,
        "id": event.id,
        "at": event.at.isoformat(),
    }
    match event:
        case CheckoutAbandoned():
            checkout = event.checkout
            data["total"] = {
                "amount": str(checkout.total.amount),
                "currency": checkout.total.currency,
            }
            data["stage"] = checkout.stage.value
            data["friction"] = None if checkout.friction is None else checkout.friction.value
            data["locale"] = checkout.customer.locale
            data["segment"] = "returning" if checkout.customer.returning else "new"
            data["tier"] = cart_tier(checkout.total).value
            data["category"] = _main_category(checkout.items)
            zones = resolve_zones(checkout.customer).zones
            if zones:
                data["local_hour"] = event.at.astimezone(get_zone(zones[0])).hour
        case OrderPlaced():
            if event.total is not None:
                data["total"] = {
                    "amount": str(event.total.amount),
                    "currency": event.total.currency,
                }
            data["order_id"] = event.order_id
        case ReplyReceived():
            data["channel"] = event.channel.value
            data["intent"] = event.reply.intent.value
            data["text"] = event.reply.text
        case LinkClicked():
            data["touch"] = event.touch
        case MessageDelivered() | MessageRead() | MessageFailed():
            data["touch"] = event.touch
            data["channel"] = event.channel.value
            if isinstance(event, MessageFailed):
                data["code"] = event.code
                data["scope"] = event.scope.value
        case ConsentChanged():
            data["consent"] = event.event.to_dict()
        case _:
            pass
    return data

"""Commands: what the engine asks the embedding application to do, in order.

The engine never performs them. A runner (ours or yours) executes each and
reports the outcome back as an event (``MessageDelivered``, ``MessageFailed``).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

from ..values.model import Channel

if TYPE_CHECKING:
    from ..messages.templates import SegmentInfo
    from ..policies.consent import ConsentEvent

__all__ = [
    "Command",
    "Finish",
    "FinishReason",
    "HandOff",
    "MessageKind",
    "RecordConsent",
    "ScheduleWakeup",
    "SendMessage",
]


class MessageKind(enum.StrEnum):
    """A touch is a step of the sequence; a reply answers the customer's own message.

    A request (the double opt-in request) is neither: nobody asked for it and it is no
    step of the sequence, so it goes out like a touch, inside contact hours and caps,
    and counts against the caps (SEAMS 1).
    """

    TOUCH = "touch"
    REPLY = "reply"
    REQUEST = "request"

    @property
    def capped(self) -> bool:
        """Whether a message of this kind counts against frequency caps (all but replies)."""
        return self is not MessageKind.REPLY


class FinishReason(enum.StrEnum):
    """Why a recovery ended (a closed list: reports group by it)."""

    ORDERED = "ordered"
    CART_EMPTIED = "cart_emptied"
    OPTED_OUT = "opted_out"
    REFUSED = "refused"
    NO_CONSENT = "no_consent"
    UNDELIVERABLE = "undeliverable"
    SEQUENCE_DONE = "sequence_done"
    EXPIRED = "expired"
    PROGRAM_LIMIT = "program_limit"
    UNAVAILABLE = "unavailable"


@attrs.frozen
class SendMessage:
    """Send one message. ``idempotency_key`` is the same however often this is retried."""

    idempotency_key: str
    checkout_id: str
    customer_id: str
    channel: Channel
    #: The address: E.164 number, e-mail address, or chat id.
    to: str
    kind: MessageKind
    #: The pack key the words came from (``remind``, ``optout_confirm``, ...).
    key: str
    text: str
    locale: str
    #: 1-based touch number for touches, ``None`` for replies.
    touch: int | None = None
    attempt: int = 0
    segments: SegmentInfo | None = None
    #: For WhatsApp outside the service window: the Cloud API template payload.
    whatsapp_payload: dict[str, Any] | None = attrs.field(default=None, eq=False)
    #: The e-mail subject line, for e-mail sends.
    subject: str | None = None
    #: The discount code the text carries, when it carries one.
    discount_code: str | None = None


@attrs.frozen
class ScheduleWakeup:
    """Call ``decide`` again with ``WakeupDue`` at ``at`` (replaces any earlier wake-up)."""

    checkout_id: str
    at: datetime


@attrs.frozen
class HandOff:
    """A person should take over: the customer asked something a template cannot answer."""

    checkout_id: str
    customer_id: str
    channel: Channel
    text: str
    reason: str


@attrs.frozen
class RecordConsent:
    """Append this event to the customer's consent ledger."""

    event: ConsentEvent


@attrs.frozen
class Finish:
    """The recovery is over; cancel any wake-up and keep the record for measurement."""

    checkout_id: str
    reason: FinishReason


Command: TypeAlias = SendMessage | ScheduleWakeup | HandOff | RecordConsent | Finish

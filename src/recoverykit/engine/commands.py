"""Commands: what the engine asks the embedding application to do, in order.

The engine never performs them. A runner (ours or yours) executes each and
reports the outcome back as an event (``MessageDelivered``, ``MessageFailed``).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

from ..policies.keywords import Intent
from ..values.model import Channel, Checkout, LineItem
from ..values.money import Money
from .conversation import ConversationLine, Direction

if TYPE_CHECKING:
    from ..messages.templates import SegmentInfo
    from ..policies.consent import ConsentEvent

__all__ = [
    "Command",
    "Finish",
    "FinishReason",
    "HandOff",
    "HandOffReason",
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


class HandOffReason(enum.StrEnum):
    """Why a conversation went to a person (a closed list: sinks route by it)."""

    #: A reply the classifier did not understand ("00-950", "the blue one").
    UNKNOWN = "unknown"
    #: A question, or a payment problem in words ("my card was declined").
    QUESTION = "question"
    #: A hesitation ("too expensive", "still thinking") worth a calm human answer.
    OBJECTION = "objection"
    #: HELP (or its kin): the help text went out, a person follows up.
    HELP = "help"
    #: A menu digit: its canned help went out (when there is one), a person follows up.
    MENU = "menu"
    #: A reply that may mean stop ("leave me alone"), or an opt-out in plain words the
    #: engine acted on: a person should read it.
    NEEDS_REVIEW = "needs_review"
    #: The customer wrote again while a person has the conversation.
    FOLLOW_UP = "follow_up"


@attrs.frozen
class HandOff:
    """A person should take over: everything they need to answer, in one value.

    The sink needs no other lookup: the customer's words and what they were
    classified as, why the engine stopped, the cart (``checkout``: items, total,
    link, and the customer's name, locale and addresses) and the newest lines of the
    conversation. The recovery is paused while the person has it (unless it
    finished, or it is a holdout): it resumes on ``RecoveryResumed`` or after the
    policy's ``handoff_timeout``.
    """

    checkout_id: str
    customer_id: str
    channel: Channel
    #: The customer's message as received.
    text: str
    reason: HandOffReason = attrs.field(converter=HandOffReason)
    #: When the customer wrote.
    at: datetime | None = None
    #: What the classifier made of the text.
    intent: Intent | None = None
    #: The address to answer on (number, e-mail address or chat id), when known.
    to: str | None = None
    #: The checkout as the engine knows it now; ``None`` once its retention ended.
    checkout: Checkout | None = None
    #: The newest messages both ways, oldest first, this one included.
    conversation: tuple[ConversationLine, ...] = ()
    #: Whether the recovery now waits for a person (``RecoveryResumed``).
    paused: bool = False

    @property
    def items(self) -> tuple[LineItem, ...]:
        return () if self.checkout is None else self.checkout.items

    @property
    def total(self) -> Money | None:
        return None if self.checkout is None else self.checkout.total

    @property
    def link(self) -> str | None:
        return None if self.checkout is None else self.checkout.link

    def summary(self) -> str:
        """A few plain lines a person can act on (the CLI prints this)."""
        lines = [f"{self.reason.value}: {self.text!r} on {self.channel.value}"]
        checkout = self.checkout
        if checkout is not None:
            name = checkout.customer.first_name or self.customer_id
            cart = ", ".join(f"{item.quantity} × {item.name}" for item in checkout.items)
            lines.append(f"customer {name} at {self.to or '?'}; {cart}; total {checkout.total}")
            lines.append(f"link {checkout.link}")
        for line in self.conversation:
            arrow = "→" if line.direction is Direction.OUT else "←"
            lines.append(f"  {line.at.isoformat()} {arrow} {line.channel.value}: {line.text}")
        return "\n".join(lines)


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

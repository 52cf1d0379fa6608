"""Events: past-tense facts the engine is told about.

Every event is a frozen value with the instant it happened (``at``, aware) and an
``id`` that stays the same when a webhook is delivered twice, so stores can drop
duplicates and the engine can recognise replays. ``event_id`` derives one from the
content when the provider gave none.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import attrs

from ..errors import FaultScope
from ..values.model import Channel, Checkout, LineItem
from ..values.money import Money
from ..values.time import require_aware

if TYPE_CHECKING:
    from ..policies.consent import ConsentEvent
    from ..policies.replies import Reply

__all__ = [
    "CartEmptied",
    "CartUpdated",
    "CheckoutAbandoned",
    "ConsentChanged",
    "Event",
    "LinkClicked",
    "MessageDelivered",
    "MessageFailed",
    "MessageRead",
    "OrderPlaced",
    "RecoveryResumed",
    "ReplyReceived",
    "WakeupDue",
    "event_id",
]


def _aware(_inst: object, attribute: attrs.Attribute[datetime], value: datetime) -> None:
    require_aware(value, attribute.name)


def _item_tuple(value: Iterable[LineItem]) -> tuple[LineItem, ...]:
    return tuple(value)


class _Identified:
    """Gives an event without a provider id a stable one from its content."""

    __slots__ = ()

    def _id_parts(self) -> tuple[object, ...]:  # pragma: no cover - every event overrides
        raise NotImplementedError

    def __attrs_post_init__(self) -> None:
        if not getattr(self, "id", ""):
            object.__setattr__(self, "id", event_id(*self._id_parts()))


def event_id(*parts: object) -> str:
    """A stable id from an event's content, for providers that send none."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode("utf-8", "replace"))
    return digest.hexdigest()[:24]


@attrs.frozen
class CheckoutAbandoned(_Identified):
    """The customer left checkout; a recovery may start."""

    checkout: Checkout
    at: datetime = attrs.field(validator=_aware)
    id: str = attrs.field(default="")

    def _id_parts(self) -> tuple[object, ...]:
        return ("abandoned", self.checkout.id, self.at)

    @property
    def checkout_id(self) -> str:
        return self.checkout.id


@attrs.frozen
class OrderPlaced(_Identified):
    """An order was placed: this checkout or another checkout of the same customer."""

    checkout_id: str
    at: datetime = attrs.field(validator=_aware)
    customer_id: str | None = None
    total: Money | None = None
    order_id: str | None = None
    id: str = attrs.field(default="")

    def _id_parts(self) -> tuple[object, ...]:
        return ("order", self.checkout_id, self.at)


@attrs.frozen
class CartEmptied(_Identified):
    """The customer emptied the cart; nothing is left to recover."""

    checkout_id: str
    at: datetime = attrs.field(validator=_aware)
    id: str = attrs.field(default="")

    def _id_parts(self) -> tuple[object, ...]:
        return ("emptied", self.checkout_id, self.at)


@attrs.frozen
class CartUpdated(_Identified):
    """The cart changed; later touches speak of the new cart only."""

    checkout_id: str
    at: datetime = attrs.field(validator=_aware)
    items: tuple[LineItem, ...] = attrs.field(converter=_item_tuple, default=())
    total: Money | None = None
    id: str = attrs.field(default="")

    def _id_parts(self) -> tuple[object, ...]:
        return ("updated", self.checkout_id, self.at, self.items, self.total)


@attrs.frozen
class ReplyReceived(_Identified):
    """The customer wrote back; ``reply`` is already classified at the boundary."""

    customer_id: str
    channel: Channel
    reply: Reply
    at: datetime = attrs.field(validator=_aware)
    #: The checkout the runner routed the reply to, if it knows.
    checkout_id: str | None = None
    id: str = attrs.field(default="")

    def _id_parts(self) -> tuple[object, ...]:
        return ("reply", self.customer_id, self.channel, self.reply.text, self.at)


@attrs.frozen
class MessageDelivered(_Identified):
    """The provider reports that a sent message reached the phone or inbox."""

    checkout_id: str
    touch: int
    channel: Channel
    at: datetime = attrs.field(validator=_aware)
    message_id: str | None = None
    id: str = attrs.field(default="")

    def _id_parts(self) -> tuple[object, ...]:
        return ("delivered", self.checkout_id, self.touch, self.channel)


@attrs.frozen
class MessageRead(_Identified):
    """The provider reports that a message was read (or an e-mail opened)."""

    checkout_id: str
    touch: int
    channel: Channel
    at: datetime = attrs.field(validator=_aware)
    message_id: str | None = None
    id: str = attrs.field(default="")

    def _id_parts(self) -> tuple[object, ...]:
        return ("read", self.checkout_id, self.touch, self.channel)


@attrs.frozen
class MessageFailed(_Identified):
    """A send failed; ``permanent`` says whether this address can ever receive it."""

    checkout_id: str
    touch: int
    channel: Channel
    at: datetime = attrs.field(validator=_aware)
    permanent: bool = False
    code: str | None = None
    #: The provider says the recipient opted out (e.g. a carrier-level STOP).
    revoked: bool = False
    attempt: int = 0
    id: str = attrs.field(default="")
    #: Whom the fault concerns: this message, its recipient, or the whole channel.
    scope: FaultScope = attrs.field(default=FaultScope.MESSAGE, converter=FaultScope)
    #: The pause the provider asked for before the next try within ``scope``.
    retry_after: timedelta | None = None

    def _id_parts(self) -> tuple[object, ...]:
        return ("failed", self.checkout_id, self.touch, self.channel, self.attempt)


@attrs.frozen
class LinkClicked(_Identified):
    """The customer opened the resume link."""

    checkout_id: str
    at: datetime = attrs.field(validator=_aware)
    touch: int | None = None
    id: str = attrs.field(default="")

    def _id_parts(self) -> tuple[object, ...]:
        return ("click", self.checkout_id, self.at)


@attrs.frozen
class ConsentChanged(_Identified):
    """A consent event was recorded for the customer (the context already includes it)."""

    event: ConsentEvent
    checkout_id: str | None = None
    id: str = attrs.field(default="")

    @property
    def at(self) -> datetime:
        return self.event.at

    def _id_parts(self) -> tuple[object, ...]:
        return (
            "consent",
            self.event.customer_id,
            self.event.channel,
            self.event.purpose,
            self.event.action,
            self.event.at,
        )


@attrs.frozen
class WakeupDue(_Identified):
    """A scheduled wake-up came due."""

    checkout_id: str
    at: datetime = attrs.field(validator=_aware)
    id: str = attrs.field(default="")

    def _id_parts(self) -> tuple[object, ...]:
        return ("wakeup", self.checkout_id, self.at)


@attrs.frozen
class RecoveryResumed(_Identified):
    """A person who took over after a hand-off hands the recovery back."""

    checkout_id: str
    at: datetime = attrs.field(validator=_aware)
    id: str = attrs.field(default="")

    def _id_parts(self) -> tuple[object, ...]:
        return ("resumed", self.checkout_id, self.at)


Event: TypeAlias = (
    CheckoutAbandoned
    | OrderPlaced
    | CartEmptied
    | CartUpdated
    | ReplyReceived
    | MessageDelivered
    | MessageRead
    | MessageFailed
    | LinkClicked
    | ConsentChanged
    | WakeupDue
    | RecoveryResumed
)

EVENT_TYPES: Final[tuple[type[Any], ...]] = (
    CheckoutAbandoned,
    OrderPlaced,
    CartEmptied,
    CartUpdated,
    ReplyReceived,
    MessageDelivered,
    MessageRead,
    MessageFailed,
    LinkClicked,
    ConsentChanged,
    WakeupDue,
    RecoveryResumed,
)

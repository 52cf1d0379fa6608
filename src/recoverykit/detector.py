"""Abandonment detection: when a shop's checkout activity becomes ``CheckoutAbandoned``.

Shops do not announce abandonment; they report activity (a checkout started, an
address added, the payment step reached) and, later or never, an order. A checkout
is abandoned when its activity stops for ``idle`` at a stage worth recovering,
and no order (for this checkout, or by the same person through another checkout
or device) makes a reminder wrong. This module decides that, purely: it holds no
clock, no store and no I/O, and takes every fact and ``now`` as arguments, like
the engine.

One checkout is watched through a ``CheckoutWatch`` value:

* ``observe(watch, activity)`` folds in a ``CheckoutStarted`` or ``CheckoutUpdated``
  (the shop's snapshot of the checkout) and sets when it falls due;
* ``complete(watch, order)`` marks it ordered: nothing is ever emitted for it again,
  whichever order the facts arrive in;
* ``check(watch, now=..., orders=...)`` says, once it is due, whether to emit
  ``CheckoutAbandoned``, or why not (a ``DetectorNote``).

The rules:

1. only the stages in ``DetectorPolicy.stages`` count (default: shipping and
   payment); a checkout that never got that far is never abandoned;
2. a checkout with no items is never called abandoned: there is nothing to help
   finish, and "every item is sold out" would be untrue (note ``no_items``);
3. at most one abandonment per *cart version*: once one was emitted, only a change
   to the cart's items or total opens a new version;
4. an order by the same customer (same customer id, phone or e-mail, on any of
   their customer records) placed within ``suppress`` before the last activity,
   or at any time after it, suppresses the abandonment (note ``ordered_recently``);
5. an order of this very checkout completes it for good (note ``completed``).

A new version's abandonment names the checkout ``<id>~v<n>`` for the engine, so it
starts a recovery of its own; ``base_checkout_id`` recovers the shop's id.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from .engine.events import CheckoutAbandoned, OrderPlaced, event_id
from .errors import InvalidInputError
from .policies.consent import ConsentEvent
from .values.model import Channel, Checkout, Customer, Friction, LineItem, Stage, address_key
from .values.money import Money
from .values.time import require_aware

__all__ = [
    "CheckoutActivity",
    "CheckoutStarted",
    "CheckoutUpdated",
    "CheckoutWatch",
    "Detection",
    "DetectorNote",
    "DetectorPolicy",
    "ShopOrder",
    "WatchStatus",
    "activity_from_dict",
    "activity_to_dict",
    "base_checkout_id",
    "check",
    "complete",
    "observe",
    "order_from_dict",
    "order_to_dict",
    "person_keys",
    "same_person",
    "watch_from_dict",
    "watch_to_dict",
]

#: How far each stage is into checkout, so a watch keeps the furthest one reached.
_DEPTH: Final = {Stage.CART: 0, Stage.CONTACT: 1, Stage.SHIPPING: 2, Stage.PAYMENT: 3}
#: Separates a checkout id from its cart version in the engine's checkout id.
_VERSION_MARK: Final = "~v"


def _aware(_inst: object, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
    if value is not None:
        require_aware(value, attribute.name)


def _nonempty(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        msg = f"{attribute.name} must be a non-empty string (got {value!r})"
        raise InvalidInputError(msg)
    if _VERSION_MARK in value:
        msg = (
            f"{attribute.name} must not contain {_VERSION_MARK!r} (got {value!r}); "
            "the detector uses it to number cart versions"
        )
        raise InvalidInputError(msg)


_LINK: Final = re.compile(r"https?://[^\s/$.?#][^\s]*", re.IGNORECASE)


def _link(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str) or not _LINK.fullmatch(value):
        msg = f"{attribute.name} must be an http(s) URL (got {str(value)[:80]!r})"
        raise InvalidInputError(msg)


def _positive(_inst: object, attribute: attrs.Attribute[Any], value: timedelta) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        msg = f"{attribute.name} must be a positive timedelta (got {value!r})"
        raise InvalidInputError(msg)


def _non_negative(_inst: object, attribute: attrs.Attribute[Any], value: timedelta) -> None:
    if not isinstance(value, timedelta) or value < timedelta(0):
        msg = f"{attribute.name} must be a timedelta of zero or more (got {value!r})"
        raise InvalidInputError(msg)


def _stages(value: Iterable[Stage | str]) -> frozenset[Stage]:
    stages = frozenset(Stage(stage) for stage in value)
    if not stages:
        msg = "stages must name at least one stage (got none); the default is shipping and payment"
        raise InvalidInputError(msg)
    if Stage.CART in stages:
        msg = (
            "stages must not include 'cart': a cart that never reached checkout has no "
            "contact to recover it through; use 'contact', 'shipping' or 'payment'"
        )
        raise InvalidInputError(msg)
    return stages


def _items(value: Iterable[LineItem]) -> tuple[LineItem, ...]:
    return tuple(value)


def _consents(value: Iterable[ConsentEvent]) -> tuple[ConsentEvent, ...]:
    return tuple(value)


# -- configuration -----------------------------------------------------------------------------
@attrs.frozen
class DetectorPolicy:
    """When quiet activity counts as abandonment (rules 1 and 4 of the module doc)."""

    #: How long a checkout must stay quiet after its last activity.
    idle: timedelta = attrs.field(default=timedelta(minutes=30), validator=_positive)
    #: The stages at which a quiet checkout counts as abandoned.
    stages: frozenset[Stage] = attrs.field(
        default=frozenset({Stage.SHIPPING, Stage.PAYMENT}), converter=_stages
    )
    #: An order by the same person this long before the last activity (or any time
    #: after it) means no reminder.
    suppress: timedelta = attrs.field(default=timedelta(hours=24), validator=_non_negative)


# -- inputs ------------------------------------------------------------------------------------
@attrs.frozen
class CheckoutActivity:
    """The shop's snapshot of one checkout after the customer did something in it.

    ``checkout_id`` is the shop's stable id for the checkout (Shopify's checkout
    token, a WooCommerce session's cart hash): every snapshot of one checkout must
    carry the same one. ``consent`` holds the consent evidence the snapshot carried
    (the runner appends it to the ledger). ``id`` tells a webhook's retry from a new
    snapshot; without one it is derived from the content.
    """

    checkout_id: str = attrs.field(validator=_nonempty)
    customer: Customer = attrs.field(validator=attrs.validators.instance_of(Customer))
    stage: Stage = attrs.field(converter=Stage)
    items: tuple[LineItem, ...] = attrs.field(converter=_items)
    total: Money = attrs.field(validator=attrs.validators.instance_of(Money))
    #: Where the customer picks up the checkout (never a login link).
    link: str = attrs.field(validator=_link)
    at: datetime = attrs.field(validator=_aware)
    consent: tuple[ConsentEvent, ...] = attrs.field(converter=_consents, default=())
    friction: Friction | None = attrs.field(
        default=None, converter=attrs.converters.optional(Friction)
    )
    hold_until: datetime | None = attrs.field(default=None, validator=_aware)
    id: str = attrs.field(default="")

    def __attrs_post_init__(self) -> None:
        if not self.id:
            object.__setattr__(
                self,
                "id",
                event_id(
                    type(self).__name__, self.checkout_id, self.at, self.stage, self.items,
                    self.total,
                ),
            )  # fmt: skip

    def as_checkout(self, *, checkout_id: str, abandoned_at: datetime) -> Checkout:
        """The engine's ``Checkout`` for this snapshot (validated there)."""
        return Checkout(
            id=checkout_id,
            customer=self.customer,
            items=self.items,
            total=self.total,
            stage=self.stage,
            abandoned_at=abandoned_at,
            link=self.link,
            friction=self.friction,
            hold_until=self.hold_until
            if self.hold_until is None or self.hold_until > abandoned_at
            else None,
        )


@attrs.frozen
class CheckoutStarted(CheckoutActivity):
    """A checkout was opened (Shopify ``checkouts/create``, a shop's own hook)."""


@attrs.frozen
class CheckoutUpdated(CheckoutActivity):
    """Something changed in an open checkout: contact, address, shipping, payment, items."""


def _phone_key(value: str | None) -> str | None:
    if value is None:
        return None
    digits = "".join(ch for ch in value if ch.isdigit())
    return "+" + digits if digits else None


def _email_key(value: str | None) -> str | None:
    if value is None:
        return None
    return address_key(Channel.EMAIL, value) or None


@attrs.frozen
class ShopOrder:
    """An order the shop took, as the detector and the runner need it.

    ``checkout_id`` names the checkout it completes, when the shop knows it
    (Shopify's ``checkout_token``); ``customer_id``, ``phone`` and ``email`` say who
    ordered, so the same person's other checkouts are suppressed too (rule 4).
    ``phone`` is kept as digits with a leading ``+`` and ``email`` case-folded.
    """

    order_id: str = attrs.field(validator=_nonempty)
    at: datetime = attrs.field(validator=_aware)
    checkout_id: str | None = None
    customer_id: str | None = None
    phone: str | None = attrs.field(default=None, converter=_phone_key)
    email: str | None = attrs.field(default=None, converter=_email_key)
    total: Money | None = None
    id: str = attrs.field(default="")

    def __attrs_post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", event_id("shop-order", self.order_id))

    def event(self) -> OrderPlaced:
        """The engine's ``OrderPlaced``: it stops the recoveries this order concerns.

        Without a checkout id it names the order itself; the runner then reaches the
        customer's open recoveries through ``customer_id``.
        """
        return OrderPlaced(
            checkout_id=self.checkout_id or f"order:{self.order_id}",
            at=self.at,
            customer_id=self.customer_id,
            total=self.total,
            order_id=self.order_id,
            id=self.id,
        )


# -- state -------------------------------------------------------------------------------------
class WatchStatus(enum.StrEnum):
    """Where a watched checkout stands."""

    #: Activity seen; due at ``due_at`` unless more activity comes.
    WATCHING = "watching"
    #: Nothing to do until new activity (emitted, skipped or suppressed for this version).
    RESTING = "resting"
    #: An order completed it; nothing is ever emitted for it again.
    COMPLETED = "completed"


@attrs.frozen
class CheckoutWatch:
    """What the detector knows about one checkout; stores keep it between calls."""

    checkout_id: str
    status: WatchStatus = attrs.field(converter=WatchStatus)
    #: The latest snapshot, ``None`` when only an order was seen.
    latest: CheckoutActivity | None = None
    #: The furthest stage any snapshot reached.
    stage: Stage | None = attrs.field(default=None, converter=attrs.converters.optional(Stage))
    last_activity_at: datetime | None = attrs.field(default=None, validator=_aware)
    #: 1 for the first cart; grows when the cart changes after an abandonment.
    version: int = 1
    #: The version an abandonment was emitted for, if any.
    emitted_version: int | None = None
    #: When ``check`` should look next (``None``: never, until new activity).
    due_at: datetime | None = attrs.field(default=None, validator=_aware)
    completed_at: datetime | None = attrs.field(default=None, validator=_aware)

    @property
    def customer(self) -> Customer | None:
        return None if self.latest is None else self.latest.customer

    def engine_checkout_id(self) -> str:
        """The checkout id the engine knows this version by (``<id>~v<n>`` from version 2)."""
        if self.version == 1:
            return self.checkout_id
        return f"{self.checkout_id}{_VERSION_MARK}{self.version}"


def base_checkout_id(engine_checkout_id: str) -> str:
    """The shop's checkout id behind an engine checkout id (``"t1~v2"`` → ``"t1"``)."""
    return engine_checkout_id.split(_VERSION_MARK, 1)[0]


class DetectorNote(enum.StrEnum):
    """Why a due checkout produced no abandonment."""

    #: Not due yet (more activity may come).
    NOT_DUE = "not_due"
    #: The checkout never reached a stage that counts.
    EARLY_STAGE = "early_stage"
    #: The checkout holds no items: nothing to help finish (rule 2).
    NO_ITEMS = "no_items"
    #: This cart version was already reported abandoned (rule 3).
    ALREADY_ABANDONED = "already_abandoned"
    #: The same person ordered recently (rule 4).
    ORDERED_RECENTLY = "ordered_recently"
    #: This checkout was ordered (rule 5).
    COMPLETED = "completed"
    #: The snapshot could not become a ``Checkout`` (e.g. no usable link).
    INVALID = "invalid"


@attrs.frozen
class Detection:
    """What ``check`` decided: the new watch, and the abandonment or why there is none."""

    watch: CheckoutWatch
    abandoned: CheckoutAbandoned | None = None
    note: DetectorNote | None = None
    detail: str = ""


# -- the functions -----------------------------------------------------------------------------
def _deeper(current: Stage | None, new: Stage) -> Stage:
    if current is None or _DEPTH[new] > _DEPTH[current]:
        return new
    return current


def _same_cart(a: CheckoutActivity, b: CheckoutActivity) -> bool:
    return a.items == b.items and a.total == b.total


def observe(
    watch: CheckoutWatch | None, activity: CheckoutActivity, *, policy: DetectorPolicy
) -> CheckoutWatch:
    """``watch`` with ``activity`` folded in.

    A snapshot older than the latest one only raises the stage reached (webhooks
    arrive out of order); a newer one replaces the snapshot and restarts the idle
    clock. After an abandonment was emitted, a changed cart opens a new version.
    A completed checkout stays completed.
    """
    if watch is None:
        watch = CheckoutWatch(activity.checkout_id, WatchStatus.WATCHING)
    elif watch.checkout_id != activity.checkout_id:
        msg = (
            f"activity for checkout {activity.checkout_id!r} cannot update the watch of "
            f"{watch.checkout_id!r}"
        )
        raise InvalidInputError(msg)
    stage = _deeper(watch.stage, activity.stage)
    if watch.status is WatchStatus.COMPLETED:
        return attrs.evolve(watch, stage=stage)
    latest = watch.latest
    if watch.last_activity_at is not None and activity.at < watch.last_activity_at:
        return attrs.evolve(watch, stage=stage)
    version = watch.version
    if latest is not None and watch.emitted_version == version and not _same_cart(latest, activity):
        version += 1
    if version == watch.emitted_version:
        # Same cart as the one already reported: keep the newest snapshot, nothing due.
        return attrs.evolve(
            watch, latest=activity, stage=stage, last_activity_at=activity.at, due_at=None,
            status=WatchStatus.RESTING,
        )  # fmt: skip
    return attrs.evolve(
        watch,
        latest=activity,
        stage=stage,
        last_activity_at=activity.at,
        version=version,
        status=WatchStatus.WATCHING,
        due_at=activity.at + policy.idle,
    )


def complete(watch: CheckoutWatch | None, order: ShopOrder) -> CheckoutWatch:
    """``watch`` completed by ``order`` (which must name this checkout)."""
    if order.checkout_id is None:
        msg = f"order {order.order_id!r} names no checkout, so it cannot complete one"
        raise InvalidInputError(msg)
    if watch is None:
        watch = CheckoutWatch(order.checkout_id, WatchStatus.COMPLETED)
    if watch.checkout_id != order.checkout_id:
        msg = (
            f"order {order.order_id!r} completes checkout {order.checkout_id!r}, not "
            f"{watch.checkout_id!r}"
        )
        raise InvalidInputError(msg)
    earliest = order.at if watch.completed_at is None else min(watch.completed_at, order.at)
    return attrs.evolve(watch, status=WatchStatus.COMPLETED, due_at=None, completed_at=earliest)


def person_keys(customer: Customer) -> tuple[str | None, str | None]:
    """``customer``'s phone and e-mail in the forms ``ShopOrder`` keeps them."""
    return _phone_key(customer.phone), _email_key(customer.email)


def same_person(order: ShopOrder, customer: Customer) -> bool:
    """Whether ``order`` was placed by ``customer``: same id, phone or e-mail (rule 4)."""
    if order.customer_id is not None and order.customer_id == customer.id:
        return True
    phone = _phone_key(customer.phone)
    if phone is not None and order.phone == phone:
        return True
    email = _email_key(customer.email)
    return email is not None and order.email == email


def check(
    watch: CheckoutWatch,
    *,
    now: datetime,
    policy: DetectorPolicy,
    orders: Iterable[ShopOrder] = (),
) -> Detection:
    """Decide whether ``watch`` is abandoned at ``now``.

    ``orders`` are the orders that might concern it (the runner passes those
    matching the checkout id, the customer id, phone or e-mail); each is checked
    again here, so passing more is harmless. Emitting moves the watch to resting
    for this version, so calling ``check`` again emits nothing.
    """
    require_aware(now, "now")
    orders = tuple(orders)
    mine = [order for order in orders if order.checkout_id == watch.checkout_id]
    if mine:
        done = watch
        for order in mine:
            done = complete(done, order)
        return Detection(done, note=DetectorNote.COMPLETED, detail=f"ordered as {mine[0].order_id}")
    if watch.status is WatchStatus.COMPLETED:
        return Detection(watch, note=DetectorNote.COMPLETED)
    if watch.status is WatchStatus.RESTING or watch.due_at is None:
        return Detection(watch, note=DetectorNote.ALREADY_ABANDONED)
    if now < watch.due_at:
        return Detection(watch, note=DetectorNote.NOT_DUE)
    latest = watch.latest
    assert latest is not None  # a watching watch has a snapshot and its time
    assert watch.last_activity_at is not None
    rested = attrs.evolve(watch, status=WatchStatus.RESTING, due_at=None)
    if watch.stage not in policy.stages:
        reached = "no stage" if watch.stage is None else f"the {watch.stage.value} stage"
        return Detection(rested, note=DetectorNote.EARLY_STAGE, detail=f"reached {reached}")
    if not latest.items:
        return Detection(
            rested, note=DetectorNote.NO_ITEMS, detail="left at checkout with an empty cart"
        )
    since = watch.last_activity_at - policy.suppress
    for order in orders:
        if order.at >= since and same_person(order, latest.customer):
            return Detection(
                rested,
                note=DetectorNote.ORDERED_RECENTLY,
                detail=f"the same customer placed order {order.order_id} at {order.at.isoformat()}",
            )
    abandoned_at = watch.last_activity_at
    try:
        checkout = attrs.evolve(latest, stage=watch.stage).as_checkout(
            checkout_id=watch.engine_checkout_id(), abandoned_at=abandoned_at
        )
    except (InvalidInputError, ValueError, TypeError) as exc:
        return Detection(rested, note=DetectorNote.INVALID, detail=str(exc)[:300])
    event = CheckoutAbandoned(
        checkout,
        at=abandoned_at,
        id=event_id("detected", watch.checkout_id, watch.version),
    )
    emitted = attrs.evolve(rested, emitted_version=watch.version)
    return Detection(emitted, abandoned=event)


# -- storage -----------------------------------------------------------------------------------
_KINDS: Final[dict[str, type[CheckoutActivity]]] = {
    "started": CheckoutStarted,
    "updated": CheckoutUpdated,
}


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def activity_to_dict(activity: CheckoutActivity) -> dict[str, Any]:
    """A JSON-safe form of ``activity`` (what stores keep)."""
    kind = "started" if isinstance(activity, CheckoutStarted) else "updated"
    return {
        "kind": kind,
        "checkout_id": activity.checkout_id,
        "customer": activity.customer.to_dict(),
        "stage": activity.stage.value,
        "items": [item.to_dict() for item in activity.items],
        "total": activity.total.to_dict(),
        "link": activity.link,
        "at": activity.at.isoformat(),
        "consent": [event.to_dict() for event in activity.consent],
        "friction": None if activity.friction is None else activity.friction.value,
        "hold_until": _time(activity.hold_until),
        "id": activity.id,
    }


def activity_from_dict(data: dict[str, Any]) -> CheckoutActivity:
    """The activity ``activity_to_dict`` wrote."""
    cls = _KINDS[data["kind"]]
    return cls(
        checkout_id=data["checkout_id"],
        customer=Customer.from_dict(data["customer"]),
        stage=Stage(data["stage"]),
        items=tuple(LineItem.from_dict(item) for item in data["items"]),
        total=Money.from_dict(data["total"]),
        link=data["link"],
        at=datetime.fromisoformat(data["at"]),
        consent=tuple(ConsentEvent.from_dict(event) for event in data["consent"]),
        friction=data["friction"],
        hold_until=_parse_time(data["hold_until"]),
        id=data["id"],
    )


def watch_to_dict(watch: CheckoutWatch) -> dict[str, Any]:
    """A JSON-safe form of ``watch`` (what stores keep)."""
    return {
        "checkout_id": watch.checkout_id,
        "status": watch.status.value,
        "latest": None if watch.latest is None else activity_to_dict(watch.latest),
        "stage": None if watch.stage is None else watch.stage.value,
        "last_activity_at": _time(watch.last_activity_at),
        "version": watch.version,
        "emitted_version": watch.emitted_version,
        "due_at": _time(watch.due_at),
        "completed_at": _time(watch.completed_at),
    }


def watch_from_dict(data: dict[str, Any]) -> CheckoutWatch:
    """The watch ``watch_to_dict`` wrote."""
    latest = data["latest"]
    return CheckoutWatch(
        checkout_id=data["checkout_id"],
        status=data["status"],
        latest=None if latest is None else activity_from_dict(latest),
        stage=data["stage"],
        last_activity_at=_parse_time(data["last_activity_at"]),
        version=data["version"],
        emitted_version=data["emitted_version"],
        due_at=_parse_time(data["due_at"]),
        completed_at=_parse_time(data["completed_at"]),
    )


def order_to_dict(order: ShopOrder) -> dict[str, Any]:
    """A JSON-safe form of ``order`` (what stores keep)."""
    return {
        "order_id": order.order_id,
        "at": order.at.isoformat(),
        "checkout_id": order.checkout_id,
        "customer_id": order.customer_id,
        "phone": order.phone,
        "email": order.email,
        "total": None if order.total is None else order.total.to_dict(),
        "id": order.id,
    }


def order_from_dict(data: dict[str, Any]) -> ShopOrder:
    """The order ``order_to_dict`` wrote."""
    total = data["total"]
    return ShopOrder(
        order_id=data["order_id"],
        at=datetime.fromisoformat(data["at"]),
        checkout_id=data["checkout_id"],
        customer_id=data["customer_id"],
        phone=data["phone"],
        email=data["email"],
        total=None if total is None else Money.from_dict(total),
        id=data["id"],
    )

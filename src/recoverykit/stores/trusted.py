"""Reading back what the store wrote itself, without validating it a second time.

Every value is validated once, where it enters: loaders, webhook parsers, public
constructors. A recovery state a bundled store saved was built from such values,
so checking its checkout, customer, items and consent events again on every read
only repeats work (``Checkout.from_dict`` was most of what decoding a claimed state
cost). What the store writes therefore carries a **stamp**, and a row whose stamp
is this release's is rebuilt field by field without validators or converters.

The stamp names the stored shape: ``TRUST_SCHEMA`` (raised by hand when a
validation rule changes what a stored value may hold) and a fingerprint of the
field lists of every class rebuilt here (so a field added, removed or retyped
changes the stamp by itself). A row without the stamp (written before it existed,
by another tool, or by hand) or with another release's stamp goes through the
checked loaders, exactly as before; so does a stamped row the fast path cannot
read, which then fails with the checked loader's full report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, TypeVar, cast

import attrs

from ..engine.commands import FinishReason
from ..engine.conversation import ConversationLine, Direction
from ..engine.notes import (
    DeferReason,
    Deferred,
    Ignored,
    IgnoreReason,
    Info,
    InfoTopic,
    Note,
    Skipped,
    SkipReason,
    note_from_dict,
)
from ..engine.state import RecoveryState, RecoveryStatus, SentTouch
from ..policies.consent import ConsentAction, ConsentEvent, Purpose
from ..values.model import Channel, Checkout, Customer, Friction, LineItem, Stage
from ..values.money import Money

__all__ = [
    "STAMP",
    "STAMP_KEY",
    "TRUST_SCHEMA",
    "consent_from_stored",
    "consent_to_stored",
    "state_from_stored",
    "trusted_checkout",
    "trusted_consent",
    "trusted_state",
]

T = TypeVar("T")

#: Raise when a validator or converter of a rebuilt class changes what a stored value
#: may hold: rows stamped before then are read through the checked loaders again.
TRUST_SCHEMA: Final = 1
#: The key the stamp is stored under, in a state's JSON and in a consent event's.
STAMP_KEY: Final = "stamp"

#: Every class the fast path rebuilds; its field lists are part of the stamp.
_REBUILT: Final[tuple[type[Any], ...]] = (
    RecoveryState,
    SentTouch,
    ConversationLine,
    Checkout,
    Customer,
    LineItem,
    Money,
    Deferred,
    Skipped,
    Ignored,
    Info,
    ConsentEvent,
)


def _fingerprint(classes: tuple[type[Any], ...]) -> str:
    """Eight hex digits that change whenever a field of ``classes`` is added, dropped,
    renamed, reordered or retyped."""
    text = ";".join(
        f"{cls.__qualname__}(" + ",".join(f"{item.name}:{item.type}" for item in attrs.fields(cls))
        for cls in classes
    )
    return hashlib.sha256(text.encode()).hexdigest()[:8]


#: This release's stamp: ``"<TRUST_SCHEMA>.<fingerprint>"``.
STAMP: Final = f"{TRUST_SCHEMA}.{_fingerprint(_REBUILT)}"


def _builder(cls: type[T]) -> Callable[..., T]:
    """A function that makes a ``cls`` from every field's value, by keyword, running no
    validator, converter or ``__attrs_post_init__``.

    Frozen attrs classes refuse ``setattr``; ``object.__setattr__`` is how attrs's own
    ``__init__`` fills their slots, and so is this one. Every field is a required
    parameter: a caller that forgets one fails at once instead of leaving a slot empty.
    """
    names = [item.name for item in attrs.fields(cast("type[attrs.AttrsInstance]", cls))]
    body = "\n".join(f"    _set(self, {name!r}, {name})" for name in names)
    source = f"def build(*, {', '.join(names)}):\n    self = _new(_cls)\n{body}\n    return self\n"
    scope: dict[str, Any] = {"_new": object.__new__, "_set": object.__setattr__, "_cls": cls}
    exec(compile(source, f"<trusted {cls.__name__}>", "exec"), scope)  # noqa: S102
    build: Callable[..., T] = scope["build"]
    return build


_STATE: Final = _builder(RecoveryState)
_SENT: Final = _builder(SentTouch)
_LINE: Final = _builder(ConversationLine)
_CHECKOUT: Final = _builder(Checkout)
_CUSTOMER: Final = _builder(Customer)
_ITEM: Final = _builder(LineItem)
_MONEY: Final = _builder(Money)
_DEFERRED: Final = _builder(Deferred)
_SKIPPED: Final = _builder(Skipped)
_IGNORED: Final = _builder(Ignored)
_INFO: Final = _builder(Info)
_CONSENT: Final = _builder(ConsentEvent)

_instant: Final = datetime.fromisoformat


def _maybe_instant(value: str | None) -> datetime | None:
    return None if value is None else _instant(value)


def _member(enum_cls: Any) -> Callable[[str], Any]:
    """The member for a stored value: a dict lookup, the enum's own call for the rest
    (an open enum's unlisted word, or a value that then fails loudly)."""
    members: Mapping[str, Any] = enum_cls._value2member_map_

    def member(value: str) -> Any:
        found = members.get(value)
        return enum_cls(value) if found is None else found

    return member


_channel: Final = _member(Channel)
_status: Final = _member(RecoveryStatus)
_stage: Final = _member(Stage)
_friction: Final = _member(Friction)
_finish: Final = _member(FinishReason)
_defer: Final = _member(DeferReason)
_skip: Final = _member(SkipReason)
_ignore: Final = _member(IgnoreReason)
_topic: Final = _member(InfoTopic)
_purpose: Final = _member(Purpose)
_action: Final = _member(ConsentAction)
_direction: Final = _member(Direction)


def _money(data: Mapping[str, Any]) -> Money:
    return _MONEY(amount=Decimal(data["amount"]), currency=data["currency"])


def _item(data: Mapping[str, Any]) -> LineItem:
    get = data.get
    return _ITEM(
        sku=data["sku"],
        name=data["name"],
        quantity=data["quantity"],
        unit_price=_money(data["unit_price"]),
        category=get("category"),
        in_stock=get("in_stock", True),
        stock_level=get("stock_level"),
        stock_as_of=_maybe_instant(get("stock_as_of")),
    )


def _customer(data: Mapping[str, Any]) -> Customer:
    get = data.get
    return _CUSTOMER(
        id=data["id"],
        first_name=get("first_name"),
        phone=get("phone"),
        email=get("email"),
        locale=data["locale"],
        timezone=get("timezone"),
        country=get("country"),
        orders_count=data["orders_count"],
        telegram_chat_id=get("telegram_chat_id"),
        viber_id=get("viber_id"),
    )


def trusted_checkout(data: Mapping[str, Any]) -> Checkout:
    """A checkout from ``Checkout.to_dict`` output the store wrote itself, not re-validated.

    Only for data that was a valid ``Checkout`` when written: anything else belongs to
    ``Checkout.from_dict``.
    """
    friction = data.get("friction")
    return _CHECKOUT(
        id=data["id"],
        customer=_customer(data["customer"]),
        items=tuple(_item(item) for item in data["items"]),
        total=_money(data["total"]),
        stage=_stage(data["stage"]),
        abandoned_at=_instant(data["abandoned_at"]),
        link=data["link"],
        friction=None if friction is None else _friction(friction),
        hold_until=_maybe_instant(data.get("hold_until")),
    )


def _sent(data: Mapping[str, Any]) -> SentTouch:
    get = data.get
    return _SENT(
        touch=data["touch"],
        channel=_channel(data["channel"]),
        at=_instant(data["at"]),
        key=data["key"],
        attempt=get("attempt", 0),
        delivered=get("delivered", False),
        read=get("read", False),
        failed=get("failed", False),
        discount_code=get("discount_code"),
    )


def _line(data: Mapping[str, Any]) -> ConversationLine:
    get = data.get
    return _LINE(
        at=_instant(data["at"]),
        channel=_channel(data["channel"]),
        direction=_direction(data["direction"]),
        text=data["text"],
        key=get("key"),
        touch=get("touch"),
    )


def _note(data: Mapping[str, Any]) -> Note:
    kind = data["type"]
    if kind == "deferred":
        return _DEFERRED(
            touch=data["touch"],
            reason=_defer(data["reason"]),
            rule=data["rule"],
            from_=_instant(data["from"]),
            to=_instant(data["to"]),
            zone=data.get("zone"),
        )
    if kind == "info":
        return _INFO(what=_topic(data["what"]), detail=data.get("detail", ""))
    if kind == "skipped":
        return _SKIPPED(
            touch=data["touch"], reason=_skip(data["reason"]), detail=data.get("detail", "")
        )
    if kind == "ignored":
        return _IGNORED(
            reason=_ignore(data["reason"]), event=data["event"], detail=data.get("detail", "")
        )
    return note_from_dict(dict(data))  # an unknown kind: the checked reader names it


def trusted_state(data: Mapping[str, Any]) -> RecoveryState:
    """A state from ``RecoveryState.to_dict`` output the store wrote itself, not re-validated."""
    checkout = data["checkout"]
    channel = data["channel"]
    finish = data["finish_reason"]
    return _STATE(
        checkout_id=data["checkout_id"],
        customer_id=data["customer_id"],
        status=_status(data["status"]),
        checkout=None if checkout is None else trusted_checkout(checkout),
        sequence=data["sequence"],
        sequence_version=data["sequence_version"],
        variant=data["variant"],
        zones=tuple(data["zones"]),
        zone_source=data["zone_source"],
        channel=None if channel is None else _channel(channel),
        failed_channels=frozenset(_channel(item) for item in data["failed_channels"]),
        next_touch=data["next_touch"],
        attempt=data["attempt"],
        wakeup_at=_maybe_instant(data["wakeup_at"]),
        optin_due=_maybe_instant(data["optin_due"]),
        optin_sent_at=_maybe_instant(data["optin_sent_at"]),
        sent=tuple(_sent(item) for item in data["sent"]),
        # Written only when set (``RecoveryState.to_dict``): absent means none.
        window_closed_at=_maybe_instant(data.get("window_closed_at")),
        replies_sent=data["replies_sent"],
        paused_at=_maybe_instant(data.get("paused_at")),
        conversation=tuple(_line(item) for item in data.get("conversation", ())),
        clicked=data["clicked"],
        finish_reason=None if finish is None else _finish(finish),
        finished_at=_maybe_instant(data["finished_at"]),
        seen=tuple(data["seen"]),
        notes=tuple(_note(note) for note in data["notes"]),
        updated_at=_maybe_instant(data["updated_at"]),
    )


def _checked_state(data: Mapping[str, Any]) -> RecoveryState:
    return RecoveryState.from_dict({k: v for k, v in data.items() if k != STAMP_KEY})


def state_from_stored(data: Mapping[str, Any]) -> RecoveryState:
    """A stored state: the fast path when it carries this release's stamp, else checked.

    A stamped row the fast path cannot read (damaged by hand, say) is read by the
    checked loader, whose error then names every problem with its path.
    """
    if data.get(STAMP_KEY) == STAMP:
        try:
            return trusted_state(data)
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError):
            pass
    return _checked_state(data)


# -- consent events ------------------------------------------------------------------------------
def consent_to_stored(event: ConsentEvent) -> dict[str, Any]:
    """A consent event's JSON as a bundled store keeps it: ``to_dict`` plus the stamp."""
    data = event.to_dict()
    data[STAMP_KEY] = STAMP
    return data


def trusted_consent(data: Mapping[str, Any]) -> ConsentEvent:
    """A consent event from ``ConsentEvent.to_dict`` output the store wrote, not re-validated."""
    channel = data["channel"]
    purpose = data["purpose"]
    get = data.get
    return _CONSENT(
        customer_id=data["customer_id"],
        channel=None if channel is None else _channel(channel),
        purpose=None if purpose is None else _purpose(purpose),
        action=_action(data["action"]),
        at=_instant(data["at"]),
        source=data["source"],
        text=get("text"),
        version=get("version"),
        address=get("address"),
    )


def consent_from_stored(data: Mapping[str, Any]) -> ConsentEvent:
    """A stored consent event: the fast path when stamped by this release, else checked."""
    if data.get(STAMP_KEY) == STAMP:
        try:
            return trusted_consent(data)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass
    return ConsentEvent.from_dict({k: v for k, v in data.items() if k != STAMP_KEY})

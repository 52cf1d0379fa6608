"""Hypothesis strategies for events and whole event streams.

Re-exported from ``recoverykit.testing.strategies``. ``event_streams`` tells a
story about a few checkouts: they are abandoned, and afterwards, in time order,
come orders, emptied carts, replies in every language the built-in packs speak,
consent changes, delivery reports, link clicks and clock jumps (a worker that was
down and wakes late). Ids are small and shared on purpose, so replays, two
checkouts of one customer and reports about touches never sent turn up often.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeAlias

import attrs
from hypothesis import strategies as st

from ..engine.events import (
    CartEmptied,
    CartUpdated,
    CheckoutAbandoned,
    ConsentChanged,
    Event,
    LinkClicked,
    MessageDelivered,
    MessageFailed,
    MessageRead,
    OrderPlaced,
    RecoveryResumed,
    ReplyReceived,
    WakeupDue,
)
from ..messages.packs import default_pack
from ..policies.consent import ConsentAction, ConsentEvent, Purpose
from ..policies.keywords import KEYWORDS
from ..policies.replies import classify_reply
from ..policies.sequence import MAX_TOUCHES
from ..values.model import Channel, Checkout
from ..values.time import require_aware
from ._strategies_policies import or_default as _or

__all__ = [
    "ClockJump",
    "StreamItem",
    "event_strategies",
    "event_streams",
    "events",
    "pack_languages",
    "reply_events",
    "reply_texts_in",
]

_BASE: Final = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_CHECKOUTS: Final = ("chk-1", "chk-2")
_CUSTOMERS: Final = ("cus-1", "cus-2")


@attrs.frozen
class ClockJump:
    """Time passes with nobody running the tick: due work is found late, at ``to``."""

    to: datetime = attrs.field(validator=lambda _i, _a, value: require_aware(value, "to"))

    @property
    def at(self) -> datetime:
        return self.to


#: One item of a stream: an event to hand to the runner, or a jump of the clock.
StreamItem: TypeAlias = Event | ClockJump


@functools.cache
def pack_languages() -> tuple[str, ...]:
    """The languages the built-in message packs speak."""
    return tuple(sorted({template.locale for template in default_pack().templates()}))


#: A question a customer might ask, per pack language (the packs answer with help).
_QUESTIONS: Final = {
    "en": ("Does it ship to Texas?", "is the blue one in stock?"),
    "pl": ("Ile kosztuje dostawa?", "czy jest rozmiar 42?"),
    "ru": ("Сколько стоит доставка?", "есть размер 42?"),
    "fr": ("La livraison est gratuite ?", "vous avez la taille 42 ?"),
}


@functools.cache
def _phrases(language: str) -> tuple[str, ...]:
    own = [entry.phrase for entry in KEYWORDS if entry.locale in {language, "*"}]
    own.extend(_QUESTIONS.get(language, ()))
    return tuple(own)


def reply_texts_in(language: str | None = None) -> st.SearchStrategy[str]:
    """What customers write back in ``language`` (default: any pack language): STOP and its
    local words, refusals, "yes", questions, menu digits."""
    languages = [language] if language is not None else list(pack_languages())
    return st.sampled_from(languages).flatmap(
        lambda lang: st.one_of(st.sampled_from(_phrases(lang)), st.sampled_from(["1", "2", "3"]))
    )


def _at(minutes: int = 60 * 24 * 8) -> st.SearchStrategy[datetime]:
    return st.integers(0, minutes).map(lambda m: _BASE + timedelta(minutes=m))


def reply_events(
    *,
    customer_ids: st.SearchStrategy[str] | None = None,
    channels: st.SearchStrategy[Channel] | None = None,
    at: st.SearchStrategy[datetime] | None = None,
) -> st.SearchStrategy[ReplyReceived]:
    """Replies, classified at the boundary as a webhook parser hands them over."""

    def build(customer: str, channel: Channel, text: str, when: datetime) -> ReplyReceived:
        reply = classify_reply(text, channel=channel)
        return ReplyReceived(customer, channel, reply, when)

    return st.builds(
        build,
        _or(customer_ids, st.sampled_from(_CUSTOMERS)),
        _or(channels, st.sampled_from(Channel)),
        reply_texts_in(),
        _or(at, _at()),
    )


def _consent_changes(
    customer_ids: st.SearchStrategy[str], at: st.SearchStrategy[datetime]
) -> st.SearchStrategy[ConsentChanged]:
    def build(
        customer: str, channel: Channel, action: ConsentAction, purpose: Purpose, when: datetime
    ) -> ConsentChanged:
        event = ConsentEvent(
            customer_id=customer,
            channel=channel,
            purpose=purpose,
            action=action,
            at=when,
            source="api",
            text="Cart reminders by message; reply STOP to stop.",
            version="1",
        )
        return ConsentChanged(event)

    return st.builds(
        build,
        customer_ids,
        st.sampled_from(Channel),
        st.sampled_from(ConsentAction),
        st.sampled_from([Purpose.RECOVERY, Purpose.MARKETING]),
        at,
    )


def event_strategies(
    *,
    checkout_ids: st.SearchStrategy[str] | None = None,
    customer_ids: st.SearchStrategy[str] | None = None,
    at: st.SearchStrategy[datetime] | None = None,
    checkouts: st.SearchStrategy[Checkout] | None = None,
) -> dict[type[Any], st.SearchStrategy[Any]]:
    """One strategy per event type, about a small pool of checkouts and customers."""
    from .strategies import checkouts as all_checkouts  # noqa: PLC0415 - facade imports us
    from .strategies import line_items, money  # noqa: PLC0415

    ids = _or(checkout_ids, st.sampled_from(_CHECKOUTS))
    people = _or(customer_ids, st.sampled_from(_CUSTOMERS))
    when = _or(at, _at())
    touch = st.integers(1, MAX_TOUCHES)
    channel = st.sampled_from(Channel)
    return {
        CheckoutAbandoned: st.builds(CheckoutAbandoned, _or(checkouts, all_checkouts()), when),
        OrderPlaced: st.builds(OrderPlaced, ids, when, customer_id=st.none() | people),
        CartEmptied: st.builds(CartEmptied, ids, when),
        CartUpdated: st.builds(
            CartUpdated,
            ids,
            when,
            items=st.lists(line_items("USD"), max_size=3).map(tuple),
            total=st.none() | money("USD"),
        ),
        ReplyReceived: reply_events(customer_ids=people, at=when),
        MessageDelivered: st.builds(MessageDelivered, ids, touch, channel, when),
        MessageRead: st.builds(MessageRead, ids, touch, channel, when),
        MessageFailed: st.builds(
            MessageFailed,
            ids,
            touch,
            channel,
            when,
            permanent=st.booleans(),
            code=st.none() | st.sampled_from(["30003", "30007", "131026"]),
            revoked=st.booleans(),
        ),
        LinkClicked: st.builds(LinkClicked, ids, when, touch=st.none() | touch),
        ConsentChanged: _consent_changes(people, when),
        WakeupDue: st.builds(WakeupDue, ids, when),
        RecoveryResumed: st.builds(RecoveryResumed, ids, when),
    }


def events(
    *,
    checkout_ids: st.SearchStrategy[str] | None = None,
    customer_ids: st.SearchStrategy[str] | None = None,
    at: st.SearchStrategy[datetime] | None = None,
    checkouts: st.SearchStrategy[Checkout] | None = None,
) -> st.SearchStrategy[Event]:
    """Any one event, every type, about a small pool of checkouts and customers."""
    by_type = event_strategies(
        checkout_ids=checkout_ids, customer_ids=customer_ids, at=at, checkouts=checkouts
    )
    return st.one_of(list(by_type.values()))


@st.composite
def _stream(
    draw: st.DrawFn,
    checkouts: st.SearchStrategy[list[Checkout]],
    max_events: int,
    span: timedelta,
    clock_jumps: bool,
) -> list[StreamItem]:
    carts = draw(checkouts)
    if not carts:
        return []
    start = min(cart.abandoned_at for cart in carts)
    minutes = int(span / timedelta(minutes=1))
    offset = st.integers(0, minutes).map(lambda m: start + timedelta(minutes=m))
    ids = st.sampled_from([cart.id for cart in carts])
    people = st.sampled_from(sorted({cart.customer.id for cart in carts}))
    touch = st.integers(1, 3)
    reports = st.one_of(
        st.builds(MessageDelivered, ids, touch, st.sampled_from(Channel), offset),
        st.builds(MessageRead, ids, touch, st.sampled_from(Channel), offset),
        st.builds(
            MessageFailed, ids, touch, st.sampled_from(Channel), offset, permanent=st.booleans()
        ),
    )
    kinds: list[st.SearchStrategy[StreamItem]] = [
        st.builds(OrderPlaced, ids, offset, customer_id=st.none() | people),
        st.builds(CartEmptied, ids, offset),
        reply_events(customer_ids=people, at=offset),
        _consent_changes(people, offset),
        reports,
        st.builds(LinkClicked, ids, offset),
    ]
    if clock_jumps:
        kinds.append(st.builds(ClockJump, offset))
    later = draw(st.lists(st.one_of(kinds), max_size=max_events))
    items: list[StreamItem] = [CheckoutAbandoned(cart, cart.abandoned_at) for cart in carts]
    items.extend(later)
    return sorted(items, key=lambda item: item.at)


def event_streams(
    checkouts: st.SearchStrategy[Checkout] | Iterable[Checkout] | None = None,
    *,
    max_checkouts: int = 2,
    max_events: int = 8,
    span: timedelta = timedelta(days=8),
    clock_jumps: bool = True,
) -> st.SearchStrategy[list[StreamItem]]:
    """Time-ordered stories: each checkout's abandonment, then what happened next.

    ``checkouts`` is a strategy (up to ``max_checkouts`` are drawn, with distinct
    ids) or fixed checkouts. Later items fall within ``span`` of the first
    abandonment; ``ClockJump`` items appear unless ``clock_jumps`` is false.
    """
    from .strategies import checkouts as all_checkouts  # noqa: PLC0415 - facade imports us

    if checkouts is None or isinstance(checkouts, st.SearchStrategy):
        source = checkouts if checkouts is not None else all_checkouts()
        carts = st.lists(source, min_size=1, max_size=max_checkouts, unique_by=lambda c: c.id)
    else:
        carts = st.just(list(checkouts))
    return _stream(carts, max_events, span, clock_jumps)

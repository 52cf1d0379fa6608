"""Hypothesis strategies for recoverykit's public types, for your own property tests.

Importing this module (or ``recoverykit.testing`` in a test run that uses Hypothesis)
teaches ``st.from_type`` every public value: checkouts and customers (with phones,
e-mails, Telegram chat ids and Viber ids), money, policies and every part of one
(sequences, touches, delay windows, caps, timing scales, guard and discount rules,
variants), consent events and ledgers, replies, every event, contexts and recovery
states. Each drawn value passes the checks its class makes when built.

The strategies compose: ``policies(sequence=sequences(max_touches=2))``,
``event_streams(checkouts(), max_events=5)``.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import phonenumbers
from hypothesis import strategies as st

from ..engine import events as _events
from ..engine.machine import decide
from ..engine.policy import Context, RecoveryPolicy, TimingScale, Variant
from ..engine.state import RecoveryState
from ..messages.lint import GuardPolicy
from ..policies.caps import ContactHistory, ContactRecord, FrequencyCap
from ..policies.consent import ConsentAction, ConsentEvent, ConsentLedger, Purpose
from ..policies.discounts import (
    DiscountHistory,
    DiscountPolicy,
    DiscountRequest,
    IssuedDiscount,
    StaticCode,
)
from ..policies.hours import ContactHours
from ..policies.replies import Reply
from ..policies.sequence import DelayWindow, RecoverySequence, Touch
from ..policies.stock import StockInfo
from ..values.model import Channel, Checkout, Customer, Friction, LineItem, Stage
from ..values.money import Money
from ..values.phone import PhoneNumber
from ..values.zones import get_zone
from ._strategies_consent import (
    consent_events,
    consent_ledgers,
    keyword_variants,
    replies,
    reply_texts,
)
from ._strategies_events import (
    ClockJump,
    StreamItem,
    event_strategies,
    event_streams,
    events,
    pack_languages,
    reply_events,
    reply_texts_in,
)
from ._strategies_hours import contact_histories, contact_hours
from ._strategies_messages import (
    field_values,
    message_contexts,
    sms_texts,
    template_bodies,
    templates,
)
from ._strategies_policies import (
    delay_windows,
    discount_histories,
    discount_policies,
    discount_requests,
    frequency_caps,
    guard_policies,
    issued_discounts,
    or_default,
    policies,
    policy_contact_hours,
    sequences,
    static_codes,
    timing_scales,
    touches,
    variants,
)

__all__ = [
    "aware_datetimes",
    "channels",
    "checkouts",
    "consent_events",
    "consent_ledgers",
    "contact_histories",
    "contact_hours",
    "currencies",
    "customers",
    "dst_transitions",
    "field_values",
    "instants_near_dst",
    "keyword_variants",
    "line_items",
    "locales",
    "message_contexts",
    "money",
    "phone_numbers",
    "register_type_strategies",
    "replies",
    "reply_texts",
    "sms_texts",
    "template_bodies",
    "templates",
    "zone_names",
    "ClockJump",
    "StreamItem",
    "event_strategies",
    "event_streams",
    "events",
    "pack_languages",
    "reply_events",
    "reply_texts_in",
    "delay_windows",
    "discount_histories",
    "discount_policies",
    "discount_requests",
    "frequency_caps",
    "guard_policies",
    "issued_discounts",
    "policies",
    "policy_contact_hours",
    "sequences",
    "static_codes",
    "timing_scales",
    "touches",
    "variants",
    "contact_records",
    "contexts",
    "recovery_states",
    "stock_infos",
    "multi_zone_phone_numbers",
]

#: Regions whose example mobile numbers cover the zone puzzles recoverykit cares about.
PHONE_REGIONS: Final = (
    "US", "CA", "GB", "PL", "FR", "DE", "ES", "IT", "RU", "KZ", "UA", "BR", "MX", "IN",
    "AU", "NZ", "JP", "ID", "AR", "ZA", "NG", "TR", "NL", "SE", "CH", "IE", "PT", "CN",
)  # fmt: skip

#: Zones with every kind of rule: DST north and south, half-hour and 45-minute
#: offsets, a 30-minute DST shift, the date line, Kazakhstan's 2024 change.
INTERESTING_ZONES: Final = (
    "UTC", "Europe/Warsaw", "Europe/Paris", "Europe/London", "Europe/Moscow",
    "Europe/Kaliningrad", "Asia/Almaty", "Asia/Aqtobe", "Asia/Kathmandu", "Asia/Kolkata",
    "Australia/Lord_Howe", "Australia/Adelaide", "Pacific/Chatham", "Pacific/Apia",
    "Pacific/Kiritimati", "Pacific/Pago_Pago", "America/New_York", "America/Chicago",
    "America/Denver", "America/Phoenix", "America/Los_Angeles", "America/St_Johns",
    "America/Santiago", "America/Sao_Paulo", "Asia/Tehran", "Africa/Casablanca",
    "Pacific/Guam", "Asia/Anadyr", "America/Adak", "Atlantic/Azores",
)  # fmt: skip

LOCALES: Final = ("en", "en_US", "en_GB", "pl", "ru", "ru_KZ", "fr", "de", "es", "uk", "kk")
CURRENCIES: Final = ("USD", "EUR", "PLN", "RUB", "KZT", "GBP", "JPY", "CAD", "UAH", "CHF")


def zone_names(*, all_zones: bool = False) -> st.SearchStrategy[str]:
    """IANA zone names; by default a curated set with every tricky rule."""
    if all_zones:
        return st.sampled_from(_all_zone_names())
    return st.sampled_from(INTERESTING_ZONES)


@functools.cache
def _all_zone_names() -> tuple[str, ...]:
    import zoneinfo  # noqa: PLC0415

    return tuple(sorted(zoneinfo.available_timezones()))


def aware_datetimes(
    *,
    min_value: datetime = datetime(2020, 1, 1),  # noqa: DTZ001 - Hypothesis wants naive bounds
    max_value: datetime = datetime(2035, 12, 31),  # noqa: DTZ001
    zones: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes in a range of zones, folds included."""
    zone_strategy = zones if zones is not None else zone_names()
    return st.datetimes(
        min_value=min_value,
        max_value=max_value,
        timezones=zone_strategy.map(get_zone),
        allow_imaginary=False,
    )


@functools.lru_cache(maxsize=1024)
def dst_transitions(
    zone: str, start_year: int = 2020, end_year: int = 2030
) -> tuple[datetime, ...]:
    """The UTC instants where ``zone``'s offset changes between the given years."""
    tz = get_zone(zone)
    start = datetime(start_year, 1, 1, tzinfo=UTC)
    end = datetime(end_year + 1, 1, 1, tzinfo=UTC)
    found: list[datetime] = []
    step = timedelta(hours=6)
    previous = start.astimezone(tz).utcoffset()
    moment = start
    while moment < end:
        following = moment + step
        offset = following.astimezone(tz).utcoffset()
        if offset != previous:
            low, high = moment, following
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                if middle.astimezone(tz).utcoffset() == previous:
                    low = middle
                else:
                    high = middle
            found.append(high.replace(second=0, microsecond=0))
            previous = offset
        moment = following
    return tuple(found)


def instants_near_dst(
    zones: st.SearchStrategy[str] | None = None,
    *,
    within: timedelta = timedelta(days=2),
) -> st.SearchStrategy[datetime]:
    """UTC instants within ``within`` of some DST change of one of ``zones``."""
    zone_strategy = zones if zones is not None else zone_names()

    @st.composite
    def build(draw: st.DrawFn) -> datetime:
        zone = draw(zone_strategy)
        changes = dst_transitions(zone)
        if not changes:
            base = datetime(2026, 3, 29, 1, tzinfo=UTC)
        else:
            base = draw(st.sampled_from(changes))
        seconds = int(within.total_seconds())
        return base + timedelta(seconds=draw(st.integers(-seconds, seconds)))

    return build()


def currencies() -> st.SearchStrategy[str]:
    return st.sampled_from(CURRENCIES)


def locales() -> st.SearchStrategy[str]:
    return st.sampled_from(LOCALES)


def money(
    currency: str | st.SearchStrategy[str] | None = None,
    *,
    max_amount: int = 100_000,
) -> st.SearchStrategy[Money]:
    """Non-negative money with cents, in a range of currencies."""
    code = (
        st.just(currency)
        if isinstance(currency, str)
        else (currency if currency is not None else currencies())
    )
    cents = st.integers(min_value=0, max_value=max_amount * 100)
    return st.builds(lambda c, cur: Money(Decimal(c).scaleb(-2), cur), cents, code)


@functools.cache
def _example_numbers() -> tuple[str, ...]:
    numbers: list[str] = []
    for region in PHONE_REGIONS:
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None and phonenumbers.is_valid_number(example):
                numbers.append(
                    phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
                )
    numbers.extend(["+79161234567", "+77012345678", "+74012123456", "+12085551234", "+18005551234"])
    return tuple(numbers)


def phone_numbers(*, mobile_only: bool = False) -> st.SearchStrategy[PhoneNumber]:
    """Valid numbers across many regions (example numbers plus the tricky +7 and +1 ones)."""
    parsed = st.sampled_from(_example_numbers()).map(PhoneNumber.parse)
    if mobile_only:
        return parsed.filter(lambda number: number.can_receive_sms)
    return parsed


@functools.cache
def _multi_zone_numbers() -> tuple[str, ...]:
    return tuple(
        number
        for number in (*_example_numbers(), "+12085551234", "+79141234567", "+61412345678")
        if len(PhoneNumber.parse(number).time_zones) > 1
        and PhoneNumber.parse(number).can_receive_sms
    )


def multi_zone_phone_numbers() -> st.SearchStrategy[PhoneNumber]:
    """Mobile numbers whose zone is only guessed among several (Idaho, Russia, Australia...):
    a message is allowed only where every candidate zone allows it."""
    return st.sampled_from(sorted(set(_multi_zone_numbers()))).map(PhoneNumber.parse)


def channels() -> st.SearchStrategy[Channel]:
    return st.sampled_from(Channel)


_NAMES: Final = st.sampled_from(
    ["Anna", "Jan", "Olga", "Chloé", "Айгерим", "Sam", "O'Neil", "Zoë", "Дмитрий", "{store_name}"]
)
_IDS: Final = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)


#: Telegram chat ids of private chats are positive integers, as text.
_TELEGRAM_IDS: Final = st.integers(10_000, 9_999_999_999).map(str)
#: Viber user ids are opaque base64-like strings.
_VIBER_IDS: Final = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    min_size=22,
    max_size=22,
).map(lambda s: s + "==")


def customers(
    *,
    ids: st.SearchStrategy[str] | None = None,
    phones: st.SearchStrategy[PhoneNumber] | None = None,
    zones: st.SearchStrategy[str | None] | None = None,
) -> st.SearchStrategy[Customer]:
    """Customers with every address kind (phone, e-mail, Telegram chat id, Viber id), locales
    the packs speak and others, known or guessed zones, new and returning."""
    return st.builds(
        Customer,
        id=ids if ids is not None else _IDS.map(lambda s: f"cus-{s}"),
        first_name=st.none() | _NAMES,
        phone=st.none() | or_default(phones, phone_numbers(mobile_only=True)).map(str),
        email=st.none() | _IDS.map(lambda s: f"{s}@example.com"),
        locale=st.one_of(st.sampled_from(pack_languages()), locales()),
        timezone=zones if zones is not None else st.none() | zone_names(),
        country=st.none() | st.sampled_from(["PL", "FR", "RU", "KZ", "US", "GB"]),
        orders_count=st.integers(0, 20),
        telegram_chat_id=st.none() | _TELEGRAM_IDS,
        viber_id=st.none() | _VIBER_IDS,
    )


def line_items(currency: str | None = None) -> st.SearchStrategy[LineItem]:
    return st.builds(
        LineItem,
        sku=_IDS.map(lambda s: f"sku-{s}"),
        name=st.sampled_from(["Linen shirt", "Kettle", "Серьги", "Crème de jour", "Buty"]),
        quantity=st.integers(1, 5),
        unit_price=money(currency, max_amount=2_000),
        category=st.none() | st.sampled_from(["clothing", "kitchen", "skincare", "shoes"]),
    )


@st.composite
def _checkouts(draw: st.DrawFn) -> Checkout:
    currency = draw(currencies())
    items = draw(st.lists(line_items(currency), min_size=1, max_size=4))
    total = Money.zero(currency)
    for item in items:
        total = total + item.subtotal
    abandoned_at = draw(aware_datetimes()).astimezone(UTC)
    hold = draw(st.none() | st.integers(30, 72 * 60))
    return Checkout(
        id=draw(_IDS.map(lambda s: f"chk-{s}")),
        customer=draw(customers()),
        items=tuple(items),
        total=total,
        stage=draw(st.sampled_from(Stage)),
        abandoned_at=abandoned_at,
        link="https://shop.example/c/" + draw(_IDS),
        friction=draw(st.none() | st.sampled_from(Friction)),
        hold_until=None if hold is None else abandoned_at + timedelta(minutes=hold),
    )


def checkouts() -> st.SearchStrategy[Checkout]:
    """Consistent checkouts: one currency, a total equal to the items, aware times."""
    return _checkouts()


def contact_records() -> st.SearchStrategy[ContactRecord]:
    return contact_histories().filter(lambda h: bool(h.records)).map(lambda h: h.records[0])


def stock_infos() -> st.SearchStrategy[StockInfo]:
    """Availability as a store reports it: in or out, maybe a level, maybe a new price."""
    return st.builds(
        StockInfo,
        in_stock=st.booleans(),
        as_of=aware_datetimes(),
        level=st.none() | st.integers(0, 50),
        unit_price=st.none() | money(max_amount=2_000),
    )


def _grant(customer: Customer, channel: Channel, at: datetime) -> ConsentEvent:
    return ConsentEvent(
        customer_id=customer.id,
        channel=channel,
        purpose=Purpose.RECOVERY,
        action=ConsentAction.CONFIRMED,
        at=at - timedelta(minutes=1),
        source="checkout_checkbox",
        text="Cart reminders by message; reply STOP to stop.",
        version="1",
    )


def contexts() -> st.SearchStrategy[Context]:
    """What the runner knows about a customer: a consent ledger and a contact history."""
    return st.builds(Context, consent=consent_ledgers(), history=contact_histories())


@st.composite
def _recovery_states(
    draw: st.DrawFn, policy_strategy: st.SearchStrategy[RecoveryPolicy]
) -> RecoveryState:
    checkout = draw(checkouts())
    policy = draw(policy_strategy)
    granted = draw(st.sets(st.sampled_from(Channel)))
    at = checkout.abandoned_at
    ledger = ConsentLedger(tuple(_grant(checkout.customer, c, at) for c in sorted(granted)))
    decision = decide(
        None,
        _events.CheckoutAbandoned(checkout, at),
        now=at,
        policy=policy,
        context=Context(consent=ledger),
    )
    return decision.state


def recovery_states(
    policy: st.SearchStrategy[RecoveryPolicy] | None = None,
) -> st.SearchStrategy[RecoveryState]:
    """States as ``decide`` makes them when a checkout is abandoned (held out, waiting,
    or already finished for want of consent)."""
    return _recovery_states(policy if policy is not None else policies())


def register_type_strategies() -> None:
    """Teach ``st.from_type`` every public recoverykit value (done once, when this module loads).

    A strategy you register later for the same type replaces this one.
    """
    registered: list[tuple[type[Any], st.SearchStrategy[Any]]] = [
        (Money, money()),
        (PhoneNumber, phone_numbers()),
        (Customer, customers()),
        (LineItem, line_items()),
        (Checkout, checkouts()),
        (Channel, channels()),
        (ContactHours, contact_hours()),
        (ContactHistory, contact_histories()),
        (ContactRecord, contact_records()),
        (ConsentLedger, consent_ledgers()),
        (ConsentEvent, consent_events()),
        (Reply, replies()),
        (DelayWindow, delay_windows()),
        (Touch, touches()),
        (RecoverySequence, sequences()),
        (FrequencyCap, frequency_caps()),
        (TimingScale, timing_scales()),
        (GuardPolicy, guard_policies()),
        (StaticCode, static_codes()),
        (IssuedDiscount, issued_discounts()),
        (DiscountPolicy, discount_policies()),
        (DiscountHistory, discount_histories()),
        (DiscountRequest, discount_requests()),
        (Variant, variants()),
        (RecoveryPolicy, policies()),
        (StockInfo, stock_infos()),
        (Context, contexts()),
        (RecoveryState, recovery_states()),
        (ClockJump, st.builds(ClockJump, aware_datetimes())),
    ]
    registered.extend(event_strategies().items())
    for cls, strategy in registered:
        st.register_type_strategy(cls, strategy)


register_type_strategies()

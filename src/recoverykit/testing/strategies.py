"""Hypothesis strategies for recoverykit's values, for your own property tests.

Importing this module (or ``recoverykit.testing`` in a test run that uses Hypothesis)
teaches ``st.from_type`` recoverykit's values, so ``st.from_type(Checkout)`` (and
Customer, Money, LineItem, PhoneNumber, ...) just works. Hypothesis' entry point does
the same when recoverykit was imported first, and costs nothing otherwise.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

import phonenumbers
from hypothesis import strategies as st

from ..policies.caps import ContactHistory
from ..policies.consent import ConsentLedger
from ..policies.hours import ContactHours
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
from ._strategies_hours import contact_histories, contact_hours
from ._strategies_messages import (
    field_values,
    message_contexts,
    sms_texts,
    template_bodies,
    templates,
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


def channels() -> st.SearchStrategy[Channel]:
    return st.sampled_from(Channel)


_NAMES: Final = st.sampled_from(
    ["Anna", "Jan", "Olga", "Chloé", "Айгерим", "Sam", "O'Neil", "Zoë", "Дмитрий", "{store_name}"]
)
_IDS: Final = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)


def customers() -> st.SearchStrategy[Customer]:
    """Customers with a mix of phones, e-mails, locales, zones and order histories."""
    return st.builds(
        Customer,
        id=_IDS.map(lambda s: f"cus-{s}"),
        first_name=st.none() | _NAMES,
        phone=st.none() | phone_numbers(mobile_only=True).map(str),
        email=st.none() | _IDS.map(lambda s: f"{s}@example.com"),
        locale=locales(),
        timezone=st.none() | zone_names(),
        country=st.none() | st.sampled_from(["PL", "FR", "RU", "KZ", "US", "GB"]),
        orders_count=st.integers(0, 20),
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


def register_type_strategies() -> None:
    """Teach ``st.from_type`` recoverykit's values (done once, when this module loads)."""
    st.register_type_strategy(Money, money())
    st.register_type_strategy(PhoneNumber, phone_numbers())
    st.register_type_strategy(Customer, customers())
    st.register_type_strategy(LineItem, line_items())
    st.register_type_strategy(Checkout, checkouts())
    st.register_type_strategy(Channel, channels())
    st.register_type_strategy(ContactHours, contact_hours())
    st.register_type_strategy(ContactHistory, contact_histories())
    st.register_type_strategy(ConsentLedger, consent_ledgers())


register_type_strategies()

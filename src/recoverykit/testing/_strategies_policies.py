"""Hypothesis strategies for the values a policy is made of.

Re-exported from ``recoverykit.testing.strategies``. Everything drawn here is a
value a store could really configure: it passes the checks the classes make when
built (growing delays inside 7 days, factors in range, caps a sequence can meet),
so a property that fails on one is about the behaviour, never about nonsense input.
Shrinking moves toward the plain choices (one touch, no fixed channel, no discount,
the default windows), so counterexamples read like a small store's settings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, TypeVar

from hypothesis import strategies as st

from ..engine.policy import (
    DEFAULT_CHANNEL_ORDER,
    MAX_TIMING_FACTOR,
    MIN_TIMING_FACTOR,
    RecoveryPolicy,
    TimingScale,
    Variant,
)
from ..errors import InvalidPolicy
from ..messages.lint import CODES, WHATSAPP_BODY_MAX, GuardPolicy
from ..policies.caps import DEFAULT_RECOVERY_CAPS, FrequencyCap
from ..policies.discounts import (
    DiscountHistory,
    DiscountPolicy,
    DiscountRequest,
    IssuedDiscount,
    OfferKind,
    StaticCode,
)
from ..policies.hours import ContactHours
from ..policies.sequence import (
    FIRST_TOUCH_MIN,
    LAST_TOUCH_MAX,
    MAX_TOUCHES,
    Condition,
    DelayWindow,
    RecoverySequence,
    Touch,
    TouchPurpose,
)
from ..presets import PRESETS
from ..values.model import Channel

__all__ = [
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
]

T = TypeVar("T")


def or_default(
    given: st.SearchStrategy[T] | None, default: st.SearchStrategy[T]
) -> st.SearchStrategy[T]:
    """``given`` unless it is ``None`` (a strategy's truth value means nothing)."""
    return default if given is None else given


_MINUTE: Final = timedelta(minutes=1)
_FIRST: Final = int(FIRST_TOUCH_MIN / _MINUTE)
_LAST: Final = int(LAST_TOUCH_MAX / _MINUTE)
_BASE: Final = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_STORE_NAMES: Final = ("Sklep Ola", "Maison Lune", "Kettle & Co")
_CURRENCIES: Final = ("USD", "EUR", "PLN", "GBP", "RUB", "KZT")


def delay_windows(
    *, min_delay: timedelta = FIRST_TOUCH_MIN, max_delay: timedelta = LAST_TOUCH_MAX
) -> st.SearchStrategy[DelayWindow]:
    """Windows inside ``[min_delay, max_delay]`` on a one-minute grid; single points included."""
    low, high = int(min_delay / _MINUTE), int(max_delay / _MINUTE)
    return (
        st.tuples(st.integers(low, high), st.integers(low, high))
        .map(sorted)
        .map(lambda pair: DelayWindow(pair[0] * _MINUTE, pair[1] * _MINUTE))
    )


def _touch(  # noqa: PLR0917 - private helper, one argument per touch field
    index: int,
    bounds: tuple[int, int],
    channel: Channel | None,
    discount: bool,
    condition: bool,
    purpose: TouchPurpose,
) -> Touch:
    first = index == 0
    chosen = TouchPurpose.REMIND if first else purpose
    return Touch(
        DelayWindow(bounds[0] * _MINUTE, bounds[1] * _MINUTE),
        chosen,
        chosen.value,
        channel,
        discount=discount and not first,
        condition=Condition.PREVIOUS_UNREAD if condition and not first else None,
    )


@st.composite
def _sequences(  # noqa: PLR0917 - the knobs of sequences(), passed through
    draw: st.DrawFn,
    min_touches: int,
    max_touches: int,
    channels: st.SearchStrategy[Channel | None],
    discounts: bool,
    conditions: bool,
) -> RecoverySequence:
    count = draw(st.integers(min_touches, max_touches))
    points = sorted(
        draw(st.sets(st.integers(_FIRST, _LAST), min_size=2 * count, max_size=2 * count))
    )
    made: list[Touch] = []
    for index in range(count):
        start, end = points[2 * index], points[2 * index + 1]
        if draw(st.booleans()):
            end = start  # a single point: "at 4h"
        made.append(
            _touch(
                index,
                (start, end),
                draw(channels),
                draw(st.booleans()) if discounts else False,
                draw(st.booleans()) if conditions else False,
                draw(st.sampled_from([TouchPurpose.HELP, TouchPurpose.FINAL])),
            )
        )
    name = draw(st.sampled_from(["custom", "evening-shop", "two-step", "long-considered"]))
    return RecoverySequence(name=name, touches=tuple(made))


def sequences(
    *,
    min_touches: int = 1,
    max_touches: int = 3,
    channels: st.SearchStrategy[Channel | None] | None = None,
    discounts: bool = True,
    conditions: bool = True,
    presets: bool = True,
) -> st.SearchStrategy[RecoverySequence]:
    """Valid sequences: growing windows from 5 minutes to 7 days, the built-in presets too.

    ``channels`` draws each touch's fixed channel (default: mostly ``None``, the
    customer's primary channel); ``discounts`` and ``conditions`` allow discount
    touches and "only if the previous one was unread" after the first touch.
    """
    if not 1 <= min_touches <= max_touches <= MAX_TOUCHES:
        msg = f"need 1 <= min_touches <= max_touches <= {MAX_TOUCHES}"
        raise ValueError(msg)
    fixed = channels if channels is not None else st.none() | st.sampled_from(Channel)
    built = _sequences(min_touches, max_touches, fixed, discounts, conditions)
    fitting = [
        preset
        for preset in PRESETS.values()
        if min_touches <= len(preset.touches) <= max_touches
        and (discounts or not any(t.discount for t in preset.touches))
        and (conditions or not any(t.condition for t in preset.touches))
    ]
    if presets and fitting:
        return st.one_of(st.sampled_from(fitting), built)
    return built


def touches() -> st.SearchStrategy[Touch]:
    """One touch of some valid sequence."""
    return sequences(presets=False).flatmap(lambda seq: st.sampled_from(seq.touches))


_PERIODS: Final = tuple(
    timedelta(hours=h) for h in (1, 4, 6, 8, 12, 24, 36, 48, 24 * 7, 24 * 30, 24 * 366)
)


def frequency_caps(
    *, periods: tuple[timedelta, ...] = _PERIODS, max_limit: int = 5
) -> st.SearchStrategy[FrequencyCap]:
    """Caps of 1 to ``max_limit`` touches per period, on every channel or a group of them."""
    groups = st.none() | st.sets(st.sampled_from(Channel), min_size=1).map(frozenset)
    return st.builds(
        FrequencyCap,
        limit=st.integers(1, max_limit),
        per=st.sampled_from(periods),
        channels=groups,
        rule_id=st.sampled_from(["recovery-cap", "store-cap"]),
    )


@st.composite
def _thresholds(draw: st.DrawFn) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    low: dict[str, Decimal] = {}
    high: dict[str, Decimal] = {}
    for currency in draw(st.sets(st.sampled_from(_CURRENCIES))):
        a, b = sorted(draw(st.lists(st.integers(0, 500_000), min_size=2, max_size=2)))
        if draw(st.booleans()):
            low[currency] = Decimal(a)
        if draw(st.booleans()):
            high[currency] = Decimal(b)
    return low, high


def timing_scales() -> st.SearchStrategy[TimingScale]:
    """Cart-value scales: cheap carts 0.25-1 times the plan, dear ones 1-4 times."""
    factor = st.integers(0, 100).map(lambda n: n / 100)
    return st.builds(
        lambda bounds, low, high: TimingScale(
            low_below=bounds[0],
            high_above=bounds[1],
            low_factor=MIN_TIMING_FACTOR + (1 - MIN_TIMING_FACTOR) * low,
            high_factor=1 + (MAX_TIMING_FACTOR - 1) * high,
        ),
        _thresholds(),
        factor,
        factor,
    ) | st.just(TimingScale())


def guard_policies() -> st.SearchStrategy[GuardPolicy]:
    """Guard limits a store might choose, around the defaults."""
    return st.builds(
        GuardPolicy,
        max_personal_details_sms=st.integers(0, 3),
        max_personal_details=st.dictionaries(st.sampled_from(Channel), st.integers(0, 4)),
        max_sms_segments=st.integers(1, 4),
        require_optout_sms=st.booleans(),
        allow_discount_first_touch=st.booleans(),
        max_whatsapp_body=st.integers(160, WHATSAPP_BODY_MAX),
        max_sms_link=st.integers(20, 120),
        ignore=st.sets(st.sampled_from(sorted(CODES)), max_size=3),
    )


_CODE_TEXT: Final = st.from_regex(r"[A-Z0-9][A-Z0-9_\-]{3,11}", fullmatch=True)


def static_codes() -> st.SearchStrategy[StaticCode]:
    return st.builds(
        StaticCode,
        code=_CODE_TEXT,
        expires_at=st.integers(0, 60 * 24 * 60).map(lambda m: _BASE + m * _MINUTE),
    )


def issued_discounts() -> st.SearchStrategy[IssuedDiscount]:
    return st.builds(
        IssuedDiscount,
        code=_CODE_TEXT,
        expires_at=st.integers(0, 60 * 24 * 14).map(lambda m: _BASE + m * _MINUTE),
        single_use=st.booleans(),
    )


def discount_policies() -> st.SearchStrategy[DiscountPolicy]:
    """Who may get a discount: new customers only, minimum carts, categories, the abuse guard."""
    minimums = st.dictionaries(
        st.sampled_from(_CURRENCIES), st.integers(0, 1_000).map(Decimal), max_size=3
    )
    offer = st.sampled_from(OfferKind).flatmap(
        lambda kind: st.tuples(
            st.just(kind),
            st.sampled_from(["a linen tote bag", "a tea sampler"])
            if kind is OfferKind.GIFT
            else st.none(),
        )
    )
    return offer.flatmap(lambda chosen: _discount_policies(minimums, chosen[0], chosen[1]))


def _discount_policies(
    minimums: st.SearchStrategy[dict[str, Decimal]], offer: OfferKind, gift: str | None
) -> st.SearchStrategy[DiscountPolicy]:
    return st.builds(
        DiscountPolicy,
        offer=st.just(offer),
        gift=st.just(gift),
        new_customers_only=st.booleans(),
        min_cart=minimums,
        categories=st.none()
        | st.sets(st.sampled_from(["clothing", "kitchen", "skincare", "shoes"]), min_size=1),
        once_per=st.integers(1, 180).map(lambda d: timedelta(days=d)),
        abandon_limit=st.integers(1, 6),
        abandon_window=st.integers(1, 60).map(lambda d: timedelta(days=d)),
        min_validity=st.integers(1, 96).map(lambda h: timedelta(hours=h)),
        static_code=st.none() | static_codes(),
    )


def discount_histories() -> st.SearchStrategy[DiscountHistory]:
    moments = st.integers(0, 60 * 24 * 90).map(lambda m: _BASE - m * _MINUTE)
    return st.builds(
        DiscountHistory,
        discounts=st.lists(moments, max_size=3).map(tuple),
        abandonments=st.lists(moments, max_size=6).map(tuple),
    )


def discount_requests() -> st.SearchStrategy[DiscountRequest]:
    from .strategies import money  # noqa: PLC0415 - the facade imports this module

    return st.builds(
        DiscountRequest,
        customer_id=st.sampled_from(["cus-1", "cus-2"]),
        checkout_id=st.sampled_from(["chk-1", "chk-2"]),
        touch=st.integers(2, MAX_TOUCHES),
        channel=st.sampled_from(Channel),
        total=money(),
        at=st.just(_BASE),
        valid_until=st.integers(1, 96).map(lambda h: _BASE + timedelta(hours=h)),
        offer=st.sampled_from([kind for kind in OfferKind if kind.needs_code]),
    )


def variants(
    sequence_strategy: st.SearchStrategy[RecoverySequence] | None = None,
) -> st.SearchStrategy[Variant]:
    """An experiment arm: a name, a weight, and maybe its own sequence."""
    return st.builds(
        Variant,
        name=st.sampled_from(["a", "b", "late", "help-first"]),
        weight=st.sampled_from([0.5, 1.0, 2.0]),
        sequence=st.none() | (or_default(sequence_strategy, sequences())),
    )


def policy_contact_hours() -> st.SearchStrategy[ContactHours]:
    """Windows a store would write: the presets, one window every day, or weekdays and weekends."""
    start = st.integers(6, 12)
    end = st.integers(17, 23)
    every_day = st.builds(ContactHours.every_day, start, end)

    def split(a: int, b: int, c: int, d: int) -> ContactHours:
        weekday, weekend = [(a * 3600, b * 3600)], [(c * 3600, d * 3600)]
        return ContactHours(week=[weekday] * 5 + [weekend] * 2)

    week = st.builds(split, start, end, start, end)
    presets = st.sampled_from(["polite", "us-federal"]).map(ContactHours.preset)
    return st.one_of(presets, every_day, week)


def _order() -> st.SearchStrategy[tuple[Channel, ...]]:
    return st.permutations(list(Channel)).flatmap(
        lambda order: st.integers(1, len(order)).map(lambda n: tuple(order[:n]))
    )


#: Caps a store would set; every one lets a five-touch sequence out within 7 days.
_POLICY_CAPS: Final = st.lists(
    frequency_caps(periods=tuple(timedelta(hours=h) for h in (1, 6, 12, 24, 36)), max_limit=3),
    max_size=2,
).map(tuple)


@st.composite
def _policies(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]]) -> RecoveryPolicy:
    values = {name: draw(strategy) for name, strategy in fields.items()}
    try:
        return RecoveryPolicy(**values)
    except InvalidPolicy:
        # Only a timing scale can still clash with a sequence (two touches folded onto
        # the 7-day limit); the plan as written is always valid.
        values["timing"] = None
        return RecoveryPolicy(**values)


def policies(
    *,
    store_name: st.SearchStrategy[str] | None = None,
    sequence: st.SearchStrategy[RecoverySequence] | None = None,
    contact_hours: st.SearchStrategy[ContactHours] | None = None,
    jurisdiction: st.SearchStrategy[str] | None = None,
    caps: st.SearchStrategy[tuple[FrequencyCap, ...]] | None = None,
    channels: st.SearchStrategy[tuple[Channel, ...]] | None = None,
    timing: st.SearchStrategy[TimingScale | None] | None = None,
    discounts: st.SearchStrategy[DiscountPolicy | None] | None = None,
    **fixed: Any,
) -> st.SearchStrategy[RecoveryPolicy]:
    """Whole recovery policies, each part drawn from its own strategy.

    Pass a strategy to narrow one part (``sequence=st.just(my_sequence)``) or a
    plain value through ``fixed`` for any other field (``holdout=0.0``). The
    defaults cover every preset and random sequences, contact-hours windows,
    jurisdiction on and off, caps, channel orders (also per region), timing scales
    and discount rules.
    """
    fields: dict[str, st.SearchStrategy[Any]] = {
        "store_name": or_default(
            store_name, st.sampled_from(["Sklep Ola", "Maison Lune", "Kettle & Co"])
        ),
        "sequence": or_default(sequence, sequences()),
        "contact_hours": or_default(contact_hours, policy_contact_hours()),
        "jurisdiction": or_default(jurisdiction, st.sampled_from(["auto", "off"])),
        "caps": or_default(caps, st.one_of(st.just(DEFAULT_RECOVERY_CAPS), _POLICY_CAPS)),
        "channels": or_default(channels, st.one_of(st.just(DEFAULT_CHANNEL_ORDER), _order())),
        "channels_by_region": st.dictionaries(
            st.sampled_from(["US", "PL", "RU", "KZ", "FR", "GB"]), _order(), max_size=2
        ),
        "timing": or_default(timing, (st.none() | timing_scales())),
        "discounts": or_default(discounts, (st.none() | discount_policies())),
    }
    fields.update({name: st.just(value) for name, value in fixed.items()})
    return _policies(fields)

"""The store's recovery policy and the per-customer context the engine decides with.

``RecoveryPolicy`` is configuration, built once; ``Context`` is what the runner
knows about the customer beyond this checkout at the moment of the decision.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final, Literal

import attrs

from ..errors import InvalidInputError, InvalidPolicy
from ..messages.packs import MessagePack, default_pack
from ..policies.caps import (
    DEFAULT_CHANNEL_GAP,
    DEFAULT_RECOVERY_CAPS,
    ContactHistory,
    FrequencyCap,
    channel_gap_caps,
)
from ..policies.consent import ConsentLedger
from ..policies.discounts import DiscountHistory, DiscountPolicy, IssuedDiscount
from ..policies.hours import ContactHours
from ..policies.sequence import FIRST_TOUCH_MIN, LAST_TOUCH_MAX, RecoverySequence
from ..policies.stock import StockInfo
from ..presets import get as get_preset
from ..programs import PROGRAM_RULES
from ..values import checks
from ..values.model import Channel, ReadSignal
from ..values.money import Money

__all__ = ["Context", "RecoveryPolicy", "TimingScale", "Variant"]

#: The order channels are tried in when the policy says nothing: texts reach every
#: phone, messengers next, e-mail last.
DEFAULT_CHANNEL_ORDER: Final = (
    Channel.SMS,
    Channel.WHATSAPP,
    Channel.TELEGRAM,
    Channel.VIBER,
    Channel.EMAIL,
)


def _share(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        msg = f"{attribute.name} must be a share between 0 and 1 (got {value!r})"
        raise InvalidInputError(msg)


def _effect(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 < value < 1.0:
        msg = (
            f"{attribute.name} must lie between 0 and 1 in rate units (got {value!r}); "
            "write 0.05 for a 5-point lift"
        )
        raise InvalidPolicy(msg)


#: The channels whose reads reach the runner when the policy says nothing: those whose
#: provider reports reads by default. E-mail opens count only where the store tracks them.
DEFAULT_READ_SIGNALS: Final = frozenset(
    channel for channel in Channel if channel.read_signal is ReadSignal.RECEIPT
)


def _channel_set(value: Iterable[Channel | str]) -> frozenset[Channel]:
    return frozenset(Channel(channel) for channel in value)


def _readable(
    _inst: object, attribute: attrs.Attribute[frozenset[Channel]], value: frozenset[Channel]
) -> None:
    silent = sorted(channel.value for channel in value if channel.read_signal is ReadSignal.NONE)
    if silent:
        msg = (
            f"RecoveryPolicy.{attribute.name} names {', '.join(silent)}, which never report "
            "that a message was read; leave them out (a touch that waits for 'not read' "
            "after them is skipped)"
        )
        raise InvalidPolicy(msg)


def _gap(value: timedelta | None) -> timedelta | None:
    if value is None:
        return None
    checks.positive_duration("RecoveryPolicy", "channel_gap", value)
    if value > timedelta(days=7):
        msg = (
            f"RecoveryPolicy.channel_gap must be at most 7 days, the length of a recovery "
            f"(got {value!r}); use None to turn the gap off"
        )
        raise InvalidPolicy(msg)
    return value


@functools.cache
def _contact_caps(
    caps: tuple[FrequencyCap, ...], gap: timedelta | None
) -> tuple[FrequencyCap, ...]:
    return caps if gap is None else (*caps, *channel_gap_caps(gap))


def _rule_ids(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


def _known_rules(
    _inst: object, attribute: attrs.Attribute[frozenset[str]], value: frozenset[str]
) -> None:
    known = {rule.id for rule in PROGRAM_RULES}
    unknown = sorted(set(value) - known)
    if unknown:
        msg = (
            f"{attribute.name} names unknown program rule(s) {unknown}; "
            f"use ids from recoverykit.programs: {', '.join(sorted(known))}"
        )
        raise InvalidInputError(msg)


def _low_thresholds(value: Mapping[str, Any]) -> Mapping[str, Decimal]:
    return dict(checks.threshold("TimingScale", "low_below", c, a) for c, a in dict(value).items())


def _high_thresholds(value: Mapping[str, Any]) -> Mapping[str, Decimal]:
    return dict(checks.threshold("TimingScale", "high_above", c, a) for c, a in dict(value).items())


#: The fastest and slowest a cart's value may make the plan: beyond these the
#: sequence's own limits (5 minutes first, 7 days last) decide the timing instead.
MIN_TIMING_FACTOR: Final = 0.25
MAX_TIMING_FACTOR: Final = 4.0


@attrs.frozen
class TimingScale:
    """Shorter gaps for cheap impulse carts, longer ones for considered purchases.

    Thresholds are per currency; a currency without thresholds keeps the plan as is.
    ``low_factor`` shortens (a share between 0.25 and 1), ``high_factor`` lengthens
    (1 to 4); a cheap threshold above the expensive one in a currency is refused,
    since a cart could then be both.
    """

    low_below: Mapping[str, Decimal] = attrs.field(
        factory=lambda: {
            "USD": Decimal(30),
            "EUR": Decimal(30),
            "GBP": Decimal(25),
            "PLN": Decimal(120),
            "RUB": Decimal(2500),
            "KZT": Decimal(15000),
        },
        converter=_low_thresholds,
    )
    high_above: Mapping[str, Decimal] = attrs.field(
        factory=lambda: {
            "USD": Decimal(500),
            "EUR": Decimal(500),
            "GBP": Decimal(400),
            "PLN": Decimal(2000),
            "RUB": Decimal(40000),
            "KZT": Decimal(250000),
        },
        converter=_high_thresholds,
    )
    low_factor: float = 0.75
    high_factor: float = 1.5

    def __attrs_post_init__(self) -> None:
        low = checks.factor(
            "TimingScale", "low_factor", self.low_factor, low=MIN_TIMING_FACTOR, high=1.0
        )
        high = checks.factor(
            "TimingScale", "high_factor", self.high_factor, low=1.0, high=MAX_TIMING_FACTOR
        )
        object.__setattr__(self, "low_factor", low)
        object.__setattr__(self, "high_factor", high)
        for currency in sorted(set(self.low_below) & set(self.high_above)):
            if self.low_below[currency] > self.high_above[currency]:
                msg = (
                    f"TimingScale.low_below[{currency!r}]={self.low_below[currency]} is above "
                    f"high_above[{currency!r}]={self.high_above[currency]}: a cart could be "
                    "both cheap and expensive; keep the cheap threshold at or under the other"
                )
                raise InvalidPolicy(msg)

    def factors(self) -> tuple[float, ...]:
        """Every factor this scale can apply, 1.0 (the plan as written) included."""
        return tuple(sorted({1.0, self.low_factor, self.high_factor}))

    def factor(self, total: Money) -> float:
        low = self.low_below.get(total.currency)
        high = self.high_above.get(total.currency)
        if low is not None and total.amount < low:
            return self.low_factor
        if high is not None and total.amount > high:
            return self.high_factor
        return 1.0


def _weight(_inst: object, _attribute: attrs.Attribute[float], value: float) -> None:
    checks.factor("Variant", "weight", value, low=0.0, high=1e6)
    if value == 0:
        msg = "Variant.weight must be above 0 (got 0); leave the variant out instead"
        raise InvalidPolicy(msg)


def _name(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    checks.text(type(_inst).__name__, attribute.name, value)


@attrs.frozen
class Variant:
    """One arm of an experiment: it replaces the sequence or the pack, nothing else."""

    name: str = attrs.field(validator=_name)
    weight: float = attrs.field(default=1.0, validator=_weight)
    sequence: RecoverySequence | None = None
    pack: MessagePack | None = None


@attrs.frozen
class RecoveryPolicy:
    """How a store recovers checkouts. Every field has a considerate default."""

    store_name: str = attrs.field(validator=_name)
    sequence: RecoverySequence = attrs.field(factory=lambda: get_preset("three-touch"))
    pack: MessagePack = attrs.field(factory=default_pack)
    contact_hours: ContactHours = attrs.field(factory=lambda: ContactHours.preset("polite"))
    #: ``auto``: the policy's hours narrowed by every rule that applies to the recipient.
    jurisdiction: Literal["auto", "off"] = "auto"
    caps: tuple[FrequencyCap, ...] = DEFAULT_RECOVERY_CAPS
    #: A touch on a personal channel waits this long after an e-mail touch to the same
    #: customer, and the other way round (``None``: no gap). One reminder, one channel.
    channel_gap: timedelta | None = attrs.field(default=DEFAULT_CHANNEL_GAP, converter=_gap)
    #: The channels whose reads (e-mail: opens) reach the runner as ``MessageRead``. A
    #: touch that goes only if the previous message was not read is skipped after a
    #: channel not listed: silence there says nothing. Add ``Channel.EMAIL`` only when
    #: the store tracks e-mail opens and feeds them in.
    read_signals: frozenset[Channel] = attrs.field(
        default=DEFAULT_READ_SIGNALS, converter=_channel_set, validator=_readable
    )
    channels: tuple[Channel, ...] = DEFAULT_CHANNEL_ORDER
    #: Per-region channel order (``{"PL": (WHATSAPP, SMS, EMAIL)}``) overriding ``channels``.
    channels_by_region: Mapping[str, tuple[Channel, ...]] = attrs.field(factory=dict)
    #: Accept a ``marketing`` grant where no ``recovery`` grant exists, unless the
    #: customer withdrew ``recovery`` by name: that "no" always wins (SEAMS 7).
    marketing_consent_ok: bool = True
    timing: TimingScale | None = attrs.field(factory=TimingScale)
    #: Personal data is dropped and the recovery ends this long after abandonment.
    retention: timedelta = timedelta(days=30)
    #: How long replies are still handled after the last touch before finishing.
    grace: timedelta = timedelta(hours=24)
    #: A recovery handed to a person resumes by itself after this long without
    #: ``RecoveryResumed`` (counted from the customer's latest reply); ``None``: it
    #: waits for the store until its retention ends.
    handoff_timeout: timedelta | None = timedelta(hours=24)
    #: Transient failures are retried after these delays, then the touch is skipped.
    retry_backoff: tuple[timedelta, ...] = (
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
    )
    #: Most messages per second the runner hands to each channel (``{SMS: 1.0}``);
    #: a channel not named has no limit of the runner's own (the provider's still holds).
    send_rates: Mapping[Channel, float] = attrs.field(factory=dict)
    #: Share of checkouts held out (never messaged) to measure what messages add.
    holdout: float = attrs.field(default=0.0, validator=_share)
    #: The smallest lift (rate units: 0.05 is 5 points) the store cares about; the report
    #: gives a lift verdict only once both arms hold enough checkouts to see it.
    min_effect: float = attrs.field(default=0.05, validator=_effect)
    variants: tuple[Variant, ...] = ()
    #: Names the experiment: assignment is stable for a checkout while this stays the same.
    experiment: str = attrs.field(default="default", validator=_name)
    #: Program rule ids (e.g. ``"CP-1"``) the store has chosen to switch off.
    disabled_rules: frozenset[str] = attrs.field(
        default=frozenset(), converter=_rule_ids, validator=_known_rules
    )
    #: Count every +1 number as a US number for the program rules (Canada included).
    programs_treat_as_us: bool = False
    #: Send the double opt-in request (pack key ``double_optin``) at the start when a US
    #: text grant waits for confirmation (CP-2).
    request_double_optin: bool = False
    #: Who may be offered a recovery discount and how often; ``None``: never.
    discounts: DiscountPolicy | None = None
    #: Allow "only N left" lines (``{stock_left}``) when the level is real and fresh.
    stock_lines: bool = False
    #: How old a stock level may be and still be spoken of.
    stock_fresh_for: timedelta = timedelta(hours=1)
    #: A level counts as low (worth a line) at or under this many units.
    low_stock_at_most: int = 5
    #: ``utm_campaign`` for links in e-mail and messenger touches (``None``: no UTM
    #: tags). SMS links stay short (SEAMS 12) and carry none.
    utm_campaign: str | None = "checkout-recovery"

    def __attrs_post_init__(self) -> None:
        _check_policy(self)

    @property
    def contact_caps(self) -> tuple[FrequencyCap, ...]:
        """Every cap a touch obeys: ``caps`` and the gap between personal channels and e-mail."""
        return _contact_caps(self.caps, self.channel_gap)

    def reports_reads(self, channel: Channel) -> bool:
        """Whether a read (or an e-mail open) on ``channel`` would reach the engine."""
        return channel in self.read_signals

    def channel_order(self, region: str | None) -> tuple[Channel, ...]:
        if region is not None and region in self.channels_by_region:
            return self.channels_by_region[region]
        return self.channels

    def in_holdout(self, checkout_id: str) -> bool:
        return self.holdout > 0 and _unit(f"holdout:{self.experiment}:{checkout_id}") < self.holdout

    def variant_for(self, checkout_id: str) -> Variant | None:
        if not self.variants:
            return None
        total = sum(variant.weight for variant in self.variants)
        point = _unit(f"variant:{self.experiment}:{checkout_id}") * total
        for variant in self.variants:
            point -= variant.weight
            if point < 0:
                return variant
        return self.variants[-1]

    def sequence_for(self, variant: str | None) -> RecoverySequence:
        for candidate in self.variants:
            if candidate.name == variant and candidate.sequence is not None:
                return candidate.sequence
        return self.sequence

    def pack_for(self, variant: str | None) -> MessagePack:
        for candidate in self.variants:
            if candidate.name == variant and candidate.pack is not None:
                return candidate.pack
        return self.pack


def _check_policy(policy: RecoveryPolicy) -> None:
    """Refuse a policy no store could run; each message names the field and the fix."""
    owner = "RecoveryPolicy"
    if policy.jurisdiction not in ("auto", "off"):
        msg = f"{owner}.jurisdiction must be 'auto' or 'off' (got {policy.jurisdiction!r})"
        raise InvalidPolicy(msg)
    _check_order(f"{owner}.channels", policy.channels)
    for region, order in policy.channels_by_region.items():
        if not isinstance(region, str) or len(region) != 2 or not region.isalpha():
            msg = (
                f"{owner}.channels_by_region keys must be ISO 3166 regions such as 'PL' "
                f"(got {region!r})"
            )
            raise InvalidPolicy(msg)
        if region != region.upper():
            msg = (
                f"{owner}.channels_by_region[{region!r}] is never used: phone regions are "
                f"upper case; write {region.upper()!r}"
            )
            raise InvalidPolicy(msg)
        _check_order(f"{owner}.channels_by_region[{region!r}]", order)
    if not any(policy.contact_hours.week):
        msg = (
            f"{owner}.contact_hours allow no time on any day, so nothing could ever be sent; "
            "give at least one weekday a window such as ContactHours.every_day(9, 20)"
        )
        raise InvalidPolicy(msg)
    for index, cap in enumerate(policy.caps):
        if not isinstance(cap, FrequencyCap):
            msg = f"{owner}.caps[{index}] must be a FrequencyCap (got {cap!r})"
            raise InvalidPolicy(msg)
    checks.positive_duration(owner, "retention", policy.retention)
    checks.positive_duration(owner, "grace", policy.grace, zero_ok=True)
    if policy.handoff_timeout is not None:
        checks.positive_duration(owner, "handoff_timeout", policy.handoff_timeout)
    for index, delay in enumerate(policy.retry_backoff):
        checks.positive_duration(owner, f"retry_backoff[{index}]", delay)
    _check_rates(owner, policy.send_rates)
    checks.positive_duration(owner, "stock_fresh_for", policy.stock_fresh_for)
    checks.non_negative_int(owner, "low_stock_at_most", policy.low_stock_at_most)
    if policy.utm_campaign is not None:
        checks.text(owner, "utm_campaign", policy.utm_campaign)
    names = [variant.name for variant in policy.variants]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        msg = f"{owner}.variants name {twice} more than once; give every variant its own name"
        raise InvalidPolicy(msg)
    sequences = [policy.sequence, *(v.sequence for v in policy.variants if v.sequence)]
    factors = policy.timing.factors() if policy.timing is not None else (1.0,)
    for sequence in sequences:
        _check_reachable(policy, sequence, factors)


def _check_rates(owner: str, rates: Mapping[Channel, float]) -> None:
    for channel, rate in rates.items():
        if not isinstance(channel, Channel):
            msg = f"{owner}.send_rates keys must be Channel values (got {channel!r})"
            raise InvalidPolicy(msg)
        if (
            isinstance(rate, bool)
            or not isinstance(rate, int | float)
            or not math.isfinite(rate)
            or rate <= 0
        ):
            msg = (
                f"{owner}.send_rates[{channel.value!r}] must be a number of messages per "
                f"second above 0 (got {rate!r}); leave the channel out for no limit"
            )
            raise InvalidPolicy(msg)


def _check_order(what: str, order: tuple[Channel, ...]) -> None:
    if not order:
        msg = f"{what} is empty, so no channel could ever be chosen; list at least one"
        raise InvalidPolicy(msg)
    for channel in order:
        if not isinstance(channel, Channel):
            msg = f"{what} must hold Channel values (got {channel!r})"
            raise InvalidPolicy(msg)
    if len(set(order)) != len(order):
        msg = f"{what} names a channel twice ({', '.join(order)}); list each channel once"
        raise InvalidPolicy(msg)


def _clamped(delay: timedelta) -> timedelta:
    return max(FIRST_TOUCH_MIN, min(delay, LAST_TOUCH_MAX))


def _check_reachable(
    policy: RecoveryPolicy, sequence: RecoverySequence, factors: tuple[float, ...]
) -> None:
    """Every touch of ``sequence`` must be reachable: timing, retention and caps allow it."""
    owner = "RecoveryPolicy"
    touches = sequence.touches
    for factor in factors:
        for number, (before, after) in enumerate(itertools.pairwise(touches), start=2):
            if _clamped(after.delay.earliest * factor) <= _clamped(before.delay.latest * factor):
                msg = (
                    f"{owner}.timing scales {sequence.name!r} by {factor:g}, which puts touch "
                    f"{number} ({after.delay}) no later than touch {number - 1} "
                    f"({before.delay}) once clamped to 7 days; use a smaller high_factor or "
                    "an earlier touch"
                )
                raise InvalidPolicy(msg)
    last = max(_clamped(t.delay.latest * f) for t in touches for f in factors)
    if policy.retention <= last:
        msg = (
            f"{owner}.retention ({policy.retention}) ends the recovery before the last touch "
            f"of {sequence.name!r} can go out (up to {last} after abandonment); "
            "keep retention longer than the sequence"
        )
        raise InvalidPolicy(msg)
    span = LAST_TOUCH_MAX - FIRST_TOUCH_MIN
    for index, cap in enumerate(policy.caps):
        counted = sum(
            1
            for touch in touches
            if cap.channels is None or (touch.channel is not None and touch.channel in cap.channels)
        )
        room = cap.limit * (span // cap.per + 1)
        if counted > room:
            msg = (
                f"{owner}.caps[{index}] ({cap.limit} per {cap.per}) lets at most {room} of the "
                f"{counted} touches of {sequence.name!r} out within the 7 days a recovery "
                "lasts; raise the limit, shorten the period, or drop touches"
            )
            raise InvalidPolicy(msg)


def _unit(seed: str) -> float:
    """A stable number in [0, 1) from ``seed``: the same checkout lands in the same arm."""
    digest = hashlib.blake2b(seed.encode("utf-8", "replace"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@attrs.frozen
class Context:
    """What the engine must know about the customer beyond this checkout."""

    consent: ConsentLedger = attrs.field(factory=ConsentLedger)
    history: ContactHistory = attrs.field(factory=ContactHistory)
    #: Until when each channel's customer-service window is open (WhatsApp: 24 h
    #: after the customer's last message; free text is allowed inside it).
    service_windows: Mapping[Channel, datetime] = attrs.field(factory=dict)
    #: Fresh availability by SKU, asked just before a touch (empty: none asked).
    stock: Mapping[str, StockInfo] = attrs.field(factory=dict)
    #: The code issued for the touch being sent (the second pass of ``offer_discount``).
    discount: IssuedDiscount | None = None
    #: The customer's discounts and abandonments, when the runner looked them up.
    discount_history: DiscountHistory | None = None

    def window_open(self, channel: Channel, now: datetime) -> bool:
        until = self.service_windows.get(channel)
        return until is not None and now < until

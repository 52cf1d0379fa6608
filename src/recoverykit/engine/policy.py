"""The store's recovery policy and the per-customer context the engine decides with.

``RecoveryPolicy`` is configuration, built once; ``Context`` is what the runner
knows about the customer beyond this checkout at the moment of the decision.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final, Literal

import attrs

from ..errors import InvalidInputError
from ..messages.packs import MessagePack, default_pack
from ..policies.caps import DEFAULT_RECOVERY_CAPS, ContactHistory, FrequencyCap
from ..policies.consent import ConsentLedger
from ..policies.discounts import DiscountHistory, DiscountPolicy, IssuedDiscount
from ..policies.hours import ContactHours
from ..policies.sequence import Sequence
from ..policies.stock import StockInfo
from ..presets import get as get_preset
from ..programs import PROGRAM_RULES
from ..values.model import Channel
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


@attrs.frozen
class TimingScale:
    """Shorter gaps for cheap impulse carts, longer ones for considered purchases.

    Thresholds are per currency; a currency without thresholds keeps the plan as is.
    """

    low_below: Mapping[str, Decimal] = attrs.field(
        factory=lambda: {
            "USD": Decimal(30),
            "EUR": Decimal(30),
            "GBP": Decimal(25),
            "PLN": Decimal(120),
            "RUB": Decimal(2500),
            "KZT": Decimal(15000),
        }
    )
    high_above: Mapping[str, Decimal] = attrs.field(
        factory=lambda: {
            "USD": Decimal(500),
            "EUR": Decimal(500),
            "GBP": Decimal(400),
            "PLN": Decimal(2000),
            "RUB": Decimal(40000),
            "KZT": Decimal(250000),
        }
    )
    low_factor: float = 0.75
    high_factor: float = 1.5

    def factor(self, total: Money) -> float:
        low = self.low_below.get(total.currency)
        high = self.high_above.get(total.currency)
        if low is not None and total.amount < low:
            return self.low_factor
        if high is not None and total.amount > high:
            return self.high_factor
        return 1.0


@attrs.frozen
class Variant:
    """One arm of an experiment: it replaces the sequence or the pack, nothing else."""

    name: str
    weight: float = 1.0
    sequence: Sequence | None = None
    pack: MessagePack | None = None


@attrs.frozen
class RecoveryPolicy:
    """How a store recovers checkouts. Every field has a considerate default."""

    store_name: str
    sequence: Sequence = attrs.field(factory=lambda: get_preset("three-touch"))
    pack: MessagePack = attrs.field(factory=default_pack)
    contact_hours: ContactHours = attrs.field(factory=lambda: ContactHours.preset("polite"))
    #: ``auto``: the policy's hours narrowed by every rule that applies to the recipient.
    jurisdiction: Literal["auto", "off"] = "auto"
    caps: tuple[FrequencyCap, ...] = DEFAULT_RECOVERY_CAPS
    channels: tuple[Channel, ...] = DEFAULT_CHANNEL_ORDER
    #: Per-region channel order (``{"PL": (WHATSAPP, SMS, EMAIL)}``) overriding ``channels``.
    channels_by_region: Mapping[str, tuple[Channel, ...]] = attrs.field(factory=dict)
    #: Accept a ``marketing`` grant where no ``recovery`` grant exists (SEAMS 7).
    marketing_consent_ok: bool = True
    timing: TimingScale | None = attrs.field(factory=TimingScale)
    #: Personal data is dropped and the recovery ends this long after abandonment.
    retention: timedelta = timedelta(days=30)
    #: How long replies are still handled after the last touch before finishing.
    grace: timedelta = timedelta(hours=24)
    #: Transient failures are retried after these delays, then the touch is skipped.
    retry_backoff: tuple[timedelta, ...] = (
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
    )
    #: Share of checkouts held out (never messaged) to measure what messages add.
    holdout: float = attrs.field(default=0.0, validator=_share)
    variants: tuple[Variant, ...] = ()
    #: Names the experiment: assignment is stable for a checkout while this stays the same.
    experiment: str = "default"
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

    def sequence_for(self, variant: str | None) -> Sequence:
        for candidate in self.variants:
            if candidate.name == variant and candidate.sequence is not None:
                return candidate.sequence
        return self.sequence

    def pack_for(self, variant: str | None) -> MessagePack:
        for candidate in self.variants:
            if candidate.name == variant and candidate.pack is not None:
                return candidate.pack
        return self.pack


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

"""Generated shop traffic for a scenario: many checkouts from a seed, with a known true lift.

A handful of hand-written stories shows what the engine does; it cannot show
whether messages pay, because a holdout of one or two checkouts decides nothing.
A scenario's ``traffic`` setting adds generated checkouts around the stories:
customers in Poland, the United Kingdom and France with consent to texts (some to
WhatsApp), carts from a few product categories abandoned at realistic local
hours over some days, and orders drawn at a known rate — ``base_rate`` for every
checkout (people who come back on their own) plus ``lift`` for checkouts in the
messaged arm, placed after the first message. Since the true lift is known, the
report's conclusion can be checked against it. Everything is drawn from
``random.Random(seed)``, so the same settings give the same scenario.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import attrs

from ..engine.events import Event, OrderPlaced, ReplyReceived
from ..engine.policy import RecoveryPolicy
from ..errors import InvalidInputError
from ..policies.consent import ConsentAction, ConsentEvent, Purpose
from ..policies.replies import classify_reply
from ..values.loading import Problems, expect_mapping, field, to_int
from ..values.loading import unknown_keys as _unknown_keys
from ..values.model import Channel, Checkout, Customer, LineItem, Stage
from ..values.money import Money
from ..values.zones import get_zone

__all__ = ["Traffic", "TrafficBatch", "load_traffic"]

#: (country, zone, locale, currency, phone prefix, digits after it, weight).
_MARKETS: Final = (
    ("PL", "Europe/Warsaw", "pl", "PLN", "+48601", 6, 0.45),
    ("GB", "Europe/London", "en", "GBP", "+447400", 6, 0.35),
    ("FR", "Europe/Paris", "fr", "EUR", "+33612", 6, 0.20),
)
#: (category, product names, price range in EUR; other currencies scale it).
_CATALOGUE: Final = (
    ("kitchen", ("Kettle", "Chef's knife", "Coffee grinder"), (25, 120)),
    ("home", ("Linen throw", "Table lamp", "Wool rug"), (30, 250)),
    ("beauty", ("Face serum", "Hair dryer", "Gift set"), (15, 90)),
    ("outdoor", ("Rain jacket", "Camping stove", "Backpack"), (40, 300)),
)
_SCALE: Final = {"EUR": Decimal(1), "GBP": Decimal("0.85"), "PLN": Decimal("4.3")}
_STAGES: Final = (Stage.CONTACT, Stage.SHIPPING, Stage.SHIPPING, Stage.PAYMENT, Stage.PAYMENT)
#: Local hours people leave checkouts at, weighted towards evenings.
_HOURS: Final = tuple(range(24))
_HOUR_WEIGHTS: Final = (
    1,
    1,
    0.5,
    0.3,
    0.3,
    0.5,
    1,
    2,
    3,
    4,
    4,
    5,
    6,
    5,
    5,
    5,
    6,
    7,
    8,
    9,
    9,
    8,
    5,
    2,
)
_KEYS: Final = frozenset(
    {"checkouts", "seed", "days", "base_rate", "lift", "whatsapp_share", "stop_rate", "reply_rate"}
)
#: What customers write back, by locale: a question, an objection, the menu's first option.
_REPLIES: Final = {
    "en": ("how long does delivery take?", "too expensive", "1"),
    "pl": ("ile trwa dostawa?", "za drogo", "1"),
    "fr": ("combien de temps pour la livraison ?", "trop cher", "1"),
}


def _share(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        msg = f"traffic {attribute.name} must be a share from 0 to 1 (got {value!r})"
        raise InvalidInputError(msg)


def _count(_inst: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
        msg = f"traffic {attribute.name} must be a whole number from 1 to 100000 (got {value!r})"
        raise InvalidInputError(msg)


@attrs.frozen
class Traffic:
    """How much generated traffic a scenario carries, and how it behaves."""

    checkouts: int = attrs.field(validator=_count)
    seed: int = 0
    #: Checkouts are spread over this many days from the scenario's start.
    days: int = attrs.field(default=7, validator=_count)
    #: Share of every checkout that orders with no message at all.
    base_rate: float = attrs.field(default=0.04, validator=_share)
    #: The true lift: extra share of messaged-arm checkouts that order because of the messages.
    lift: float = attrs.field(default=0.08, validator=_share)
    #: Share of customers who also gave WhatsApp consent.
    whatsapp_share: float = attrs.field(default=0.3, validator=_share)
    #: Share of messaged customers who reply STOP.
    stop_rate: float = attrs.field(default=0.01, validator=_share)
    #: Share of messaged customers who write back (a question, an objection, a menu choice).
    reply_rate: float = attrs.field(default=0.2, validator=_share)

    def __attrs_post_init__(self) -> None:
        if self.base_rate + self.lift > 1:
            msg = (
                f"traffic base_rate ({self.base_rate}) and lift ({self.lift}) add up to more "
                "than every checkout; lower one of them"
            )
            raise InvalidInputError(msg)

    def generate(self, start: datetime, policy: RecoveryPolicy) -> TrafficBatch:
        """The customers, consent, checkouts and events, the same for the same settings."""
        rng = random.Random(self.seed)  # noqa: S311 - reproducible made-up data, not secrets
        batch = TrafficBatch()
        span = timedelta(days=self.days).total_seconds()
        weights = [weight for *_, weight in _MARKETS]
        for index in range(self.checkouts):
            country, zone, locale, currency, prefix, digits, _ = rng.choices(_MARKETS, weights)[0]
            customer = Customer(
                id=f"gen-{index:05d}",
                first_name=None,
                phone=prefix + "".join(str(rng.randrange(10)) for _ in range(digits)),
                locale=locale,
                timezone=zone,
                country=country,
                orders_count=rng.choice((0, 0, 0, 1, 3)),
            )
            day = start + timedelta(seconds=rng.random() * span)
            local = day.astimezone(get_zone(zone))
            hour = rng.choices(_HOURS, _HOUR_WEIGHTS)[0]
            left = local.replace(hour=hour, minute=rng.randrange(60), second=0, microsecond=0)
            if left < start:
                left += timedelta(days=1)
            category, names, (low, high) = rng.choice(_CATALOGUE)
            price = Money(
                (Decimal(rng.randint(low, high)) * _SCALE[currency]).quantize(Decimal("0.01")),
                currency,
            )
            checkout = Checkout(
                id=f"gen-{index:05d}",
                customer=customer,
                items=(LineItem(f"{category}-{index % 7}", rng.choice(names), 1, price, category),),
                total=price,
                stage=rng.choice(_STAGES),
                abandoned_at=left,
                link=f"https://shop.example/r/g{index}",
            )
            batch.customers.append(customer)
            # WhatsApp people consented to WhatsApp only, so they are reached there.
            channels = [Channel.WHATSAPP if rng.random() < self.whatsapp_share else Channel.SMS]
            batch.consent.extend(
                ConsentEvent(
                    customer.id, channel, Purpose.RECOVERY, ConsentAction.GRANTED,
                    left - timedelta(minutes=3), source="checkout_checkbox",
                    text="Remind me about this checkout. Reply STOP to opt out.",
                    version="gen-1", address=customer.phone,
                )
                for channel in channels
            )  # fmt: skip
            batch.checkouts.append(checkout)
            batch.events.extend(self._behaviour(rng, checkout, policy, channels[0]))
        return batch

    def _behaviour(
        self, rng: random.Random, checkout: Checkout, policy: RecoveryPolicy, channel: Channel
    ) -> list[Event]:
        """Whether and when this customer orders or says STOP."""
        left = checkout.abandoned_at
        held = policy.in_holdout(checkout.id)
        draw = rng.random()
        events: list[Event] = []
        if draw < self.base_rate:
            at = left + timedelta(minutes=rng.randint(20, 72 * 60))
        elif not held and draw < self.base_rate + self.lift:
            # Caused by a message: after the first one (sent 30-60 min after leaving,
            # or in the morning), within two days of it.
            at = left + timedelta(minutes=rng.randint(14 * 60, 60 * 60))
        else:
            if not held and rng.random() < self.stop_rate:
                events.append(self._reply(rng, checkout, channel, "STOP"))
            elif not held and rng.random() < self.reply_rate:
                text = rng.choice(_REPLIES.get(checkout.customer.locale, _REPLIES["en"]))
                events.append(self._reply(rng, checkout, channel, text))
            return events
        events.append(
            OrderPlaced(
                checkout.id, at, customer_id=checkout.customer.id, total=checkout.total,
                order_id=f"order-{checkout.id}",
            )
        )  # fmt: skip
        return events

    @staticmethod
    def _reply(rng: random.Random, checkout: Checkout, channel: Channel, text: str) -> Event:
        """A reply some hours after the first message, classified as a webhook would."""
        customer = checkout.customer
        at = checkout.abandoned_at + timedelta(hours=rng.randint(14, 30))
        reply = classify_reply(text, locale=customer.locale, channel=channel)
        return ReplyReceived(customer.id, channel, reply, at)


@attrs.define
class TrafficBatch:
    """What `Traffic.generate` adds to a scenario."""

    customers: list[Customer] = attrs.field(factory=list)
    consent: list[ConsentEvent] = attrs.field(factory=list)
    checkouts: list[Checkout] = attrs.field(factory=list)
    events: list[Event] = attrs.field(factory=list)


def load_traffic(raw: Any, path: str, problems: Problems) -> Traffic | None:
    """Load ``{"checkouts": 2000, "seed": 22, ...}``, every problem with its path."""
    mapping = expect_mapping(raw, path, problems)
    if mapping is None:
        return None
    _unknown_keys(mapping, _KEYS, path, problems)
    before = len(problems.items)
    checkouts = field(mapping, "checkouts", path, problems, to_int)
    seed = field(mapping, "seed", path, problems, to_int, default=0)
    days = field(mapping, "days", path, problems, to_int, default=7)
    shares: dict[str, float] = {}
    for key in ("base_rate", "lift", "whatsapp_share", "stop_rate", "reply_rate"):
        if key in mapping:
            value = mapping[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.add(f"{path}.{key}", f"expected a share from 0 to 1, got {value!r:.60}")
            else:
                shares[key] = float(value)
    if len(problems.items) > before or checkouts is None:
        return None
    try:
        return Traffic(checkouts, seed or 0, days or 7, **shares)
    except InvalidInputError as exc:
        problems.add(path, str(exc))
        return None

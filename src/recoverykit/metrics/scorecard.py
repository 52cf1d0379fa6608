"""The recovery scorecard: the funnel, rates with intervals and revenue, in one pass over the log.

``Scorecard.from_events`` reads the runner's event log (``LogRecord`` values, or
any iterable of the same shape) once, in time order, keeping a small record per
checkout and never the events themselves: memory grows with the number of
checkouts, not with the length of the log.

Attribution is explicit (`Attribution`): an order counts as recovered by the
messages when it is placed after the checkout's first send and no later than a
window after the last send before it (optionally only after a click); the last
touch before the order gets the credit. One order is attached to at most one
checkout, and one checkout holds at most one order, so nothing is counted twice.
Attributed recovery is what the messages were *near*; what they *caused* is the
lift against the holdout (`recoverykit.metrics.lift`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import attrs

from ..errors import InvalidInputError
from ..protocols import LogRecord, RecordKind
from .cost import MESSAGE_KINDS, PriceTable, Usage, UsageCounter
from .stats import wilson_interval

__all__ = [
    "DIMENSIONS",
    "Attribution",
    "CheckoutOutcome",
    "Counts",
    "Rate",
    "Scorecard",
]

#: The breakdowns a scorecard can keep; ``touch`` counts messages, the rest checkouts.
DIMENSIONS: Final = (
    "touch",
    "channel",
    "segment",
    "tier",
    "stage",
    "friction",
    "locale",
    "variant",
    "category",
    "hour",
)
#: Value shown for a dimension the log does not carry (e.g. no friction label).
NONE_LABEL: Final = "none"
#: Reply intents that withdraw consent.
_STOP_INTENTS: Final = frozenset({"opt_out", "opt_out_all"})
#: Consent sources that mean the recipient did more than unsubscribe: blocked the
#: sender (Telegram), or reported the message as spam (a provider's complaint feed).
COMPLAINT_SOURCES: Final = frozenset({"blocked", "spam_report", "complaint"})


def _complaint(consent: object) -> bool:
    """A revocation whose source says the recipient blocked or reported the sender."""
    return (
        isinstance(consent, Mapping)
        and consent.get("action") == "revoked"
        and consent.get("source") in COMPLAINT_SOURCES
    )


#: Finish reasons that mean no consented channel could reach the customer.
_INELIGIBLE: Final = frozenset({"no_consent", "program_limit"})
#: Menu replies are grouped by their first characters ("1", "2", "delivery").
_MENU_CHARS: Final = 20


@attrs.frozen
class Attribution:
    """When an order counts as recovered by the messages.

    ``window`` runs from the last send before the order; ``require_click``
    also asks for a click on the resume link between the first send and the order.
    """

    window: timedelta = timedelta(days=5)
    require_click: bool = False

    def __attrs_post_init__(self) -> None:
        if self.window <= timedelta(0):
            msg = f"Attribution window must be positive (got {self.window}); try timedelta(days=5)"
            raise InvalidInputError(msg)


@attrs.frozen
class Rate:
    """A share with its Wilson interval; ``value`` is ``None`` when the base is empty."""

    successes: int
    n: int
    low: float | None
    high: float | None

    @classmethod
    def of(cls, successes: int, n: int, confidence: float = 0.95) -> Rate:
        if n <= 0:
            return cls(successes, 0, None, None)
        low, high = wilson_interval(min(successes, n), n, confidence)
        return cls(successes, n, low, high)

    @property
    def value(self) -> float | None:
        return None if self.n == 0 else self.successes / self.n

    def to_dict(self) -> dict[str, Any]:
        return {
            "successes": self.successes,
            "n": self.n,
            "rate": self.value,
            "ci": None if self.low is None else [self.low, self.high],
        }


@attrs.define
class Counts:
    """Funnel counts for the whole log or one breakdown row."""

    checkouts: int = 0
    eligible: int = 0
    holdout: int = 0
    messaged: int = 0
    sends: int = 0
    segments: int = 0
    delivered: int = 0
    read: int = 0
    replied: int = 0
    clicked: int = 0
    handoffs: int = 0
    opted_out: int = 0
    complaints: int = 0
    recovered: int = 0
    #: Orders on checkouts of either arm, attributed or not (intention to treat).
    ordered: int = 0
    recovered_revenue: dict[str, Decimal] = attrs.field(factory=dict)

    def add_revenue(self, currency: str, amount: Decimal) -> None:
        self.recovered_revenue[currency] = self.recovered_revenue.get(currency, Decimal(0)) + amount

    def rates(self, confidence: float = 0.95) -> dict[str, Rate]:
        """Every rate with its interval, each over the base it is meaningful for."""
        return {
            "delivery": Rate.of(self.delivered, self.sends, confidence),
            "read": Rate.of(self.read, self.sends, confidence),
            "reply": Rate.of(self.replied, self.messaged, confidence),
            "click": Rate.of(self.clicked, self.messaged, confidence),
            "opt_out": Rate.of(self.opted_out, self.sends, confidence),
            "complaint": Rate.of(self.complaints, self.sends, confidence),
            "recovery": Rate.of(self.recovered, self.messaged, confidence),
        }

    def to_dict(self, confidence: float = 0.95) -> dict[str, Any]:
        data: dict[str, Any] = {
            name: value for name, value in attrs.asdict(self).items() if name != "recovered_revenue"
        }
        data["recovered_revenue"] = {
            currency: str(amount) for currency, amount in sorted(self.recovered_revenue.items())
        }
        data["rates"] = {name: rate.to_dict() for name, rate in self.rates(confidence).items()}
        return data


@attrs.define
class CheckoutOutcome:
    """What the log says about one checkout; the scorecard keeps one per checkout."""

    checkout_id: str
    customer_id: str | None
    abandoned_at: datetime
    currency: str | None = None
    total: Decimal | None = None
    labels: dict[str, str] = attrs.field(factory=dict)
    holdout: bool = False
    finish: str | None = None
    first_send: datetime | None = None
    last_send: datetime | None = None
    last_touch: int | None = None
    first_channel: str | None = None
    last_channel: str | None = None
    #: Per touch: [sends, segments, delivered, read].
    touches: dict[int, list[int]] = attrs.field(factory=dict)
    sends: int = 0
    segments: int = 0
    delivered: int = 0
    read: int = 0
    replied: bool = False
    clicked_at: datetime | None = None
    handoffs: int = 0
    opted_out: bool = False
    order_at: datetime | None = None
    order_amount: Decimal | None = None
    order_currency: str | None = None
    recovered: bool = False
    credited_touch: int | None = None
    credited_channel: str | None = None
    #: Recipient country of the last touch before the order (kept only with a price table).
    last_country: str | None = None
    credited_country: str | None = None

    @property
    def messaged(self) -> bool:
        return self.sends > 0

    @property
    def eligible(self) -> bool:
        """Not held out, and some consented channel could reach the customer."""
        return not self.holdout and (self.messaged or self.finish not in _INELIGIBLE)

    @property
    def label_of(self) -> Mapping[str, str]:
        labels = dict(self.labels)
        labels["channel"] = self.first_channel or NONE_LABEL
        return labels

    def revenue(self) -> tuple[str, Decimal] | None:
        """The order's total, or the checkout's when the order carried none."""
        if self.order_amount is not None and self.order_currency is not None:
            return self.order_currency, self.order_amount
        if self.total is not None and self.currency is not None:
            return self.currency, self.total
        return None


def _decimal(value: object) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _money(data: Mapping[str, Any]) -> tuple[str, Decimal] | None:
    total = data.get("total")
    if not isinstance(total, Mapping):
        return None
    amount = _decimal(total.get("amount"))
    currency = total.get("currency")
    if amount is None or not isinstance(currency, str):
        return None
    return currency, amount


def _hour(value: object) -> str:
    """The local hour of abandonment as ``"09"``, sorting in clock order."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 23:
        return f"{value:02d}"
    return NONE_LABEL


def _label(value: object) -> str:
    return NONE_LABEL if value is None or value == "" else str(value)


class _Pass:
    """The state of the one streaming pass: outcomes by checkout, orders already used."""

    def __init__(self, attribution: Attribution, usage: UsageCounter | None = None) -> None:
        self.attribution = attribution
        self.usage = usage
        self.outcomes: dict[str, CheckoutOutcome] = {}
        self.latest_of: dict[str, str] = {}
        self.orders_used: set[str] = set()
        self.complaints = 0
        self.menu: dict[str, int] = {}
        self.first: datetime | None = None
        self.last: datetime | None = None

    def feed(self, record: LogRecord) -> None:
        if self.first is None:
            self.first = record.at
        self.last = record.at
        kind = record.kind
        data = record.data
        if kind == RecordKind.EVENT:
            self._event(record, data)
            return
        outcome = None if record.checkout_id is None else self.outcomes.get(record.checkout_id)
        if self.usage is not None and kind in MESSAGE_KINDS:
            country = self.usage.message(
                kind, record.at, record.customer_id, data, counted=outcome is not None,
                checkout_id=record.checkout_id,
            )  # fmt: skip
            if outcome is not None and kind == RecordKind.SEND and outcome.order_at is None:
                outcome.last_country = country
        if outcome is None:
            return
        if kind == RecordKind.SEND:
            self._send(outcome, record.at, data)
        elif kind == RecordKind.INFO and data.get("what") == "holdout":
            outcome.holdout = True
        elif kind == RecordKind.HANDOFF:
            outcome.handoffs += 1
        elif kind == RecordKind.FINISH:
            outcome.finish = str(data.get("reason"))
            if outcome.finish == "opted_out":
                outcome.opted_out = True

    def _event(self, record: LogRecord, data: Mapping[str, Any]) -> None:
        kind = data.get("type")
        if kind == "CheckoutAbandoned":
            self._abandoned(record, data)
            return
        if kind == "OrderPlaced":
            self._order(record, data)
            return
        if self.usage is not None:
            if kind == "ReplyReceived":
                counted = record.checkout_id is not None and record.checkout_id in self.outcomes
                self.usage.inbound(record.customer_id, data, record.at, counted=counted)
            elif kind in ("MessageDelivered", "MessageRead"):
                self.usage.delivered(record.checkout_id, data)
        if kind == "ConsentChanged" and _complaint(data.get("consent")):
            self.complaints += 1
            return
        outcome = None if record.checkout_id is None else self.outcomes.get(record.checkout_id)
        if outcome is None:
            return
        touch = data.get("touch")
        counts = outcome.touches.get(touch) if isinstance(touch, int) else None
        if kind == "MessageDelivered":
            outcome.delivered += 1
            if counts is not None:
                counts[2] += 1
        elif kind == "MessageRead":
            outcome.read += 1
            if counts is not None:
                counts[3] += 1
        elif kind == "ReplyReceived" and outcome.messaged:
            outcome.replied = True
            if data.get("intent") == "menu_choice":
                choice = str(data.get("text", "")).strip()[:_MENU_CHARS]
                self.menu[choice] = self.menu.get(choice, 0) + 1
            if data.get("intent") in _STOP_INTENTS:
                outcome.opted_out = True
        elif kind == "LinkClicked" and outcome.clicked_at is None and outcome.messaged:
            outcome.clicked_at = record.at
        elif kind == "MessageFailed" and data.get("code") == "complaint":
            self.complaints += 1

    def _abandoned(self, record: LogRecord, data: Mapping[str, Any]) -> None:
        checkout_id = record.checkout_id
        if checkout_id is None or checkout_id in self.outcomes:
            return  # a re-abandoned cart keeps its first record
        money = _money(data)
        outcome = CheckoutOutcome(
            checkout_id=checkout_id,
            customer_id=record.customer_id,
            abandoned_at=record.at,
            currency=None if money is None else money[0],
            total=None if money is None else money[1],
            labels={
                "segment": _label(data.get("segment")),
                "tier": _label(data.get("tier")),
                "stage": _label(data.get("stage")),
                "friction": _label(data.get("friction")),
                "locale": _label(data.get("locale")),
                "variant": _label(data.get("variant")),
                "category": _label(data.get("category")),
                "hour": _hour(data.get("local_hour")),
            },
            holdout=data.get("arm") == "holdout",
        )
        self.outcomes[checkout_id] = outcome
        if record.customer_id is not None:
            self.latest_of[record.customer_id] = checkout_id

    def _send(self, outcome: CheckoutOutcome, at: datetime, data: Mapping[str, Any]) -> None:
        if outcome.order_at is not None:
            return  # after the order: not part of this recovery's funnel
        touch = data.get("touch")
        channel = _label(data.get("channel"))
        segments = data.get("segments")
        parts = segments if isinstance(segments, int) and segments > 0 else 1
        outcome.sends += 1
        outcome.segments += parts
        if outcome.first_send is None:
            outcome.first_send = at
            outcome.first_channel = channel
        outcome.last_send = at
        outcome.last_channel = channel
        if isinstance(touch, int):
            outcome.last_touch = touch
            counts = outcome.touches.setdefault(touch, [0, 0, 0, 0])
            counts[0] += 1
            counts[1] += parts

    def _order(self, record: LogRecord, data: Mapping[str, Any]) -> None:
        order_key = str(
            data.get("order_id") or data.get("id") or f"{record.checkout_id}@{record.at}"
        )
        if order_key in self.orders_used:
            return
        outcome = None if record.checkout_id is None else self.outcomes.get(record.checkout_id)
        if outcome is None or outcome.order_at is not None:
            latest = None if record.customer_id is None else self.latest_of.get(record.customer_id)
            outcome = None if latest is None else self.outcomes.get(latest)
        if outcome is None or outcome.order_at is not None or record.at < outcome.abandoned_at:
            return
        self.orders_used.add(order_key)
        money = _money(data)
        outcome.order_at = record.at
        if money is not None:
            outcome.order_currency, outcome.order_amount = money
        outcome.recovered = _attributed(outcome, record.at, self.attribution)
        if outcome.recovered:
            outcome.credited_touch = outcome.last_touch
            outcome.credited_channel = outcome.last_channel
            outcome.credited_country = outcome.last_country


def _attributed(outcome: CheckoutOutcome, at: datetime, attribution: Attribution) -> bool:
    """Placed after the first send, within the window after the last send (and clicked)."""
    if outcome.holdout or outcome.first_send is None or outcome.last_send is None:
        return False
    if not outcome.first_send < at <= outcome.last_send + attribution.window:
        return False
    if attribution.require_click:
        return outcome.clicked_at is not None and outcome.clicked_at <= at
    return True


def _percentile(sorted_values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (no interpolation: a real observed duration)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def _count_checkout(counts: Counts, outcome: CheckoutOutcome) -> None:
    counts.checkouts += 1
    counts.eligible += outcome.eligible
    counts.holdout += outcome.holdout
    counts.messaged += outcome.messaged
    counts.sends += outcome.sends
    counts.segments += outcome.segments
    counts.delivered += outcome.delivered
    counts.read += outcome.read
    counts.replied += outcome.replied
    counts.clicked += outcome.clicked_at is not None
    counts.handoffs += outcome.handoffs
    counts.opted_out += outcome.opted_out
    counts.ordered += outcome.order_at is not None
    if outcome.recovered:
        counts.recovered += 1
        revenue = outcome.revenue()
        if revenue is not None:
            counts.add_revenue(*revenue)


@attrs.frozen
class Scorecard:
    """The funnel, rates and revenue of a stretch of the log, overall and broken down.

    ``by`` maps each requested dimension to its rows (value → `Counts`);
    ``arms`` holds the same counts for the ``messaged`` and ``holdout`` arms;
    ``outcomes`` keeps one `CheckoutOutcome` per checkout for lift and checks.
    """

    totals: Counts
    by: Mapping[str, Mapping[str, Counts]]
    arms: Mapping[str, Counts]
    attribution: Attribution
    hours_to_recovery: tuple[float, ...]
    outcomes: Mapping[str, CheckoutOutcome] = attrs.field(repr=False)
    first_at: datetime | None = None
    last_at: datetime | None = None
    confidence: float = 0.95
    #: Menu replies from messaged customers, by what they sent.
    menu_choices: Mapping[str, int] = attrs.field(factory=dict)
    #: The price table the log was read with, and the message units it counted.
    prices: PriceTable | None = None
    usage: Usage | None = None

    @classmethod
    def from_events(
        cls,
        events: Iterable[LogRecord],
        *,
        attribution: Attribution | None = None,
        by: Iterable[str] = DIMENSIONS,
        confidence: float = 0.95,
        prices: PriceTable | None = None,
    ) -> Scorecard:
        """Read the log once and count. ``by`` picks breakdowns from `DIMENSIONS`.

        With ``prices``, the same pass also counts message units by channel and
        recipient country, for the cost section of the report (`Cost`).
        """
        wanted = tuple(by)
        unknown = [name for name in wanted if name not in DIMENSIONS]
        if unknown:
            msg = f"Unknown breakdown(s) {unknown}; choose from {', '.join(DIMENSIONS)}"
            raise InvalidInputError(msg)
        rule = Attribution() if attribution is None else attribution
        state = _Pass(rule, None if prices is None else UsageCounter())
        for record in events:
            state.feed(record)
        totals = Counts()
        totals.complaints = state.complaints
        arms = {"messaged": Counts(), "holdout": Counts()}
        breakdowns: dict[str, dict[str, Counts]] = {name: {} for name in wanted}
        hours: list[float] = []
        for outcome in state.outcomes.values():
            _count_checkout(totals, outcome)
            _count_checkout(arms["holdout" if outcome.holdout else "messaged"], outcome)
            labels = outcome.label_of
            for name, rows in breakdowns.items():
                if name == "touch":
                    _count_touches(rows, outcome)
                else:
                    _count_checkout(rows.setdefault(labels[name], Counts()), outcome)
            if outcome.recovered and outcome.order_at is not None:
                hours.append((outcome.order_at - outcome.abandoned_at).total_seconds() / 3600)
        hours.sort()
        return cls(
            totals=totals,
            by={name: dict(sorted(rows.items())) for name, rows in breakdowns.items()},
            arms=arms,
            attribution=rule,
            hours_to_recovery=tuple(hours),
            outcomes=state.outcomes,
            first_at=state.first,
            last_at=state.last,
            confidence=confidence,
            menu_choices=dict(sorted(state.menu.items(), key=lambda item: -item[1])),
            prices=prices,
            usage=None if state.usage is None else state.usage.usage(),
        )

    @property
    def median_hours_to_recovery(self) -> float | None:
        return _percentile(list(self.hours_to_recovery), 0.5)

    @property
    def p90_hours_to_recovery(self) -> float | None:
        return _percentile(list(self.hours_to_recovery), 0.9)

    def rates(self) -> dict[str, Rate]:
        return self.totals.rates(self.confidence)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe summary (no per-checkout data)."""
        return {
            "totals": self.totals.to_dict(self.confidence),
            "by": {
                name: {value: counts.to_dict(self.confidence) for value, counts in rows.items()}
                for name, rows in self.by.items()
            },
            "time_to_recovery_hours": {
                "median": self.median_hours_to_recovery,
                "p90": self.p90_hours_to_recovery,
            },
            "attribution": {
                "window_hours": self.attribution.window.total_seconds() / 3600,
                "require_click": self.attribution.require_click,
            },
            "period": {
                "from": None if self.first_at is None else self.first_at.isoformat(),
                "to": None if self.last_at is None else self.last_at.isoformat(),
            },
        }


def _count_touches(rows: dict[str, Counts], outcome: CheckoutOutcome) -> None:
    """One row per touch number: messages of that touch and the orders it was credited with."""
    for touch, (sends, segments, delivered, read) in outcome.touches.items():
        row = rows.setdefault(str(touch), Counts())
        row.checkouts += 1
        row.eligible += 1
        row.messaged += 1
        row.sends += sends
        row.segments += segments
        row.delivered += delivered
        row.read += read
        if outcome.recovered and outcome.credited_touch == touch:
            row.recovered += 1
            row.ordered += 1
            revenue = outcome.revenue()
            if revenue is not None:
                row.add_revenue(*revenue)

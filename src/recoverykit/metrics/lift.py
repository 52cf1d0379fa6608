"""Incremental lift: what the messages caused, measured against the holdout.

Attributed recovery counts every order placed near a message, including orders
that would have come anyway. The holdout gets no messages, so the difference in
order rate between the two arms is what the messages add. Both arms are counted
by intention to treat: every checkout assigned to an arm, whether or not a
message actually went out (no consent, a failed send), so the comparison keeps
the fairness of the random assignment.

No verdict without the data for one: the store names the smallest lift it
cares about (``min_effect``, 5 points by default), and until both arms hold the
checkouts a two-sided test needs to see that lift with 80 % power (sized for the
split actually used, see `required_samples`), the report says how many more each
arm needs and shows the interval so far with no verdict. With enough data the
verdict is a sentence a finance team can read: the difference with its interval
when the interval excludes zero, "no difference detected" otherwise.

Incremental revenue is computed per currency over the checkouts in that
currency in both arms (revenue per checkout, messaged minus held out, times the
messaged checkouts in it); a currency one arm lacks is "not comparable", never
a number.
"""

from __future__ import annotations

import functools
import math
from decimal import Decimal
from statistics import NormalDist
from typing import Any, Final

import attrs

from ..errors import InvalidInputError
from .scorecard import Counts, Scorecard
from .stats import newcombe_interval, required_samples

__all__ = ["DEFAULT_MIN_EFFECT", "POWER", "Arm", "Lift"]

#: The smallest lift (in rate units: 0.05 is 5 points) worth a verdict, unless the store says.
DEFAULT_MIN_EFFECT: Final = 0.05
#: The chance the test sees a true lift of ``min_effect``, once both arms hold enough checkouts.
POWER: Final = 0.8


@attrs.frozen
class Arm:
    """One arm's intention-to-treat counts: checkouts assigned, checkouts that ordered."""

    n: int
    recovered: int
    revenue: dict[str, Decimal]

    @property
    def rate(self) -> float | None:
        return None if self.n == 0 else self.recovered / self.n

    @classmethod
    def of(cls, counts: Counts, revenue: dict[str, Decimal]) -> Arm:
        return cls(counts.checkouts, counts.ordered, revenue)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "recovered": self.recovered,
            "rate": self.rate,
            "revenue": {c: str(a) for c, a in sorted(self.revenue.items())},
        }


def _points(value: float) -> str:
    return f"{value * 100:.1f}"


def _round_up(value: int) -> int:
    """Round a sample size up to two significant figures, for a sentence."""
    if value < 100:
        return value
    step: int = 10 ** (len(str(value)) - 2)
    return -(-value // step) * step


def _grouped(value: int) -> str:
    return f"{value:,}".replace(",", " ")


@attrs.frozen
class Lift:
    """Messaged arm against holdout: difference, relative lift, incremental orders and revenue.

    ``difference`` and ``ci`` are in rate units (0.041 is 4.1 points); they are
    ``None`` when an arm is empty. ``required`` is what each arm needs for a
    verdict, as ``{"messaged": n, "holdout": n}``, and ``missing`` how many more
    checkouts each still lacks; ``enough`` is ``True`` once nothing is missing.
    ``incremental_revenue`` holds only currencies both arms have checkouts in,
    and only with enough data; ``not_comparable`` names the other currencies and
    why. ``attributed_revenue`` (from the scorecard) is kept beside it on purpose.
    """

    messaged: Arm
    holdout: Arm
    difference: float | None
    ci: tuple[float, float] | None
    relative: float | None
    incremental_orders: tuple[float, float, float] | None
    incremental_revenue: dict[str, tuple[Decimal, Decimal, Decimal]]
    attributed_revenue: dict[str, Decimal]
    attributed_orders: int
    verdict: str
    confidence: float = 0.95
    min_effect: float = DEFAULT_MIN_EFFECT
    enough: bool = False
    required: dict[str, int] | None = None
    missing: dict[str, int] | None = None
    not_comparable: dict[str, str] = attrs.field(factory=dict)

    @classmethod
    def from_scorecard(cls, card: Scorecard, *, min_effect: float = DEFAULT_MIN_EFFECT) -> Lift:
        """Compare the arms of ``card``; ``min_effect`` is the smallest lift worth a verdict."""
        effect = _effect(min_effect)
        revenue: dict[str, dict[str, Decimal]] = {"messaged": {}, "holdout": {}}
        for outcome in card.outcomes.values():
            if outcome.order_at is None:
                continue
            found = outcome.revenue()
            if found is None:
                continue
            bucket = revenue["holdout" if outcome.holdout else "messaged"]
            bucket[found[0]] = bucket.get(found[0], Decimal(0)) + found[1]
        messaged = Arm.of(card.arms["messaged"], revenue["messaged"])
        holdout = Arm.of(card.arms["holdout"], revenue["holdout"])
        base = functools.partial(
            cls,
            messaged=messaged,
            holdout=holdout,
            attributed_revenue=dict(card.totals.recovered_revenue),
            attributed_orders=card.totals.recovered,
            confidence=card.confidence,
            min_effect=effect,
        )
        if messaged.n == 0 or holdout.n == 0:
            return base(
                difference=None,
                ci=None,
                relative=None,
                incremental_orders=None,
                incremental_revenue={},
                verdict=(
                    "no holdout to compare with: set RecoveryPolicy(holdout=0.1) so some "
                    "checkouts get no messages"
                    if holdout.n == 0
                    else "no messaged checkouts yet: nothing to compare the holdout with"
                ),
            )
        p1 = messaged.recovered / messaged.n
        p2 = holdout.recovered / holdout.n
        difference = p1 - p2
        low, high = newcombe_interval(
            messaged.recovered, messaged.n, holdout.recovered, holdout.n, card.confidence
        )
        relative = None if p2 == 0 else difference / p2
        n1 = messaged.n
        orders = (difference * n1, low * n1, high * n1)
        required = _required(p2, effect, messaged.n / holdout.n, card.confidence)
        missing = {
            "messaged": max(0, required["messaged"] - messaged.n),
            "holdout": max(0, required["holdout"] - holdout.n),
        }
        enough = not any(missing.values())
        level = round(card.confidence * 100)
        so_far = f"{_signed(difference)} points ({level} % CI {_points(low)} to {_points(high)})"
        size = f"a {_points(effect).removesuffix('.0')}-point difference"
        if not enough:
            verdict = f"not enough data yet: {_shortfall(missing)} for {size}; so far {so_far}"
        elif low > 0 or high < 0:
            verb = "add" if difference > 0 else "lower recovery by"
            verdict = (
                f"messages {verb} {_points(abs(difference))} points "
                f"({level} % CI {_points(low)} to {_points(high)})"
            )
        else:
            verdict = (
                f"no difference detected: {so_far}; a true lift of {_points(effect)} points "
                f"would have shown with {POWER * 100:.0f} % power"
            )
        incremental, not_comparable = _incremental_revenue(card, card.confidence)
        return base(
            difference=difference,
            ci=(low, high),
            relative=relative,
            incremental_orders=orders,
            incremental_revenue=incremental if enough else {},
            verdict=verdict,
            enough=enough,
            required=required,
            missing=missing,
            not_comparable=not_comparable,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "messaged": self.messaged.to_dict(),
            "holdout": self.holdout.to_dict(),
            "difference": self.difference,
            "ci": None if self.ci is None else list(self.ci),
            "relative": self.relative,
            "incremental_orders": None
            if self.incremental_orders is None
            else dict(zip(("estimate", "low", "high"), self.incremental_orders, strict=True)),
            "incremental_revenue": {
                currency: {"estimate": str(e), "low": str(lo), "high": str(hi)}
                for currency, (e, lo, hi) in sorted(self.incremental_revenue.items())
            },
            "not_comparable": dict(sorted(self.not_comparable.items())),
            "attributed_revenue": {c: str(a) for c, a in sorted(self.attributed_revenue.items())},
            "attributed_orders": self.attributed_orders,
            "verdict": self.verdict,
            "enough": self.enough,
            "min_effect": self.min_effect,
            "power": POWER,
            "required": self.required,
            "missing": self.missing,
            "confidence": self.confidence,
        }


def _effect(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"min_effect must be a number of rate units, e.g. 0.05 for 5 points (got {value!r})"
        raise TypeError(msg)
    if not 0.0 < value < 1.0:
        msg = (
            f"min_effect must lie between 0 and 1 in rate units (got {value!r}); "
            "write 0.05 for a 5-point lift"
        )
        raise InvalidInputError(msg)
    return float(value)


def _signed(value: float) -> str:
    return f"{value * 100:+.1f}"


def _required(baseline: float, effect: float, ratio: float, confidence: float) -> dict[str, int]:
    """Checkouts each arm needs to see ``effect`` over the holdout's rate with `POWER`.

    The holdout's own rate is the baseline; kept inside (0, 1) so a holdout that
    all ordered (or none did) still gets a size, and the alternative goes down
    when going up would leave (0, 1).
    """
    control = min(max(baseline, 0.001), 0.999)
    target = control + effect if control + effect < 1.0 else control - effect
    target = min(max(target, 0.0005), 0.9995)
    holdout, messaged = required_samples(
        control, target, ratio=ratio, alpha=1 - confidence, power=POWER
    )
    return {"messaged": messaged, "holdout": holdout}


def _shortfall(missing: dict[str, int]) -> str:
    more_messaged = _round_up(missing["messaged"])
    more_held = _round_up(missing["holdout"])
    if more_messaged == more_held:
        return f"about {_grouped(more_held)} more checkouts per arm"
    if not more_messaged:
        return f"about {_grouped(more_held)} more held-out checkouts"
    if not more_held:
        return f"about {_grouped(more_messaged)} more messaged checkouts"
    return (
        f"about {_grouped(more_held)} more held-out checkouts and "
        f"{_grouped(more_messaged)} more messaged ones"
    )


@attrs.define
class _Side:
    """Running sums of revenue per checkout in one arm and one currency."""

    n: int = 0
    total: Decimal = Decimal(0)
    squares: Decimal = Decimal(0)

    def add(self, amount: Decimal) -> None:
        self.n += 1
        self.total += amount
        self.squares += amount * amount

    @property
    def mean(self) -> Decimal:
        return self.total / self.n

    @property
    def variance(self) -> Decimal:
        if self.n < 2:
            return Decimal(0)
        return max(Decimal(0), (self.squares - self.total * self.total / self.n) / (self.n - 1))


def _incremental_revenue(
    card: Scorecard, confidence: float
) -> tuple[dict[str, tuple[Decimal, Decimal, Decimal]], dict[str, str]]:
    """Per currency: (mean revenue per messaged checkout - per held-out one) x messaged checkouts.

    Each currency uses only the checkouts in that currency (their order revenue,
    or zero when they did not order), so amounts are never mixed across
    currencies or across arms of different make-up. The interval is the normal
    one for a difference of two means (separate variances). A currency with no
    checkouts in one arm is returned with the reason it is not comparable.
    """
    sides: dict[str, dict[bool, _Side]] = {}
    for outcome in card.outcomes.values():
        currency = outcome.currency or outcome.order_currency
        if currency is None:
            continue
        found = outcome.revenue() if outcome.order_at is not None else None
        amount = found[1] if found is not None and found[0] == currency else Decimal(0)
        sides.setdefault(currency, {False: _Side(), True: _Side()})[outcome.holdout].add(amount)
    z = Decimal(str(NormalDist().inv_cdf(0.5 + confidence / 2.0)))
    cents = Decimal("0.01")
    result: dict[str, tuple[Decimal, Decimal, Decimal]] = {}
    not_comparable: dict[str, str] = {}
    for currency, arms in sorted(sides.items()):
        messaged, holdout = arms[False], arms[True]
        if messaged.n == 0 or holdout.n == 0:
            lacking = "held-out" if holdout.n == 0 else "messaged"
            not_comparable[currency] = f"no {lacking} checkouts in {currency}"
            continue
        difference = messaged.mean - holdout.mean
        spread = z * Decimal(
            math.sqrt(float(messaged.variance / messaged.n + holdout.variance / holdout.n))
        )
        scale = Decimal(messaged.n)
        result[currency] = (
            (difference * scale).quantize(cents),
            ((difference - spread) * scale).quantize(cents),
            ((difference + spread) * scale).quantize(cents),
        )
    return result, not_comparable

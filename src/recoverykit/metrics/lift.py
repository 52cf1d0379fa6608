"""Incremental lift: what the messages caused, measured against the holdout.

Attributed recovery counts every order placed near a message, including orders
that would have come anyway. The holdout gets no messages, so the difference in
order rate between the two arms is what the messages add. Both arms are counted
by intention to treat: every checkout assigned to an arm, whether or not a
message actually went out (no consent, a failed send), so the comparison keeps
the fairness of the random assignment.

The verdict is a sentence a finance team can read: the difference with its
interval when the interval excludes zero, and otherwise how many more checkouts
each arm needs before a difference of the planned size could be seen.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any, Final

import attrs

from .scorecard import Counts, Scorecard
from .stats import newcombe_interval, required_sample

__all__ = ["Arm", "Lift"]

#: The smallest difference (in rate points) the verdict plans for when data is short.
DEFAULT_DETECTABLE: Final = 0.03


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
    ``None`` when an arm is empty. ``attributed_revenue`` (from the scorecard) and
    ``incremental_revenue`` are kept side by side on purpose.
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
    needed_per_arm: int | None = None

    @classmethod
    def from_scorecard(cls, card: Scorecard, *, detectable: float = DEFAULT_DETECTABLE) -> Lift:
        """Compare the arms of ``card``; ``detectable`` sizes the "not enough data" verdict."""
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
        incremental = _incremental_revenue(messaged, holdout, (difference, low, high))
        needed = None
        level = round(card.confidence * 100)
        if low > 0 or high < 0:
            verb = "add" if difference > 0 else "lower recovery by"
            verdict = (
                f"messages {verb} {_points(abs(difference))} points "
                f"({level} % CI {_points(low)} to {_points(high)})"
            )
        else:
            # Kept inside (0, 1) and apart: a holdout that all ordered (or none did)
            # still gets a sample size instead of an error.
            baseline = min(max(p2, 0.001), 0.998)
            target = min(baseline + detectable, 0.999)
            per_arm = required_sample(baseline, target, alpha=1 - card.confidence)
            missing = per_arm - min(messaged.n, holdout.n)
            if missing > 0:
                needed = _round_up(missing)
                verdict = (
                    f"not enough data yet: about {_grouped(needed)} more checkouts per arm "
                    f"to detect {_points(detectable)} points"
                )
            else:
                verdict = (
                    f"no difference detected: {_points(difference)} points "
                    f"({level} % CI {_points(low)} to {_points(high)}); a true effect of "
                    f"{_points(detectable)} points would likely have shown"
                )
        return base(
            difference=difference,
            ci=(low, high),
            relative=relative,
            incremental_orders=orders,
            incremental_revenue=incremental,
            verdict=verdict,
            needed_per_arm=needed,
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
            "attributed_revenue": {c: str(a) for c, a in sorted(self.attributed_revenue.items())},
            "attributed_orders": self.attributed_orders,
            "verdict": self.verdict,
            "needed_per_arm": self.needed_per_arm,
            "confidence": self.confidence,
        }


def _incremental_revenue(
    messaged: Arm, holdout: Arm, difference: tuple[float, float, float]
) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """Incremental orders times the mean order value, per currency (never summed across).

    The mean order value of a currency is taken over both arms' orders in it, and
    its share of orders scales the difference, so each currency gets its part.
    """
    result: dict[str, tuple[Decimal, Decimal, Decimal]] = {}
    orders = messaged.recovered + holdout.recovered
    if orders == 0:
        return result
    currencies = set(messaged.revenue) | set(holdout.revenue)
    total_revenue = {c: messaged.revenue.get(c, Decimal(0)) + holdout.revenue.get(c, Decimal(0))
                     for c in currencies}  # fmt: skip
    cents = Decimal("0.01")
    for currency, amount in total_revenue.items():
        per_order = amount / orders  # revenue in this currency per order of any currency

        def scaled(share: float, per_order: Decimal = per_order) -> Decimal:
            return (Decimal(str(share * messaged.n)) * per_order).quantize(cents)

        estimate, low, high = difference
        result[currency] = (scaled(estimate), scaled(low), scaled(high))
    return result

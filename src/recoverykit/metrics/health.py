"""Health warnings: the scorecard read against the thresholds the domain names.

Each threshold is data (`Threshold`) with the figure it is compared to and where
it comes from, so a report can show the rule next to the number. A warning is
raised only when the rate's whole interval is on the wrong side of the threshold
or, for small samples, when the point estimate is and enough messages exist for
the number to mean something (`MIN_BASE`).

The friction report counts why people left — the checkout stage reached, the
store's friction label, and the menu choices customers sent back — so the store
can fix its checkout, not only chase it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

import attrs

from .lift import POWER, Lift
from .scorecard import Rate, Scorecard

__all__ = [
    "MIN_BASE",
    "THRESHOLDS",
    "FrictionReport",
    "HealthWarning",
    "Threshold",
    "friction_report",
    "health_warnings",
    "lift_warnings",
]

#: Below this many units in a rate's base, no warning is raised: too few to judge.
MIN_BASE: Final = 30


@attrs.frozen
class Threshold:
    """One rule of thumb: the rate, the side that is bad, the figure and its source."""

    code: str
    rate: str
    bad_when: Literal["below", "above"]
    limit: float
    meaning: str
    source: str = "DOMAIN.md, Measuring"


#: The thresholds of DOMAIN.md (Measuring), as data.
THRESHOLDS: Final = (
    Threshold(
        "recovery_low", "recovery", "below", 0.05,
        "recovery under 5 % of messaged checkouts usually means something is broken",
    ),
    Threshold(
        "opt_out_high", "opt_out", "above", 0.02,
        "opt-outs over 2 % of messages: the tone or the frequency is wrong",
    ),
    Threshold(
        "opt_out_elevated", "opt_out", "above", 0.01,
        "opt-outs over 1 % of messages: worth a look at tone and frequency",
    ),
    Threshold(
        "complaint_high", "complaint", "above", 0.003,
        "blocks and spam reports over 0.3 % of messages: mailbox providers start filtering "
        "(aim under 0.1 %)",
        "Gmail, Yahoo and Microsoft bulk-sender requirements (2024-2025)",
    ),
    Threshold(
        "delivery_low", "delivery", "below", 0.95,
        "delivery under 95 %: check numbers, sender registration and templates",
    ),
    Threshold(
        "reply_low", "reply", "below", 0.15,
        "replies under 15 % of messaged customers: messages may not invite an answer",
    ),
)  # fmt: skip


@attrs.frozen
class HealthWarning:
    """A rate on the wrong side of its threshold."""

    code: str
    rate: str
    value: float
    low: float | None
    high: float | None
    limit: float
    message: str
    source: str
    #: ``True`` when the whole interval is past the limit, not only the estimate.
    certain: bool

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def _check(threshold: Threshold, rate: Rate) -> HealthWarning | None:
    value = rate.value
    if value is None or rate.n < MIN_BASE or rate.low is None or rate.high is None:
        return None
    if threshold.bad_when == "below":
        past, certain = value < threshold.limit, rate.high < threshold.limit
    else:
        past, certain = value > threshold.limit, rate.low > threshold.limit
    if not past:
        return None
    message = (
        f"{threshold.rate} rate {value * 100:.1f} % is {threshold.bad_when} "
        f"{threshold.limit * 100:g} %: {threshold.meaning}"
    )
    return HealthWarning(
        threshold.code, threshold.rate, value, rate.low, rate.high, threshold.limit,
        message, threshold.source, certain,
    )  # fmt: skip


def health_warnings(
    card: Scorecard, thresholds: Iterable[Threshold] = THRESHOLDS
) -> list[HealthWarning]:
    """Warnings for the scorecard's overall rates; the stricter opt-out one hides the milder."""
    rates = card.rates()
    found: list[HealthWarning] = []
    codes: set[str] = set()
    for threshold in thresholds:
        rate = rates.get(threshold.rate)
        if rate is None:
            continue
        warning = _check(threshold, rate)
        if warning is None:
            continue
        if threshold.code == "opt_out_elevated" and "opt_out_high" in codes:
            continue
        codes.add(threshold.code)
        found.append(warning)
    return found


def lift_warnings(lift: Lift) -> list[HealthWarning]:
    """A warning while the holdout comparison is too small for a verdict.

    The interval is still shown; the warning keeps anyone from reading its
    middle as the answer.
    """
    if lift.enough or lift.difference is None or lift.ci is None or lift.required is None:
        return []
    message = (
        f"the lift has no verdict yet: {lift.messaged.n} messaged and {lift.holdout.n} held-out "
        f"checkouts, short of the {lift.required['messaged']} and {lift.required['holdout']} "
        f"needed to see a {lift.min_effect * 100:g}-point lift with {POWER * 100:.0f} % power; "
        "the difference so far is not a result"
    )
    return [
        HealthWarning(
            "lift_not_enough_data", "lift", lift.difference, lift.ci[0], lift.ci[1],
            lift.min_effect, message, f"two-proportion test, {POWER * 100:.0f} % power", False,
        )
    ]  # fmt: skip


@attrs.frozen
class FrictionReport:
    """Why people left: checkouts by stage and friction label, and the menu choices sent."""

    by_stage: Mapping[str, int]
    by_friction: Mapping[str, int]
    menu_choices: Mapping[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "by_stage": dict(self.by_stage),
            "by_friction": dict(self.by_friction),
            "menu_choices": dict(self.menu_choices),
        }


def friction_report(card: Scorecard) -> FrictionReport:
    """Checkouts by stage and friction label, and the menu choices customers sent."""
    by_stage = Counter(o.labels.get("stage", "none") for o in card.outcomes.values())
    by_friction = Counter(o.labels.get("friction", "none") for o in card.outcomes.values())
    return FrictionReport(
        dict(by_stage.most_common()), dict(by_friction.most_common()), dict(card.menu_choices)
    )

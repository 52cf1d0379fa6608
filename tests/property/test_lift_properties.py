"""Properties of the lift: no verdict below the required sample, no currency mixed across arms.

The rule (issue 22): a lift verdict is given only when both arms hold the
checkouts a two-sided test needs to see the store's smallest lift with 80 %
power; incremental revenue is computed per currency over the checkouts in that
currency in both arms, and a currency missing from an arm is "not comparable".
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from statistics import NormalDist
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from recoverykit.metrics import Attribution, Counts, Lift, Scorecard, required_samples
from recoverykit.metrics.health import lift_warnings
from recoverykit.protocols import LogRecord

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
VERDICTS = ("messages add", "messages lower recovery", "no difference detected")


def _card(n1: int, x1: int, n2: int, x2: int) -> Scorecard:
    """A scorecard with only the arm counts the verdict reads."""
    messaged = Counts(checkouts=n1, ordered=x1)
    holdout = Counts(checkouts=n2, ordered=x2, holdout=n2)
    totals = Counts(checkouts=n1 + n2, ordered=x1 + x2, holdout=n2)
    return Scorecard(
        totals=totals,
        by={},
        arms={"messaged": messaged, "holdout": holdout},
        attribution=Attribution(),
        hours_to_recovery=(),
        outcomes={},
    )


@st.composite
def arm_counts(draw: st.DrawFn) -> tuple[int, int, int, int]:
    n1 = draw(st.integers(1, 5_000))
    n2 = draw(st.integers(1, 1_500))
    x1 = draw(st.integers(0, n1))
    x2 = draw(st.integers(0, n2))
    return n1, x1, n2, x2


def _power(p_control: float, p_treatment: float, n_control: int, ratio: float) -> float:
    """The normal-approximation power of the two-sided 5 % test at these sizes."""
    z = NormalDist()
    n_treatment = ratio * n_control
    pooled = (p_control * n_control + p_treatment * n_treatment) / (n_control + n_treatment)
    null_sd = math.sqrt(pooled * (1 - pooled) * (1 / n_control + 1 / n_treatment))
    alt_sd = math.sqrt(
        p_control * (1 - p_control) / n_control + p_treatment * (1 - p_treatment) / n_treatment
    )
    shift = abs(p_treatment - p_control) - z.inv_cdf(0.975) * null_sd
    return z.cdf(shift / alt_sd)


@given(
    p=st.floats(0.01, 0.6),
    effect=st.sampled_from([0.02, 0.05, 0.1]),
    ratio=st.sampled_from([1.0, 4.0, 9.0, 19.0]),
)
def test_required_samples_are_the_smallest_with_the_power(
    p: float, effect: float, ratio: float
) -> None:
    """The sizes reach 80 % power, and one held-out checkout fewer (with its share) does not."""
    control, treatment = required_samples(p, p + effect, ratio=ratio)
    assert treatment == math.ceil(control * ratio - 1e-9)
    assert _power(p, p + effect, control, ratio) >= 0.8 - 1e-9
    if control > 1:
        assert _power(p, p + effect, control - 1, ratio) < 0.8


@given(counts=arm_counts(), effect=st.sampled_from([0.02, 0.05, 0.1, 0.2]))
def test_no_verdict_below_the_required_sample(
    counts: tuple[int, int, int, int], effect: float
) -> None:
    """Either both arms hold the required sample, or the report says "not enough data yet"."""
    n1, x1, n2, x2 = counts
    lift = Lift.from_scorecard(_card(n1, x1, n2, x2), min_effect=effect)
    assert lift.required is not None
    short = n1 < lift.required["messaged"] or n2 < lift.required["holdout"]
    assert short == (not lift.enough)
    if short:
        assert lift.verdict.startswith("not enough data yet: about ")
        assert not lift.verdict.startswith(VERDICTS)
        assert {} == lift.incremental_revenue
        assert ["lift_not_enough_data"] == [w.code for w in lift_warnings(lift)]
    else:
        assert lift.verdict.startswith(VERDICTS)
        assert [] == lift_warnings(lift)
    # The required sample is the one for the holdout's own rate and the split used.
    baseline = min(max(x2 / n2, 0.001), 0.999)
    target = baseline + effect if baseline + effect < 1 else baseline - effect
    held, messaged = required_samples(baseline, min(max(target, 0.0005), 0.9995), ratio=n1 / n2)
    assert {"messaged": messaged, "holdout": held} == lift.required


CURRENCIES = ("EUR", "GBP", "PLN")


@st.composite
def checkouts(draw: st.DrawFn, shared: int = 0) -> list[tuple[str, str, Decimal | None]]:
    """(arm, currency, order amount or None) for 50 to 90 checkouts; at least ``shared``
    currencies have checkouts in both arms."""
    common = draw(st.sets(st.sampled_from(CURRENCIES), min_size=shared, max_size=shared))
    rows = []
    for arm, low in (("messaged", 25), ("holdout", 25)):
        allowed = common | draw(st.sets(st.sampled_from(CURRENCIES), min_size=1))
        # each shared currency opens the arm once, so the arms share it whatever is drawn next
        picks = [*sorted(common)]
        picks += [
            draw(st.sampled_from(sorted(allowed)))
            for _ in range(draw(st.integers(low, low + 20)) - len(picks))
        ]
        for currency in picks:
            ordered = draw(st.booleans())
            amount = Decimal(draw(st.integers(1, 500))) if ordered else None
            rows.append((arm, currency, amount))
    return rows


def _log(rows: list[tuple[str, str, Decimal | None]]) -> list[LogRecord]:
    log: list[LogRecord] = []
    for index, (arm, currency, amount) in enumerate(rows):
        cid = f"k{index}"
        data: dict[str, Any] = {
            "type": "CheckoutAbandoned",
            "total": {"amount": "10.00", "currency": currency},
            "arm": arm,
        }
        log.append(LogRecord(T0, "event", cid, f"cu{index}", data))
        if arm == "messaged":
            log.append(LogRecord(T0 + HOUR, "send", cid, f"cu{index}", {"touch": 1}))
        if amount is not None:
            order = {
                "type": "OrderPlaced",
                "id": f"o{index}",
                "total": {"amount": str(amount), "currency": currency},
            }
            log.append(LogRecord(T0 + 2 * HOUR, "event", cid, f"cu{index}", order))
    return sorted(log, key=lambda record: record.at)


@given(rows=checkouts())
def test_per_currency_revenue_never_mixes_arms_of_different_currencies(
    rows: list[tuple[str, str, Decimal | None]],
) -> None:
    """Each currency's figure uses that currency's checkouts in both arms, and nothing else."""
    lift = Lift.from_scorecard(Scorecard.from_events(_log(rows)), min_effect=0.9)
    assume(lift.enough)
    in_arm = {arm: {c for a, c, _ in rows if a == arm} for arm in ("messaged", "holdout")}
    both = in_arm["messaged"] & in_arm["holdout"]
    assert both == set(lift.incremental_revenue)
    assert (in_arm["messaged"] ^ in_arm["holdout"]) == set(lift.not_comparable)
    for currency in both:
        amounts = {
            arm: [amount or Decimal(0) for a, c, amount in rows if a == arm and c == currency]
            for arm in ("messaged", "holdout")
        }
        n1 = len(amounts["messaged"])
        per_messaged = sum(amounts["messaged"], Decimal(0)) / n1
        per_held = sum(amounts["holdout"], Decimal(0)) / len(amounts["holdout"])
        expected = ((per_messaged - per_held) * n1).quantize(Decimal("0.01"))
        estimate, low, high = lift.incremental_revenue[currency]
        assert expected == estimate
        assert low <= estimate <= high


@given(rows=checkouts(shared=2), bump=st.integers(1, 1_000))
def test_another_currency_never_moves_a_currency_figure(
    rows: list[tuple[str, str, Decimal | None]], bump: int
) -> None:
    """Changing every order amount in one currency leaves the others' figures unchanged."""
    first = Lift.from_scorecard(Scorecard.from_events(_log(rows)), min_effect=0.9)
    assume(first.enough and len(first.incremental_revenue) >= 2)
    moved = sorted(first.incremental_revenue)[0]
    changed = [
        (arm, currency, amount if amount is None or currency != moved else amount + bump)
        for arm, currency, amount in rows
    ]
    second = Lift.from_scorecard(Scorecard.from_events(_log(changed)), min_effect=0.9)
    for currency in first.incremental_revenue:
        if currency != moved:
            assert first.incremental_revenue[currency] == second.incremental_revenue[currency]

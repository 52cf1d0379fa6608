"""Interval estimates and sample sizes for recovery rates, on the standard library alone.

Why these methods: the Wilson score interval stays inside [0, 1] and behaves at
0 of n and n of n, where the textbook Wald interval collapses to a point; for the
difference of two rates (messaged arm against holdout) Newcombe's hybrid score
interval (Newcombe 1998, method 10) builds on the two Wilson intervals and keeps
those virtues. `required_sample` answers "how many checkouts per arm before the
data can tell", with the usual normal approximation for two proportions.

Every function is pure and refuses inputs that have no answer (no trials, more
successes than trials, a confidence outside (0, 1)) with `InvalidInputError`,
which is a ``ValueError``: an empty arm is an error to report, never a NaN.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Final

from ..errors import InvalidInputError

__all__ = ["newcombe_interval", "required_sample", "required_samples", "wilson_interval"]

_STANDARD_NORMAL: Final = NormalDist()


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{what} must be an integer count (got {type(value).__name__} {value!r})"
        raise TypeError(msg)
    return value


def _check_counts(successes: object, n: object, what: str = "") -> tuple[int, int]:
    x = _count(successes, f"{what}successes")
    total = _count(n, f"{what}n")
    if total <= 0:
        msg = f"{what}n must be at least 1 (got {total}); an empty group has no rate"
        raise InvalidInputError(msg)
    if not 0 <= x <= total:
        msg = f"{what}successes must be between 0 and n={total} (got {x})"
        raise InvalidInputError(msg)
    return x, total


def _open_unit(value: object, what: str) -> float:
    """``value`` as a float strictly between 0 and 1, or `InvalidInputError`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{what} must be a number between 0 and 1 (got {value!r})"
        raise TypeError(msg)
    if not 0.0 < value < 1.0:
        msg = f"{what} must lie strictly between 0 and 1 (got {value!r})"
        raise InvalidInputError(msg)
    return float(value)


def _z(confidence: object) -> float:
    """The two-sided critical value of the standard normal for ``confidence``."""
    level = _open_unit(confidence, "confidence")
    return _STANDARD_NORMAL.inv_cdf(0.5 + level / 2.0)


def _wilson(x: int, n: int, z: float) -> tuple[float, float]:
    p = x / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    low = 0.0 if x == 0 else max(0.0, centre - half)
    high = 1.0 if x == n else min(1.0, centre + half)
    return low, high


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval ``(low, high)`` for a proportion ``successes / n``.

    Exact at the edges: 0 of n gives a low of exactly 0.0, n of n a high of exactly
    1.0. Example: 81 recoveries out of 263 checkouts gives about (0.2553, 0.3662)
    at 95 % confidence.
    """
    x, total = _check_counts(successes, n)
    return _wilson(x, total, _z(confidence))


def newcombe_interval(
    x1: int, n1: int, x2: int, n2: int, confidence: float = 0.95
) -> tuple[float, float]:
    """The interval ``(low, high)`` for the difference ``x1/n1 - x2/n2``.

    Newcombe's hybrid score interval (1998, method 10): the distance from the
    difference to each bound combines the two Wilson intervals' distances from
    their own estimates. Swapping the groups mirrors the interval. Example: 56 of
    70 against 48 of 80 gives about (0.0524, 0.3339).
    """
    a, m = _check_counts(x1, n1, "group 1 ")
    b, k = _check_counts(x2, n2, "group 2 ")
    z = _z(confidence)
    p1, p2 = a / m, b / k
    l1, u1 = _wilson(a, m, z)
    l2, u2 = _wilson(b, k, z)
    difference = p1 - p2
    below = math.hypot(p1 - l1, u2 - p2)
    above = math.hypot(u1 - p1, p2 - l2)
    return max(-1.0, difference - below), min(1.0, difference + above)


def required_sample(
    p_control: float, p_treatment: float, *, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Checkouts needed in each group to detect ``p_control`` against ``p_treatment``.

    Two-sided test of two proportions, with the pooled variance under the null
    hypothesis and the separate variances under the alternative, rounded up. No
    continuity correction. Example: telling a 10 % recovery rate from 15 % with
    alpha 0.05 and power 0.8 needs 686 checkouts per group.
    """
    control, _ = required_samples(p_control, p_treatment, alpha=alpha, power=power)
    return control


def required_samples(
    p_control: float,
    p_treatment: float,
    *,
    ratio: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
) -> tuple[int, int]:
    """Checkouts needed as ``(control, treatment)``, the treatment group ``ratio`` times larger.

    A holdout is usually small (10 % of checkouts against 90 %), so asking both
    groups for the equal-split size would wait for data the test does not need;
    this is the same two-proportion test sized for the split actually used (the
    pooled rate is weighted by it). ``ratio=1`` gives `required_sample` for both.
    Example: 10 % against 15 % with nine messaged checkouts per held-out one needs
    400 held out and 3 600 messaged.
    """
    p1 = _open_unit(p_control, "p_control")
    p2 = _open_unit(p_treatment, "p_treatment")
    a = _open_unit(alpha, "alpha")
    b = _open_unit(power, "power")
    if isinstance(ratio, bool) or not isinstance(ratio, int | float):
        msg = f"ratio must be a positive number (got {ratio!r})"
        raise TypeError(msg)
    if not 0.0 < ratio < math.inf:
        msg = f"ratio must be a positive, finite number of treated per control (got {ratio!r})"
        raise InvalidInputError(msg)
    if p1 == p2:
        msg = (
            f"p_control and p_treatment are both {p1!r}; no sample size detects "
            "a difference of zero"
        )
        raise InvalidInputError(msg)
    k = float(ratio)
    z_alpha = _STANDARD_NORMAL.inv_cdf(1.0 - a / 2.0)
    z_beta = _STANDARD_NORMAL.inv_cdf(b)
    pooled = (p1 + k * p2) / (1.0 + k)
    spread = z_alpha * math.sqrt(pooled * (1.0 - pooled) * (1.0 + 1.0 / k)) + z_beta * math.sqrt(
        p1 * (1.0 - p1) + p2 * (1.0 - p2) / k
    )
    n = (spread / (p1 - p2)) ** 2
    # A hair of tolerance so a value like 686.0000000001 from rounding stays 686.
    control = max(1, math.ceil(n - 1e-9))
    return control, max(1, math.ceil(control * k - 1e-9))

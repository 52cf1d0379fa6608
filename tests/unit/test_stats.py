"""Interval estimates and sample sizes: published examples, a brute-force reference, properties."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recoverykit.errors import InvalidInputError
from recoverykit.metrics import newcombe_interval, required_sample, wilson_interval

# Newcombe (1998), "Two-sided confidence intervals for the single proportion",
# Statistics in Medicine 17:857-872, Table I, the score method without correction.
WILSON_PUBLISHED = [
    (81, 263, (0.2553, 0.3662)),
    (15, 148, (0.0624, 0.1605)),
    (0, 20, (0.0, 0.1611)),
    (1, 29, (0.0061, 0.1718)),
]

# Newcombe (1998), "Interval estimation for the difference between independent
# proportions", Statistics in Medicine 17:873-890, Table II, method 10.
NEWCOMBE_PUBLISHED = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0)),
    ((10, 10, 0, 10), (0.6075, 1.0)),
]


def rounded(interval: tuple[float, float]) -> tuple[float, float]:
    return (round(interval[0], 4), round(interval[1], 4))


def brute_wilson(x: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson bounds as the roots of the score statistic, found by bisection."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p_hat = x / n

    def score(p: float) -> float:
        return (p_hat - p) ** 2 - z * z * p * (1 - p) / n

    def root(lo: float, hi: float) -> float:
        f_lo = score(lo)
        for _ in range(200):
            mid = (lo + hi) / 2
            if (score(mid) > 0) == (f_lo > 0):
                lo, f_lo = mid, score(mid)
            else:
                hi = mid
        return (lo + hi) / 2

    low = 0.0 if x == 0 else root(0.0, p_hat)
    high = 1.0 if x == n else root(p_hat, 1.0)
    return low, high


counts = st.integers(min_value=1, max_value=5_000).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
)
confidences = st.floats(min_value=0.5, max_value=0.999)


@pytest.mark.parametrize(("x", "n", "expected"), WILSON_PUBLISHED)
def test_wilson_matches_published_examples(x: int, n: int, expected: tuple[float, float]) -> None:
    """The Wilson interval reproduces Newcombe's worked examples to four decimals."""
    assert expected == rounded(wilson_interval(x, n))


@pytest.mark.parametrize(("counts4", "expected"), NEWCOMBE_PUBLISHED)
def test_newcombe_matches_published_examples(
    counts4: tuple[int, int, int, int], expected: tuple[float, float]
) -> None:
    """Method 10 reproduces Newcombe's worked examples for a difference to four decimals."""
    assert expected == rounded(newcombe_interval(*counts4))


def test_wilson_edges_are_exact() -> None:
    """0 of n has a low of exactly 0.0 and n of n a high of exactly 1.0."""
    assert wilson_interval(0, 7)[0] == 0.0
    assert wilson_interval(7, 7)[1] == 1.0


def test_newcombe_all_versus_none_reaches_one_exactly() -> None:
    """All of group 1 against none of group 2 has an upper bound of exactly 1.0."""
    assert newcombe_interval(12, 12, 0, 30)[1] == 1.0


def test_wilson_confidence_changes_width() -> None:
    """A higher confidence gives a wider interval for the same counts."""
    low90, high90 = wilson_interval(30, 100, 0.90)
    low99, high99 = wilson_interval(30, 100, 0.99)
    assert low99 < low90
    assert high90 < high99


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((0, 0), "n must be at least 1 (got 0)"),
        ((5, 4), "between 0 and n=4 (got 5)"),
        ((-1, 4), "between 0 and n=4 (got -1)"),
        ((1, 4, 1.0), "confidence must lie strictly between 0 and 1 (got 1.0)"),
        ((1, 4, 0.0), "confidence must lie strictly between 0 and 1 (got 0.0)"),
        ((1, 4, math.nan), "confidence must lie strictly between 0 and 1 (got nan)"),
    ],
)
def test_wilson_refuses_inputs_without_an_answer(args: tuple[float, ...], fragment: str) -> None:
    """Empty groups, impossible counts and bad confidences are ValueErrors naming the value."""
    with pytest.raises(InvalidInputError) as caught:
        wilson_interval(*args)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError)
    assert fragment in str(caught.value)


def test_wilson_refuses_non_integer_counts() -> None:
    """A count given as a float or a bool is a TypeError, not silently truncated."""
    with pytest.raises(TypeError, match="successes must be an integer"):
        wilson_interval(1.5, 4)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="n must be an integer"):
        wilson_interval(1, True)


def test_newcombe_names_the_bad_group() -> None:
    """An empty second group is reported as group 2."""
    with pytest.raises(InvalidInputError, match="group 2 n must be at least 1"):
        newcombe_interval(3, 10, 0, 0)


def test_required_sample_textbook_value() -> None:
    """10 % against 15 % (alpha 0.05 two-sided, power 0.8) needs 686 per group, no correction."""
    assert required_sample(0.10, 0.15) == 686


def test_required_sample_by_hand() -> None:
    """The result is the pooled-variance formula worked out step by step, rounded up."""
    p1, p2 = 0.30, 0.40
    za, zb = NormalDist().inv_cdf(0.995), NormalDist().inv_cdf(0.9)
    pooled = (p1 + p2) / 2
    n = (
        za * math.sqrt(2 * pooled * (1 - pooled)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    ) ** 2 / (p1 - p2) ** 2
    assert math.ceil(n) == required_sample(p1, p2, alpha=0.01, power=0.9)


def test_required_sample_grows_with_power_and_shrinks_with_effect() -> None:
    """More power needs more checkouts; a bigger difference needs fewer."""
    assert required_sample(0.10, 0.15, power=0.9) > required_sample(0.10, 0.15)
    assert required_sample(0.10, 0.20) < required_sample(0.10, 0.15)


@pytest.mark.parametrize(
    ("args", "kwargs", "fragment"),
    [
        ((0.1, 0.1), {}, "both 0.1"),
        ((0.0, 0.1), {}, "p_control must lie strictly between 0 and 1 (got 0.0)"),
        ((0.1, 1.0), {}, "p_treatment must lie strictly between 0 and 1 (got 1.0)"),
        ((0.1, 0.2), {"alpha": 1.5}, "alpha must lie strictly between 0 and 1 (got 1.5)"),
        ((0.1, 0.2), {"power": 0.0}, "power must lie strictly between 0 and 1 (got 0.0)"),
    ],
)
def test_required_sample_refuses_meaningless_inputs(
    args: tuple[float, float], kwargs: dict[str, float], fragment: str
) -> None:
    """Equal rates and probabilities outside (0, 1) are ValueErrors naming the value."""
    with pytest.raises(InvalidInputError) as caught:
        required_sample(*args, **kwargs)
    assert fragment in str(caught.value)


@given(counts, confidences)
def test_wilson_equals_brute_force_reference(xn: tuple[int, int], confidence: float) -> None:
    """The closed form agrees with the score statistic's roots found by bisection."""
    x, n = xn
    expected = brute_wilson(x, n, confidence)
    actual = wilson_interval(x, n, confidence)
    assert expected == pytest.approx(actual, abs=1e-9)


@given(counts, confidences)
def test_wilson_contains_estimate_within_unit_interval(
    xn: tuple[int, int], confidence: float
) -> None:
    """The interval lies inside [0, 1] and contains the observed proportion."""
    x, n = xn
    low, high = wilson_interval(x, n, confidence)
    assert 0.0 <= low <= x / n <= high <= 1.0


@given(counts, st.integers(min_value=2, max_value=50))
def test_wilson_narrows_as_n_grows(xn: tuple[int, int], factor: int) -> None:
    """At a fixed proportion, more trials give a strictly narrower interval."""
    x, n = xn
    low, high = wilson_interval(x, n)
    low_k, high_k = wilson_interval(x * factor, n * factor)
    assert high_k - low_k < high - low


@given(counts, counts, confidences)
def test_newcombe_contains_difference_within_bounds(
    a: tuple[int, int], b: tuple[int, int], confidence: float
) -> None:
    """The interval lies inside [-1, 1] and contains the observed difference."""
    low, high = newcombe_interval(a[0], a[1], b[0], b[1], confidence)
    assert -1.0 <= low <= a[0] / a[1] - b[0] / b[1] <= high <= 1.0


@given(counts, counts)
def test_newcombe_swapping_groups_mirrors(a: tuple[int, int], b: tuple[int, int]) -> None:
    """Swapping the two groups negates and swaps the bounds."""
    low, high = newcombe_interval(a[0], a[1], b[0], b[1])
    mirrored = newcombe_interval(b[0], b[1], a[0], a[1])
    assert (-high, -low) == pytest.approx(mirrored, abs=1e-12)


@given(counts, counts)
def test_newcombe_is_built_from_the_wilson_intervals(
    a: tuple[int, int], b: tuple[int, int]
) -> None:
    """Each bound sits at the root-sum-square of the Wilson distances (method 10)."""
    p1, p2 = a[0] / a[1], b[0] / b[1]
    l1, u1 = brute_wilson(*a)
    l2, u2 = brute_wilson(*b)
    expected = (
        max(-1.0, p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)),
        min(1.0, p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)),
    )
    assert expected == pytest.approx(newcombe_interval(*a, *b), abs=1e-9)


@given(
    st.floats(min_value=0.01, max_value=0.9),
    st.floats(min_value=0.01, max_value=0.09),
)
def test_required_sample_detects_at_the_planned_power(p1: float, delta: float) -> None:
    """At the returned n the normal-approximation power reaches the target; at n - 1 it does not."""
    p2 = p1 + delta
    n = required_sample(p1, p2)
    za = NormalDist().inv_cdf(0.975)

    def power(size: int) -> float:
        pooled = (p1 + p2) / 2
        se0 = math.sqrt(2 * pooled * (1 - pooled) / size)
        se1 = math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / size)
        return NormalDist().cdf((abs(p2 - p1) - za * se0) / se1)

    assert power(n) >= 0.8 - 1e-9
    assert n == 1 or power(n - 1) < 0.8 + 1e-9

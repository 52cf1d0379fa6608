"""Timing helpers shared by the benchmark modules: CPU time, each figure beside its floor.

A shared machine makes wall-clock figures drift with whatever else runs, so every
figure here is process CPU time (``time.process_time``), and each is printed next to
a *floor*: the least work that the same job cannot avoid (the standard-library calls
it is made of, the raw SQL it issues, or another library doing the same count),
measured in the same run, in alternating rounds, so a busy minute slows both alike.
The ratio is the figure that means something; the absolute times are for scale.

Nothing here ever fails on time: benchmarks measure and print.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Floor", "cpu", "per_call", "per_call_pair", "rate", "report"]

#: What a figure is compared with: a label and CPU seconds for the same unit of work.
Floor = tuple[str, float]


def cpu() -> float:
    """The process's CPU time in seconds (user + system), the clock every figure uses."""
    return time.process_time()


def per_call(fn: Callable[[], object], *, number: int, repeat: int = 5) -> float:
    """Best-of-``repeat`` CPU seconds per call of ``fn`` over ``number`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(number):
            fn()
        best = min(best, (time.process_time() - start) / number)
    return best


def per_call_pair(
    fn: Callable[[], object],
    floor: Callable[[], object],
    *,
    number: int,
    floor_number: int | None = None,
    repeat: int = 5,
) -> tuple[float, float]:
    """CPU seconds per call of ``fn`` and of ``floor``, timed in alternating rounds.

    Each round times ``fn`` and then ``floor``; the best round of each is kept, so a
    burst of load elsewhere on the machine disturbs both figures rather than one.
    """
    best = best_floor = float("inf")
    floor_number = number if floor_number is None else floor_number
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(number):
            fn()
        best = min(best, (time.process_time() - start) / number)
        start = time.process_time()
        for _ in range(floor_number):
            floor()
        best_floor = min(best_floor, (time.process_time() - start) / floor_number)
    return best, best_floor


def _beside(seconds: float, floor: Floor | None) -> str:
    if floor is None:
        return ""
    label, floor_seconds = floor
    ratio = seconds / floor_seconds if floor_seconds > 0 else float("inf")
    shown = f"{ratio:7.1f}" if ratio >= 1 else f"{ratio:7.2f}"  # a memo can beat its floor
    return f"  {shown}× floor ({label}: {floor_seconds * 1e6:,.2f} µs)"


def report(name: str, seconds: float, floor: Floor | None = None) -> None:
    """Print one figure as CPU time per call and calls per CPU second, beside its floor."""
    print(f"  {name:<52} {seconds * 1e6:9.2f} µs {1 / seconds:12,.0f} /s{_beside(seconds, floor)}")


def rate(label: str, count: int, seconds: float, floor: Floor | None = None) -> None:
    """Print a throughput: ``count`` items in ``seconds`` of CPU time, beside its floor.

    The floor is CPU seconds per item.
    """
    each = seconds / count
    print(f"  {label:<52} {each * 1e6:9.2f} µs {count / seconds:12,.0f} /s{_beside(each, floor)}")

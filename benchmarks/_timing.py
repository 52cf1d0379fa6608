"""A tiny timing helper shared by the benchmark modules."""

from __future__ import annotations

import time
from collections.abc import Callable


def per_call(fn: Callable[[], object], *, number: int, repeat: int = 5) -> float:
    """Best-of-``repeat`` seconds per call of ``fn`` over ``number`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def report(name: str, seconds: float) -> None:
    """Print one figure as time per call and calls per second."""
    print(f"  {name:<52} {seconds * 1e6:9.2f} µs   {1 / seconds:12,.0f} /s")

"""SystemClock satisfies the Clock protocol and never returns a naive time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from recoverykit import SystemClock
from recoverykit.protocols import Clock


def test_system_clock_is_aware_utc_and_current() -> None:
    """The clock reads the real time, in UTC, with its zone attached."""
    clock = SystemClock()
    assert isinstance(clock, Clock)
    now = clock.now()
    assert UTC == now.tzinfo
    assert abs(datetime.now(UTC) - now) < timedelta(seconds=5)

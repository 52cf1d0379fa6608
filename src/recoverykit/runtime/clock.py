"""The one place recoverykit's runtime may read the real time.

The engine never reads the clock; a ``Runner`` asks its ``Clock``. Production uses
``SystemClock``; tests use ``recoverykit.testing.FakeClock``.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["SystemClock"]


class SystemClock:
    """The machine's clock, always as an aware UTC datetime."""

    def now(self) -> datetime:
        return datetime.now(UTC)

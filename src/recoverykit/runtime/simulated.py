"""The stand-ins ``recoverykit simulate`` runs a scenario with, also the test kit's fakes.

A simulation must not read the real time or call a real discount service, so it runs
on a clock moved by hand and an issuer that makes codes locally. Tests need exactly
the same two things, and ``recoverykit.testing`` offers these very classes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..policies.discounts import DiscountRequest, IssuedDiscount
from ..values.time import require_aware

__all__ = ["FakeClock", "FakeDiscountIssuer"]


class FakeClock:
    """A clock that stands still until the test moves it (implements ``Clock``)."""

    __slots__ = ("_now",)

    def __init__(self, start: datetime) -> None:
        self._now = require_aware(start, "start")

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` (never backwards) and return the new now."""
        if delta < timedelta(0):
            msg = f"A clock only moves forward (got delta={delta!r}); use set() to jump"
            raise ValueError(msg)
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> datetime:
        """Jump to ``moment`` (an aware datetime) and return it."""
        self._now = require_aware(moment, "moment")
        return self._now

    def __repr__(self) -> str:
        return f"FakeClock({self._now.isoformat()!r})"


class FakeDiscountIssuer:
    """A ``DiscountIssuer`` that makes single-use codes and remembers each one.

    Codes are ``<prefix>-<n>`` from a counter (deterministic), valid for
    ``valid_for`` after the request. ``fail_next()`` makes the next call raise,
    to check that a touch then goes out without a discount.
    """

    def __init__(self, *, prefix: str = "SIM", valid_for: timedelta = timedelta(hours=72)) -> None:
        self.prefix = prefix
        self.valid_for = valid_for
        #: Every request answered, with the code it got, in order.
        self.issued: list[tuple[DiscountRequest, IssuedDiscount]] = []
        self._failures = 0

    def fail_next(self, *, times: int = 1) -> None:
        self._failures += times

    def issue(self, request: DiscountRequest) -> IssuedDiscount:
        if self._failures:
            self._failures -= 1
            msg = "the discount service is unavailable (FakeDiscountIssuer.fail_next)"
            raise ConnectionError(msg)
        code = IssuedDiscount(
            f"{self.prefix}-{len(self.issued) + 1:04d}",
            request.at + self.valid_for,
        )
        self.issued.append((request, code))
        return code

    def __repr__(self) -> str:
        return f"FakeDiscountIssuer(prefix={self.prefix!r}, issued={len(self.issued)})"

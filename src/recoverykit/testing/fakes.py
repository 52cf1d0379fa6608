"""Test doubles for the runtime: a clock you move by hand and a channel that records.

Neither touches the network or the system clock, so a test that drives a
``Runner`` with them is deterministic: time passes only when the test says so,
and every message "sent" is kept for the test to inspect.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Final

from ..engine.commands import SendMessage
from ..errors import ChannelError
from ..policies.discounts import DiscountRequest, IssuedDiscount
from ..protocols import Receipt
from ..values.model import Channel
from ..values.time import require_aware

__all__ = ["FakeChannel", "FakeClock", "FakeDiscountIssuer", "FakeLookupChannel"]

#: The acceptance time a ``FakeChannel`` reports when it was given no clock.
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


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


class FakeChannel:
    """A channel that records every message it accepts (implements ``ChannelAdapter``).

    ``failures`` scripts what the next sends do: each item is a ``ChannelError`` to
    raise or ``None`` to accept; once the script runs out every send is accepted.
    """

    def __init__(
        self,
        channel: Channel,
        *,
        failures: Iterable[ChannelError | None] = (),
        clock: object | None = None,
    ) -> None:
        self.channel = Channel(channel)
        #: Messages accepted, in order.
        self.sent: list[SendMessage] = []
        #: Every ``send`` call, accepted or not, in order.
        self.attempts: list[SendMessage] = []
        self._script: deque[ChannelError | None] = deque(failures)
        self._clock = clock

    def fail_next(self, error: ChannelError, *, times: int = 1) -> None:
        """Make the next ``times`` sends raise ``error``."""
        self._script.extend([error] * times)

    def send(self, message: SendMessage) -> Receipt:
        self.attempts.append(message)
        if self._script:
            error = self._script.popleft()
            if error is not None:
                raise error
        self.sent.append(message)
        return Receipt(provider_id=f"fake-{message.idempotency_key}", accepted_at=self._at())

    def keys(self) -> list[str]:
        """Idempotency keys of the accepted messages, in order."""
        return [message.idempotency_key for message in self.sent]

    def _at(self) -> datetime:
        now = getattr(self._clock, "now", None)
        return now() if callable(now) else _EPOCH

    def __repr__(self) -> str:
        return f"FakeChannel({self.channel.value!r}, sent={len(self.sent)})"


class FakeLookupChannel(FakeChannel):
    """A ``FakeChannel`` whose provider can be asked about a key (``lookup``).

    The runner uses ``lookup`` after a crash to learn whether an interrupted send
    was accepted, so it can mark it sent instead of reporting it uncertain.
    """

    def lookup(self, key: str) -> Receipt | None:
        for message in self.sent:
            if message.idempotency_key == key:
                return Receipt(provider_id=f"fake-{key}", accepted_at=self._at())
        return None


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

"""Test doubles for the runtime: a clock you move by hand and a channel that records.

Neither touches the network or the system clock, so a test that drives a
``Runner`` with them is deterministic: time passes only when the test says so,
and every message "sent" is kept for the test to inspect. ``FakeClock`` and
``FakeDiscountIssuer`` live in ``recoverykit.runtime.simulated`` (``recoverykit
simulate`` runs on them too) and are the same classes here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Final

from ..engine.commands import SendMessage
from ..errors import ChannelError
from ..protocols import Receipt
from ..runtime.simulated import FakeClock, FakeDiscountIssuer
from ..values.model import Channel

__all__ = ["FakeChannel", "FakeClock", "FakeDiscountIssuer", "FakeLookupChannel"]

#: The acceptance time a ``FakeChannel`` reports when it was given no clock.
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


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

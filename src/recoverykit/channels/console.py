"""A channel that writes messages to a stream instead of a provider.

``recoverykit simulate`` uses one per channel; it is also handy while wiring a
store into an application, before any provider account exists. It accepts
every message and answers with a receipt whose id derives from the message's
idempotency key, so a resend would be visible as the same id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final, TextIO

from ..engine.commands import SendMessage
from ..protocols import Clock, Receipt
from ..values.model import Channel

__all__ = ["ConsoleChannel"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class ConsoleChannel:
    """Prints (when given a stream) and records each message; never fails."""

    def __init__(
        self, channel: Channel, *, clock: Clock | None = None, stream: TextIO | None = None
    ) -> None:
        self.channel = Channel(channel)
        #: Every message accepted, in order.
        self.sent: list[SendMessage] = []
        self._clock = clock
        self._stream = stream

    def send(self, message: SendMessage) -> Receipt:
        self.sent.append(message)
        at = self._clock.now() if self._clock is not None else _EPOCH
        if self._stream is not None:
            touch = "reply" if message.touch is None else f"touch {message.touch}"
            self._stream.write(f"[{self.channel.value} → {message.to}] {touch}: {message.text}\n")
        return Receipt(provider_id=f"console-{message.idempotency_key}", accepted_at=at)

    def __repr__(self) -> str:
        return f"ConsoleChannel({self.channel.value!r}, sent={len(self.sent)})"

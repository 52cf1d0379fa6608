"""Channel health: what a fault that is not one message's own holds back, and for how long.

A provider fault says whom it concerns (``FaultScope``). A fault of the whole channel
(a revoked token, a locked sender account, a throughput limit) would fail every
message on it, so retrying each one would burn every recovery's retries for nothing.
Instead the channel's **circuit opens**: its entries wait in the outbox, untouched and
uncounted, and one entry at a time is sent as a **probe** once the wait is over (the
provider's ``retry_after`` when it gave one, else 1 minute doubling up to 30 minutes).
The first probe that goes through closes the circuit; the waiting entries then go in
their turn, each after its own last look, at no more than the channel's send rate.

A fault of one recipient with a ``retry_after`` (WhatsApp's per-number limits) holds
back only the messages to that address, until then. Holds are kept in the store
(``HealthTransaction``), so they outlive the tick and process that opened them.

The send rate (``RecoveryPolicy.send_rates``, messages per second per channel) is a
token bucket: a second's worth of sends at most at once, then one more each
``1 / rate`` seconds by the runner's clock. An entry over the rate simply waits for a
later tick; nothing here ever sleeps.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

import attrs

from ..engine.commands import MessageKind, SendMessage
from ..errors import ChannelError, FaultScope
from ..protocols import ChannelHold, LogRecord, RecordKind
from ..values.model import Channel, address_key

__all__ = [
    "FIRST_PROBE",
    "LONGEST_PROBE",
    "Gate",
    "SendRate",
    "closed_record",
    "down_record",
    "holds_back",
    "opened",
    "probe_failed",
    "probe_wait",
    "probing",
    "recipient_hold",
    "recipient_of",
]

#: The first wait before probing a channel that went down (without a ``retry_after``).
FIRST_PROBE: Final = timedelta(minutes=1)
#: The wait between probes doubles up to this.
LONGEST_PROBE: Final = timedelta(minutes=30)


def probe_wait(probes: int, retry_after: timedelta | None = None) -> timedelta:
    """How long to wait before the next probe after ``probes`` failed ones.

    The provider's ``retry_after`` wins when it gave one: it said when to come back.
    """
    if retry_after is not None:
        return retry_after
    doubled: timedelta = FIRST_PROBE * (2 ** min(probes, 16))
    return min(doubled, LONGEST_PROBE)


def holds_back(error: ChannelError) -> bool:
    """Whether ``error`` holds the whole channel (it is never one recovery's failure)."""
    return error.scope is FaultScope.CHANNEL and not error.revoked


def _reason(error: ChannelError) -> str:
    """What the provider said about the channel, cut short (about an account, not a person)."""
    return str(error)[:300]


def opened(channel: Channel, error: ChannelError, now: datetime) -> ChannelHold:
    """The circuit a channel-wide ``error`` at ``now`` opens."""
    return ChannelHold(
        channel=channel,
        opened_at=now,
        next_probe_at=now + probe_wait(0, error.retry_after),
        reason=_reason(error),
        code=error.code,
    )


def probe_failed(hold: ChannelHold, error: ChannelError, now: datetime) -> ChannelHold:
    """``hold`` after its probe met another channel-wide ``error`` at ``now``."""
    probes = hold.probes + 1
    return attrs.evolve(
        hold,
        probes=probes,
        next_probe_at=now + probe_wait(probes, error.retry_after),
        reason=_reason(error),
        code=error.code,
    )


def probing(hold: ChannelHold, now: datetime) -> ChannelHold:
    """``hold`` while a worker sends its probe: the next probe is pushed back by the
    next wait, so other workers keep waiting, and a worker that dies mid-probe costs
    one wait, never a stuck circuit."""
    return attrs.evolve(hold, next_probe_at=now + probe_wait(hold.probes + 1))


def recipient_of(channel: Channel, address: str) -> str:
    """The key a recipient hold is kept under: a digest, so the store keeps no address."""
    key = f"{channel.value}:{address_key(channel, address)}"
    return hashlib.sha256(key.encode()).hexdigest()


def recipient_hold(message: SendMessage, error: ChannelError, now: datetime) -> ChannelHold | None:
    """The hold on ``message``'s recipient that ``error`` asks for, if it names a wait."""
    if error.scope is not FaultScope.RECIPIENT or error.retry_after is None:
        return None
    return ChannelHold(
        channel=message.channel,
        opened_at=now,
        next_probe_at=now + error.retry_after,
        # Not the provider's words: about one recipient they may quote the number.
        reason=f"the provider asked to wait {error.retry_after.total_seconds():.0f} s "
        "before the next message to this recipient",
        code=error.code,
        recipient=recipient_of(message.channel, message.to),
    )


def down_record(hold: ChannelHold) -> LogRecord:
    """The event-log line of a circuit that opened."""
    return LogRecord(
        hold.opened_at, RecordKind.CHANNEL_DOWN, None, None,
        {"channel": hold.channel.value, "code": hold.code, "reason": hold.reason,
         "next_probe_at": hold.next_probe_at.isoformat()},
    )  # fmt: skip


def closed_record(hold: ChannelHold, now: datetime) -> LogRecord:
    """The event-log line of a circuit that closed at ``now``."""
    return LogRecord(
        now, RecordKind.CHANNEL_UP, None, None,
        {"channel": hold.channel.value, "down_since": hold.opened_at.isoformat(),
         "down_seconds": (now - hold.opened_at).total_seconds(), "probes": hold.probes,
         "code": hold.code},
    )  # fmt: skip


#: Rounding room: a clock in whole microseconds cannot land exactly on 1/3 of a second.
_SLACK: Final = 1e-6


class SendRate:
    """A channel's send rate as a token bucket on the runner's clock.

    At most ``max(1, per_second)`` sends at once (one second's worth), then one more
    every ``1 / per_second`` seconds. The bucket lives in the runner, so it holds
    within and across its ticks; several workers each keep their own.
    """

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self.capacity = max(1.0, per_second)
        self.tokens = self.capacity
        self.at: datetime | None = None

    def _fill(self, now: datetime) -> None:
        if self.at is not None and now > self.at:
            earned = (now - self.at).total_seconds() * self.per_second
            self.tokens = min(self.capacity, self.tokens + earned)
        if self.at is None or now > self.at:
            self.at = now

    def ready(self, now: datetime) -> bool:
        """Whether one more send fits at ``now``."""
        self._fill(now)
        return self.tokens >= 1.0 - _SLACK

    def take(self, now: datetime) -> None:
        """Count one send at ``now``."""
        self._fill(now)
        self.tokens -= 1.0

    def next_at(self, now: datetime) -> datetime:
        """When the next send fits (``now`` when one already does)."""
        self._fill(now)
        missing = max(0.0, 1.0 - _SLACK - self.tokens)
        return now + timedelta(microseconds=math.ceil(missing / self.per_second * 1e6))


class Gate:
    """One delivery pass's view of the holds and rates: which entries may go now.

    Built from the holds read once at the start of the pass and kept current as the
    pass opens, probes and closes circuits, so a batch stops sending on a channel the
    moment it goes down.
    """

    def __init__(self, holds: list[ChannelHold], rates: Mapping[Channel, SendRate]) -> None:
        self.circuits: dict[Channel, ChannelHold] = {}
        self.recipients: dict[tuple[Channel, str], ChannelHold] = {}
        for hold in holds:
            self.keep(hold)
        self.rates = rates

    def keep(self, hold: ChannelHold) -> None:
        if hold.whole_channel:
            self.circuits[hold.channel] = hold
        else:
            self.recipients[(hold.channel, hold.recipient)] = hold

    def forget(self, hold: ChannelHold) -> None:
        if hold.whole_channel:
            self.circuits.pop(hold.channel, None)
        else:
            self.recipients.pop((hold.channel, hold.recipient), None)

    def admits(self, message: SendMessage, now: datetime) -> bool:
        """Whether ``message`` may take its last look now (else it waits in the outbox)."""
        channel = message.channel
        circuit = self.circuits.get(channel)
        if circuit is not None and now < circuit.next_probe_at:
            return False
        if message.kind is not MessageKind.REPLY:
            # A reply answers the customer's own message: a per-recipient marketing or
            # pacing limit is no reason to keep an opt-out confirmation waiting.
            held = self.recipients.get((channel, recipient_of(channel, message.to)))
            if held is not None and now < held.next_probe_at:
                return False
        rate = self.rates.get(channel)
        return rate is None or rate.ready(now)

    def circuit(self, channel: Channel) -> ChannelHold | None:
        return self.circuits.get(channel)

    def expired(self, now: datetime) -> list[ChannelHold]:
        """Recipient holds whose time is over (the store may forget them)."""
        return [hold for hold in self.recipients.values() if hold.next_probe_at <= now]

    def sending(self, channel: Channel, now: datetime) -> None:
        """Count a send on ``channel`` against its rate."""
        rate = self.rates.get(channel)
        if rate is not None:
            rate.take(now)

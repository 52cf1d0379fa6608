"""The runner's side of channel health: holds read from and written to the store, reported.

``health`` decides (pure); this module keeps the holds in the store (or, for a store
without ``HealthTransaction``, in the runner's memory), writes the ``channel_down`` and
``channel_up`` records in the event log, logs for operators and calls the optional
``ChannelHealthSink``. ``outbox.Delivery`` calls it around each send.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Final

from ..channels.errors import OUTCOME_UNKNOWN
from ..engine.policy import RecoveryPolicy
from ..errors import ChannelError, FaultScope
from ..protocols import (
    WHOLE_CHANNEL,
    ChannelHealthSink,
    ChannelHold,
    Clock,
    HealthTransaction,
    OutboxEntry,
    Receipt,
    Store,
)
from ..values.model import Channel
from .health import (
    Gate,
    SendRate,
    closed_record,
    down_record,
    holds_back,
    opened,
    probe_failed,
    probing,
    recipient_hold,
)

__all__ = ["Circuits"]

_log: Final = logging.getLogger("recoverykit.runtime")
#: Failure codes that say nothing about whether the channel works.
_NO_ANSWER: Final = frozenset({OUTCOME_UNKNOWN, "unexpected_exception", "no_adapter"})


class Circuits:
    """Channel circuits, recipient holds and send rates for ``Delivery``."""

    policy: RecoveryPolicy
    store: Store
    clock: Clock
    health: ChannelHealthSink | None

    # -- state kept by the runner ---------------------------------------------------------------
    def _memory_holds(self) -> dict[tuple[Channel, str], ChannelHold]:
        """The holds of a store that cannot keep them (this process only)."""
        found: dict[tuple[Channel, str], ChannelHold] | None = getattr(self, "_held", None)
        if found is None:
            found = {}
            self._held = found
        return found

    def _send_rates(self) -> dict[Channel, SendRate]:
        """One bucket per rate-limited channel, kept across ticks (rebuilt if the rate changes)."""
        rates: dict[Channel, SendRate] | None = getattr(self, "_rates", None)
        if rates is None:
            rates = {}
            self._rates = rates
        wanted = self.policy.send_rates
        for channel in list(rates):
            if channel not in wanted:
                del rates[channel]
        for channel, per_second in wanted.items():
            if channel not in rates or rates[channel].per_second != per_second:
                rates[channel] = SendRate(per_second)
        return rates

    def _gate(self, now: datetime) -> Gate:
        """The holds as stored now, and the rates; recipient holds that ran out are forgotten."""
        with self.store.transaction() as tx:
            if isinstance(tx, HealthTransaction):
                holds = tx.holds()
                for hold in holds:
                    if not hold.whole_channel and hold.next_probe_at <= now:
                        tx.drop_hold(hold.channel, hold.recipient)
            else:
                holds = list(self._memory_holds().values())
        return Gate(holds, self._send_rates())

    # -- around one send ----------------------------------------------------------------------
    def _claim_probe(self, gate: Gate, entry: OutboxEntry, now: datetime) -> None:
        """Before ``entry`` goes out on a down channel as its probe: push the next probe back,
        so other workers keep waiting while this one asks."""
        circuit = gate.circuit(entry.message.channel)
        if circuit is None:
            return
        claimed = probing(circuit, now)
        gate.keep(claimed)  # one probe per wait, whatever its answer
        with self.store.transaction() as tx:
            if isinstance(tx, HealthTransaction):
                tx.save_hold(claimed)
            else:
                self._memory_holds()[(claimed.channel, WHOLE_CHANNEL)] = claimed
        _log.info(
            "probing %s with one message (down since %s)",
            circuit.channel.value, circuit.opened_at.isoformat(),
            extra={"channel": circuit.channel.value, "outbox_key": entry.key,
                   "probes": circuit.probes},
        )  # fmt: skip

    def _answered(
        self, gate: Gate, channel: Channel, outcome: Receipt | ChannelError, now: datetime
    ) -> None:
        """The provider took a message on ``channel`` (or refused that message alone):
        the channel works, so its circuit closes."""
        circuit = gate.circuit(channel)
        if circuit is None:
            return
        if isinstance(outcome, ChannelError) and (
            outcome.scope is FaultScope.CHANNEL or outcome.code in _NO_ANSWER
        ):
            return
        gate.forget(circuit)
        with self.store.transaction() as tx:
            if isinstance(tx, HealthTransaction):
                closed = tx.drop_hold(channel)
            else:
                closed = self._memory_holds().pop((channel, WHOLE_CHANNEL), None)
            if closed is not None:
                tx.log(closed_record(closed, now))
        if closed is None:
            return  # another worker closed it and reported it
        _log.warning(
            "channel %s is back after %.0f s and %d failed probes; waiting messages go "
            "out at its send rate", channel.value, (now - closed.opened_at).total_seconds(),
            closed.probes,
            extra={"channel": channel.value, "down_since": closed.opened_at.isoformat(),
                   "probes": closed.probes, "code": closed.code},
        )  # fmt: skip
        if self.health is not None:
            try:
                self.health.channel_up(closed, now)
            except Exception:
                _log.exception("the channel health sink failed on channel_up for %s", channel.value)

    def _hold_back(
        self, gate: Gate, entry: OutboxEntry, error: ChannelError, attempted_at: datetime
    ) -> bool:
        """Act on the scope of a failed send; ``True`` when ``entry`` now waits instead of failing.

        A channel-wide fault opens the channel's circuit (or, for a failed probe, sets
        the next probe later) and puts the entry back to wait: nothing is counted
        against its recovery. A recipient's fault with a ``retry_after`` holds that
        recipient and is still the entry's own failure.
        """
        now = attempted_at
        message = entry.message
        if not holds_back(error):
            hold = recipient_hold(message, error, now)
            if hold is not None:
                gate.keep(hold)
                with self.store.transaction() as tx:
                    if isinstance(tx, HealthTransaction):
                        tx.save_hold(hold)
                    else:
                        self._memory_holds()[(hold.channel, hold.recipient)] = hold
            return False
        current = gate.circuit(message.channel)
        new = False
        with self.store.transaction() as tx:
            if not isinstance(tx, HealthTransaction):
                hold = opened(message.channel, error, now) if current is None else current
                if current is None:
                    new = True
                    tx.log(down_record(hold))
                else:
                    hold = probe_failed(current, error, now)
                self._memory_holds()[(hold.channel, WHOLE_CHANNEL)] = hold
                waits = False
            else:
                waits = tx.release_attempt(entry.key, attempted_at)
                if current is None:
                    hold = opened(message.channel, error, now)
                    new = tx.open_hold(hold)
                    if new:
                        tx.log(down_record(hold))
                    else:  # another worker opened it first
                        hold = next(
                            (
                                h
                                for h in tx.holds()
                                if h.whole_channel and h.channel is hold.channel
                            ),
                            hold,
                        )
                else:
                    hold = probe_failed(current, error, now)
                    tx.save_hold(hold)
        gate.keep(hold)
        channel = message.channel.value
        if new:
            _log.warning(
                "channel %s is down (code %s): its messages wait, nothing counts against "
                "recoveries; first probe at %s", channel, error.code,
                hold.next_probe_at.isoformat(),
                extra={"channel": channel, "code": error.code, "scope": error.scope.value,
                       "next_probe_at": hold.next_probe_at.isoformat()},
            )  # fmt: skip
            if self.health is not None:
                try:
                    self.health.channel_down(hold)
                except Exception:
                    _log.exception("the channel health sink failed on channel_down for %s", channel)
        elif current is not None:
            _log.info(
                "channel %s is still down (code %s); next probe at %s", channel, error.code,
                hold.next_probe_at.isoformat(),
                extra={"channel": channel, "code": error.code, "probes": hold.probes,
                       "next_probe_at": hold.next_probe_at.isoformat()},
            )  # fmt: skip
        return waits


def _circuit_of(tx: HealthTransaction, fallback: ChannelHold) -> ChannelHold:
    """The circuit kept for ``fallback``'s channel (another worker's), else ``fallback``."""
    for hold in tx.holds():
        if hold.whole_channel and hold.channel is fallback.channel:
            return hold
    return fallback

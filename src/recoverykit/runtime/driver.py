"""A driver for whole stories: the real runtime core on a virtual clock, in memory.

``EngineDriver`` runs the same ``Runner`` users run (routing, applying decisions,
the last look and delivery) over a ``MemoryStore``, with a recording channel for
every channel and a clock that moves only as the story says. Events are fed in
time order and due wake-ups fire in between, so a test reads what was sent, when,
and the decisions behind it, knowing that the production path produced them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import attrs

from ..engine.commands import MessageKind, SendMessage
from ..engine.events import Event, WakeupDue
from ..engine.machine import Decision
from ..engine.policy import Context, RecoveryPolicy
from ..engine.state import RecoveryState
from ..policies.consent import ConsentEvent, ConsentLedger
from ..policies.discounts import DiscountIssuer
from ..policies.stock import StockSource
from ..protocols import ChannelAdapter, Receipt
from ..stores.memory import MemoryStore
from ..values.model import Channel
from .apply import DirectWrites
from .runner import Runner
from .simulated import FakeClock

__all__ = ["EngineDriver", "Sent"]

#: Where the clock stands before the first event (it jumps to the first event's time).
_START = datetime(2000, 1, 1, tzinfo=UTC)


@attrs.frozen
class Sent:
    """A message a channel accepted, with the instant it went out."""

    at: datetime
    message: SendMessage


class _Recorder:
    """A channel that accepts everything and notes the instant."""

    def __init__(self, channel: Channel, driver: EngineDriver) -> None:
        self.channel = channel
        self._driver = driver

    def send(self, message: SendMessage) -> Receipt:
        at = self._driver.clock.now()
        self._driver.sent.append(Sent(at, message))
        return Receipt(provider_id=f"driver-{message.idempotency_key}", accepted_at=at)


class EngineDriver:
    """Drive a store's recoveries through the real runtime core, without any I/O."""

    def __init__(
        self,
        policy: RecoveryPolicy,
        *,
        consent: Iterable[ConsentEvent] = (),
        stock: StockSource | None = None,
        discounts: DiscountIssuer | None = None,
    ) -> None:
        self.policy = policy
        self.clock = FakeClock(_START)
        self.store = MemoryStore()
        channels: dict[Channel, ChannelAdapter] = {
            channel: _Recorder(channel, self) for channel in Channel
        }
        #: The runner every event goes through (``stock`` and ``discounts`` are asked
        #: before each touch, as in production).
        self.runner = Runner(
            policy, self.store, channels, self.clock, stock=stock, discounts=discounts
        )
        self._customers: set[str] = set()
        with self.store.transaction() as tx:
            for event in consent:
                tx.append_consent(event)
                self._customers.add(event.customer_id)
        #: Messages the channels accepted, in order.
        self.sent: list[Sent] = []
        #: Every decision, with the instant and the event that caused it.
        self.decisions: list[tuple[datetime, Event, Decision]] = []
        self.now: datetime | None = None
        self._wakeups = 0

    @property
    def stock(self) -> StockSource | None:
        return self.runner.stock

    @property
    def discounts(self) -> DiscountIssuer | None:
        return self.runner.discounts

    # -- feeding ----------------------------------------------------------------------------
    def feed(self, event: Event, *, now: datetime | None = None) -> list[Decision]:
        """Apply ``event`` at ``now`` (default: its own time) to every recovery it reaches."""
        at = now if now is not None else event.at
        self.run_until(at)
        return self._apply(event, at)

    def run_until(self, until: datetime) -> None:
        """Fire every wake-up due up to ``until``, in time order."""
        while True:
            due = [
                (state.wakeup_at, state.checkout_id)
                for state in self.store.states()
                if state.open and state.wakeup_at is not None and state.wakeup_at <= until
            ]
            if not due:
                break
            at, checkout_id = min(due)
            assert at is not None
            self.now = max(self.now or at, at)
            before = self.states[checkout_id]
            # The tick applies wake-ups without an event id; each gets its own here.
            self._wakeups += 1
            self._apply(WakeupDue(checkout_id, at, id=f"wakeup-{self._wakeups}"), self.now)
            after = self.states[checkout_id]
            if after.open and after.wakeup_at == at and after.sent == before.sent:
                msg = f"the engine did not move on from the wake-up of {checkout_id} at {at}"
                raise AssertionError(msg)
        self.now = max(self.now or until, until)

    def _apply(self, event: Event, at: datetime) -> list[Decision]:
        self.clock.set(at)
        self.now = at
        decisions = self.runner.handle(event)
        for decision in decisions:
            self._customers.add(decision.state.customer_id)
            self.decisions.append((at, event, decision))
        return decisions

    # -- reading ----------------------------------------------------------------------------
    @property
    def states(self) -> dict[str, RecoveryState]:
        """Every recovery as stored now, by checkout id."""
        return {state.checkout_id: state for state in self.store.states()}

    @property
    def ledger(self) -> ConsentLedger:
        """Every consent event recorded so far, for every customer the story named."""
        with self.store.transaction() as tx:
            events = [e for c in sorted(self._customers) for e in tx.ledger(c).events]
        return ConsentLedger(sorted(events, key=lambda event: event.at))

    def context(self, customer_id: str) -> Context:
        """What a decision for ``customer_id`` would read now."""
        since = (self.now or _START) - self.runner.history_window
        with self.store.transaction() as tx:
            return DirectWrites(tx, since=since).context(customer_id)

    def touches(self, checkout_id: str | None = None) -> list[Sent]:
        return [
            sent
            for sent in self.sent
            if sent.message.kind is MessageKind.TOUCH
            and (checkout_id is None or sent.message.checkout_id == checkout_id)
        ]

    def replies(self, checkout_id: str | None = None) -> list[Sent]:
        return [
            sent
            for sent in self.sent
            if sent.message.kind is MessageKind.REPLY
            and (checkout_id is None or sent.message.checkout_id == checkout_id)
        ]

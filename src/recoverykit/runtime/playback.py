"""Playing a scenario through the real runner on a virtual clock.

``recoverykit simulate`` and the tests that check it share this loop. The clock
moves from one instant to the next at which something happens: a scenario event,
a simulated receipt arriving, or a recovery falling due. Every recovery due at an
instant is claimed in one ``run_due`` batch, so a whole night's deferred touches
that wake at nine go out together; a recovery whose delay put it at its own
instant is decided at that instant, exactly as a runner ticking at that moment
would decide it.

The loop is a generator that yields after each step: a caller drains the log
lines the step wrote (``MemoryStore(log_to=...)``) and shows progress, so
nothing has to wait for the end of the run or hold the whole log.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Final

from ..channels.console import ConsoleChannel
from ..engine.events import CheckoutAbandoned, MessageRead
from ..protocols import ChannelAdapter, Store
from ..values.model import Channel
from .receipts import Receipt, SimulatedReceipts
from .runner import Runner
from .scenario import DeliveryReport, Scenario, ScenarioEvent
from .simulated import FakeClock, FakeDiscountIssuer

__all__ = ["play", "run_scenario"]

#: Safety stop for a loop that makes no progress (a store bug, not a scenario's).
MAX_STEPS: Final = 100_000_000
#: Most recoveries ``run_due`` takes in one batch.
BATCH: Final = 500
#: Customers (and consent events) stored per transaction before the run starts.
SETUP_SLICE: Final = 1000


def run_scenario(scenario: Scenario, store: Store, *, until: datetime | None = None) -> Runner:
    """Play ``scenario`` against ``store`` with the real runner on a virtual clock.

    Scenario events and due wake-ups are taken in time order (an event first
    when both fall on the same instant), until ``until``. With the scenario's
    ``receipts`` setting, each touch the simulated providers accept gets its
    simulated delivery, read or failure receipt at the time it would arrive.
    """
    runner = make_runner(scenario, store)
    for _ in play(scenario, runner, until=until):
        pass
    return runner


def make_runner(scenario: Scenario, store: Store) -> Runner:
    """The runner a simulation uses: console channels, a fake clock and discount issuer."""
    clock = FakeClock(scenario.start)
    consoles = {channel: ConsoleChannel(channel, clock=clock) for channel in Channel}
    # A simulation has no store system to create codes in: a clearly named fake makes
    # single-use codes (``SIM-0001``...) so the run shows where a real one would go.
    issuer = FakeDiscountIssuer() if scenario.policy.discounts is not None else None
    channels: dict[Channel, ChannelAdapter] = dict(consoles)
    return Runner(scenario.policy, store, channels, clock, discounts=issuer)


def play(
    scenario: Scenario, runner: Runner, *, until: datetime | None = None
) -> Iterator[datetime]:
    """Run the scenario step by step, yielding the virtual time after each step."""
    end = scenario.until if until is None else until
    store = runner.store
    clock = runner.clock
    assert isinstance(clock, FakeClock)
    consoles = {
        channel: adapter
        for channel, adapter in runner.channels.items()
        if isinstance(adapter, ConsoleChannel)
    }
    receipts = _Receipts(scenario.receipts, consoles, scenario.policy.read_signals)
    # In slices: one transaction's undo list for every customer of a big file would
    # cost more memory than the customers themselves.
    for first in range(0, len(scenario.customers), SETUP_SLICE):
        with store.transaction() as tx:
            for customer in scenario.customers[first : first + SETUP_SLICE]:
                tx.save_customer(customer)
    for first in range(0, len(scenario.consent), SETUP_SLICE):
        with store.transaction() as tx:
            for grant in scenario.consent[first : first + SETUP_SLICE]:
                tx.append_consent(grant)
    timeline = _Ahead(_timeline(scenario))
    for _ in range(MAX_STEPS):
        upcoming = timeline.peek()
        receipt_at = receipts.next_at()
        from_receipts = receipt_at is not None and (upcoming is None or receipt_at < upcoming.at)
        next_at = receipt_at if from_receipts else None if upcoming is None else upcoming.at
        due = store.next_due()
        if due is not None and (next_at is None or due < next_at):
            if due > end:
                break
            clock.set(max(due, clock.now()))
            runner.run_due(BATCH)
            receipts.collect(clock.now())
            yield clock.now()
            continue
        if next_at is None or next_at > end:
            break
        if from_receipts:
            event: ScenarioEvent = receipts.pop()
        else:
            event = timeline.take()
        clock.set(max(next_at, clock.now()))
        runner.handle(_resolve(event, store))
        receipts.collect(clock.now())
        yield clock.now()


def _timeline(scenario: Scenario) -> Iterator[ScenarioEvent]:
    """``scenario.timeline()``, made as it is read: an abandonment is built when its turn comes.

    The scenario's events are already in time order; the checkouts are ordered by
    an index of positions, so no second copy of either is made.
    """
    checkouts = scenario.checkouts
    order = sorted(range(len(checkouts)), key=lambda index: checkouts[index].abandoned_at)
    left = ((checkouts[index].abandoned_at, 0, index) for index in order)
    later = ((event.at, 1, index) for index, event in enumerate(scenario.events))
    for at, kind, index in heapq.merge(left, later):
        if not scenario.start <= at <= scenario.until:
            continue
        if kind == 0:
            checkout = checkouts[index]
            yield CheckoutAbandoned(checkout, checkout.abandoned_at)
        else:
            yield scenario.events[index]


class _Ahead:
    """A time-ordered iterable with one item of look-ahead."""

    def __init__(self, items: Iterable[ScenarioEvent]) -> None:
        self._items = iter(items)
        self._next: ScenarioEvent | None = next(self._items, None)

    def peek(self) -> ScenarioEvent | None:
        return self._next

    def take(self) -> ScenarioEvent:
        item = self._next
        assert item is not None
        self._next = next(self._items, None)
        return item


class _Receipts:
    """Simulated receipts waiting to arrive, in time order, for the sends seen so far."""

    def __init__(
        self,
        model: SimulatedReceipts | None,
        consoles: dict[Channel, ConsoleChannel],
        read_signals: frozenset[Channel],
    ) -> None:
        self.model = model
        self.consoles = consoles
        #: Reads arrive only from channels the policy says report them: a simulated
        #: e-mail open for a store that tracks none would be a fact no store has.
        self.read_signals = read_signals
        self.waiting: list[tuple[datetime, int, Receipt]] = []
        self.counter = 0

    def collect(self, now: datetime) -> None:
        """Draw the receipts of every message sent since the last call (sent at ``now``).

        The consoles' lists are emptied as they are read: a long run keeps only
        the receipts still to come, not every message it ever sent.
        """
        for channel, console in self.consoles.items():
            sent = console.sent
            if not sent:
                continue
            if self.model is not None:
                for message in sent:
                    for receipt in self.model.for_send(message, now):
                        if isinstance(receipt, MessageRead) and channel not in self.read_signals:
                            continue
                        self.counter += 1
                        heapq.heappush(self.waiting, (receipt.at, self.counter, receipt))
            sent.clear()

    def next_at(self) -> datetime | None:
        return self.waiting[0][0] if self.waiting else None

    def pop(self) -> Receipt:
        return heapq.heappop(self.waiting)[2]


def _resolve(event: ScenarioEvent, store: Store) -> Any:
    """Turn a delivery report into an engine event on the channel the touch went out on."""
    if not isinstance(event, DeliveryReport):
        return event
    channel = event.channel
    if channel is None:
        with store.transaction() as tx:
            found = tx.load(event.checkout_id)
        sent = [] if found is None else [s for s in found.state.sent if s.touch == event.touch]
        channel = sent[-1].channel if sent else Channel.SMS
    return event.resolve(channel)

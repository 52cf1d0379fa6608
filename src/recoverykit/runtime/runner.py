"""The runner: drives the pure engine against a store and channels, crash-safely.

``decide`` only says what to do; the runner does it, through the runtime core that
``EngineDriver`` and the command line share:

* ``routing``: which recoveries an event reaches (SEAMS 2);
* ``inbound``: webhook facts → engine events (``receive``);
* ``apply``: a decision's commands written with its state, in one transaction;
* ``outbox``: the last look, then delivery one entry at a time, and ``reconcile``;
* ``records``: the kinds of line the event log holds.

A unit of work commits the new state and its outbox entries together, then hands
each entry to its channel after a last look, marking it attempted just before its
own send: a process killed at any point loses at most the entry it was sending
(reported ``uncertain``), and never sends one twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import Final, Self

from ..detector import CheckoutActivity, DetectorPolicy, ShopOrder
from ..engine.events import CheckoutAbandoned, ConsentChanged, Event, ReplyReceived
from ..engine.machine import Decision
from ..engine.policy import RecoveryPolicy
from ..errors import ConflictError
from ..policies.discounts import DiscountIssuer
from ..policies.stock import StockSource
from ..policies.vocabulary import ReplyClassifier, Vocabulary
from ..protocols import (
    ChannelAdapter,
    ChannelHealthSink,
    Clock,
    HandOffSink,
    LogRecord,
    Store,
    Transaction,
    batched,
)
from ..values.model import Channel
from .apply import Deciding, Pending, Quarantine
from .detection import due_abandonments, observe_activity, observe_order
from .inbound import InboundFacts
from .outbox import Delivery
from .records import RecordKind, arm_data, event_data
from .routing import customer_of, route

__all__ = ["Runner"]

#: The runtime layer's logger (docs/reference/logging.md): no personal data at INFO+.
_log: Final = logging.getLogger("recoverykit.runtime")


class Runner(Delivery, InboundFacts):
    """Runs recoveries for one store: webhooks in through ``handle``, the tick through ``run_due``.

    ``channels`` maps each channel to the adapter that sends on it; a message for
    a channel without an adapter fails permanently (the engine then tries the
    next channel or finishes as undeliverable). ``worker`` names this process in
    claims, so several workers can share one store; ``lease`` is how long a claim
    holds before another worker may take the recovery over. ``vocabulary`` adds
    the store's own reply words and ``classifier`` reads inbound texts before the
    built-in tables (``recoverykit.Vocabulary``, ``ReplyClassifier``); a hand-off
    goes to ``handoffs`` and the store hands the recovery back with
    ``handle(RecoveryResumed(checkout_id, at))``.

    ``health`` is told when a channel goes down for every message (a revoked token,
    a locked sender account) and when it comes back; the runner holds such a channel
    itself (its messages wait, one probe at a time) and honours the send rates in
    ``policy.send_rates``.

    ``close()`` releases the store and every adapter that has a ``close`` (their
    connection pools); use the runner as a context manager so a scheduler's tick
    or a web worker's shutdown never leaves a connection behind.
    """

    def __init__(
        self,
        policy: RecoveryPolicy,
        store: Store,
        channels: Mapping[Channel, ChannelAdapter],
        clock: Clock,
        *,
        handoffs: HandOffSink | None = None,
        worker: str = "worker-1",
        lease: timedelta = timedelta(minutes=5),
        history_window: timedelta = timedelta(days=30),
        stock: StockSource | None = None,
        discounts: DiscountIssuer | None = None,
        detector: DetectorPolicy | None = None,
        health: ChannelHealthSink | None = None,
        vocabulary: Vocabulary | None = None,
        classifier: ReplyClassifier | None = None,
    ) -> None:
        self.policy = policy
        self.store = store
        self.channels: dict[Channel, ChannelAdapter] = dict(channels)
        self.clock = clock
        self.handoffs = handoffs
        #: Told when a channel goes down and comes back (``docs/how-to/run-in-production.md``).
        self.health = health
        self.worker = worker
        self.lease = lease
        self.history_window = history_window
        self.stock = stock
        self.discounts = discounts
        #: When quiet checkout activity counts as abandoned (``observe`` and ``detect``).
        self.detector = detector if detector is not None else DetectorPolicy()
        #: The store's own reply words, read with the built-in ones (``receive``).
        self.vocabulary = vocabulary
        #: Asked before the built-in reading of every inbound text (``receive``).
        self.classifier = classifier
        self._closed = False

    # -- lifetime ------------------------------------------------------------------------------
    def close(self) -> None:
        """Close every channel adapter that can be closed, then the store; once.

        An adapter serving several channels is closed once. A failure to close one
        adapter does not keep the others or the store open: the first error is raised
        after all of them were tried.
        """
        if self._closed:
            return
        self._closed = True
        first: BaseException | None = None
        seen: set[int] = set()
        for adapter in self.channels.values():
            close = getattr(adapter, "close", None)
            if id(adapter) in seen or not callable(close):
                continue
            seen.add(id(adapter))
            try:
                close()
            except Exception as exc:
                first = first or exc
        try:
            self.store.close()
        except Exception as exc:
            first = first or exc
        if first is not None:
            raise first

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def deciding(self) -> Deciding:
        """How this runner decides: its policy and live sources (read fresh each time)."""
        return Deciding(self.policy, self.stock, self.discounts, self.history_window)

    # -- events --------------------------------------------------------------------------------
    def handle(self, event: Event) -> list[Decision]:
        """Apply one inbound event (webhook) to every recovery it concerns, then send.

        A replayed event (same ``id``) changes nothing and is logged as ignored. If
        another worker saved one of the recoveries in between, the whole event is
        retried once on fresh state. A recovery whose data makes the engine raise
        is quarantined; the event still reaches the others.
        """
        return self._handle(event, answer=True)

    def _handle(self, event: Event, *, answer: bool) -> list[Decision]:
        """``handle``; ``answer=False`` sends no reply (the provider answered already)."""
        pending = Pending()
        decisions: list[Decision] = []
        for attempt in (1, 2):
            now = self.clock.now()
            pending = Pending()
            try:
                with self.store.transaction() as tx:
                    decisions = self._handle_in(tx, event, now, pending, answer=answer)
                break
            except ConflictError:
                if attempt == 2:
                    raise
        self._after_commit(pending)
        return decisions

    def _handle_in(
        self,
        tx: Transaction,
        event: Event,
        now: datetime,
        pending: Pending,
        *,
        answer: bool = True,
    ) -> list[Decision]:
        kind = type(event).__name__
        checkout_id = getattr(event, "checkout_id", None)
        customer_id = customer_of(event)
        if not tx.mark_seen(event.id):
            tx.log(
                LogRecord(
                    now, RecordKind.IGNORED, checkout_id, customer_id,
                    {"reason": "duplicate", "event": kind, "detail": "event id seen before"},
                )
            )  # fmt: skip
            return []
        targets, event = route(tx, event, now, history_window=self.history_window)
        if targets:
            customer_id = customer_id or targets[0][1].customer_id
            checkout_id = checkout_id or getattr(targets[0][0], "checkout_id", None)
        data = event_data(event)
        if isinstance(event, CheckoutAbandoned):
            data.update(arm_data(self.policy, event.checkout.id))
        tx.log(LogRecord(now, RecordKind.EVENT, checkout_id, customer_id, data))
        if (
            not targets
            and isinstance(event, ReplyReceived)
            and self._consent_alone(tx, event, now, pending, confirm=answer)
        ):
            return []
        if not targets and not isinstance(event, ConsentChanged):
            tx.log(
                LogRecord(
                    now, RecordKind.IGNORED, checkout_id, customer_id,
                    {"reason": "unknown", "event": kind, "detail": "no recovery to apply it to"},
                )
            )  # fmt: skip
            return []
        # One inbound message gets at most one answer (SEAMS 1), from the first target:
        # the recovery last touched on that channel when there is one.
        deciding = self.deciding
        decisions: list[Decision] = []
        for index, (routed, target) in enumerate(targets):
            try:
                decisions.append(
                    deciding.apply(tx, target, routed, now, pending, answer=answer and index == 0)
                )
            except Quarantine:
                continue  # parked and logged; the event still reaches the others
        return decisions

    # -- shop facts and the abandonment detector ---------------------------------------------
    def observe(self, fact: CheckoutActivity | ShopOrder) -> list[Decision]:
        """Take one shop fact (``recoverykit.sources``, or the shop's own hook).

        Checkout activity updates the checkout's watch (``detect`` later decides whether
        it was abandoned) and records the consent evidence it carried; an order completes
        its checkout and stops every recovery it concerns. A replayed fact changes
        nothing. Needs a store that keeps detector state (``DetectorTransaction``).
        """
        now = self.clock.now()
        with self.store.transaction() as tx:
            if isinstance(fact, ShopOrder):
                events = observe_order(tx, fact, now=now)
            elif isinstance(fact, CheckoutActivity):
                events = observe_activity(tx, fact, now=now, policy=self.detector)
            else:
                msg = (
                    "observe() takes checkout activity or a ShopOrder "
                    f"(got {type(fact).__name__}); pass engine events to handle()"
                )
                raise TypeError(msg)
        decisions: list[Decision] = []
        for event in events:
            decisions.extend(self.handle(event))
        return decisions

    def detect(self, limit: int = 500) -> int:
        """The detector's tick: check up to ``limit`` due checkouts, start their recoveries.

        Each abandonment starts in the same transaction that marks its checkout, so a
        crash neither loses nor repeats one. Returns how many recoveries started. Call
        it on a fixed period (every minute), next to ``run_due``.
        """
        started = 0
        pending = Pending()
        for attempt in (1, 2):
            now = self.clock.now()
            pending = Pending()
            try:
                with self.store.transaction() as tx:
                    run = due_abandonments(tx, now=now, policy=self.detector, limit=limit)
                    for event in run.events:
                        self._handle_in(tx, event, now, pending)
                    started = sum(isinstance(event, CheckoutAbandoned) for event in run.events)
                break
            except ConflictError:
                if attempt == 2:
                    raise
        self._after_commit(pending)
        return started

    def _checkpoint(self) -> None:
        """Let a store with a write-ahead log (``SQLiteStore``) write it out, between ticks'
        work rather than inside a commit; a store without one has nothing to do."""
        checkpoint = getattr(self.store, "checkpoint", None)
        if callable(checkpoint):
            checkpoint()

    # -- the tick ----------------------------------------------------------------------------
    def run_due(self, limit: int = 500) -> int:
        """Claim up to ``limit`` due recoveries, decide them in one transaction, send.

        Returns how many messages the channels accepted. Call it from a scheduler
        (cron, Celery beat, a loop that sleeps until ``store.next_due()``).
        """
        waited = self._deliver_waiting()
        now = self.clock.now()
        claimed = self.store.claim_due(now, limit=limit, lease=self.lease, worker=self.worker)
        if not claimed:
            _log.debug(
                "run_due: nothing due",
                extra={"claimed": 0, "sent": waited, "worker": self.worker},
            )
            self._checkpoint()
            return waited
        pending = Pending()
        deciding = self.deciding
        for attempt in (1, 2):
            pending = Pending()
            try:
                with self.store.transaction() as tx:
                    deciding.decide_claimed(batched(tx), claimed, now, pending)
                break
            except ConflictError:
                if attempt == 2:
                    raise
        sent = waited + self._after_commit(pending)
        if len(claimed) < limit:
            self._checkpoint()  # the due work is done: the log can go to disk now
        _log.info(
            "run_due: %d recoveries decided, %d messages sent",
            len(claimed),
            sent,
            extra={"claimed": len(claimed), "sent": sent, "worker": self.worker},
        )
        return sent

"""The runner: drives the pure engine against a store and channels, crash-safely.

``decide`` only says what to do; the runner does it. Each unit of work follows
the same order, so a process that dies at any point neither loses a touch nor
sends one twice (SEAMS 4 and 6):

1. decide, then write the outbox entries, the contact history, the log lines and
   the new state in **one** store transaction;
2. record durably that the entries are being handed to the channel
   (``mark_attempted``);
3. send each entry, passing its idempotency key;
4. record what the channel answered, one commit per batch (``mark_outbox_many``).

After a crash, ``reconcile`` finds entries still pending: those never handed
over are sent now; those handed over but never marked are asked about through
the channel's optional ``lookup(key)``, and without it are marked ``uncertain``
and reported rather than sent again. At most once, always; exactly once where
the provider can be asked.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import attrs

from ..channels.errors import OUTCOME_UNKNOWN
from ..detector import CheckoutActivity, DetectorPolicy, ShopOrder
from ..engine.commands import (
    Finish,
    HandOff,
    MessageKind,
    RecordConsent,
    ScheduleWakeup,
    SendMessage,
)
from ..engine.compose import Unsendable, address_for, compose_notice
from ..engine.events import (
    CheckoutAbandoned,
    ConsentChanged,
    Event,
    LinkClicked,
    MessageDelivered,
    MessageFailed,
    MessageRead,
    OrderPlaced,
    ReplyReceived,
    WakeupDue,
    event_id,
)
from ..engine.machine import Decision
from ..engine.notes import Deferred, Ignored, Info, Note, Skipped
from ..engine.offer import decide_just_in_time
from ..engine.policy import Context, RecoveryPolicy
from ..errors import ChannelError, ConflictError
from ..messages.packs import cart_tier
from ..messages.sms import sms_segments
from ..policies.caps import ContactHistory, ContactRecord, SendKind
from ..policies.consent import (
    ConsentAction,
    ConsentEvent,
    ConsentLedger,
    Purpose,
    grant_for,
    revocation_for,
)
from ..policies.discounts import DiscountIssuer
from ..policies.replies import Intent, Reply, classify_reply
from ..policies.resolve import resolve_zones
from ..policies.stock import StockSource
from ..programs import SERVICE_WINDOW
from ..protocols import (
    BatchTransaction,
    ChannelAdapter,
    Claimed,
    Clock,
    HandOffSink,
    LogRecord,
    OutboxEntry,
    OutboxMark,
    OutboxStatus,
    Receipt,
    Store,
    Transaction,
    batched,
)
from ..values.model import Channel, Customer, LineItem
from ..values.zones import get_zone
from ..webhooks.types import (
    ChatStarted,
    DeliveryStatus,
    Inbound,
    InboundMessage,
    StatusUpdate,
    UnsubscribeRequest,
)
from .detection import due_abandonments, observe_activity, observe_order

__all__ = ["CRASH_STEPS", "Runner"]

#: The pack key of the opt-out confirmation: logged as ``confirm`` rather than ``reply``.
_CONFIRM_KEY: Final = "optout_confirm"
#: Where the crash-test hook may stop the process (see ``Runner(crash_at=...)``).
CRASH_STEPS: Final = frozenset(
    {"after_claim", "after_commit", "after_attempted", "after_send", "after_mark"}
)
#: Pending entries one ``reconcile`` call looks at; call it again for more.
_RECONCILE_BATCH: Final = 10_000
_STOPPING: Final = frozenset({Intent.OPT_OUT, Intent.OPT_OUT_ALL})
_WINDOW_CHANNELS: Final = tuple(channel for channel in Channel if channel is not Channel.SMS)

CrashStep = Literal["after_claim", "after_commit", "after_attempted", "after_send", "after_mark"]


#: The runtime layer's logger (docs/reference/logging.md): no personal data at INFO+.
_log: Final = logging.getLogger("recoverykit.runtime")


@attrs.frozen
class _Pending:
    """What one committed unit of work still has to do outside the transaction."""

    entries: list[OutboxEntry] = attrs.field(factory=list)
    handoffs: list[HandOff] = attrs.field(factory=list)


class Runner:
    """Runs recoveries for one store: webhooks in through ``handle``, the tick through ``run_due``.

    ``channels`` maps each channel to the adapter that sends on it; a message for
    a channel without an adapter fails permanently (the engine then tries the
    next channel or finishes as undeliverable). ``worker`` names this process in
    claims, so several workers can share one store; ``lease`` is how long a claim
    holds before another worker may take the recovery over.

    ``crash_at`` exists for the crash tests only: the process exits abruptly
    (``os._exit``) at that step, to prove a restart loses and repeats nothing.
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
        crash_at: CrashStep | None = None,
        stock: StockSource | None = None,
        discounts: DiscountIssuer | None = None,
        detector: DetectorPolicy | None = None,
    ) -> None:
        if crash_at is not None and crash_at not in CRASH_STEPS:
            choices = ", ".join(sorted(CRASH_STEPS))
            msg = f"Unknown crash step {crash_at!r}; choose one of {choices}"
            raise ValueError(msg)
        self.policy = policy
        self.store = store
        self.channels: dict[Channel, ChannelAdapter] = dict(channels)
        self.clock = clock
        self.handoffs = handoffs
        self.worker = worker
        self.lease = lease
        self.history_window = history_window
        self._crash_at = crash_at
        self.stock = stock
        self.discounts = discounts
        #: When quiet checkout activity counts as abandoned (``observe`` and ``detect``).
        self.detector = detector if detector is not None else DetectorPolicy()

    # -- webhooks --------------------------------------------------------------------------
    def handle(self, event: Event) -> list[Decision]:
        """Apply one inbound event (webhook) to every recovery it concerns, then send.

        A replayed event (same ``id``) changes nothing and is logged as ignored. If
        another worker saved one of the recoveries in between, the whole event is
        retried once on fresh state.
        """
        pending = _Pending()
        decisions: list[Decision] = []
        for attempt in (1, 2):
            now = self.clock.now()
            pending = _Pending()
            try:
                with self.store.transaction() as tx:
                    decisions = self._handle_in(tx, event, now, pending)
                break
            except ConflictError:
                if attempt == 2:
                    raise
        self._after_commit(pending)
        return decisions

    def _handle_in(
        self, tx: Transaction, event: Event, now: datetime, pending: _Pending
    ) -> list[Decision]:
        kind = type(event).__name__
        checkout_id = getattr(event, "checkout_id", None)
        customer_id = _customer_of(event)
        if not tx.mark_seen(event.id):
            tx.log(
                LogRecord(
                    now, "ignored", checkout_id, customer_id,
                    {"reason": "duplicate", "event": kind, "detail": "event id seen before"},
                )
            )  # fmt: skip
            return []
        targets, event = self._route(tx, event, now)
        if targets:
            customer_id = customer_id or targets[0][1].customer_id
            checkout_id = checkout_id or getattr(targets[0][0], "checkout_id", None)
        data = _event_data(event)
        if isinstance(event, CheckoutAbandoned):
            data.update(_arm_data(self.policy, event.checkout.id))
        tx.log(LogRecord(now, "event", checkout_id, customer_id, data))
        if not targets and isinstance(event, ReplyReceived):
            # A STOP or START with no recovery to route to still changes the ledger.
            customer = tx.customer(event.customer_id)
            address = None if customer is None else address_for(customer, event.channel)
            change = _consent_change(
                event.reply, event.customer_id, event.channel, event.at, address
            )
            if change is not None:
                tx.append_consent(change)
                detail = {"what": "consent", "detail": _consent_detail(change)}
                tx.log(LogRecord(now, "info", checkout_id, customer_id, detail))
                return []
        if not targets and not isinstance(event, ConsentChanged):
            tx.log(
                LogRecord(
                    now, "ignored", checkout_id, customer_id,
                    {"reason": "unknown", "event": kind, "detail": "no recovery to apply it to"},
                )
            )  # fmt: skip
            return []
        # One inbound message gets at most one answer (SEAMS 1), from the first target:
        # the recovery last touched on that channel when there is one.
        return [
            self._decide_and_apply(tx, target, routed, now, pending, answer=index == 0)
            for index, (routed, target) in enumerate(targets)
        ]

    def _route(
        self, tx: Transaction, event: Event, now: datetime
    ) -> tuple[list[tuple[Event, _Target]], Event]:
        """The recoveries an event concerns (SEAMS 2), each with the event as routed to it."""
        match event:
            case CheckoutAbandoned():
                named_customer = event.checkout.customer
                customer = _keep_chat_ids(named_customer, tx.customer(named_customer.id))
                if customer is not named_customer:
                    event = attrs.evolve(
                        event, checkout=attrs.evolve(event.checkout, customer=customer)
                    )
                tx.save_customer(customer)
                existing = tx.load(event.checkout.id)
                target = _Target.new(event) if existing is None else _Target.of(existing)
                return [(event, target)], event
            case OrderPlaced():
                customer_id = event.customer_id
                named = tx.load(event.checkout_id)
                if customer_id is None and named is not None:
                    customer_id = named.state.customer_id
                found = tx.open_recoveries(customer_id) if customer_id is not None else []
                if named is not None and all(
                    c.state.checkout_id != named.state.checkout_id for c in found
                ):
                    found.append(named)
                return [(event, _Target.of(c)) for c in found], event
            case ConsentChanged():
                tx.append_consent(event.event)
                found = tx.open_recoveries(event.event.customer_id)
                return [(event, _Target.of(c)) for c in found], event
            case ReplyReceived():
                return self._route_reply(tx, event, now), event
            case _:
                named = tx.load(event.checkout_id)
                return ([] if named is None else [(event, _Target.of(named))]), event

    def _route_reply(
        self, tx: Transaction, event: ReplyReceived, now: datetime
    ) -> list[tuple[Event, _Target]]:
        customer_id = event.customer_id
        if event.channel is not Channel.SMS:
            tx.open_service_window(customer_id, event.channel, event.at + SERVICE_WINDOW)
        if event.checkout_id is not None:
            named = tx.load(event.checkout_id)
            if named is not None:
                return [(event, _Target.of(named))]
        open_ = tx.open_recoveries(customer_id)
        chosen: list[Claimed]
        last = _last_touched(tx, customer_id, now - self.history_window, event.channel)
        if event.reply.intent in _STOPPING:
            chosen = sorted(open_, key=lambda c: c.state.checkout_id != last)
        else:
            chosen = [c for c in open_ if c.state.checkout_id == last][:1] or open_[:1]
        if not chosen:
            # Nothing open: the most recent recovery answers (a late STOP gets its
            # one confirmation; other replies are noted as arriving after the end).
            last = _last_touched(tx, customer_id, now - self.history_window, None)
            named = None if last is None else tx.load(last)
            chosen = [] if named is None else [named]
        return [
            (attrs.evolve(event, checkout_id=c.state.checkout_id), _Target.of(c)) for c in chosen
        ]

    # -- provider webhooks -------------------------------------------------------------------
    def receive(self, inbound: Inbound) -> list[Decision]:
        """Apply one fact a webhook parser returned (``recoverykit.webhooks``), then send.

        The fact becomes the engine's event, its id derived from the provider's own
        id, so a provider's retry is a duplicate that ``handle`` logs and ignores
        (DESIGN invariant 10):

        * ``InboundMessage`` → ``ReplyReceived`` for the customer using that address,
          classified in their language (a tapped button reads like its payload
          typed). A STOP with no recovery to answer it still revokes consent;
        * ``StatusUpdate`` → ``MessageDelivered``, ``MessageRead`` or ``MessageFailed``
          for the touch the outbox sent under that provider id; statuses of replies
          and ``sent`` reports are only logged (``info``), a revoking failure of a
          reply still revokes;
        * ``ChatStarted`` → the chat id saved on the customer, and a ``recovery``
          grant on that channel (source ``<channel>_start_link``);
        * ``UnsubscribeRequest`` → a revocation of that channel, its source kept
          as evidence.

        An address, message or customer the store does not know changes nothing and
        is logged as ``ignored`` (``unknown``).
        """
        match inbound:
            case InboundMessage():
                return self._receive_message(inbound)
            case StatusUpdate():
                return self._receive_status(inbound)
            case ChatStarted():
                return self._receive_chat(inbound)
            case UnsubscribeRequest():
                return self._receive_unsubscribe(inbound)
            case _:
                msg = (
                    "receive() takes what a webhook parser returns "
                    f"(got {type(inbound).__name__}); pass engine events to handle()"
                )
                raise TypeError(msg)

    def _receive_message(self, message: InboundMessage) -> list[Decision]:
        now = self.clock.now()
        with self.store.transaction() as tx:
            customer_id = tx.customer_for(message.channel, message.address)
            if customer_id is None:
                _log_unknown(tx, now, message, "no customer uses this address")
                return []
            reply = _classify_inbound(message, tx.customer(customer_id))
            event: Event = ReplyReceived(
                customer_id,
                message.channel,
                reply,
                message.at,
                id=_inbound_id("reply", message.channel, message.provider_id),
            )
            notice: SendMessage | None = None
            change = _consent_change(reply, customer_id, message.channel, message.at,
                                     message.address)  # fmt: skip
            if change is not None and not self._answerable(tx, customer_id, now):
                # No recovery can answer (SEAMS 2 routing finds none): the STOP or
                # START must not be lost with it, so it goes in as a consent change;
                # a STOP the runner confirms itself (FCC-4).
                event = ConsentChanged(change, id=event.id)
                if reply.intent in _STOPPING:
                    notice = self._opt_out_notice(tx, customer_id, message, event.id)
        decisions = self.handle(event)
        if notice is not None:
            self._send_notice(notice)
        return decisions

    def _opt_out_notice(
        self, tx: Transaction, customer_id: str, message: InboundMessage, ident: str
    ) -> SendMessage | None:
        customer = tx.customer(customer_id) or Customer(id=customer_id)
        try:
            return compose_notice(
                key="optout_confirm",
                customer=customer,
                channel=message.channel,
                address=message.address,
                policy=self.policy,
                event_id=ident or event_id("optout", message.channel.value, message.address),
            )
        except Unsendable as exc:
            tx.log(
                LogRecord(
                    self.clock.now(), "skip", None, customer_id,
                    {"touch": None, "reason": exc.reason, "detail": exc.detail},
                )
            )  # fmt: skip
            return None

    def _send_notice(self, notice: SendMessage) -> None:
        """Queue and send a reply that belongs to no recovery, at most once."""
        now = self.clock.now()
        entry = OutboxEntry(key=notice.idempotency_key, message=notice, created_at=now)
        with self.store.transaction() as tx:
            if not tx.add_outbox(entry):
                return  # a replayed webhook: confirmed already
            tx.add_contact(
                notice.customer_id, ContactRecord(now, notice.channel, "", SendKind.REPLY)
            )
            tx.log(LogRecord(now, "confirm", None, notice.customer_id,
                             _send_data(notice, None)))  # fmt: skip
        self._deliver([entry])

    def _answerable(self, tx: Transaction, customer_id: str, now: datetime) -> bool:
        """Whether reply routing finds a recovery: an open one, or one touched lately."""
        if tx.open_recoveries(customer_id):
            return True
        return _last_touched(tx, customer_id, now - self.history_window, None) is not None

    def _receive_status(self, update: StatusUpdate) -> list[Decision]:
        now = self.clock.now()
        reported = update.provider_id or f"{update.provider_message_id}:{update.status.value}"
        status_id = _inbound_id("status", update.channel, reported)
        with self.store.transaction() as tx:
            entry = tx.sent_message(update.channel, update.provider_message_id)
            if entry is None:
                _log_unknown(tx, now, update, "no sent message has this provider id")
                return []
            message = entry.message
            if message.touch is not None and update.status is not DeliveryStatus.SENT:
                event = _status_event(update, message, message.touch, status_id)
            else:
                revocation = _log_status(tx, now, update, entry, status_id)
                if revocation is None:
                    return []
                event = revocation
        return self.handle(event)

    def _receive_chat(self, started: ChatStarted) -> list[Decision]:
        with self.store.transaction() as tx:
            known = tx.customer(started.customer_id)
            bound = _with_address(
                known or Customer(id=started.customer_id), started.channel, started.address
            )
            if bound != known:
                tx.save_customer(bound)
        grant = ConsentEvent(
            customer_id=started.customer_id,
            channel=started.channel,
            purpose=Purpose.RECOVERY,
            action=ConsentAction.GRANTED,
            at=started.at,
            source=f"{started.channel.value}_start_link",
            text="opened the chat through the store's signed start link and pressed Start",
            address=started.address,
        )
        chat_id = _inbound_id("start", started.channel, started.provider_id)
        return self.handle(ConsentChanged(grant, id=chat_id))

    def _receive_unsubscribe(self, request: UnsubscribeRequest) -> list[Decision]:
        customer_id = request.customer_id
        if customer_id is None:
            with self.store.transaction() as tx:
                customer_id = tx.customer_for(request.channel, request.address)
                if customer_id is None:
                    _log_unknown(tx, self.clock.now(), request, "no customer uses this address")
                    return []
        source = request.source or "webhook"
        revocation = ConsentEvent(
            customer_id=customer_id,
            channel=request.channel,
            purpose=None,
            action=ConsentAction.REVOKED,
            at=request.at,
            source=source,
            text=f"unsubscribe request received by webhook ({source})",
            address=request.address or None,
        )
        request_id = _inbound_id("unsubscribe", request.channel, request.provider_id)
        return self.handle(ConsentChanged(revocation, id=request_id))

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
        pending = _Pending()
        for attempt in (1, 2):
            now = self.clock.now()
            pending = _Pending()
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

    # -- the tick ----------------------------------------------------------------------------
    def run_due(self, limit: int = 500) -> int:
        """Claim up to ``limit`` due recoveries, decide them in one transaction, send.

        Returns how many messages the channels accepted. Call it from a scheduler
        (cron, Celery beat, a loop that sleeps until ``store.next_due()``).
        """
        now = self.clock.now()
        claimed = self.store.claim_due(now, limit=limit, lease=self.lease, worker=self.worker)
        if self._crash_at == "after_claim":
            os._exit(137)
        if not claimed:
            _log.debug(
                "run_due: nothing due", extra={"claimed": 0, "sent": 0, "worker": self.worker}
            )
            return 0
        pending = _Pending()
        for attempt in (1, 2):
            pending = _Pending()
            try:
                with self.store.transaction() as tx:
                    self._decide_claimed(batched(tx), claimed, now, pending)
                break
            except ConflictError:
                if attempt == 2:
                    raise
        sent = self._after_commit(pending)
        _log.info(
            "run_due: %d recoveries decided, %d messages sent",
            len(claimed),
            sent,
            extra={"claimed": len(claimed), "sent": sent, "worker": self.worker},
        )
        return sent

    def _decide_claimed(
        self, tx: BatchTransaction, claimed: list[Claimed], now: datetime, pending: _Pending
    ) -> None:
        """Decide a claimed batch inside one transaction, reading and writing set-based.

        The customers' ledgers, histories and service windows are read in three calls
        for the whole batch, and contact records and log lines are written in two at
        its end. Each decision still sees everything the earlier ones in the batch did
        to its customer (``_BatchWrites`` keeps the contexts up to date), exactly as if
        each had read the store afresh.
        """
        writes = _BatchWrites(
            tx, [item.state.customer_id for item in claimed], since=now - self.history_window
        )
        for item in claimed:
            wakeup = WakeupDue(item.state.checkout_id, at=now)
            try:
                self._decide_and_apply(
                    tx, _Target.of(item), wakeup, now, pending, release=True, writes=writes
                )
            except ConflictError:
                continue  # saved by someone else since the claim: theirs stands
        writes.flush()

    # -- deciding and applying -----------------------------------------------------------------
    def _decide_and_apply(
        self,
        tx: Transaction,
        target: _Target,
        event: Event,
        now: datetime,
        pending: _Pending,
        *,
        release: bool = False,
        answer: bool = True,
        writes: _Writes | None = None,
    ) -> Decision:
        """Decide one recovery and apply its commands.

        ``release`` always saves (it ends a claim); ``answer=False`` drops replies,
        because another recovery already answers the same inbound message.
        ``writes`` is where the customer's context comes from and where contacts,
        consent and log lines go: straight through ``tx`` unless a batch collects them.
        """
        customer_id = target.customer_id
        if writes is None:
            writes = _DirectWrites(tx, since=now - self.history_window)
        context = writes.context(customer_id)
        decision = decide_just_in_time(
            target.state,
            event,
            now=now,
            policy=self.policy,
            context=context,
            stock=self.stock,
            issuer=self.discounts,
            recoveries=lambda since: tx.customer_recoveries(customer_id, since=since),
        )
        # Save first: a ConflictError then leaves nothing of this decision behind, and
        # the version check replaces a re-load of every claimed state.
        if release or decision.state != target.state or target.version is None:
            tx.save(decision.state, expected_version=target.version)
        checkout_id = decision.state.checkout_id
        zone = decision.state.zones[0] if decision.state.zones else None
        for command in decision.commands:
            match command:
                case SendMessage():
                    if not answer and command.kind is MessageKind.REPLY:
                        continue
                    entry = OutboxEntry(
                        key=command.idempotency_key, message=command, created_at=now
                    )
                    if not tx.add_outbox(entry):
                        continue  # decided before (a retried event): never twice
                    counted = SendKind.TOUCH if command.kind.capped else SendKind.REPLY
                    writes.add_contact(
                        customer_id, ContactRecord(now, command.channel, checkout_id, counted)
                    )
                    writes.log(LogRecord(now, _send_kind(command), checkout_id, customer_id,
                                         _send_data(command, zone)))  # fmt: skip
                    pending.entries.append(entry)
                case RecordConsent():
                    writes.append_consent(command.event)
                case HandOff():
                    writes.log(
                        LogRecord(now, "handoff", checkout_id, customer_id,
                                  {"channel": command.channel.value, "text": command.text,
                                   "reason": command.reason})
                    )  # fmt: skip
                    pending.handoffs.append(command)
                case Finish():
                    writes.log(LogRecord(now, "finish", checkout_id, customer_id,
                                         {"reason": command.reason.value}))  # fmt: skip
                case ScheduleWakeup():
                    pass  # the saved state's wakeup_at is the due time
        for note in decision.notes:
            kind, data = _note_record(note)
            writes.log(LogRecord(now, kind, checkout_id, customer_id, data))
        return decision

    # -- sending -------------------------------------------------------------------------------
    def _after_commit(self, pending: _Pending) -> int:
        if self._crash_at == "after_commit" and pending.entries:
            os._exit(137)
        for handoff in pending.handoffs:
            if self.handoffs is not None:
                self.handoffs.hand_off(
                    handoff.checkout_id, handoff.customer_id, handoff.channel, handoff.text
                )
        return self._deliver(pending.entries)

    def _deliver(self, entries: list[OutboxEntry]) -> int:
        """Hand entries to their channels: mark attempted, send, mark the outcome."""
        if not entries:
            return 0
        now = self.clock.now()
        previous = {e.key: e.attempted_at for e in entries if e.attempted_at is not None}
        won = set(self.store.mark_attempted([e.key for e in entries], at=now, previous=previous))
        # Another process (a second reconcile) claimed the rest first: never send twice.
        entries = [entry for entry in entries if entry.key in won]
        if self._crash_at == "after_attempted":
            os._exit(137)
        sent = 0
        failures: list[tuple[OutboxEntry, ChannelError]] = []
        uncertain: list[tuple[OutboxEntry, ChannelError]] = []
        marks: list[OutboxMark] = []
        for entry in entries:
            outcome = self._send_one(entry)
            if self._crash_at == "after_send":
                os._exit(137)
            if isinstance(outcome, Receipt):
                marks.append(OutboxMark(entry.key, OutboxStatus.SENT, outcome.provider_id))
                sent += 1
            elif outcome.code == OUTCOME_UNKNOWN:
                # The provider may have accepted it: never a retry under a new key (that
                # could send twice), reported as uncertain like a crash mid-send.
                marks.append(OutboxMark(entry.key, OutboxStatus.UNCERTAIN, detail=str(outcome)))
                uncertain.append((entry, outcome))
            else:
                marks.append(OutboxMark(entry.key, OutboxStatus.FAILED, detail=str(outcome)))
                failures.append((entry, outcome))
        # One commit for the whole batch (SEAMS 6): entries marked attempted above and
        # not marked here reconcile as uncertain after a crash, never as resends.
        self.store.mark_outbox_many(marks, at=now)
        if self._crash_at == "after_mark":
            os._exit(137)
        if failures or uncertain:
            self._report_failures(failures, now, uncertain=uncertain)
        return sent

    def _send_one(self, entry: OutboxEntry) -> Receipt | ChannelError:
        message = entry.message
        adapter = self.channels.get(message.channel)
        if adapter is None:
            return ChannelError(
                f"No adapter for channel {message.channel.value!r}; "
                "pass one in Runner(channels=...)",
                permanent=True,
                code="no_adapter",
            )
        try:
            return adapter.send(message)
        except ChannelError as exc:
            return exc

    def _report_failures(
        self,
        failures: list[tuple[OutboxEntry, ChannelError]],
        now: datetime,
        *,
        uncertain: Iterable[tuple[OutboxEntry, ChannelError]] = (),
    ) -> None:
        """Log each failure and tell the engine about failed touches.

        A failed reply (an opt-out confirmation, a help answer) has no touch to
        retry: it is logged and left there, since replies answer one inbound
        message and are never resent later. An ``uncertain`` send is only logged:
        the engine keeps it as sent.
        """
        with self.store.transaction() as tx:
            for (entry, error), status in [
                *((failure, OutboxStatus.FAILED) for failure in failures),
                *((doubt, OutboxStatus.UNCERTAIN) for doubt in uncertain),
            ]:
                message = entry.message
                _log_failure(entry, error, status)
                tx.log(
                    LogRecord(now, "outbox", message.checkout_id, message.customer_id,
                              {"key": entry.key, "status": status.value,
                               "touch": message.touch, "channel": message.channel.value,
                               "permanent": error.permanent, "code": error.code,
                               "detail": str(error)})
                )  # fmt: skip
        for entry, error in failures:
            message = entry.message
            if message.touch is None:
                continue
            self.handle(
                MessageFailed(
                    checkout_id=message.checkout_id,
                    touch=message.touch,
                    channel=message.channel,
                    at=now,
                    permanent=error.permanent,
                    code=error.code,
                    revoked=error.revoked,
                    attempt=message.attempt,
                )
            )

    # -- after a crash ---------------------------------------------------------------------------
    def reconcile(self, *, older_than: timedelta | None = None) -> list[OutboxEntry]:
        """Finish what a dead process left pending; return the entries now ``uncertain``.

        Call it at start-up. Only entries created more than ``older_than`` ago
        (default: the lease) are touched, so a live worker's in-flight sends are
        left alone. Entries never handed over are sent now (after checking that
        consent was not withdrawn meanwhile: those become ``cancelled``); entries
        handed over but never marked are looked up through the adapter's
        ``lookup(key)`` when it has one, and otherwise marked ``uncertain``,
        logged, and never resent automatically.
        """
        now = self.clock.now()
        cutoff = now - (self.lease if older_than is None else older_than)
        to_send: list[OutboxEntry] = []
        uncertain: list[OutboxEntry] = []
        marks: list[LogRecord] = []
        for entry in self._all_pending():
            if entry.created_at > cutoff:
                continue
            message = entry.message
            if entry.attempted_at is None:
                to_send.append(entry)
                continue
            lookup = getattr(self.channels.get(message.channel), "lookup", None)
            receipt = lookup(entry.key) if callable(lookup) else None
            if isinstance(receipt, Receipt):
                self.store.mark_outbox(
                    entry.key, OutboxStatus.SENT, at=now, provider_id=receipt.provider_id
                )
            elif callable(lookup):
                to_send.append(entry)  # the provider never saw it: safe to send
            else:
                detail = "the process stopped mid-send and the channel cannot be asked"
                self.store.mark_outbox(entry.key, OutboxStatus.UNCERTAIN, at=now, detail=detail)
                uncertain.append(attrs.evolve(entry, status=OutboxStatus.UNCERTAIN, detail=detail))
                marks.append(_outbox_record(now, entry, OutboxStatus.UNCERTAIN, detail))
        sendable: list[OutboxEntry] = []
        with self.store.transaction() as tx:
            for entry in to_send:
                message = entry.message
                if message.kind.capped and tx.ledger(message.customer_id).opted_out(
                    message.customer_id, message.channel, now
                ):
                    detail = "consent was withdrawn before the send"
                    marks.append(_outbox_record(now, entry, OutboxStatus.CANCELLED, detail))
                    continue
                sendable.append(entry)
            for record in marks:
                tx.log(record)
        for record in marks:
            if record.data["status"] == OutboxStatus.CANCELLED.value:
                self.store.mark_outbox(
                    record.data["key"], OutboxStatus.CANCELLED, at=now, detail=record.data["detail"]
                )
        resent = self._deliver(sendable)
        _log.info(
            "reconcile: %d pending messages sent, %d uncertain",
            resent,
            len(uncertain),
            extra={"resent": resent, "uncertain": len(uncertain)},
        )
        return uncertain

    def _all_pending(self) -> Iterable[OutboxEntry]:
        return self.store.outbox(status=OutboxStatus.PENDING, limit=_RECONCILE_BATCH)


# -- helpers ---------------------------------------------------------------------------------
@attrs.frozen
class _Target:
    """A recovery to decide for: its stored state (``None`` if new) and version."""

    state: Any
    version: int | None
    customer_id: str

    @classmethod
    def of(cls, claimed: Claimed) -> _Target:
        return cls(claimed.state, claimed.version, claimed.state.customer_id)

    @classmethod
    def new(cls, event: CheckoutAbandoned) -> _Target:
        return cls(None, None, event.checkout.customer.id)


def _customer_of(event: Event) -> str | None:
    if isinstance(event, CheckoutAbandoned):
        return event.checkout.customer.id
    if isinstance(event, ConsentChanged):
        return event.event.customer_id
    value = getattr(event, "customer_id", None)
    return value if isinstance(value, str) else None


def _keep_chat_ids(customer: Customer, stored: Customer | None) -> Customer:
    """The customer a checkout names, keeping the chat ids bound earlier (a store's
    checkout rarely knows the Telegram chat a start link bound)."""
    if stored is None:
        return customer
    kept = {
        name: getattr(stored, name)
        for name in ("telegram_chat_id", "viber_id")
        if getattr(customer, name) is None and getattr(stored, name) is not None
    }
    return attrs.evolve(customer, **kept) if kept else customer


def _last_touched(
    tx: Transaction, customer_id: str, since: datetime, channel: Channel | None
) -> str | None:
    """The checkout most recently messaged (on ``channel`` when given), from the history."""
    records = tx.history(customer_id, since=since).records
    for record in reversed(records):
        # A reply sent outside any recovery (a confirmed STOP) names no checkout.
        if record.checkout_id and (channel is None or record.channel is channel):
            return record.checkout_id
    return None


def _windows(tx: Transaction, customer_id: str) -> dict[Channel, datetime]:
    windows: dict[Channel, datetime] = {}
    for channel in _WINDOW_CHANNELS:
        until = tx.service_window(customer_id, channel)
        if until is not None:
            windows[channel] = until
    return windows


class _DirectWrites:
    """A decision's context read, and its writes made, straight through the transaction.

    Webhooks decide one recovery (or a customer's few) at a time: nothing to batch.
    """

    __slots__ = ("_since", "_tx")

    def __init__(self, tx: Transaction, *, since: datetime) -> None:
        self._tx = tx
        self._since = since

    def context(self, customer_id: str) -> Context:
        tx = self._tx
        return Context(
            consent=tx.ledger(customer_id),
            history=tx.history(customer_id, since=self._since),
            service_windows=_windows(tx, customer_id),
        )

    def add_contact(self, customer_id: str, record: ContactRecord) -> None:
        self._tx.add_contact(customer_id, record)

    def append_consent(self, event: ConsentEvent) -> None:
        self._tx.append_consent(event)

    def log(self, record: LogRecord) -> None:
        self._tx.log(record)


class _BatchWrites:
    """A tick's contexts, read for all its customers at once, and its writes, collected.

    Contact records and log lines wait in lists until ``flush`` writes them in two
    calls; consent goes in at once (it is rare, and it is the record that must never
    be missing). Every write also reaches the customer's context here, so a later
    decision in the same batch sees the earlier ones' sends and consent, as a fresh
    read of the store would. Nothing else in the tick reads contacts or the log, so
    holding them back until the end of the transaction changes no answer.
    """

    __slots__ = ("_contacts", "_contexts", "_logs", "_sent", "_tx")

    def __init__(self, tx: BatchTransaction, customer_ids: list[str], *, since: datetime) -> None:
        unique = list(dict.fromkeys(customer_ids))
        ledgers = tx.ledgers(unique)
        histories = tx.histories(unique, since=since)
        windows = tx.service_windows(unique)
        self._tx = tx
        self._contexts = {
            customer_id: Context(
                consent=ledgers.get(customer_id, ConsentLedger()),
                history=histories.get(customer_id, ContactHistory()),
                service_windows=_open_windows(windows.get(customer_id, {})),
            )
            for customer_id in unique
        }
        self._contacts: list[tuple[str, ContactRecord]] = []
        self._logs: list[LogRecord] = []
        #: Records sent in this batch that a customer's context does not show yet: most
        #: customers have one recovery in a batch, so contexts are rebuilt only on demand.
        self._sent: dict[str, list[ContactRecord]] = {}

    def context(self, customer_id: str) -> Context:
        context = self._contexts[customer_id]
        sent = self._sent.pop(customer_id, None)
        if sent:
            history = ContactHistory((*context.history.records, *sent))
            context = self._contexts[customer_id] = attrs.evolve(context, history=history)
        return context

    def add_contact(self, customer_id: str, record: ContactRecord) -> None:
        self._contacts.append((customer_id, record))
        self._sent.setdefault(customer_id, []).append(record)

    def append_consent(self, event: ConsentEvent) -> None:
        self._tx.append_consent(event)
        context = self._contexts.get(event.customer_id)
        if context is not None:
            self._contexts[event.customer_id] = attrs.evolve(
                context, consent=context.consent.append(event)
            )

    def log(self, record: LogRecord) -> None:
        self._logs.append(record)

    def flush(self) -> None:
        """Write the collected contact records and log lines, in the order they came."""
        if self._contacts:
            self._tx.add_contacts(self._contacts)
        if self._logs:
            self._tx.log_many(self._logs)


_Writes = _DirectWrites | _BatchWrites


def _open_windows(stored: Mapping[Channel, datetime]) -> dict[Channel, datetime]:
    """The windows a decision reads, in the order ``_windows`` lists them."""
    return {channel: stored[channel] for channel in _WINDOW_CHANNELS if channel in stored}


def _send_kind(message: SendMessage) -> str:
    if message.kind is MessageKind.TOUCH:
        return "send"
    return "confirm" if message.key == _CONFIRM_KEY else "reply"


def _template_name(payload: Mapping[str, Any] | None) -> str | None:
    """The approved template a WhatsApp payload names (``None`` for free text)."""
    template = None if payload is None else payload.get("template")
    name = template.get("name") if isinstance(template, Mapping) else None
    return name if isinstance(name, str) else None


def _send_data(message: SendMessage, zone: str | None) -> dict[str, Any]:
    info = message.segments
    if info is None and message.channel is Channel.SMS:
        info = sms_segments(message.text)
    return {
        "key": message.idempotency_key,
        "channel": message.channel.value,
        "to": message.to,
        "touch": message.touch,
        "message": message.key,
        "text": message.text,
        "locale": message.locale,
        "segments": None if info is None else info.segments,
        "encoding": None if info is None else info.encoding,
        "template": _template_name(message.whatsapp_payload),
        "zone": zone,
        "discount_code": message.discount_code,
    }


def _note_record(note: Note) -> tuple[str, dict[str, Any]]:
    match note:
        case Deferred():
            return "defer", {
                "touch": note.touch,
                "reason": note.reason.value,
                "rule": note.rule,
                "from": note.from_.isoformat(),
                "to": note.to.isoformat(),
                "zone": note.zone,
            }
        case Skipped():
            return "skip", {"touch": note.touch, "reason": note.reason, "detail": note.detail}
        case Ignored():
            return "ignored", {
                "reason": note.reason.value,
                "event": note.event,
                "detail": note.detail,
            }
        case Info():
            return "info", {"what": note.what, "detail": note.detail}


def _outbox_record(
    now: datetime, entry: OutboxEntry, status: OutboxStatus, detail: str
) -> LogRecord:
    message = entry.message
    return LogRecord(
        now,
        "outbox",
        message.checkout_id,
        message.customer_id,
        {"key": entry.key, "status": status.value, "touch": message.touch,
         "channel": message.channel.value, "detail": detail},
    )  # fmt: skip


def _arm_data(policy: RecoveryPolicy, checkout_id: str) -> dict[str, Any]:
    """The arm and variant a new checkout lands in: the same hashes ``decide`` uses."""
    variant = policy.variant_for(checkout_id)
    return {
        "arm": "holdout" if policy.in_holdout(checkout_id) else "messaged",
        "variant": None if variant is None else variant.name,
        "experiment": policy.experiment,
    }


def _main_category(items: Iterable[LineItem]) -> str | None:
    """The category of the line worth most: what the cart is mostly about."""
    best = max(items, key=lambda item: item.unit_price.amount * item.quantity, default=None)
    return None if best is None else best.category


def _event_data(event: Event) -> dict[str, Any]:
    """A compact JSON-safe summary of an applied event, for measurement."""
    data: dict[str, Any] = {
        "type": type(event).__name__,
        "id": event.id,
        "at": event.at.isoformat(),
    }
    match event:
        case CheckoutAbandoned():
            checkout = event.checkout
            data["total"] = {
                "amount": str(checkout.total.amount),
                "currency": checkout.total.currency,
            }
            data["stage"] = checkout.stage.value
            data["friction"] = None if checkout.friction is None else checkout.friction.value
            data["locale"] = checkout.customer.locale
            data["segment"] = "returning" if checkout.customer.returning else "new"
            data["tier"] = cart_tier(checkout.total).value
            data["category"] = _main_category(checkout.items)
            zones = resolve_zones(checkout.customer).zones
            if zones:
                data["local_hour"] = event.at.astimezone(get_zone(zones[0])).hour
        case OrderPlaced():
            if event.total is not None:
                data["total"] = {
                    "amount": str(event.total.amount),
                    "currency": event.total.currency,
                }
            data["order_id"] = event.order_id
        case ReplyReceived():
            data["channel"] = event.channel.value
            data["intent"] = event.reply.intent.value
            data["text"] = event.reply.text
        case LinkClicked():
            data["touch"] = event.touch
        case MessageDelivered() | MessageRead() | MessageFailed():
            data["touch"] = event.touch
            data["channel"] = event.channel.value
            if isinstance(event, MessageFailed):
                data["code"] = event.code
        case ConsentChanged():
            data["consent"] = event.event.to_dict()
        case _:
            pass
    return data


# -- webhook facts (Runner.receive) ------------------------------------------------------------
def _inbound_id(kind: str, channel: Channel, provider_id: str) -> str:
    """The event id for a provider's report: the same on every retry of the webhook.

    Without a provider id the event derives one from its own content.
    """
    return event_id("webhook", kind, channel.value, provider_id) if provider_id else ""


def _log_unknown(tx: Transaction, now: datetime, inbound: Inbound, detail: str) -> None:
    tx.log(
        LogRecord(
            now, "ignored", None, None,
            {"reason": "unknown", "event": type(inbound).__name__,
             "channel": inbound.channel.value, "detail": detail},
        )
    )  # fmt: skip


def _classify_inbound(message: InboundMessage, customer: Customer | None) -> Reply:
    """The reply an inbound message means, read in the customer's language and region.

    A tapped button's payload ("1", "STOP_PROMOS") decides when it means anything;
    otherwise the text (the button's label, or what was typed) does.
    """
    locale = None if customer is None else customer.locale
    region = None
    if customer is not None:
        phone = customer.phone_number
        region = phone.region if phone is not None else customer.country
    if message.button:
        tapped = classify_reply(
            message.button, locale=locale, channel=message.channel, region=region
        )
        if tapped.intent is not Intent.UNKNOWN or not message.text:
            return tapped
    return classify_reply(message.text, locale=locale, channel=message.channel, region=region)


def _status_event(update: StatusUpdate, message: SendMessage, touch: int, ident: str) -> Event:
    """The engine event a delivery report on a touch stands for."""
    if update.status is DeliveryStatus.DELIVERED:
        return MessageDelivered(
            message.checkout_id, touch, message.channel, update.at,
            message_id=update.provider_message_id, id=ident,
        )  # fmt: skip
    if update.status is DeliveryStatus.READ:
        return MessageRead(
            message.checkout_id, touch, message.channel, update.at,
            message_id=update.provider_message_id, id=ident,
        )  # fmt: skip
    return MessageFailed(
        message.checkout_id, touch, message.channel, update.at,
        permanent=update.permanent, code=update.code, revoked=update.revoked,
        attempt=message.attempt, id=ident,
    )  # fmt: skip


def _log_status(
    tx: Transaction, now: datetime, update: StatusUpdate, entry: OutboxEntry, status_id: str
) -> ConsentChanged | None:
    """Log a report the engine has no use for (a reply's, or ``sent``), once.

    Returns the revocation to apply when a reply failed because the recipient opted
    out at the provider: no touch carries that news to the engine.
    """
    message = entry.message
    if not tx.mark_seen(status_id):
        tx.log(
            LogRecord(
                now, "ignored", message.checkout_id, message.customer_id,
                {"reason": "duplicate", "event": "StatusUpdate", "detail": "event id seen before"},
            )
        )  # fmt: skip
        return None
    what = "reply" if message.touch is None else f"touch {message.touch}"
    detail = f"{what} on {message.channel.value}: {update.status.value}"
    tx.log(
        LogRecord(
            now, "info", message.checkout_id, message.customer_id,
            {"what": "status", "detail": detail, "key": entry.key,
             "status": update.status.value, "code": update.code},
        )
    )  # fmt: skip
    if not (update.revoked and update.status is DeliveryStatus.FAILED):
        return None
    revocation = ConsentEvent(
        customer_id=message.customer_id,
        channel=message.channel,
        purpose=None,
        action=ConsentAction.REVOKED,
        at=update.at,
        source="provider",
        text=f"provider reported an opt-out (code {update.code})",
        address=message.to,
    )
    return ConsentChanged(revocation, id=_inbound_id("revoked", update.channel, status_id))


def _consent_change(
    reply: Reply, customer_id: str, channel: Channel, at: datetime, address: str | None
) -> ConsentEvent | None:
    """The ledger event a STOP or a START stands for (``None`` for any other reply)."""
    return revocation_for(reply, customer_id, channel, at, address=address) or grant_for(
        reply, customer_id, channel, at, address=address
    )


def _consent_detail(change: ConsentEvent) -> str:
    channel = "every channel" if change.channel is None else change.channel.value
    return f"{change.action.value} on {channel} with no recovery to route to"


def _with_address(customer: Customer, channel: Channel, address: str) -> Customer:
    """``customer`` reachable at ``address`` on a chat channel (Telegram, Viber)."""
    if channel is Channel.TELEGRAM:
        return attrs.evolve(customer, telegram_chat_id=address)
    if channel is Channel.VIBER:
        return attrs.evolve(customer, viber_id=address)
    return customer


def _log_failure(entry: OutboxEntry, error: ChannelError, status: OutboxStatus) -> None:
    """A failed or uncertain send, for operators: ids and codes at WARNING; the provider's
    own words (which may quote the number) only at DEBUG."""
    message = entry.message
    facts = {
        "checkout_id": message.checkout_id,
        "channel": message.channel.value,
        "touch": message.touch,
        "code": error.code,
        "permanent": error.permanent,
        "outbox_key": entry.key,
    }
    what = "failed" if status is OutboxStatus.FAILED else "is uncertain"
    _log.warning(
        "send %s: checkout %s on %s, code %s", what, message.checkout_id,
        message.channel.value, error.code, extra=facts,
    )  # fmt: skip
    _log.debug(
        "provider detail for checkout %s: %s", message.checkout_id, error,
        extra={"checkout_id": message.checkout_id, "detail": str(error)},
    )  # fmt: skip

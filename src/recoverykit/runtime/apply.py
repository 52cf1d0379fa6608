"""Applying a decision: the engine's commands become store writes, in one transaction.

``decide`` says what to do; this module does the part that must be atomic with the
new state: outbox entries, contact history, consent records, hand-offs and log
lines. Sending happens after the commit (``outbox``). A recovery whose data makes
the engine raise is quarantined here (parked with a log record naming the error),
so one bad recovery never stops a batch or a webhook.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Final

import attrs

from ..engine.commands import (
    Finish,
    HandOff,
    HandOffReason,
    MessageKind,
    RecordConsent,
    ScheduleWakeup,
    SendMessage,
)
from ..engine.events import Event, WakeupDue
from ..engine.machine import Decision
from ..engine.offer import decide_just_in_time
from ..engine.policy import Context, RecoveryPolicy
from ..engine.state import RecoveryState
from ..policies.caps import ContactHistory, ContactRecord, SendKind
from ..policies.consent import ConsentEvent, ConsentLedger
from ..policies.discounts import DiscountIssuer
from ..policies.stock import StockSource
from ..protocols import BatchTransaction, Claimed, LogRecord, OutboxEntry, Transaction
from ..values.model import Channel
from .addresses import record_consent
from .records import RecordKind, handoff_data, note_record, send_data, send_kind
from .routing import Target

__all__ = ["Deciding", "Pending", "Quarantined"]

#: The channels with a free-form service window (WA-2); SMS has none.
WINDOW_CHANNELS: Final = tuple(channel for channel in Channel if channel is not Channel.SMS)


@attrs.frozen
class Pending:
    """What one committed unit of work still has to do outside the transaction."""

    entries: list[OutboxEntry] = attrs.field(factory=list)
    handoffs: list[HandOff] = attrs.field(factory=list)
    #: Each decided recovery as committed, with its new version: the last look before a
    #: send reuses this state while the stored version is still this one.
    decided: dict[str, Claimed] = attrs.field(factory=dict)


@attrs.frozen
class Quarantined:
    """A recovery set aside because deciding for it raised: what raised, and on what."""

    checkout_id: str
    error: str
    detail: str


@attrs.frozen
class Deciding:
    """What deciding needs besides the event: the policy and the store's live sources.

    ``Runner``, the testing kit's ``EngineDriver`` and the command line each hold one,
    so they decide and apply exactly alike.
    """

    policy: RecoveryPolicy
    stock: StockSource | None = None
    discounts: DiscountIssuer | None = None
    #: How far back the contact history a decision reads goes (caps, routing).
    history_window: timedelta = timedelta(days=30)

    def decide_claimed(
        self, tx: BatchTransaction, claimed: list[Claimed], now: datetime, pending: Pending
    ) -> list[Quarantined]:
        """Decide a claimed batch inside one transaction, reading and writing set-based.

        The customers' ledgers, histories and service windows are read in three calls
        for the whole batch, and contact records and log lines are written in two at
        its end. Each decision still sees everything the earlier ones in the batch did
        to its customer (``BatchWrites`` keeps the contexts up to date), exactly as if
        each had read the store afresh. A recovery the engine cannot decide is
        quarantined and the batch goes on.
        """
        writes = BatchWrites(
            tx, [item.state.customer_id for item in claimed], since=now - self.history_window
        )
        # One read of every version (PostgreSQL: rows locked until the commit): a recovery
        # saved by someone else since the claim is left to them, and the batch's saves
        # below then meet no other writer.
        stored = tx.versions([item.state.checkout_id for item in claimed])
        quarantined: list[Quarantined] = []
        for item in claimed:
            if stored.get(item.state.checkout_id) != item.version:
                continue  # saved by someone else since the claim: theirs stands
            wakeup = WakeupDue(item.state.checkout_id, at=now)
            try:
                self.apply(tx, Target.of(item), wakeup, now, pending, release=True, writes=writes)
            except Quarantine as exc:
                quarantined.append(exc.record)
        writes.flush(pending)
        return quarantined

    def apply(
        self,
        tx: Transaction,
        target: Target,
        event: Event,
        now: datetime,
        pending: Pending,
        *,
        release: bool = False,
        answer: bool = True,
        writes: Writes | None = None,
    ) -> Decision:
        """Decide one recovery and apply its commands.

        ``release`` always saves (it ends a claim); ``answer=False`` drops replies,
        because another recovery already answers the same inbound message.
        ``writes`` is where the customer's context comes from and where contacts,
        consent and log lines go: straight through ``tx`` unless a batch collects them.

        Raises ``Quarantine`` (after parking the recovery) when the engine raised on
        this recovery's data; nothing else of the decision is written.
        """
        customer_id = target.customer_id
        if writes is None:
            writes = DirectWrites(tx, since=now - self.history_window)
        context = writes.context(customer_id)
        try:
            decision = decide_just_in_time(
                target.state,
                event,
                now=now,
                policy=self.policy,
                context=context,
                stock=self.stock,
                issuer=self.discounts,
                recoveries=_recoveries_of(tx, customer_id),
            )
        except Exception as exc:
            raise Quarantine(_quarantine(tx, writes, target, event, now=now, exc=exc)) from exc
        # Save first: a ConflictError then leaves nothing of this decision behind, and
        # the version check replaces a re-load of every claimed state.
        if release or decision.state != target.state or target.version is None:
            version = writes.save(decision.state, target.version)
        else:
            version = target.version
        pending.decided[decision.state.checkout_id] = Claimed(decision.state, version)
        _apply_commands(
            writes, decision, customer_id=customer_id, now=now, pending=pending, answer=answer
        )
        return decision


class Quarantine(Exception):
    """Deciding for one recovery raised; it was parked and logged."""

    def __init__(self, record: Quarantined) -> None:
        super().__init__(record.detail)
        self.record = record


def _recoveries_of(tx: Transaction, customer_id: str) -> Callable[[datetime], list[RecoveryState]]:
    return lambda since: tx.customer_recoveries(customer_id, since=since)


def _quarantine(
    tx: Transaction, writes: Writes, target: Target, event: Event, *, now: datetime, exc: Exception
) -> Quarantined:
    """Park a recovery the engine raised on: no wake-up until someone looks at it.

    The state is saved without its wake-up (so no tick claims it again, and its
    lease holds nobody else back) and a ``quarantine`` record names the error.
    A brand-new recovery (its checkout rejected by the engine) has no state to park:
    only the record is written.
    """
    checkout_id = getattr(event, "checkout_id", None) or (
        target.state.checkout_id if target.state is not None else "?"
    )
    error = type(exc).__name__
    detail = f"{error}: {exc}"[:500]
    if target.state is not None and target.version is not None:
        tx.save(attrs.evolve(target.state, wakeup_at=None), expected_version=target.version)
    writes.log(
        LogRecord(
            now, RecordKind.QUARANTINE, checkout_id, target.customer_id,
            {"error": error, "detail": detail, "event": type(event).__name__,
             "fix": "correct the recovery's data, then apply a new event to it"},
        )
    )  # fmt: skip
    return Quarantined(str(checkout_id), error, detail)


def _apply_commands(
    writes: Writes,
    decision: Decision,
    *,
    customer_id: str,
    now: datetime,
    pending: Pending,
    answer: bool,
) -> None:
    checkout_id = decision.state.checkout_id
    zone = decision.state.zones[0] if decision.state.zones else None
    for command in decision.commands:
        match command:
            case SendMessage():
                if not answer and command.kind is MessageKind.REPLY:
                    continue
                entry = OutboxEntry(key=command.idempotency_key, message=command, created_at=now)
                counted = SendKind.TOUCH if command.kind.capped else SendKind.REPLY
                writes.add_outbox(
                    entry,
                    (customer_id, ContactRecord(now, command.channel, checkout_id, counted)),
                    LogRecord(now, send_kind(command), checkout_id, customer_id,
                              send_data(command, zone)),
                    pending,
                )  # fmt: skip
            case RecordConsent():
                writes.append_consent(command.event)
            case HandOff():
                if not answer and command.reason is not HandOffReason.FOLLOW_UP:
                    # One inbound message, one hand-off: the first recovery it reached
                    # gives it, unless a person already has another's conversation.
                    continue
                writes.log(
                    LogRecord(now, RecordKind.HANDOFF, checkout_id, customer_id,
                              handoff_data(command))
                )  # fmt: skip
                pending.handoffs.append(command)
            case Finish():
                writes.log(LogRecord(now, RecordKind.FINISH, checkout_id, customer_id,
                                     {"reason": command.reason.value}))  # fmt: skip
            case ScheduleWakeup():
                pass  # the saved state's wakeup_at is the due time
    for note in decision.notes:
        kind, data = note_record(note)
        writes.log(LogRecord(now, kind, checkout_id, customer_id, data))


def service_windows_of(tx: Transaction, customer_id: str) -> dict[Channel, datetime]:
    """The customer's open service windows, read one channel at a time."""
    windows: dict[Channel, datetime] = {}
    for channel in WINDOW_CHANNELS:
        until = tx.service_window(customer_id, channel)
        if until is not None:
            windows[channel] = until
    return windows


class DirectWrites:
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
            service_windows=service_windows_of(tx, customer_id),
        )

    def save(self, state: RecoveryState, version: int | None) -> int:
        return self._tx.save(state, expected_version=version)

    def add_outbox(
        self,
        entry: OutboxEntry,
        contact: tuple[str, ContactRecord],
        record: LogRecord,
        pending: Pending,
    ) -> None:
        """Queue ``entry``, and with it its contact record and log line, unless its key
        was decided before (a retried event): never twice."""
        if self._tx.add_outbox(entry):
            self._tx.add_contact(*contact)
            self._tx.log(record)
            pending.entries.append(entry)

    def append_consent(self, event: ConsentEvent) -> None:
        record_consent(self._tx, event)

    def log(self, record: LogRecord) -> None:
        self._tx.log(record)


class BatchWrites:
    """A tick's contexts, read for all its customers at once, and its writes, collected.

    Contact records and log lines wait in lists until ``flush`` writes them in two
    calls; consent goes in at once (it is rare, and it is the record that must never
    be missing). Every write also reaches the customer's context here, so a later
    decision in the same batch sees the earlier ones' sends and consent, as a fresh
    read of the store would. Nothing else in the tick reads contacts or the log, so
    holding them back until the end of the transaction changes no answer.
    """

    __slots__ = ("_contacts", "_contexts", "_entries", "_logs", "_saves", "_sent", "_tx")

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
                service_windows=open_windows(windows.get(customer_id, {})),
            )
            for customer_id in unique
        }
        #: Contacts and log lines in order, each with the outbox key it stands or falls
        #: with (``None``: it is written whatever happens to the entries).
        self._contacts: list[tuple[str, ContactRecord, str | None]] = []
        self._logs: list[tuple[LogRecord, str | None]] = []
        self._saves: list[tuple[RecoveryState, int]] = []
        self._entries: list[OutboxEntry] = []
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

    def save(self, state: RecoveryState, version: int | None) -> int:
        """Queue the save of a claimed recovery; ``flush`` writes the batch's in one go."""
        if version is None:
            return self._tx.save(state, expected_version=None)
        self._saves.append((state, version))
        return version + 1

    def add_outbox(
        self,
        entry: OutboxEntry,
        contact: tuple[str, ContactRecord],
        record: LogRecord,
        pending: Pending,
    ) -> None:
        """Queue ``entry`` with its contact record and log line; ``flush`` keeps all three
        only if the key is new. The contact reaches the customer's context at once: a
        later decision in the batch sees it (should the key turn out to be old, that
        decision was only more careful than it needed to be)."""
        customer_id, contact_record = contact
        self._entries.append(entry)
        self._contacts.append((customer_id, contact_record, entry.key))
        self._sent.setdefault(customer_id, []).append(contact_record)
        self._logs.append((record, entry.key))

    def append_consent(self, event: ConsentEvent) -> None:
        record_consent(self._tx, event)
        context = self._contexts.get(event.customer_id)
        if context is not None:
            self._contexts[event.customer_id] = attrs.evolve(
                context, consent=context.consent.append(event)
            )

    def log(self, record: LogRecord) -> None:
        self._logs.append((record, None))

    def flush(self, pending: Pending) -> None:
        """Write the batch: states, outbox entries, contacts, log lines, each set-based.

        The states go first, each row's version checked in the statement: if one was
        saved by someone else after all, ``ConflictError`` rolls the batch back before
        anything else of it is written. Entries whose key was decided before are left
        out with their contacts and log lines; the rest join ``pending`` in order.
        """
        tx = self._tx
        tx.save_many(self._saves)
        added = tx.add_outbox_many(self._entries) if self._entries else set()
        pending.entries.extend(entry for entry in self._entries if entry.key in added)
        contacts = [
            (customer_id, record)
            for customer_id, record, key in self._contacts
            if key is None or key in added
        ]
        if contacts:
            tx.add_contacts(contacts)
        logs = [record for record, key in self._logs if key is None or key in added]
        if logs:
            tx.log_many(logs)


Writes = DirectWrites | BatchWrites


def open_windows(stored: Mapping[Channel, datetime]) -> dict[Channel, datetime]:
    """The windows a decision reads, in the order ``service_windows_of`` lists them."""
    return {channel: stored[channel] for channel in WINDOW_CHANNELS if channel in stored}

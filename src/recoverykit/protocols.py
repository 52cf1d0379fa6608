"""The small protocols the embedding application implements: channels, stores, clocks.

recoverykit's engine never performs I/O. The runner (``recoverykit.runtime.runner``) drives
it through these protocols; a framework author who implements them gets the whole
runtime (crash-safe sends, several workers, measurement) on their own database or
provider. Each method's docstring states the contract the runner relies on.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Protocol, cast, runtime_checkable

import attrs

from .engine.commands import HandOff, SendMessage
from .engine.state import RecoveryState
from .policies.caps import ContactHistory, ContactRecord
from .policies.consent import ConsentEvent, ConsentLedger
from .policies.vocabulary import ReplyClassifier
from .values.model import Channel, Customer

if TYPE_CHECKING:
    from .detector import CheckoutWatch, ShopOrder

__all__ = [
    "BatchTransaction",
    "ChannelAdapter",
    "ChannelHealthSink",
    "ChannelHold",
    "Claimed",
    "Clock",
    "DetectorTransaction",
    "HandOffSink",
    "HealthTransaction",
    "MESSAGE_KINDS",
    "LogRecord",
    "OutboxEntry",
    "OutboxMark",
    "OutboxStatus",
    "Receipt",
    "RecordKind",
    "ReplyClassifier",
    "Store",
    "SystemClock",
    "Transaction",
    "TransactionDefaults",
    "WHOLE_CHANNEL",
    "batched",
]


# -- channels -----------------------------------------------------------------------------
@attrs.frozen
class Receipt:
    """What a provider answered when it accepted a message."""

    #: The provider's id for the message (used to match delivery webhooks).
    provider_id: str
    accepted_at: datetime


@runtime_checkable
class ChannelAdapter(Protocol):
    """**Protocol:** sends messages on one channel (SMS via Twilio, WhatsApp, e-mail, ...).

    ``send`` must either return a ``Receipt`` (the provider accepted the message) or
    raise ``recoverykit.errors.ChannelError`` saying whether the failure is permanent.
    It should pass ``message.idempotency_key`` to the provider when the provider
    accepts one, so a retry after a crash cannot send twice.
    """

    channel: Channel

    def send(self, message: SendMessage) -> Receipt: ...


@runtime_checkable
class Clock(Protocol):
    """**Protocol:** the only source of "now" (a ``FakeClock`` in tests)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock, always as an aware UTC datetime: the one place recoverykit
    reads the real time. The engine never does; a ``Runner`` or an adapter asks the
    ``Clock`` it was given, and this is the one production uses."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@runtime_checkable
class HandOffSink(Protocol):
    """**Protocol:** receives conversations a person should take over.

    The ``HandOff`` carries everything needed to answer without another lookup: the
    customer's text and its classified intent, the reason, the cart and the newest
    lines of the conversation. It is called after the decision is committed (the
    ``handoff`` log line is already written); an exception here is logged and does
    not undo anything. When the person is done, hand the recovery back with
    ``Runner.handle(RecoveryResumed(checkout_id, at=...))``.
    """

    def hand_off(self, handoff: HandOff) -> None: ...


# -- stored records ---------------------------------------------------------------------
class OutboxStatus(enum.StrEnum):
    """Where an outbox entry stands. ``pending`` entries are reconciled after a crash."""

    #: Written with the state that decided it; not yet handed to the channel.
    PENDING = "pending"
    #: The channel accepted it.
    SENT = "sent"
    #: The channel refused it.
    FAILED = "failed"
    #: The process died between handing it over and recording the answer, and the
    #: channel cannot be asked: never resent automatically, reported instead.
    UNCERTAIN = "uncertain"
    #: Dropped before sending because consent was withdrawn in the meantime.
    CANCELLED = "cancelled"


@attrs.frozen
class OutboxEntry:
    """One message to send, keyed by its idempotency key (unique in the store)."""

    key: str
    message: SendMessage
    created_at: datetime
    status: OutboxStatus = OutboxStatus.PENDING
    provider_id: str | None = None
    detail: str | None = None
    #: When a worker handed it to the channel (``None`` before).
    attempted_at: datetime | None = None


@attrs.frozen
class OutboxMark:
    """What became of one outbox entry, for ``Store.mark_outbox_many``."""

    key: str
    status: OutboxStatus
    provider_id: str | None = None
    detail: str | None = None


#: ``ChannelHold.recipient`` of a hold on the whole channel (its circuit).
WHOLE_CHANNEL: Final = ""


@attrs.frozen
class ChannelHold:
    """A channel, or one recipient on it, that the runtime holds back after a provider fault.

    With ``recipient`` empty it is the channel's circuit: open since ``opened_at``,
    nothing is handed to the channel but one probe once ``next_probe_at`` has come,
    and ``probes`` failed probes so far set the next wait. With ``recipient`` set
    (a digest of the address, never the address itself) only messages to that
    recipient wait, until ``next_probe_at``. ``code`` and ``reason`` are the
    provider's error code and what it means (no personal data).
    """

    channel: Channel = attrs.field(converter=Channel)
    opened_at: datetime
    next_probe_at: datetime
    reason: str
    code: str | None = None
    probes: int = 0
    recipient: str = WHOLE_CHANNEL

    @property
    def whole_channel(self) -> bool:
        return self.recipient == WHOLE_CHANNEL


@runtime_checkable
class ChannelHealthSink(Protocol):
    """**Protocol (optional):** told when a channel goes down and when it comes back.

    Pass one to ``Runner(health=...)`` to page someone: ``channel_down`` is called
    once per outage (by the worker that opened the circuit), ``channel_up`` once when
    a probe succeeds. Both are called after the event-log record is committed; an
    exception raised here is logged and does not stop sending.
    """

    def channel_down(self, hold: ChannelHold) -> None: ...

    def channel_up(self, hold: ChannelHold, at: datetime) -> None: ...


@attrs.frozen
class Claimed:
    """A recovery state as loaded, with the version a later ``save`` must expect."""

    state: RecoveryState
    version: int


class RecordKind(enum.StrEnum):
    """What one line of the event log records.

    The runtime writes these kinds and measurement, the command line and reports
    read them: this is the one list. A ``str`` enum, so stored logs keep plain
    strings and ``record.kind == RecordKind.SEND`` holds for them.
    """

    #: An event applied to one or more recoveries (its data summarises the event).
    EVENT = "event"
    #: A touch queued for sending (in the transaction that decided it).
    SEND = "send"
    #: The opt-out confirmation queued for sending.
    CONFIRM = "confirm"
    #: Another reply queued (a HELP answer, menu help, the link again, thanks).
    REPLY = "reply"
    #: A touch moved later (contact hours, a cap, a program rule, a retry).
    DEFER = "defer"
    #: A touch left out (nothing true to say, a guard blocked it).
    SKIP = "skip"
    #: A conversation handed to a person.
    HANDOFF = "handoff"
    #: A recovery finished, with its reason.
    FINISH = "finish"
    #: An event that changed nothing (a duplicate, a late or unknown one).
    IGNORED = "ignored"
    #: Anything else worth knowing (holdout, double opt-in, provider statuses).
    INFO = "info"
    #: What became of an outbox entry after it was queued (failed, uncertain,
    #: cancelled at the last look, settled by a delivery report).
    OUTBOX = "outbox"
    #: A recovery set aside because its data broke the engine; the others go on.
    QUARANTINE = "quarantine"
    #: What the abandonment detector made of a shop checkout it did not report
    #: (``{"outcome": "ordered_recently", "detail": ...}``), or a shop fact seen twice.
    DETECT = "detect"
    #: A channel-wide provider fault opened the channel's circuit: nothing goes out on
    #: it but one probe at a time (``{"channel", "code", "reason", "next_probe_at"}``).
    CHANNEL_DOWN = "channel_down"
    #: A probe went through and the channel's circuit closed (``{"channel",
    #: "down_since", "down_seconds", "probes"}``).
    CHANNEL_UP = "channel_up"


#: The kinds that stand for a message queued for a customer (and on the provider's bill).
MESSAGE_KINDS: Final = frozenset({RecordKind.SEND, RecordKind.REPLY, RecordKind.CONFIRM})


@attrs.frozen
class LogRecord:
    """One line of the append-only event log that measurement reads.

    ``kind`` is a ``RecordKind`` (stored as its string); ``data`` is JSON-safe.
    """

    at: datetime
    kind: str
    checkout_id: str | None
    customer_id: str | None
    data: dict[str, Any] = attrs.field(factory=dict)


# -- store ---------------------------------------------------------------------------------
@runtime_checkable
class Transaction(Protocol):
    """**Protocol:** one atomic unit of work on a store.

    Everything done through one transaction is committed together when the
    ``with`` block ends without an exception, and not at all otherwise. While it
    is open, no other transaction may change the same customer's consent ledger,
    contact history or outbox (SQLite: one writer; PostgreSQL: the customer row
    locked ``FOR UPDATE``), so consent and caps checked inside it stay true until
    commit: a revocation committed first always wins.
    """

    def load(self, checkout_id: str) -> Claimed | None:
        """The stored state of a recovery, or ``None``."""
        ...

    def open_recoveries(self, customer_id: str) -> list[Claimed]:
        """Every recovery of the customer that is not finished, newest first.

        Newest means the latest ``checkout.abandoned_at``; states without their
        checkout come after, the most recently inserted first.
        """
        ...

    def customer_recoveries(self, customer_id: str, *, since: datetime) -> list[RecoveryState]:
        """Every recovery of this customer abandoned at or after ``since``, finished ones
        included, plus those whose cart was already dropped for retention (the
        discount guard reads earlier discounts and abandonments from them)."""
        ...

    def save(self, state: RecoveryState, *, expected_version: int | None) -> int:
        """Store ``state`` and return its new version.

        ``expected_version=None`` inserts a new recovery (``ConflictError`` if it
        exists); otherwise the stored version must equal ``expected_version``
        (``ConflictError`` if someone saved in between). The state's ``wakeup_at``
        becomes its due time (``None``: never due) and any claim on it is released.
        """
        ...

    def save_customer(self, customer: Customer) -> None:
        """Remember the customer and index their addresses for ``customer_for``.

        The phone serves SMS and WhatsApp, ``telegram_chat_id`` Telegram, ``viber_id``
        Viber, the e-mail (any case) e-mail. Saving again replaces the old addresses.
        """
        ...

    def customer_for(self, channel: Channel, address: str) -> str | None:
        """The id of the customer who uses ``address`` on ``channel``, if known."""
        ...

    def customer(self, customer_id: str) -> Customer | None:
        """The customer as last saved with ``save_customer``, or ``None``.

        Webhooks need it to read a reply in the customer's language and to add a
        chat id the customer just gave (``Runner.receive``).
        """
        ...

    def ledger(self, customer_id: str) -> ConsentLedger:
        """The customer's consent ledger with every event appended so far."""
        ...

    def append_consent(self, event: ConsentEvent) -> None:
        """Append one consent event (append-only: nothing is ever rewritten)."""
        ...

    def history(self, customer_id: str, *, since: datetime) -> ContactHistory:
        """The customer's sends across all checkouts at or after ``since``."""
        ...

    def add_contact(self, customer_id: str, record: ContactRecord) -> None:
        """Record a send in the customer's contact history."""
        ...

    def service_window(self, customer_id: str, channel: Channel) -> datetime | None:
        """Until when the customer's service window on ``channel`` is open."""
        ...

    def open_service_window(self, customer_id: str, channel: Channel, until: datetime) -> None:
        """The customer wrote on ``channel``: their window is open until ``until``.

        A window only grows: an earlier ``until`` than the stored one changes nothing.
        """
        ...

    def add_outbox(self, entry: OutboxEntry) -> bool:
        """Add an entry; ``False`` (and no change) when its key is already there."""
        ...

    def sent_message(self, channel: Channel, provider_id: str) -> OutboxEntry | None:
        """The outbox entry the provider knows as ``provider_id`` on ``channel``, or ``None``.

        ``provider_id`` is the id a ``Receipt`` carried when the entry was marked
        (or added) with it; delivery webhooks name messages by it, so stores index
        it. Entries settled long ago may have been purged.
        """
        ...

    def outbox_entry(self, key: str) -> OutboxEntry | None:
        """The outbox entry with idempotency key ``key``, or ``None``.

        A delivery report that carries the key back (Twilio's status-callback URL,
        WhatsApp's ``biz_opaque_callback_data``) names its entry this way even when
        the provider's id was never recorded (a send left ``uncertain``).
        """
        ...

    def mark_seen(self, event_id: str) -> bool:
        """Record an inbound event id; ``False`` when it was seen before (a replay)."""
        ...

    def log(self, record: LogRecord) -> None:
        """Append to the event log."""
        ...


# -- optional batch methods -----------------------------------------------------------------
@runtime_checkable
class BatchTransaction(Transaction, Protocol):
    """**Protocol (optional):** a ``Transaction`` that also reads and writes for many
    customers at once.

    The runner's tick decides a whole claimed batch in one transaction. A store that
    answers these methods in a few set-based statements saves several round trips per
    recovery; a store without them still works, because the runner goes through
    ``batched(tx)``, which fills them in from ``TransactionDefaults`` (the single
    methods, one customer at a time). Each method must return what the single methods
    would return at that point of the same transaction, and takes the same locks
    (PostgreSQL: each customer's row, SEAMS 5).
    """

    def ledgers(self, customer_ids: Collection[str]) -> dict[str, ConsentLedger]:
        """``ledger(id)`` for every id given; a customer without events gets an empty one."""
        ...

    def histories(
        self, customer_ids: Collection[str], *, since: datetime
    ) -> dict[str, ContactHistory]:
        """``history(id, since=since)`` for every id given."""
        ...

    def service_windows(self, customer_ids: Collection[str]) -> dict[str, dict[Channel, datetime]]:
        """Every stored service window of every id given: ``{id: {channel: until}}``.

        A customer or channel without a window is left out, as ``service_window``
        answers ``None`` for it.
        """
        ...

    def add_contacts(self, contacts: Sequence[tuple[str, ContactRecord]]) -> None:
        """``add_contact(customer_id, record)`` for each pair, in order."""
        ...

    def log_many(self, records: Sequence[LogRecord]) -> None:
        """``log(record)`` for each record, in order (records with equal times keep it)."""
        ...

    def versions(self, checkout_ids: Collection[str]) -> dict[str, int]:
        """The stored version of every recovery given (one not stored is left out).

        PostgreSQL also locks those rows until the transaction ends, so a ``save_many``
        of them later in it cannot meet another worker's save.
        """
        ...

    def save_many(self, saves: Sequence[tuple[RecoveryState, int]]) -> None:
        """``save(state, expected_version=version)`` for each stored recovery given.

        Each new version is ``version + 1``. If any stored version differs, raises
        ``ConflictError`` (the whole transaction is then rolled back by the caller).
        """
        ...

    def add_outbox_many(self, entries: Sequence[OutboxEntry]) -> set[str]:
        """``add_outbox(entry)`` for each entry, in order; the keys that were new.

        An entry whose key is already stored (or came earlier in ``entries``) is
        left as it was, exactly as ``add_outbox`` answers ``False`` for it.
        """
        ...

    def version(self, checkout_id: str) -> int | None:
        """The stored version of one recovery, without reading its state (``None``: not stored)."""
        ...


@runtime_checkable
class DetectorTransaction(Transaction, Protocol):
    """**Protocol (optional):** a ``Transaction`` that also keeps the abandonment detector's
    state: one watch per shop checkout, and the shop's orders.

    ``Runner.observe`` and ``Runner.detect`` need it; the built-in stores have it. Watches
    and orders change in the same transaction as the recoveries they start, so an
    abandonment is emitted once even when a worker dies halfway.
    """

    def watch(self, checkout_id: str) -> CheckoutWatch | None:
        """The stored watch of a shop checkout, or ``None``."""
        ...

    def save_watch(self, watch: CheckoutWatch) -> None:
        """Store ``watch`` (replacing the old one); its ``due_at`` is when it falls due."""
        ...

    def due_watches(self, now: datetime, *, limit: int) -> list[CheckoutWatch]:
        """Up to ``limit`` watches due at ``now``, earliest first.

        A watch returned here is held until the transaction ends (PostgreSQL: its row
        locked, skipped by other workers), so two workers never decide it together.
        """
        ...

    def add_order(self, order: ShopOrder) -> bool:
        """Remember a shop order; ``False`` (and no change) when its ``order_id`` is known."""
        ...

    def customers_with(self, *, phone: str | None, email: str | None) -> list[str]:
        """The ids of the customers whose watched checkouts carry this phone or e-mail
        (``ShopOrder``'s normalized forms), sorted: every record one person ordered as."""
        ...

    def orders_for(
        self,
        *,
        checkout_id: str,
        customer_id: str | None,
        phone: str | None,
        email: str | None,
        since: datetime,
    ) -> list[ShopOrder]:
        """Orders of ``checkout_id`` (any time), and orders at or after ``since`` by the
        same customer id, phone or e-mail (``ShopOrder``'s normalized forms)."""
        ...


@runtime_checkable
class HealthTransaction(Transaction, Protocol):
    """**Protocol (optional):** a ``Transaction`` that also keeps channel holds.

    The runner keeps a channel's circuit and recipients' holds here, so they outlive
    the tick and the process that opened them and every worker sees the same ones;
    the built-in stores have it. A store without it still runs: the holds then live
    in the runner's memory only, and an entry the provider refused for the whole
    channel is failed (its recovery retries) instead of waiting.
    """

    def holds(self) -> list[ChannelHold]:
        """Every hold, whole channels and recipients alike (expired ones included)."""
        ...

    def open_hold(self, hold: ChannelHold) -> bool:
        """Store ``hold`` unless one is already kept for its channel and recipient.

        ``True`` when this call opened it: only then is the outage reported, so two
        workers that meet the same fault report it once.
        """
        ...

    def save_hold(self, hold: ChannelHold) -> None:
        """Store ``hold`` over the one kept for its channel and recipient (a failed probe)."""
        ...

    def drop_hold(self, channel: Channel, recipient: str = WHOLE_CHANNEL) -> ChannelHold | None:
        """Remove the hold kept for ``channel`` and ``recipient``; the removed one, or ``None``
        when there was none (another worker closed it first)."""
        ...

    def release_attempt(self, key: str, attempted_at: datetime) -> bool:
        """Put a ``pending`` entry back to "never handed over" (``attempted_at`` empty).

        For an entry the provider refused before taking it (a channel-wide fault):
        it waits like any unsent entry, and ``reconcile`` will not take it for one a
        process died sending. Only while it is ``pending`` with this ``attempted_at``;
        whether it was released.
        """
        ...


class TransactionDefaults:
    """The methods of ``BatchTransaction`` written with the single ones of ``Transaction``.

    A store's transaction class may inherit this to become a ``BatchTransaction``
    without writing any of them, then override those its database can answer
    set-based. Each default is the plain loop over the single method, so it is
    correct for any store that keeps the ``Transaction`` contract.
    """

    __slots__ = ()

    def ledgers(self: Transaction, customer_ids: Collection[str]) -> dict[str, ConsentLedger]:
        return {customer_id: self.ledger(customer_id) for customer_id in customer_ids}

    def histories(
        self: Transaction, customer_ids: Collection[str], *, since: datetime
    ) -> dict[str, ContactHistory]:
        return {customer_id: self.history(customer_id, since=since) for customer_id in customer_ids}

    def service_windows(
        self: Transaction, customer_ids: Collection[str]
    ) -> dict[str, dict[Channel, datetime]]:
        found: dict[str, dict[Channel, datetime]] = {}
        for customer_id in customer_ids:
            for channel in Channel:
                until = self.service_window(customer_id, channel)
                if until is not None:
                    found.setdefault(customer_id, {})[channel] = until
        return found

    def add_contacts(self: Transaction, contacts: Sequence[tuple[str, ContactRecord]]) -> None:
        for customer_id, record in contacts:
            self.add_contact(customer_id, record)

    def log_many(self: Transaction, records: Sequence[LogRecord]) -> None:
        for record in records:
            self.log(record)

    def versions(self: Transaction, checkout_ids: Collection[str]) -> dict[str, int]:
        found = {checkout_id: self.load(checkout_id) for checkout_id in checkout_ids}
        return {key: claimed.version for key, claimed in found.items() if claimed is not None}

    def save_many(self: Transaction, saves: Sequence[tuple[RecoveryState, int]]) -> None:
        for state, version in saves:
            self.save(state, expected_version=version)

    def add_outbox_many(self: Transaction, entries: Sequence[OutboxEntry]) -> set[str]:
        return {entry.key for entry in entries if self.add_outbox(entry)}

    def version(self: Transaction, checkout_id: str) -> int | None:
        claimed = self.load(checkout_id)
        return None if claimed is None else claimed.version


class _WithDefaults(TransactionDefaults):
    """A plain ``Transaction`` given the default batch methods; everything else is its own."""

    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)


def batched(tx: Transaction) -> BatchTransaction:
    """``tx`` with the batch methods: its own when its store has them, else the defaults.

    The runner calls this once per tick, so a store written before ``BatchTransaction``
    existed keeps working unchanged.
    """
    if isinstance(tx, BatchTransaction):
        return tx
    return cast(BatchTransaction, _WithDefaults(tx))


@runtime_checkable
class Store(Protocol):
    """**Protocol:** where recoveries, consent, contact history, the outbox and the log live.

    ``MemoryStore`` and ``SQLiteStore`` implement it; ``recoverykit.testing.store_contract``
    is a test suite any implementation can run against itself.

    A store keeps instants, not zones: datetimes may come back in UTC. Values must
    come back equal to what was saved (the same instants, the same JSON data).
    """

    def transaction(self) -> AbstractContextManager[Transaction]:
        """Open a transaction (see ``Transaction``)."""
        ...

    def claim_due(
        self, now: datetime, *, limit: int, lease: timedelta, worker: str
    ) -> list[Claimed]:
        """Claim up to ``limit`` recoveries due at ``now``, earliest first, in one commit.

        A claimed recovery is not returned to another worker until ``lease`` has
        passed or its state is saved; a worker that dies loses its claims when the
        lease runs out.
        """
        ...

    def next_due(self) -> datetime | None:
        """The earliest ``wakeup_at`` among unfinished recoveries (a scheduler sleeps until it)."""
        ...

    def outbox(
        self, *, status: OutboxStatus = OutboxStatus.PENDING, limit: int = 1000
    ) -> list[OutboxEntry]:
        """Entries in ``status``, oldest first."""
        ...

    def mark_outbox(
        self,
        key: str,
        status: OutboxStatus,
        *,
        at: datetime,
        provider_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Record what became of an entry; committed before returning.

        ``provider_id`` and ``detail`` replace the stored ones only when given. An
        unknown key raises ``StoreError``.
        """
        ...

    def mark_outbox_many(self, marks: list[OutboxMark], *, at: datetime) -> None:
        """Record several outcomes in one commit (the batched tick's "mark sent").

        Same rules as ``mark_outbox`` for each mark; an unknown key raises
        ``StoreError`` and none of the marks is kept.
        """
        ...

    def mark_attempted(
        self,
        keys: list[str],
        *,
        at: datetime,
        previous: Mapping[str, datetime] | None = None,
    ) -> list[str]:
        """Claim entries for sending: record, durably and before sending, the hand-over.

        An entry is claimed only while it is ``pending`` and its ``attempted_at`` is
        still what the caller read: ``None``, or ``previous[key]`` for an entry a
        reconcile decided to resend. Returns the keys this call claimed, in one
        commit; a key another process claimed first (two reconciles racing), a
        settled entry or an unknown key is left out, and must not be sent.
        """
        ...

    def events(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[LogRecord]:
        """The event log in time order, streamed (memory does not grow with the log).

        ``since`` is inclusive and ``until`` exclusive; records with equal times come
        in the order they were logged.
        """
        ...

    def states(self) -> Iterator[RecoveryState]:
        """Every stored recovery (for reports and ``explain``)."""
        ...

    def purge(self, before: datetime, *, limit: int = 1000) -> int:
        """Delete finished recoveries, log lines, contact records and settled outbox
        entries older than ``before``, and the customers they leave behind.

        A finished recovery's age counts from its ``finished_at`` (else ``updated_at``);
        outbox entries go when ``sent``, ``failed``, ``cancelled`` or ``uncertain``
        (nobody resolved it within the retention period), by ``created_at``; pending
        ones stay for the runner. A customer whose last recovery goes, and who has
        nothing pending or uncertain in the outbox, goes with it: the record, its
        addresses and service windows (these rows do not count against ``limit``).
        At most ``limit`` rows per call; returns how many went (call again until it
        returns 0). Consent events are never purged: they are the proof of consent.
        """
        ...

    def export_customer(self, customer_id: str) -> dict[str, Any]:
        """Everything the store keeps about one customer, as one JSON-safe document
        (GDPR article 15): ``customer``, ``addresses``, ``consent``, ``recoveries``,
        ``contacts``, ``service_windows``, ``outbox`` and ``log`` (see
        ``recoverykit.stores.erasure.export_document``). An unknown id gives the same
        keys, empty.
        """
        ...

    def erase_customer(self, customer_id: str) -> int:
        """Remove one customer's personal data everywhere (GDPR article 17), in one commit.

        Recoveries, outbox entries (any status), log lines (by customer and by their
        checkouts), contact records, service windows, addresses and the customer record
        go. Consent events stay as the proof of consent, pseudonymised: the customer id
        becomes ``recoverykit.stores.erasure.pseudonym(customer_id)`` and an address
        its SHA-256 digest. Returns how many rows were removed or pseudonymised; erasing
        again returns 0.
        """
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...

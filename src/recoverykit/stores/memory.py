"""``MemoryStore``: the whole ``Store`` contract in dictionaries, for tests and examples.

It keeps the same promises as ``SQLiteStore`` (the contract suite runs against both),
so a test written against it means the same thing in production. One re-entrant lock
serialises transactions, as SQLite's single writer does. A transaction changes the
dictionaries in place and keeps an undo list: if its block raises, every change is
undone before the lock is released, so nobody ever sees half a transaction.

Due recoveries are found through a heap and a customer's recoveries through an index,
so a store holding many thousands of recoveries (``recoverykit simulate`` on a big
scenario) claims and routes at a cost that does not grow with their number. For such
long runs, ``log_to`` hands each log line on when its transaction commits instead of
keeping it, and ``pack_finished`` keeps a finished recovery's state as compressed JSON
and forgets its settled outbox entries, so memory follows the open recoveries.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import json
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from ..detector import CheckoutWatch, ShopOrder, person_keys, watch_from_dict, watch_to_dict
from ..engine.state import RecoveryState, RecoveryStatus
from ..policies.caps import ContactHistory, ContactRecord
from ..policies.consent import ConsentEvent, ConsentLedger
from ..protocols import (
    WHOLE_CHANNEL,
    ChannelHold,
    Claimed,
    LogRecord,
    OutboxEntry,
    OutboxMark,
    OutboxStatus,
    TransactionDefaults,
)
from ..values.model import Channel, Customer, address_key
from ..values.text import replace_surrogates
from ..values.time import require_aware, to_utc
from ._refusals import TransactionGuard, recovery_exists, unknown_outbox_key, version_conflict
from ._sql import log
from .codec import due_of, dumps, finished_of, micros, started_of, state_from_json, state_to_json
from .erasure import export_document, pseudonym, pseudonymised

__all__ = ["MemoryStore"]

#: Outbox entries purge may delete once old: settled, or uncertain and never resolved.
_SETTLED: Final = frozenset(
    {OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.CANCELLED, OutboxStatus.UNCERTAIN}
)


@attrs.frozen
class _Row:
    #: The state, or (a finished one, with ``pack_finished``) its compressed JSON text.
    stored: RecoveryState | bytes
    version: int
    #: Insertion order, the tie-breaker for "newest first".
    seq: int
    claimed_by: str | None = None
    lease_until: datetime | None = None
    #: The preset dictionary a packed state was compressed with.
    zdict: bytes | None = None

    @property
    def state(self) -> RecoveryState:
        stored = self.stored
        if isinstance(stored, bytes):
            unpack = zlib.decompressobj(zdict=self.zdict) if self.zdict else zlib.decompressobj()
            return state_from_json(unpack.decompress(stored).decode("utf-8"))
        return stored

    @property
    def due(self) -> datetime | None:
        return None if isinstance(self.stored, bytes) else due_of(self.stored)

    @property
    def open(self) -> bool:
        return not isinstance(self.stored, bytes) and self.stored.status is not (
            RecoveryStatus.FINISHED
        )


def _pack(text: bytes, zdict: bytes) -> bytes:
    """``text`` compressed against ``zdict``: states share most of their keys and words,
    so one finished state primes the compressor for all that follow (about 3x smaller)."""
    pack = zlib.compressobj(6, zdict=zdict)
    return pack.compress(text) + pack.flush()


#: Stale due entries tolerated beyond twice the recoveries before the heap is rebuilt.
_HEAP_SLACK: Final = 1024


def _due_key(row: _Row, key: str) -> tuple[int, int, str] | None:
    """The due heap's entry for ``row``: ``None`` when it is not due at all."""
    due = row.due
    return None if due is None else (micros(due), row.seq, key)


@attrs.frozen
class _Outbox:
    entry: OutboxEntry
    seq: int
    settled_at: datetime | None = None


def _json_copy(data: dict[str, Any]) -> dict[str, Any]:
    """What a database would give back: JSON-safe data, detached from the caller's dict."""
    copied: dict[str, Any] = json.loads(dumps(data))
    return copied


def _newest_first(row: _Row) -> tuple[bool, int, int]:
    started = started_of(row.state)
    return (started is None, -micros(started) if started is not None else 0, -row.seq)


class _Tables:
    """The store's data; a transaction records how to undo each change it makes."""

    def __init__(self, *, pack_finished: bool = False) -> None:
        self.pack_finished = pack_finished
        #: The first packed state's text, the preset dictionary for packing the rest.
        self.zdict: bytes | None = None
        self.recoveries: dict[str, _Row] = {}
        #: Due entries (micros, seq, checkout id); an entry that no longer matches its
        #: row is stale and dropped when met, so saves never search the heap.
        self.due: list[tuple[int, int, str]] = []
        #: Checkout ids by customer id, for routing and caps without a scan.
        self.by_customer: dict[str, tuple[str, ...]] = {}
        self.customers: dict[str, Customer] = {}
        self.addresses: dict[tuple[Channel, str], str] = {}
        self.consent: dict[str, list[ConsentEvent]] = {}
        self.contacts: dict[str, list[ContactRecord]] = {}
        self.windows: dict[tuple[str, Channel], datetime] = {}
        self.outbox: dict[str, _Outbox] = {}
        #: Outbox keys by checkout id, kept only to forget a packed recovery's entries.
        self.outbox_of: dict[str, list[str]] = {}
        #: (channel, provider id) to outbox key: the index ``sent_message`` reads.
        self.sent: dict[tuple[Channel, str], str] = {}
        self.seen: set[str] = set()
        #: (at in microseconds, insertion number, record), kept sorted.
        self.log: list[tuple[int, int, LogRecord]] = []
        self.counter = itertools.count(1)
        #: The abandonment detector's watches by shop checkout id, and the shop's orders.
        self.watches: dict[str, CheckoutWatch] = {}
        self.orders: dict[str, ShopOrder] = {}
        #: Channel circuits and recipient holds by (channel, recipient digest or "").
        self.holds: dict[tuple[Channel, str], ChannelHold] = {}

    def compact_due(self) -> None:
        """Drop the due heap's stale entries (each save pushes one; they go only when met)."""
        recoveries = self.recoveries
        self.due = [
            entry
            for entry in self.due
            if (row := recoveries.get(entry[2])) is not None and _due_key(row, entry[2]) == entry
        ]
        heapq.heapify(self.due)


class MemoryTransaction(TransactionGuard, TransactionDefaults):
    """A ``Transaction`` on a ``MemoryStore``: valid only inside its ``with`` block.

    Its batch methods (``BatchTransaction``) are the defaults: a dictionary lookup
    per customer is already as cheap as it gets.
    """

    def __init__(
        self, tables: _Tables, *, log_to: Callable[[LogRecord], None] | None = None
    ) -> None:
        super().__init__()
        self._tables = tables
        self._undo: list[Callable[[], None]] = []
        self._log_to = log_to
        #: Log lines waiting for the commit, when they are handed on (``log_to``).
        self.lines: list[LogRecord] = []

    def _data(self) -> _Tables:
        self._check_open()
        return self._tables

    def _set(self, mapping: dict[Any, Any], key: Any, value: Any) -> None:
        if key in mapping:
            old = mapping[key]
            self._undo.append(lambda: mapping.__setitem__(key, old))
        else:
            self._undo.append(lambda: mapping.pop(key, None))
        mapping[key] = value

    def _pop(self, mapping: dict[Any, Any], key: Any) -> None:
        if key in mapping:
            old = mapping.pop(key)
            self._undo.append(lambda: mapping.__setitem__(key, old))

    def _rollback(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()
        self.lines.clear()

    def _set_row(self, key: str, row: _Row, customer_id: str) -> None:
        """Store ``row``; its due entry goes on the heap, and back again if undone."""
        tables = self._tables
        recoveries = tables.recoveries
        old = recoveries.get(key)

        def undo() -> None:
            if old is None:
                recoveries.pop(key, None)
                return
            recoveries[key] = old
            entry = _due_key(old, key)
            if entry is not None:
                heapq.heappush(tables.due, entry)

        self._undo.append(undo)
        recoveries[key] = row
        entry = _due_key(row, key)
        if entry is not None:
            heapq.heappush(tables.due, entry)
        if len(tables.due) > 2 * len(recoveries) + _HEAP_SLACK:
            tables.compact_due()
        if old is None:
            owned = tables.by_customer.get(customer_id, ())
            if key not in owned:
                self._set(tables.by_customer, customer_id, (*owned, key))

    def _rows_of(self, customer_id: str) -> list[_Row]:
        """The customer's rows in the order they were first stored."""
        recoveries = self._data().recoveries
        rows = [recoveries[key] for key in self._tables.by_customer.get(customer_id, ())]
        rows.sort(key=lambda row: row.seq)
        return rows

    # -- recoveries ----------------------------------------------------------------------
    def load(self, checkout_id: str) -> Claimed | None:
        row = self._data().recoveries.get(checkout_id)
        return None if row is None else Claimed(row.state, row.version)

    def open_recoveries(self, customer_id: str) -> list[Claimed]:
        rows = [row for row in self._rows_of(customer_id) if row.open]
        return [Claimed(row.state, row.version) for row in sorted(rows, key=_newest_first)]

    def customer_recoveries(self, customer_id: str, *, since: datetime) -> list[RecoveryState]:
        states = (row.state for row in self._rows_of(customer_id))
        return [
            state
            for state in states
            if state.checkout is None or state.checkout.abandoned_at >= since
        ]

    def save(self, state: RecoveryState, *, expected_version: int | None) -> int:
        tables = self._data()
        current = tables.recoveries.get(state.checkout_id)
        kept: RecoveryState | bytes = state
        if tables.pack_finished and state.status is RecoveryStatus.FINISHED:
            text = state_to_json(state).encode("utf-8")
            if tables.zdict is None:
                tables.zdict = text[-32768:]
            kept = _pack(text, tables.zdict)
        if expected_version is None:
            if current is not None:
                raise recovery_exists(state.checkout_id)
            row = _Row(kept, 1, next(tables.counter), zdict=tables.zdict)
        else:
            if current is None or current.version != expected_version:
                stored = None if current is None else current.version
                raise version_conflict(state.checkout_id, expected_version, stored)
            row = _Row(kept, expected_version + 1, current.seq, zdict=tables.zdict)
        self._set_row(state.checkout_id, row, state.customer_id)
        if isinstance(kept, bytes):
            self._forget_settled(state.checkout_id)
        return row.version

    def _forget_settled(self, checkout_id: str) -> None:
        """A packed recovery's settled outbox entries: nothing will read them again."""
        tables = self._tables
        for key in tables.outbox_of.pop(checkout_id, ()):
            row = tables.outbox.get(key)
            if row is not None and row.entry.status in _SETTLED:
                self._pop(tables.outbox, key)
                if row.entry.provider_id is not None:
                    self._pop(tables.sent, (row.entry.message.channel, row.entry.provider_id))

    # -- customers ----------------------------------------------------------------------
    def save_customer(self, customer: Customer) -> None:
        tables = self._data()
        old = tables.customers.get(customer.id)
        if old is not None:
            for channel, address in old.addresses():
                if tables.addresses.get((channel, address)) == customer.id:
                    self._pop(tables.addresses, (channel, address))
        self._set(tables.customers, customer.id, customer)
        for pair in customer.addresses():
            self._set(tables.addresses, pair, customer.id)

    def customer_for(self, channel: Channel, address: str) -> str | None:
        return self._data().addresses.get((channel, address_key(channel, address)))

    def customer(self, customer_id: str) -> Customer | None:
        return self._data().customers.get(customer_id)

    # -- consent and contact history ---------------------------------------------------------
    def ledger(self, customer_id: str) -> ConsentLedger:
        return ConsentLedger(tuple(self._data().consent.get(customer_id, ())))

    def append_consent(self, event: ConsentEvent) -> None:
        events = self._data().consent.setdefault(event.customer_id, [])
        events.append(event)
        self._undo.append(lambda: events.remove(event))

    def history(self, customer_id: str, *, since: datetime) -> ContactHistory:
        records = self._data().contacts.get(customer_id, [])
        start = bisect.bisect_left(records, to_utc(since), key=lambda record: record.at)
        return ContactHistory(tuple(records[start:]))

    def add_contact(self, customer_id: str, record: ContactRecord) -> None:
        records = self._data().contacts.setdefault(customer_id, [])
        bisect.insort_right(records, record, key=lambda item: item.at)
        self._undo.append(lambda: records.remove(record))

    def service_window(self, customer_id: str, channel: Channel) -> datetime | None:
        return self._data().windows.get((customer_id, channel))

    def open_service_window(self, customer_id: str, channel: Channel, until: datetime) -> None:
        windows = self._data().windows
        current = windows.get((customer_id, channel))
        if current is None or require_aware(until, "until") > current:
            self._set(windows, (customer_id, channel), until)

    # -- outbox, dedup, log --------------------------------------------------------------------
    def add_outbox(self, entry: OutboxEntry) -> bool:
        tables = self._data()
        if entry.key in tables.outbox:
            return False
        require_aware(entry.created_at, "created_at")
        text = replace_surrogates(entry.message.text)
        if text != entry.message.text:  # as a database keeps it: valid UTF-8
            entry = attrs.evolve(entry, message=attrs.evolve(entry.message, text=text))
        self._set(tables.outbox, entry.key, _Outbox(entry, next(tables.counter)))
        if tables.pack_finished:
            keys = tables.outbox_of.setdefault(entry.message.checkout_id, [])
            keys.append(entry.key)
            self._undo.append(lambda: keys.remove(entry.key))
        if entry.provider_id is not None:
            self._set(tables.sent, (entry.message.channel, entry.provider_id), entry.key)
        return True

    def sent_message(self, channel: Channel, provider_id: str) -> OutboxEntry | None:
        tables = self._data()
        row = tables.outbox.get(tables.sent.get((channel, provider_id), ""))
        if row is None or row.entry.provider_id != provider_id:
            return None  # never marked with it, or marked again with another id since
        return row.entry

    def outbox_entry(self, key: str) -> OutboxEntry | None:
        row = self._data().outbox.get(key)
        return None if row is None else row.entry

    def mark_seen(self, event_id: str) -> bool:
        seen = self._data().seen
        if event_id in seen:
            return False
        seen.add(event_id)
        self._undo.append(lambda: seen.discard(event_id))
        return True

    def log(self, record: LogRecord) -> None:
        tables = self._data()
        # As a database gives it back: the instant in UTC, the data as JSON.
        stored = attrs.evolve(record, at=to_utc(record.at), data=_json_copy(record.data))
        if self._log_to is not None:
            self.lines.append(stored)
            return
        item = (micros(record.at), next(tables.counter), stored)
        bisect.insort_right(tables.log, item, key=lambda entry: entry[:2])
        self._undo.append(lambda: tables.log.remove(item))

    # -- channel holds (HealthTransaction) --------------------------------------------------
    def holds(self) -> list[ChannelHold]:
        holds = self._data().holds
        return [holds[key] for key in sorted(holds)]

    def open_hold(self, hold: ChannelHold) -> bool:
        holds = self._data().holds
        if (hold.channel, hold.recipient) in holds:
            return False
        self._set(holds, (hold.channel, hold.recipient), hold)
        return True

    def save_hold(self, hold: ChannelHold) -> None:
        self._set(self._data().holds, (hold.channel, hold.recipient), hold)

    def drop_hold(self, channel: Channel, recipient: str = WHOLE_CHANNEL) -> ChannelHold | None:
        holds = self._data().holds
        found = holds.get((Channel(channel), recipient))
        self._pop(holds, (Channel(channel), recipient))
        return found

    def release_attempt(self, key: str, attempted_at: datetime) -> bool:
        outbox = self._data().outbox
        row = outbox.get(key)
        if (
            row is None
            or row.entry.status is not OutboxStatus.PENDING
            or row.entry.attempted_at != attempted_at
        ):
            return False
        self._set(outbox, key, attrs.evolve(row, entry=attrs.evolve(row.entry, attempted_at=None)))
        return True

    # -- the abandonment detector (DetectorTransaction) -------------------------------------
    def watch(self, checkout_id: str) -> CheckoutWatch | None:
        return self._data().watches.get(checkout_id)

    def save_watch(self, watch: CheckoutWatch) -> None:
        # Through its JSON form, as a database would keep it (and check it can).
        self._set(self._data().watches, watch.checkout_id, watch_from_dict(
            _json_copy(watch_to_dict(watch))))  # fmt: skip

    def due_watches(self, now: datetime, *, limit: int) -> list[CheckoutWatch]:
        require_aware(now, "now")
        due = [
            watch
            for watch in self._data().watches.values()
            if watch.due_at is not None and watch.due_at <= now
        ]
        due.sort(key=lambda watch: (micros(watch.due_at), watch.checkout_id))  # type: ignore[arg-type]
        return due[: max(limit, 0)]

    def customers_with(self, *, phone: str | None, email: str | None) -> list[str]:
        found: set[str] = set()
        for watch in self._data().watches.values():
            customer = watch.customer
            if customer is None:
                continue
            keys = person_keys(customer)
            if (phone is not None and keys[0] == phone) or (email is not None and keys[1] == email):
                found.add(customer.id)
        return sorted(found)

    def add_order(self, order: ShopOrder) -> bool:
        orders = self._data().orders
        if order.order_id in orders:
            return False
        self._set(orders, order.order_id, order)
        return True

    def orders_for(
        self,
        *,
        checkout_id: str,
        customer_id: str | None,
        phone: str | None,
        email: str | None,
        since: datetime,
    ) -> list[ShopOrder]:
        found = [
            order
            for order in self._data().orders.values()
            if order.checkout_id == checkout_id
            or (
                order.at >= since
                and (
                    (customer_id is not None and order.customer_id == customer_id)
                    or (phone is not None and order.phone == phone)
                    or (email is not None and order.email == email)
                )
            )
        ]
        return sorted(found, key=lambda order: (micros(order.at), order.order_id))


class MemoryStore:
    """A ``Store`` in process memory: for tests, examples and the contract suite itself.

    >>> store = MemoryStore()
    >>> with store.transaction() as tx:
    ...     tx.mark_seen("evt-1")
    True

    Safe to share between threads (one lock); nothing survives the process.
    """

    def __init__(
        self,
        *,
        log_to: Callable[[LogRecord], None] | None = None,
        pack_finished: bool = False,
    ) -> None:
        """``log_to`` takes each log line when its transaction commits, and the store
        keeps none (``events()`` is then empty): for runs whose log is written out as it
        grows. ``pack_finished`` keeps finished recoveries as compressed JSON and drops
        their settled outbox entries, for runs too long to keep them all as objects.
        """
        self._lock = threading.RLock()
        self._tables = _Tables(pack_finished=pack_finished)
        self._log_to = log_to

    @contextmanager
    def transaction(self) -> Iterator[MemoryTransaction]:
        """An all-or-nothing block: on an exception every change in it is undone."""
        with self._lock:
            tx = MemoryTransaction(self._tables, log_to=self._log_to)
            try:
                yield tx
            except BaseException:
                tx._rollback()
                raise
            finally:
                tx._end()
            if self._log_to is not None:
                for line in tx.lines:
                    self._log_to(line)

    # -- scheduling ----------------------------------------------------------------------
    def claim_due(
        self, now: datetime, *, limit: int, lease: timedelta, worker: str
    ) -> list[Claimed]:
        require_aware(now, "now")
        with self._lock:
            recoveries = self._tables.recoveries
            heap = self._tables.due
            until = micros(now)
            claimed: list[Claimed] = []
            # Popped entries that still hold (claimed now, or leased to another worker)
            # go back: a claim that is never saved must be found again when its lease ends.
            kept: list[tuple[int, int, str]] = []
            taken: set[str] = set()
            while heap and heap[0][0] <= until and len(claimed) < limit:
                entry = heapq.heappop(heap)
                row = recoveries.get(entry[2])
                if row is None or _due_key(row, entry[2]) != entry or entry[2] in taken:
                    continue  # stale: the row moved on since this entry was pushed
                kept.append(entry)
                if row.lease_until is not None and row.lease_until > now:
                    continue
                taken.add(entry[2])
                recoveries[entry[2]] = attrs.evolve(row, claimed_by=worker, lease_until=now + lease)
                claimed.append(Claimed(row.state, row.version))
            for entry in kept:
                heapq.heappush(heap, entry)
            return claimed

    def next_due(self) -> datetime | None:
        with self._lock:
            recoveries = self._tables.recoveries
            heap = self._tables.due
            while heap:
                at, seq, key = heap[0]
                row = recoveries.get(key)
                if row is not None and _due_key(row, key) == (at, seq, key):
                    return row.due
                heapq.heappop(heap)
        return None

    # -- outbox ----------------------------------------------------------------------------
    def outbox(
        self, *, status: OutboxStatus = OutboxStatus.PENDING, limit: int = 1000
    ) -> list[OutboxEntry]:
        with self._lock:
            rows = [row for row in self._tables.outbox.values() if row.entry.status is status]
        rows.sort(key=lambda row: (micros(row.entry.created_at), row.seq))
        return [row.entry for row in rows[: max(limit, 0)]]

    def mark_outbox(
        self,
        key: str,
        status: OutboxStatus,
        *,
        at: datetime,
        provider_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.mark_outbox_many([OutboxMark(key, status, provider_id, detail)], at=at)

    def mark_outbox_many(self, marks: list[OutboxMark], *, at: datetime) -> None:
        require_aware(at, "at")
        with self._lock:
            outbox = self._tables.outbox
            for mark in marks:
                if mark.key not in outbox:
                    raise unknown_outbox_key(mark.key)
            for mark in marks:
                row = outbox[mark.key]
                entry = attrs.evolve(
                    row.entry,
                    status=OutboxStatus(mark.status),
                    provider_id=row.entry.provider_id
                    if mark.provider_id is None
                    else mark.provider_id,
                    detail=row.entry.detail if mark.detail is None else mark.detail,
                )
                outbox[mark.key] = attrs.evolve(row, entry=entry, settled_at=at)
                if entry.provider_id is not None:
                    self._tables.sent[(entry.message.channel, entry.provider_id)] = mark.key
                self._forget_if_packed(entry)

    def _forget_if_packed(self, entry: OutboxEntry) -> None:
        """A settled entry of a packed (finished) recovery is not kept (``pack_finished``)."""
        tables = self._tables
        owner = tables.recoveries.get(entry.message.checkout_id)
        if owner is None or not isinstance(owner.stored, bytes) or entry.status not in _SETTLED:
            return
        tables.outbox.pop(entry.key, None)
        if entry.provider_id is not None:
            tables.sent.pop((entry.message.channel, entry.provider_id), None)

    def mark_attempted(
        self,
        keys: list[str],
        *,
        at: datetime,
        previous: Mapping[str, datetime] | None = None,
    ) -> list[str]:
        require_aware(at, "at")
        seen = previous or {}
        claimed: list[str] = []
        with self._lock:
            outbox = self._tables.outbox
            for key in keys:
                row = outbox.get(key)
                if (
                    row is None
                    or row.entry.status is not OutboxStatus.PENDING
                    or row.entry.attempted_at != seen.get(key)
                ):
                    continue
                entry = attrs.evolve(row.entry, attempted_at=at)
                outbox[key] = attrs.evolve(row, entry=entry)
                claimed.append(key)
        return claimed

    # -- reading ---------------------------------------------------------------------------
    def events(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[LogRecord]:
        """The log from ``since`` (inclusive) to ``until`` (exclusive), in time order."""
        with self._lock:
            log = self._tables.log
            start = 0 if since is None else bisect.bisect_left(log, micros(since), key=_at)
            stop = len(log) if until is None else bisect.bisect_left(log, micros(until), key=_at)
            chunk = log[start:stop]
        return (record for _at_us, _seq, record in chunk)

    def states(self) -> Iterator[RecoveryState]:
        """Every stored recovery, in checkout id order."""
        with self._lock:
            rows = sorted(self._tables.recoveries.items())
        return (row.state for _key, row in rows)

    # -- retention ---------------------------------------------------------------------------
    def purge(self, before: datetime, *, limit: int = 1000) -> int:
        """Delete up to ``limit`` expired rows: finished recoveries, log lines, contact
        records and settled (or uncertain) outbox entries older than ``before``, and the
        customers left without a recovery. Consent stays.
        """
        require_aware(before, "before")
        with self._lock:
            tables = self._tables
            budget = max(limit, 0)
            # The log, contacts and outbox first, then recoveries (as the SQL stores do).
            cut = min(bisect.bisect_left(tables.log, micros(before), key=_at), budget)
            del tables.log[:cut]
            budget -= cut
            for records in tables.contacts.values():
                cut = min(bisect.bisect_left(records, to_utc(before), key=_record_at), budget)
                del records[:cut]
                budget -= cut
            settled = [
                key
                for key, row in tables.outbox.items()
                if row.entry.status in _SETTLED and row.entry.created_at < before
            ][:budget]
            for key in settled:
                entry = tables.outbox.pop(key).entry
                if entry.provider_id is not None:
                    tables.sent.pop((entry.message.channel, entry.provider_id), None)
            budget -= len(settled)
            old = [
                key
                for key, row in tables.recoveries.items()
                if (ended := finished_of(row.state)) is not None and ended < before
            ][:budget]
            owners = {tables.recoveries[key].state.customer_id for key in old}
            for key in old:
                self._drop_recovery(key)
            budget -= len(old)
            self._drop_customers_left(owners)
            resting = [
                key
                for key, watch in tables.watches.items()
                if watch.due_at is None
                and (touched := watch.completed_at or watch.last_activity_at) is not None
                and touched < before
            ][: max(budget, 0)]
            for key in resting:
                del tables.watches[key]
            budget -= len(resting)
            old_orders = [key for key, order in tables.orders.items() if order.at < before]
            for key in old_orders[: max(budget, 0)]:
                del tables.orders[key]
            budget -= min(len(old_orders), max(budget, 0))
        removed = max(limit, 0) - budget
        if removed:
            log.info("purge removed %d rows", removed, extra={"removed": removed})
        return removed

    def _drop_recovery(self, key: str) -> None:
        """Delete one recovery and its index entry (its due entry goes stale by itself)."""
        tables = self._tables
        row = tables.recoveries.pop(key)
        customer_id = row.state.customer_id
        owned = tuple(name for name in tables.by_customer.get(customer_id, ()) if name != key)
        if owned:
            tables.by_customer[customer_id] = owned
        else:
            tables.by_customer.pop(customer_id, None)
        tables.outbox_of.pop(key, None)

    def _drop_customers_left(self, customer_ids: set[str]) -> None:
        """Customers whose last recovery just expired, unless something waits to be sent."""
        tables = self._tables
        busy = {row.state.customer_id for row in tables.recoveries.values()} | {
            row.entry.message.customer_id
            for row in tables.outbox.values()
            if row.entry.status in (OutboxStatus.PENDING, OutboxStatus.UNCERTAIN)
        }
        for customer_id in customer_ids - busy:
            tables.customers.pop(customer_id, None)
            self._forget(customer_id)

    def _forget(self, customer_id: str) -> None:
        """Addresses and service windows pointing at ``customer_id``."""
        tables = self._tables
        for pair in [pair for pair, owner in tables.addresses.items() if owner == customer_id]:
            del tables.addresses[pair]
        for key in [key for key in tables.windows if key[0] == customer_id]:
            del tables.windows[key]

    # -- one customer ------------------------------------------------------------------------
    def export_customer(self, customer_id: str) -> dict[str, Any]:
        """Everything kept about ``customer_id`` (GDPR article 15)."""
        with self._lock:
            tables = self._tables
            rows = [
                row for row in tables.recoveries.values() if row.state.customer_id == customer_id
            ]
            checkouts = {row.state.checkout_id for row in rows}
            return export_document(
                customer_id,
                customer=tables.customers.get(customer_id),
                addresses=[
                    pair for pair, owner in tables.addresses.items() if owner == customer_id
                ],
                consent=tables.consent.get(customer_id, ()),
                recoveries=[row.state for row in rows],
                contacts=tables.contacts.get(customer_id, ()),
                windows={
                    channel: until
                    for (owner, channel), until in tables.windows.items()
                    if owner == customer_id
                },
                outbox=[
                    row.entry
                    for row in tables.outbox.values()
                    if row.entry.message.customer_id == customer_id
                ],
                log=[
                    record
                    for _at, _seq, record in tables.log
                    if record.customer_id == customer_id or record.checkout_id in checkouts
                ],
                watches=[tables.watches[key] for key in self._watches_of(customer_id)],
                orders=[tables.orders[key] for key in self._orders_of(customer_id)],
            )

    def _watches_of(self, customer_id: str) -> list[str]:
        return [
            key
            for key, watch in self._tables.watches.items()
            if watch.latest is not None and watch.latest.customer.id == customer_id
        ]

    def _orders_of(self, customer_id: str) -> list[str]:
        """Orders naming the customer by id, phone or e-mail (as the SQL stores match)."""
        customer = self._tables.customers.get(customer_id)
        phone = None if customer is None else customer.phone
        email = None
        if customer is not None and customer.email is not None:
            email = address_key(Channel.EMAIL, customer.email)
        return [
            key
            for key, order in self._tables.orders.items()
            if order.customer_id == customer_id
            or (phone is not None and order.phone == phone)
            or (email is not None and order.email == email)
        ]

    def erase_customer(self, customer_id: str) -> int:
        """Erase ``customer_id``'s personal data (GDPR article 17); consent stays,
        pseudonymised."""
        with self._lock:
            tables = self._tables
            checkouts = {
                key
                for key, row in tables.recoveries.items()
                if row.state.customer_id == customer_id
            }
            changed = len(checkouts)
            for key in checkouts:
                self._drop_recovery(key)
            for key in self._orders_of(customer_id):
                del tables.orders[key]
                changed += 1
            for key in self._watches_of(customer_id):
                del tables.watches[key]
                changed += 1
            for key in [
                key
                for key, row in tables.outbox.items()
                if row.entry.message.customer_id == customer_id
            ]:
                entry = tables.outbox.pop(key).entry
                if entry.provider_id is not None:
                    tables.sent.pop((entry.message.channel, entry.provider_id), None)
                changed += 1
            kept = [
                item
                for item in tables.log
                if item[2].customer_id != customer_id and item[2].checkout_id not in checkouts
            ]
            changed += len(tables.log) - len(kept)
            tables.log[:] = kept
            changed += len(tables.contacts.pop(customer_id, []))
            changed += sum(1 for pair, owner in tables.addresses.items() if owner == customer_id)
            changed += sum(1 for key in tables.windows if key[0] == customer_id)
            self._forget(customer_id)
            changed += tables.customers.pop(customer_id, None) is not None
            events = tables.consent.pop(customer_id, [])
            if events:
                tables.consent.setdefault(pseudonym(customer_id), []).extend(
                    pseudonymised(event) for event in events
                )
            changed += len(events)
        log.info("customer erased: %d rows removed or pseudonymised", changed,
                 extra={"rows": changed})  # fmt: skip
        return changed

    def close(self) -> None:
        """Nothing to release; present because the protocol asks for it."""


def _at(entry: tuple[int, int, LogRecord]) -> int:
    return entry[0]


def _record_at(record: ContactRecord) -> datetime:
    return record.at

"""What ``SQLiteStore`` and ``PostgresStore`` share: the SQL, written once, and a small dialect.

Both stores keep the same tables under the same names, so nearly every statement
reads the same in both databases. A ``Dialect`` says what differs: the parameter
marker, how an instant, a JSON document and a list of ids are bound and read back,
and the few spellings SQLite and PostgreSQL do not share. ``Statements`` renders
the shared SQL for one dialect once, at import; ``SQLTransaction`` implements the
``Transaction`` and ``BatchTransaction`` methods over it, leaving each store only
how to run a statement and (PostgreSQL) which customer rows to lock first.
Migrations and retention purges are applied by the same two functions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Final, LiteralString, Protocol

import attrs

from ..detector import (
    CheckoutWatch,
    ShopOrder,
    order_from_dict,
    order_to_dict,
    person_keys,
    watch_from_dict,
    watch_to_dict,
)
from ..engine.state import RecoveryState
from ..policies.caps import ContactHistory, ContactRecord
from ..policies.consent import ConsentEvent, ConsentLedger
from ..protocols import Claimed, LogRecord, OutboxEntry, OutboxStatus, TransactionDefaults
from ..values.model import Channel, Customer, address_key
from ._refusals import (
    TransactionGuard,
    batch_conflict,
    newer_schema,
    recovery_exists,
    version_conflict,
)
from .codec import (
    due_of,
    finished_of,
    message_from_dict,
    message_to_dict,
    started_of,
)
from .erasure import export_document, pseudonymised
from .trusted import consent_from_stored, consent_to_stored

__all__ = [
    "OUTBOX_COLUMNS",
    "Cursor",
    "Dialect",
    "SQLTransaction",
    "Statements",
    "apply_migrations",
    "log",
    "purge",
]

#: The stores layer's logger (docs/reference/logging.md): no personal data at INFO+.
log: Final = logging.getLogger("recoverykit.stores")

#: The outbox columns an ``OutboxEntry`` is read from, in ``Dialect.outbox_entry`` order.
OUTBOX_COLUMNS: Final = "key, status, created_at, message, provider_id, detail, attempted_at"


class Cursor(Protocol):
    """What both drivers' cursors offer that the shared code uses."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


@attrs.frozen
class Dialect:
    """How one database spells what the shared SQL leaves open."""

    #: The parameter marker (``?`` or ``%s``); the shared SQL is written with ``?``.
    param: LiteralString
    #: The column that orders rows by insertion (ties of equal times).
    insertion: LiteralString
    #: ``customer_id <in_list>`` with one bound list of ids.
    in_list: LiteralString
    #: The two-argument maximum (``max`` in SQLite, ``greatest`` in PostgreSQL).
    greatest: LiteralString
    #: The ``channel`` field of the stored message JSON.
    message_channel: LiteralString
    #: The ``customer_id`` field of the stored message JSON (erasure and purges).
    message_customer: LiteralString
    #: The customer id inside a stored watch's latest snapshot (erasure).
    watch_customer: LiteralString
    time_in: Callable[[datetime], Any]
    time_out: Callable[[Any], datetime]
    json_in: Callable[[Any], Any]
    json_out: Callable[[Any], Any]
    state_in: Callable[[RecoveryState], Any]
    state_out: Callable[[Any], RecoveryState]
    #: How a list of ids is bound for ``in_list``.
    ids: Callable[[Collection[str]], Any]

    def sql(self, text: LiteralString) -> LiteralString:
        """``text`` (written with ``?`` and ``{in_list}``-style names) in this dialect."""
        rendered = text.format(
            in_list=self.in_list,
            greatest=self.greatest,
            insertion=self.insertion,
            message_channel=self.message_channel,
            message_customer=self.message_customer,
            watch_customer=self.watch_customer,
            outbox_columns=OUTBOX_COLUMNS,
        )
        return rendered.replace("?", self.param)

    def maybe_time_in(self, moment: datetime | None) -> Any:
        return None if moment is None else self.time_in(moment)

    def maybe_time_out(self, value: Any) -> datetime | None:
        return None if value is None else self.time_out(value)

    def outbox_entry(self, row: Sequence[Any]) -> OutboxEntry:
        """An entry from a row of ``OUTBOX_COLUMNS``."""
        key, status, created_at, message, provider_id, detail, attempted_at = row
        return OutboxEntry(
            key=key,
            message=message_from_dict(self.json_out(message)),
            created_at=self.time_out(created_at),
            status=OutboxStatus(status),
            provider_id=provider_id,
            detail=detail,
            attempted_at=self.maybe_time_out(attempted_at),
        )

    def contact_row(self, customer_id: str, record: ContactRecord) -> tuple[Any, ...]:
        return (customer_id, self.time_in(record.at), record.channel.value, record.checkout_id,
                record.kind.value)  # fmt: skip

    def log_row(self, record: LogRecord) -> tuple[Any, ...]:
        return (self.time_in(record.at), record.kind, record.checkout_id, record.customer_id,
                self.json_in(record.data))  # fmt: skip


class Statements:
    """The shared SQL rendered for one dialect (built once per store class)."""

    def __init__(self, d: Dialect) -> None:
        self.dialect = d
        self.load = d.sql("SELECT version, state FROM recoveries WHERE checkout_id = ?")
        self.version = d.sql("SELECT version FROM recoveries WHERE checkout_id = ?")
        self.open_recoveries = d.sql(
            "SELECT version, state FROM recoveries"
            " WHERE customer_id = ? AND status <> 'finished'"
            " ORDER BY started IS NULL, started DESC, {insertion} DESC"
        )
        self.customer_recoveries = d.sql(
            "SELECT state FROM recoveries"
            " WHERE customer_id = ? AND (started IS NULL OR started >= ?)"
        )
        self.insert = d.sql(
            "INSERT INTO recoveries (customer_id, status, due, started, finished, state,"
            " checkout_id, version) VALUES (?, ?, ?, ?, ?, ?, ?, 1)"
            " ON CONFLICT (checkout_id) DO NOTHING"
        )
        self.update = d.sql(
            "UPDATE recoveries SET customer_id = ?, status = ?, due = ?, started = ?,"
            " finished = ?, state = ?, version = version + 1, claimed_by = NULL,"
            " lease_until = NULL WHERE checkout_id = ? AND version = ?"
        )
        self.save_customer = d.sql(
            "INSERT INTO customers (id, data) VALUES (?, ?)"
            " ON CONFLICT (id) DO UPDATE SET data = excluded.data"
        )
        self.drop_addresses = d.sql("DELETE FROM addresses WHERE customer_id = ?")
        self.add_address = d.sql(
            "INSERT INTO addresses (channel, address, customer_id) VALUES (?, ?, ?)"
            " ON CONFLICT (channel, address) DO UPDATE SET customer_id = excluded.customer_id"
        )
        self.customer_for = d.sql(
            "SELECT customer_id FROM addresses WHERE channel = ? AND address = ?"
        )
        self.customer = d.sql("SELECT data FROM customers WHERE id = ?")
        self.ledger = d.sql("SELECT event FROM consent WHERE customer_id = ? ORDER BY seq")
        self.append_consent = d.sql("INSERT INTO consent (customer_id, event) VALUES (?, ?)")
        self.history = d.sql(
            "SELECT at, channel, checkout_id, kind FROM contacts"
            " WHERE customer_id = ? AND at >= ? ORDER BY at, seq"
        )
        self.add_contact = d.sql(
            "INSERT INTO contacts (customer_id, at, channel, checkout_id, kind)"
            " VALUES (?, ?, ?, ?, ?)"
        )
        self.service_window = d.sql(
            "SELECT until FROM windows WHERE customer_id = ? AND channel = ?"
        )
        self.open_service_window = d.sql(
            "INSERT INTO windows (customer_id, channel, until) VALUES (?, ?, ?)"
            " ON CONFLICT (customer_id, channel)"
            " DO UPDATE SET until = {greatest}(windows.until, excluded.until)"
        )
        self.add_outbox = d.sql(
            "INSERT INTO outbox (key, status, created_at, message, provider_id, detail,"
            " attempted_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING"
        )
        self.sent_message = d.sql(
            "SELECT {outbox_columns} FROM outbox WHERE provider_id = ? AND {message_channel} = ?"
            " ORDER BY created_at DESC, {insertion} DESC LIMIT 1"
        )
        self.outbox_entry = d.sql("SELECT {outbox_columns} FROM outbox WHERE key = ?")
        self.mark_seen = d.sql(
            "INSERT INTO seen (event_id) VALUES (?) ON CONFLICT (event_id) DO NOTHING"
        )
        self.add_log = d.sql(
            "INSERT INTO log (at, kind, checkout_id, customer_id, data) VALUES (?, ?, ?, ?, ?)"
        )
        self.ledgers = d.sql(
            "SELECT customer_id, event FROM consent WHERE customer_id {in_list} ORDER BY seq"
        )
        self.histories = d.sql(
            "SELECT customer_id, at, channel, checkout_id, kind FROM contacts"
            " WHERE customer_id {in_list} AND at >= ? ORDER BY at, seq"
        )
        self.service_windows = d.sql(
            "SELECT customer_id, channel, until FROM windows WHERE customer_id {in_list}"
        )
        self.outbox = d.sql(
            "SELECT {outbox_columns} FROM outbox WHERE status = ?"
            " ORDER BY created_at, {insertion} LIMIT ?"
        )
        self.next_due = d.sql("SELECT min(due) FROM recoveries WHERE due IS NOT NULL")
        # A tick's batch (BatchTransaction): versions read once, writes made set-based.
        self.versions = d.sql(
            "SELECT checkout_id, version FROM recoveries WHERE checkout_id {in_list}"
            " ORDER BY checkout_id"
        )
        self.known_keys = d.sql("SELECT key FROM outbox WHERE key {in_list}")
        # The abandonment detector's watches and the shop's orders (DetectorTransaction).
        self.watch = d.sql("SELECT data FROM watches WHERE checkout_id = ?")
        self.save_watch = d.sql(
            "INSERT INTO watches (checkout_id, due, touched, data, customer_id, phone, email)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (checkout_id) DO UPDATE SET due = excluded.due,"
            " touched = excluded.touched, data = excluded.data,"
            " customer_id = excluded.customer_id, phone = excluded.phone, email = excluded.email"
        )
        self.customers_with = d.sql(
            "SELECT DISTINCT customer_id FROM watches WHERE customer_id IS NOT NULL"
            " AND (phone = ? OR email = ?) ORDER BY customer_id"
        )
        self.due_watches = d.sql(
            "SELECT data FROM watches WHERE due IS NOT NULL AND due <= ?"
            " ORDER BY due, checkout_id LIMIT ?"
        )
        self.add_order = d.sql(
            "INSERT INTO shop_orders (order_id, at, checkout_id, customer_id, phone, email, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (order_id) DO NOTHING"
        )
        self.orders_for = d.sql(
            "SELECT data FROM shop_orders WHERE checkout_id = ?"
            " OR (at >= ? AND (customer_id = ? OR phone = ? OR email = ?))"
            " ORDER BY at, order_id"
        )
        #: Expired recoveries (before, how many at most), with their customers.
        self.expired = d.sql(
            "SELECT checkout_id, customer_id FROM recoveries"
            " WHERE finished IS NOT NULL AND finished < ? LIMIT ?"
        )
        self.drop_recoveries = d.sql("DELETE FROM recoveries WHERE checkout_id {in_list}")
        #: Retention deletes, each taking (before, how many at most). Outbox entries go
        #: once settled (``uncertain`` ones too, once as old as the rest: nobody resolved
        #: them in the retention period); pending ones wait for the runner. Consent is
        #: never purged: it is the proof.
        self.purges: tuple[LiteralString, ...] = (
            d.sql(
                "DELETE FROM log WHERE seq IN"
                " (SELECT seq FROM log WHERE at < ? ORDER BY at LIMIT ?)"
            ),
            d.sql(
                "DELETE FROM contacts WHERE seq IN (SELECT seq FROM contacts WHERE at < ? LIMIT ?)"
            ),
            d.sql(
                "DELETE FROM outbox WHERE key IN (SELECT key FROM outbox WHERE created_at < ?"
                " AND status IN ('sent', 'failed', 'cancelled', 'uncertain') LIMIT ?)"
            ),
            # Watches with nothing left to do, and orders, once older than the cut-off.
            d.sql(
                "DELETE FROM watches WHERE checkout_id IN (SELECT checkout_id FROM watches"
                " WHERE due IS NULL AND touched < ? LIMIT ?)"
            ),
            d.sql(
                "DELETE FROM shop_orders WHERE order_id IN"
                " (SELECT order_id FROM shop_orders WHERE at < ? LIMIT ?)"
            ),
        )
        #: A customer whose last recovery expired goes with it (its record, addresses
        #: and service windows), unless something is still waiting to be sent to them.
        self.purge_customer: tuple[LiteralString, ...] = (
            d.sql(
                "DELETE FROM customers WHERE id {in_list}"
                " AND NOT EXISTS (SELECT 1 FROM recoveries r WHERE r.customer_id = customers.id)"
                " AND NOT EXISTS (SELECT 1 FROM outbox WHERE status IN ('pending', 'uncertain')"
                " AND {message_customer} = customers.id)"
            ),
            d.sql(
                "DELETE FROM addresses WHERE customer_id {in_list}"
                " AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = addresses.customer_id)"
            ),
            d.sql(
                "DELETE FROM windows WHERE customer_id {in_list}"
                " AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = windows.customer_id)"
            ),
        )
        # -- one customer: export and erasure (``recoverykit.stores.erasure``) ----------------
        self.customer_checkouts = d.sql("SELECT checkout_id FROM recoveries WHERE customer_id = ?")
        self.customer_addresses = d.sql(
            "SELECT channel, address FROM addresses WHERE customer_id = ?"
        )
        self.customer_states = d.sql("SELECT state FROM recoveries WHERE customer_id = ?")
        self.customer_contacts = d.sql(
            "SELECT at, channel, checkout_id, kind FROM contacts WHERE customer_id = ?"
            " ORDER BY at, seq"
        )
        self.customer_windows = d.sql("SELECT channel, until FROM windows WHERE customer_id = ?")
        self.customer_outbox = d.sql(
            "SELECT {outbox_columns} FROM outbox WHERE {message_customer} = ?"
        )
        self.customer_log = d.sql(
            "SELECT at, kind, checkout_id, customer_id, data FROM log"
            " WHERE customer_id = ? OR checkout_id {in_list} ORDER BY at, seq"
        )
        self.customer_watches = d.sql("SELECT data FROM watches WHERE {watch_customer} = ?")
        self.customer_orders = d.sql(
            "SELECT data FROM shop_orders WHERE customer_id = ? OR phone = ? OR email = ?"
        )
        self.erase_watches = d.sql("DELETE FROM watches WHERE {watch_customer} = ?")
        self.erase_orders = d.sql(
            "DELETE FROM shop_orders WHERE customer_id = ? OR phone = ? OR email = ?"
        )
        self.consent_rows = d.sql("SELECT seq, event FROM consent WHERE customer_id = ?")
        self.pseudonymise = d.sql("UPDATE consent SET customer_id = ?, event = ? WHERE seq = ?")
        self.erasures: tuple[LiteralString, ...] = (
            d.sql("DELETE FROM recoveries WHERE customer_id = ?"),
            d.sql("DELETE FROM outbox WHERE {message_customer} = ?"),
            d.sql("DELETE FROM contacts WHERE customer_id = ?"),
            d.sql("DELETE FROM windows WHERE customer_id = ?"),
            d.sql("DELETE FROM addresses WHERE customer_id = ?"),
            d.sql("DELETE FROM customers WHERE id = ? AND data IS NOT NULL"),
        )
        #: PostgreSQL's lock row (an id without data) goes too, uncounted.
        self.drop_customer_row = d.sql("DELETE FROM customers WHERE id = ?")
        self.erase_log = d.sql("DELETE FROM log WHERE customer_id = ? OR checkout_id {in_list}")
        self.schema_table = d.sql(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
        )
        self.schema_version = d.sql("SELECT version FROM schema_version")
        self.schema_start = d.sql("INSERT INTO schema_version (version) VALUES (0)")
        self.schema_set = d.sql("UPDATE schema_version SET version = ?")


class SQLTransaction(TransactionGuard, TransactionDefaults):
    """A ``Transaction`` (and ``BatchTransaction``) over the shared SQL.

    A store subclasses it with ``_q`` (its ``Statements``), ``_execute`` and
    ``_execute_many``; PostgreSQL also overrides ``_lock``/``_lock_many`` to hold the
    customer rows (SEAMS 5), which SQLite's single writer makes unnecessary.
    """

    __slots__ = ()

    _q: Statements

    # -- what a store provides ---------------------------------------------------------
    def _execute(self, sql: LiteralString, params: Sequence[Any] = ()) -> Cursor:
        raise NotImplementedError

    def _execute_many(self, sql: LiteralString, rows: Sequence[Sequence[Any]]) -> int:
        """Run ``sql`` once per row; how many rows it changed in all."""
        raise NotImplementedError

    def _lock(self, customer_id: str) -> None:
        """Hold the customer until the transaction ends (a no-op with one writer)."""

    def _lock_many(self, customer_ids: Collection[str]) -> None:
        """``_lock`` for many customers (a no-op with one writer)."""

    def _update_recovery(
        self, state: RecoveryState, values: tuple[Any, ...], expected_version: int
    ) -> bool:
        """Write ``values`` over the row at ``expected_version``; whether it was there."""
        params = (*values, state.checkout_id, expected_version)
        return self._execute(self._q.update, params).rowcount == 1

    # -- recoveries ----------------------------------------------------------------------
    def load(self, checkout_id: str) -> Claimed | None:
        row = self._execute(self._q.load, (checkout_id,)).fetchone()
        return None if row is None else Claimed(self._q.dialect.state_out(row[1]), row[0])

    def open_recoveries(self, customer_id: str) -> list[Claimed]:
        self._lock(customer_id)
        state_out = self._q.dialect.state_out
        rows = self._execute(self._q.open_recoveries, (customer_id,)).fetchall()
        return [Claimed(state_out(state), version) for version, state in rows]

    def customer_recoveries(self, customer_id: str, *, since: datetime) -> list[RecoveryState]:
        d = self._q.dialect
        rows = self._execute(self._q.customer_recoveries, (customer_id, d.time_in(since)))
        return [d.state_out(state) for (state,) in rows.fetchall()]

    def _state_values(self, state: RecoveryState) -> tuple[Any, ...]:
        d = self._q.dialect
        return (
            state.customer_id,
            state.status.value,
            d.maybe_time_in(due_of(state)),
            d.maybe_time_in(started_of(state)),
            d.maybe_time_in(finished_of(state)),
            d.state_in(state),
        )

    def save(self, state: RecoveryState, *, expected_version: int | None) -> int:
        values = self._state_values(state)
        if expected_version is None:
            if self._execute(self._q.insert, (*values, state.checkout_id)).rowcount == 0:
                raise recovery_exists(state.checkout_id)
            return 1
        if not self._update_recovery(state, values, expected_version):
            row = self._execute(self._q.version, (state.checkout_id,)).fetchone()
            raise version_conflict(
                state.checkout_id, expected_version, None if row is None else int(row[0])
            )
        return expected_version + 1

    # -- customers ----------------------------------------------------------------------
    def save_customer(self, customer: Customer) -> None:
        self._lock(customer.id)
        self._execute(
            self._q.save_customer, (customer.id, self._q.dialect.json_in(customer.to_dict()))
        )
        self._execute(self._q.drop_addresses, (customer.id,))
        self._execute_many(
            self._q.add_address,
            [(channel.value, address, customer.id) for channel, address in customer.addresses()],
        )

    def customer_for(self, channel: Channel, address: str) -> str | None:
        row = self._execute(
            self._q.customer_for, (channel.value, address_key(channel, address))
        ).fetchone()
        return None if row is None else str(row[0])

    def customer(self, customer_id: str) -> Customer | None:
        row = self._execute(self._q.customer, (customer_id,)).fetchone()
        if row is None or row[0] is None:
            return None
        return Customer.from_dict(self._q.dialect.json_out(row[0]))

    # -- consent and contact history ---------------------------------------------------------
    def ledger(self, customer_id: str) -> ConsentLedger:
        self._lock(customer_id)
        json_out = self._q.dialect.json_out
        rows = self._execute(self._q.ledger, (customer_id,)).fetchall()
        return ConsentLedger(consent_from_stored(json_out(data)) for (data,) in rows)

    def append_consent(self, event: ConsentEvent) -> None:
        self._lock(event.customer_id)
        self._execute(
            self._q.append_consent,
            (event.customer_id, self._q.dialect.json_in(consent_to_stored(event))),
        )

    def _contacts(self, rows: Iterable[Sequence[Any]]) -> tuple[ContactRecord, ...]:
        time_out = self._q.dialect.time_out
        return tuple(
            ContactRecord(time_out(at), channel, checkout_id, kind)
            for at, channel, checkout_id, kind in rows
        )

    def history(self, customer_id: str, *, since: datetime) -> ContactHistory:
        self._lock(customer_id)
        params = (customer_id, self._q.dialect.time_in(since))
        return ContactHistory(self._contacts(self._execute(self._q.history, params).fetchall()))

    def add_contact(self, customer_id: str, record: ContactRecord) -> None:
        self._lock(customer_id)
        self._execute(self._q.add_contact, self._q.dialect.contact_row(customer_id, record))

    def service_window(self, customer_id: str, channel: Channel) -> datetime | None:
        row = self._execute(self._q.service_window, (customer_id, channel.value)).fetchone()
        return None if row is None else self._q.dialect.time_out(row[0])

    def open_service_window(self, customer_id: str, channel: Channel, until: datetime) -> None:
        self._lock(customer_id)
        self._execute(
            self._q.open_service_window,
            (customer_id, channel.value, self._q.dialect.time_in(until)),
        )

    # -- outbox, dedup, log --------------------------------------------------------------------
    def add_outbox(self, entry: OutboxEntry) -> bool:
        self._lock(entry.message.customer_id)
        return self._execute(self._q.add_outbox, self._outbox_row(entry)).rowcount == 1

    def sent_message(self, channel: Channel, provider_id: str) -> OutboxEntry | None:
        row = self._execute(self._q.sent_message, (provider_id, channel.value)).fetchone()
        return None if row is None else self._q.dialect.outbox_entry(row)

    def outbox_entry(self, key: str) -> OutboxEntry | None:
        row = self._execute(self._q.outbox_entry, (key,)).fetchone()
        return None if row is None else self._q.dialect.outbox_entry(row)

    def mark_seen(self, event_id: str) -> bool:
        return self._execute(self._q.mark_seen, (event_id,)).rowcount == 1

    def log(self, record: LogRecord) -> None:
        self._execute(self._q.add_log, self._q.dialect.log_row(record))

    # -- a whole batch at once (BatchTransaction) -------------------------------------------------
    def ledgers(self, customer_ids: Collection[str]) -> dict[str, ConsentLedger]:
        """Every customer locked (in id order, where locks are taken), then every ledger
        in one query; each customer's events in the order appended."""
        events: dict[str, list[ConsentEvent]] = {customer_id: [] for customer_id in customer_ids}
        self._lock_many(events)
        d = self._q.dialect
        rows = self._execute(self._q.ledgers, (d.ids(events),)).fetchall()
        for customer_id, data in rows:
            events[customer_id].append(consent_from_stored(d.json_out(data)))
        return {customer_id: ConsentLedger(found) for customer_id, found in events.items()}

    def histories(
        self, customer_ids: Collection[str], *, since: datetime
    ) -> dict[str, ContactHistory]:
        """Every customer locked, then every history in one query, each oldest first."""
        records: dict[str, list[Sequence[Any]]] = {customer_id: [] for customer_id in customer_ids}
        self._lock_many(records)
        d = self._q.dialect
        rows = self._execute(self._q.histories, (d.ids(records), d.time_in(since))).fetchall()
        for customer_id, *record in rows:
            records[customer_id].append(record)
        return {
            customer_id: ContactHistory(self._contacts(found))
            for customer_id, found in records.items()
        }

    def service_windows(self, customer_ids: Collection[str]) -> dict[str, dict[Channel, datetime]]:
        """Every stored window of these customers in one query."""
        found: dict[str, dict[Channel, datetime]] = {}
        d = self._q.dialect
        rows = self._execute(self._q.service_windows, (d.ids(customer_ids),)).fetchall()
        for customer_id, channel, until in rows:
            found.setdefault(customer_id, {})[Channel(channel)] = d.time_out(until)
        return found

    def add_contacts(self, contacts: Sequence[tuple[str, ContactRecord]]) -> None:
        self._lock_many([customer_id for customer_id, _record in contacts])
        row = self._q.dialect.contact_row
        self._execute_many(self._q.add_contact, [row(*pair) for pair in contacts])

    def log_many(self, records: Sequence[LogRecord]) -> None:
        row = self._q.dialect.log_row
        self._execute_many(self._q.add_log, [row(record) for record in records])

    # -- a tick's decisions, written set-based (BatchTransaction) -------------------------------
    def _versions_sql(self) -> LiteralString:
        """The versions query; PostgreSQL adds its row locks."""
        return self._q.versions

    def versions(self, checkout_ids: Collection[str]) -> dict[str, int]:
        """Every version in one query (in id order, where rows are locked)."""
        rows = self._execute(self._versions_sql(), (self._q.dialect.ids(checkout_ids),))
        return {checkout_id: int(version) for checkout_id, version in rows.fetchall()}

    def version(self, checkout_id: str) -> int | None:
        row = self._execute(self._q.version, (checkout_id,)).fetchone()
        return None if row is None else int(row[0])

    def _update_many(self, rows: list[tuple[Any, ...]]) -> int:
        """Write each ``(*state values, checkout_id, expected_version)``; rows changed."""
        return self._execute_many(self._q.update, rows)

    def save_many(self, saves: Sequence[tuple[RecoveryState, int]]) -> None:
        """One statement for the whole batch, each row's version checked in it."""
        if not saves:
            return
        rows = [
            (*self._state_values(state), state.checkout_id, version) for state, version in saves
        ]
        changed = self._update_many(rows)
        if changed != len(rows):
            raise batch_conflict(len(rows), changed)

    def add_outbox_many(self, entries: Sequence[OutboxEntry]) -> set[str]:
        """The keys already stored in one query, then every new entry in one statement."""
        if not entries:
            return set()
        d = self._q.dialect
        known = {key for (key,) in self._execute(self._q.known_keys, (d.ids(
            [entry.key for entry in entries]),))}  # fmt: skip
        fresh: dict[str, OutboxEntry] = {}
        for entry in entries:
            if entry.key not in known and entry.key not in fresh:
                fresh[entry.key] = entry
        self._lock_many(sorted({entry.message.customer_id for entry in fresh.values()}))
        self._execute_many(
            self._q.add_outbox, [self._outbox_row(entry) for entry in fresh.values()]
        )
        return set(fresh)

    def _attempt_sql(self) -> LiteralString:
        """Stamp one pending entry whose ``attempted_at`` is still the one given."""
        raise NotImplementedError

    def attempt(self, key: str, *, at: datetime, previous: datetime | None = None) -> bool:
        """``Store.mark_attempted([key], ...)`` inside this transaction, so a last look and
        its mark commit together; whether this call claimed the entry."""
        d = self._q.dialect
        params = (d.time_in(at), key, d.maybe_time_in(previous))
        return self._execute(self._attempt_sql(), params).rowcount == 1

    def _outbox_row(self, entry: OutboxEntry) -> tuple[Any, ...]:
        d = self._q.dialect
        return (
            entry.key,
            entry.status.value,
            d.time_in(entry.created_at),
            d.json_in(message_to_dict(entry.message)),
            entry.provider_id,
            entry.detail,
            d.maybe_time_in(entry.attempted_at),
        )

    # -- the abandonment detector (DetectorTransaction) -------------------------------------------
    def _due_watches_sql(self) -> LiteralString:
        """The due-watches query; PostgreSQL adds its row locks."""
        return self._q.due_watches

    def _watch_sql(self) -> LiteralString:
        """The one-watch query; PostgreSQL locks the row (it is read to be written)."""
        return self._q.watch

    def watch(self, checkout_id: str) -> CheckoutWatch | None:
        row = self._execute(self._watch_sql(), (checkout_id,)).fetchone()
        return None if row is None else watch_from_dict(self._q.dialect.json_out(row[0]))

    def save_watch(self, watch: CheckoutWatch) -> None:
        d = self._q.dialect
        touched = watch.completed_at or watch.last_activity_at
        customer = watch.customer
        phone, email = (None, None) if customer is None else person_keys(customer)
        self._execute(
            self._q.save_watch,
            (
                watch.checkout_id,
                d.maybe_time_in(watch.due_at),
                d.maybe_time_in(touched),
                d.json_in(watch_to_dict(watch)),
                None if customer is None else customer.id,
                phone,
                email,
            ),
        )

    def customers_with(self, *, phone: str | None, email: str | None) -> list[str]:
        if phone is None and email is None:
            return []
        rows = self._execute(self._q.customers_with, (phone, email)).fetchall()
        return [str(customer_id) for (customer_id,) in rows]

    def due_watches(self, now: datetime, *, limit: int) -> list[CheckoutWatch]:
        d = self._q.dialect
        rows = self._execute(self._due_watches_sql(), (d.time_in(now), limit)).fetchall()
        return [watch_from_dict(d.json_out(data)) for (data,) in rows]

    def add_order(self, order: ShopOrder) -> bool:
        d = self._q.dialect
        params = (order.order_id, d.time_in(order.at), order.checkout_id, order.customer_id,
                  order.phone, order.email, d.json_in(order_to_dict(order)))  # fmt: skip
        return self._execute(self._q.add_order, params).rowcount == 1

    def orders_for(
        self,
        *,
        checkout_id: str,
        customer_id: str | None,
        phone: str | None,
        email: str | None,
        since: datetime,
    ) -> list[ShopOrder]:
        d = self._q.dialect
        params = (checkout_id, d.time_in(since), customer_id, phone, email)
        rows = self._execute(self._q.orders_for, params).fetchall()
        return [order_from_dict(d.json_out(data)) for (data,) in rows]

    # -- one customer's data (Store.export_customer, Store.erase_customer) ----------------------
    def export_customer(self, customer_id: str) -> dict[str, Any]:
        """Everything stored about ``customer_id``, as ``erasure.export_document`` shapes it."""
        self._lock(customer_id)
        q, d = self._q, self._q.dialect
        checkouts = [row[0] for row in self._execute(q.customer_checkouts, (customer_id,))]
        customer = self.customer(customer_id)
        return export_document(
            customer_id,
            customer=customer,
            addresses=[
                (Channel(channel), address)
                for channel, address in self._execute(q.customer_addresses, (customer_id,))
            ],
            consent=self.ledger(customer_id).events,
            recoveries=[
                d.state_out(state) for (state,) in self._execute(q.customer_states, (customer_id,))
            ],
            contacts=self._contacts(self._execute(q.customer_contacts, (customer_id,)).fetchall()),
            windows={
                Channel(channel): d.time_out(until)
                for channel, until in self._execute(q.customer_windows, (customer_id,))
            },
            outbox=[
                d.outbox_entry(row)
                for row in self._execute(q.customer_outbox, (customer_id,)).fetchall()
            ],
            log=[
                LogRecord(d.time_out(at), kind, checkout_id, owner, d.json_out(data))
                for at, kind, checkout_id, owner, data in self._execute(
                    q.customer_log, (customer_id, d.ids(checkouts))
                ).fetchall()
            ],
            watches=[
                watch_from_dict(d.json_out(data))
                for (data,) in self._execute(q.customer_watches, (customer_id,)).fetchall()
            ],
            orders=[
                order_from_dict(d.json_out(data))
                for (data,) in self._execute(
                    q.customer_orders, _order_keys(customer_id, customer)
                ).fetchall()
            ],
        )

    def erase_customer(self, customer_id: str) -> int:
        """Remove ``customer_id``'s personal data; pseudonymise their consent events.

        Returns how many rows were removed or pseudonymised.
        """
        self._lock(customer_id)
        q, d = self._q, self._q.dialect
        checkouts = [row[0] for row in self._execute(q.customer_checkouts, (customer_id,))]
        keys = _order_keys(customer_id, self.customer(customer_id))
        changed = self._execute(q.erase_log, (customer_id, d.ids(checkouts))).rowcount
        changed += self._execute(q.erase_orders, keys).rowcount
        changed += self._execute(q.erase_watches, (customer_id,)).rowcount
        for statement in q.erasures:
            changed += self._execute(statement, (customer_id,)).rowcount
        self._execute(q.drop_customer_row, (customer_id,))
        for seq, data in self._execute(q.consent_rows, (customer_id,)).fetchall():
            kept = pseudonymised(consent_from_stored(d.json_out(data)))
            self._execute(
                q.pseudonymise, (kept.customer_id, d.json_in(consent_to_stored(kept)), seq)
            )
            changed += 1
        # Never the id: a log line naming an erased customer would undo the erasure.
        log.info("customer erased: %d rows removed or pseudonymised", changed,
                 extra={"rows": changed})  # fmt: skip
        return changed


def _order_keys(customer_id: str, customer: Customer | None) -> tuple[str, str | None, str | None]:
    """What a shop order may name the customer by: the id, the phone, the e-mail key."""
    if customer is None:
        return customer_id, None, None
    email = None if customer.email is None else address_key(Channel.EMAIL, customer.email)
    return customer_id, customer.phone, email


def apply_migrations(
    q: Statements,
    execute: Callable[..., Cursor],
    run_script: Callable[[LiteralString], object],
    migrations: Sequence[LiteralString],
    *,
    where: str,
) -> None:
    """Bring the schema to ``len(migrations)``, forward only, inside the caller's transaction.

    Migration ``n`` (1-based) brings the schema to version ``n``; a schema newer than
    this release knows is refused (``where`` names it) rather than misread.
    """
    execute(q.schema_table)
    row = execute(q.schema_version).fetchone()
    if row is None:
        execute(q.schema_start)
        current = 0
    else:
        current = int(row[0])
    if current > len(migrations):
        raise newer_schema(where, current, len(migrations))
    for number, script in enumerate(migrations[current:], start=current + 1):
        run_script(script)
        execute(q.schema_set, (number,))
    if current < len(migrations):
        log.info(
            "schema of %s migrated from version %d to %d", where, current, len(migrations),
            extra={"store": where, "from_version": current, "to_version": len(migrations)},
        )  # fmt: skip


def purge(q: Statements, execute: Callable[..., Cursor], before: datetime, limit: int) -> int:
    """Run the retention deletes until ``limit`` rows are gone or nothing is left to delete.

    Old log lines, contact records and outbox entries go first, then expired
    recoveries; a customer left without any recovery (and with nothing waiting to be
    sent) goes with the last one, addresses and service windows included. Those
    customer rows do not count against ``limit``.
    """
    d = q.dialect
    moment = d.time_in(before)
    removed = 0
    # The log, contacts and outbox first: an old outbox entry never outlives the
    # recovery it belongs to, so once a recovery goes nothing old blocks its customer.
    for statement in q.purges:
        if removed >= limit:
            return removed
        removed += execute(statement, (moment, limit - removed)).rowcount
    if removed >= limit:
        return removed
    expired = execute(q.expired, (moment, limit - removed)).fetchall()
    if expired:
        removed += execute(q.drop_recoveries, (d.ids([row[0] for row in expired]),)).rowcount
        customers = d.ids(sorted({row[1] for row in expired}))
        for statement in q.purge_customer:
            execute(statement, (customers,))
    if removed:
        log.info("purge removed %d rows", removed, extra={"removed": removed})
    return removed

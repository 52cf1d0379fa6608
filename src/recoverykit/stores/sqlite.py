"""``SQLiteStore``: the embedded default store, one database file shared by every worker.

Why SQLite: it ships with Python, keeps everything in one file a newcomer can open,
and serialises writers, which is exactly the per-customer lock the runner needs
(SEAMS 5). The file runs in WAL mode with ``synchronous=NORMAL`` (SEAMS 6): a crashed
process loses nothing committed; a power cut may lose the last batch's marks, which
the runner reconciles like any interrupted send.

Every write transaction starts with ``BEGIN IMMEDIATE``, so processes sharing the file
queue for the write lock (up to ``busy_timeout`` seconds) instead of failing midway.
Instants are stored as whole microseconds since 1970 UTC, which sort and index exactly;
recovery states, messages and log data are JSON text.

One ``SQLiteStore`` object owns one connection: give each thread or process its own
store object on the same file. Calls on one object are serialised by a lock, so sharing
one between threads is safe but gains nothing.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from ..engine.state import RecoveryState
from ..errors import ConflictError, StoreError
from ..policies.caps import ContactHistory, ContactRecord
from ..policies.consent import ConsentEvent, ConsentLedger
from ..protocols import Claimed, LogRecord, OutboxEntry, OutboxMark, OutboxStatus
from ..values.model import Channel, Customer
from ._codec import (
    address_key,
    addresses_of,
    due_of,
    dumps,
    finished_of,
    from_micros,
    message_from_dict,
    message_to_dict,
    micros,
    started_of,
    state_from_json,
    state_to_json,
)

__all__ = ["MIGRATIONS", "SQLiteStore"]

#: Forward-only schema migrations; migration ``n`` (1-based) brings the file to version ``n``.
#: Never edit a released entry: append a new one.
MIGRATIONS: Final[tuple[str, ...]] = (
    """
    CREATE TABLE recoveries (
        checkout_id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        status TEXT NOT NULL,
        due INTEGER,
        claimed_by TEXT,
        lease_until INTEGER,
        started INTEGER,
        finished INTEGER,
        state TEXT NOT NULL
    );
    CREATE INDEX recoveries_due ON recoveries (due, lease_until) WHERE due IS NOT NULL;
    CREATE INDEX recoveries_open ON recoveries (customer_id) WHERE status != 'finished';
    CREATE INDEX recoveries_finished ON recoveries (finished) WHERE finished IS NOT NULL;

    CREATE TABLE customers (id TEXT PRIMARY KEY, data TEXT NOT NULL);
    CREATE TABLE addresses (
        channel TEXT NOT NULL,
        address TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        PRIMARY KEY (channel, address)
    ) WITHOUT ROWID;
    CREATE INDEX addresses_customer ON addresses (customer_id);

    CREATE TABLE consent (
        seq INTEGER PRIMARY KEY,
        customer_id TEXT NOT NULL,
        event TEXT NOT NULL
    );
    CREATE INDEX consent_customer ON consent (customer_id, seq);
    CREATE TRIGGER consent_no_update BEFORE UPDATE ON consent
    BEGIN SELECT RAISE(ABORT, 'consent events are append-only'); END;
    CREATE TRIGGER consent_no_delete BEFORE DELETE ON consent
    BEGIN SELECT RAISE(ABORT, 'consent events are append-only'); END;

    CREATE TABLE contacts (
        seq INTEGER PRIMARY KEY,
        customer_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        channel TEXT NOT NULL,
        checkout_id TEXT NOT NULL,
        kind TEXT NOT NULL
    );
    CREATE INDEX contacts_customer ON contacts (customer_id, at);
    CREATE INDEX contacts_at ON contacts (at);

    CREATE TABLE windows (
        customer_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        until INTEGER NOT NULL,
        PRIMARY KEY (customer_id, channel)
    ) WITHOUT ROWID;

    CREATE TABLE outbox (
        key TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        message TEXT NOT NULL,
        provider_id TEXT,
        detail TEXT,
        attempted_at INTEGER,
        settled_at INTEGER
    );
    CREATE INDEX outbox_status ON outbox (status, created_at);

    CREATE TABLE seen (event_id TEXT PRIMARY KEY) WITHOUT ROWID;

    CREATE TABLE log (
        seq INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        checkout_id TEXT,
        customer_id TEXT,
        data TEXT NOT NULL
    );
    CREATE INDEX log_at ON log (at);
    """,
    # 2: delivery webhooks find the message a provider id names (Transaction.sent_message).
    """
    CREATE INDEX IF NOT EXISTS outbox_provider ON outbox (provider_id)
        WHERE provider_id IS NOT NULL;
    """,
    # 3: the discount guard reads a customer's recoveries, finished ones included
    # (Transaction.customer_recoveries).
    """
    CREATE INDEX IF NOT EXISTS recoveries_customer ON recoveries (customer_id, started);
    """,
)

_MARK: Final = (
    "UPDATE outbox SET status = ?, settled_at = ?,"
    " provider_id = coalesce(?, provider_id), detail = coalesce(?, detail) WHERE key = ?"
)
#: Rows fetched per round trip when streaming the log or the states.
_CHUNK: Final = 500
_ADD_CONTACT: Final = (
    "INSERT INTO contacts (customer_id, at, channel, checkout_id, kind) VALUES (?, ?, ?, ?, ?)"
)
_ADD_LOG: Final = (
    "INSERT INTO log (at, kind, checkout_id, customer_id, data) VALUES (?, ?, ?, ?, ?)"
)
#: Retention deletes, each taking (before, how many at most). Outbox entries go only once
#: settled for good; pending and uncertain ones wait for the runner or a person.
_PURGES: Final = (
    (
        "DELETE FROM recoveries WHERE rowid IN (SELECT rowid FROM recoveries"
        " WHERE finished IS NOT NULL AND finished < ? LIMIT ?)"
    ),
    "DELETE FROM log WHERE seq IN (SELECT seq FROM log WHERE at < ? ORDER BY at LIMIT ?)",
    "DELETE FROM contacts WHERE seq IN (SELECT seq FROM contacts WHERE at < ? LIMIT ?)",
    (
        "DELETE FROM outbox WHERE rowid IN (SELECT rowid FROM outbox WHERE created_at < ?"
        " AND status IN ('sent', 'failed', 'cancelled') LIMIT ?)"
    ),
)


def _maybe_micros(moment: datetime | None) -> int | None:
    return None if moment is None else micros(moment)


def _maybe_datetime(value: int | None) -> datetime | None:
    return None if value is None else from_micros(value)


def _statements(script: str) -> Iterator[str]:
    """Split a migration script into complete statements (triggers included)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                yield pending
            pending = ""
    if pending.strip():
        msg = f"Migration script ends inside a statement: {pending.strip()[:60]!r}"
        raise StoreError(msg)


def _each(values: Collection[str]) -> str:
    """Values bound as one JSON array parameter, read back with ``json_each(?)``: one
    statement for a batch of any length (SQLite caps how many ``?`` a statement has)."""
    return dumps(list(values))


def _contact_row(customer_id: str, record: ContactRecord) -> tuple[str, int, str, str, str]:
    return (customer_id, micros(record.at), record.channel.value, record.checkout_id,
            record.kind.value)  # fmt: skip


def _log_row(record: LogRecord) -> tuple[int, str, str | None, str | None, str]:
    return (micros(record.at), record.kind, record.checkout_id, record.customer_id,
            dumps(record.data))  # fmt: skip


def _outbox_entry(row: sqlite3.Row) -> OutboxEntry:
    return OutboxEntry(
        key=row["key"],
        message=message_from_dict(json.loads(row["message"])),
        created_at=from_micros(row["created_at"]),
        status=OutboxStatus(row["status"]),
        provider_id=row["provider_id"],
        detail=row["detail"],
        attempted_at=_maybe_datetime(row["attempted_at"]),
    )


class SQLiteTransaction:
    """A ``Transaction`` on an ``SQLiteStore``: valid only inside its ``with`` block."""

    __slots__ = ("_conn", "_open")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._open = True

    def _db(self) -> sqlite3.Connection:
        if not self._open:
            msg = "This transaction has ended; open a new one with store.transaction()"
            raise StoreError(msg)
        return self._conn

    # -- recoveries ----------------------------------------------------------------------
    def load(self, checkout_id: str) -> Claimed | None:
        row = (
            self._db()
            .execute("SELECT version, state FROM recoveries WHERE checkout_id = ?", (checkout_id,))
            .fetchone()
        )
        return None if row is None else Claimed(state_from_json(row[1]), row[0])

    def open_recoveries(self, customer_id: str) -> list[Claimed]:
        rows = self._db().execute(
            "SELECT version, state FROM recoveries"
            " WHERE customer_id = ? AND status != 'finished'"
            " ORDER BY started IS NULL, started DESC, rowid DESC",
            (customer_id,),
        )
        return [Claimed(state_from_json(state), version) for version, state in rows]

    def customer_recoveries(self, customer_id: str, *, since: datetime) -> list[RecoveryState]:
        rows = self._db().execute(
            "SELECT state FROM recoveries"
            " WHERE customer_id = ? AND (started IS NULL OR started >= ?)",
            (customer_id, _maybe_micros(since)),
        )
        return [state_from_json(state) for (state,) in rows]

    def save(self, state: RecoveryState, *, expected_version: int | None) -> int:
        db = self._db()
        values = (
            state.customer_id,
            state.status.value,
            _maybe_micros(due_of(state)),
            _maybe_micros(started_of(state)),
            _maybe_micros(finished_of(state)),
            state_to_json(state),
        )
        if expected_version is None:
            try:
                db.execute(
                    "INSERT INTO recoveries (customer_id, status, due, started, finished, state,"
                    " checkout_id, version) VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
                    (*values, state.checkout_id),
                )
            except sqlite3.IntegrityError:
                msg = (
                    f"Recovery {state.checkout_id!r} already exists; load it and save with "
                    "its expected_version to change it"
                )
                raise ConflictError(msg) from None
            return 1
        customer_id, status, due, started, finished, text = values
        # Most saves change only the due time and the JSON. SQLite re-indexes every column
        # a SET names, changed or not, so first try the narrow form, which the WHERE
        # allows only when the other indexed columns already hold these values.
        cursor = db.execute(
            "UPDATE recoveries SET due = ?, state = ?, version = version + 1,"
            " claimed_by = NULL, lease_until = NULL WHERE checkout_id = ? AND version = ?"
            " AND customer_id = ? AND status = ? AND started IS ? AND finished IS ?",
            (due, text, state.checkout_id, expected_version, customer_id, status, started,
             finished),
        )  # fmt: skip
        if cursor.rowcount == 1:
            return expected_version + 1
        cursor = db.execute(
            "UPDATE recoveries SET customer_id = ?, status = ?, due = ?, started = ?,"
            " finished = ?, state = ?, version = version + 1, claimed_by = NULL,"
            " lease_until = NULL WHERE checkout_id = ? AND version = ?",
            (*values, state.checkout_id, expected_version),
        )
        if cursor.rowcount == 0:
            row = db.execute(
                "SELECT version FROM recoveries WHERE checkout_id = ?", (state.checkout_id,)
            ).fetchone()
            found = "it is not stored" if row is None else f"the stored version is {row[0]}"
            msg = (
                f"Recovery {state.checkout_id!r} was expected at version {expected_version} "
                f"but {found}; load it again and redo the decision"
            )
            raise ConflictError(msg)
        return expected_version + 1

    # -- customers ----------------------------------------------------------------------
    def save_customer(self, customer: Customer) -> None:
        db = self._db()
        db.execute(
            "INSERT INTO customers (id, data) VALUES (?, ?)"
            " ON CONFLICT (id) DO UPDATE SET data = excluded.data",
            (customer.id, dumps(customer.to_dict())),
        )
        db.execute("DELETE FROM addresses WHERE customer_id = ?", (customer.id,))
        db.executemany(
            "INSERT OR REPLACE INTO addresses (channel, address, customer_id) VALUES (?, ?, ?)",
            [(channel.value, address, customer.id) for channel, address in addresses_of(customer)],
        )

    def customer_for(self, channel: Channel, address: str) -> str | None:
        row = (
            self._db()
            .execute(
                "SELECT customer_id FROM addresses WHERE channel = ? AND address = ?",
                (channel.value, address_key(channel, address)),
            )
            .fetchone()
        )
        return None if row is None else str(row[0])

    def customer(self, customer_id: str) -> Customer | None:
        row = (
            self._db().execute("SELECT data FROM customers WHERE id = ?", (customer_id,)).fetchone()
        )
        return None if row is None else Customer.from_dict(json.loads(row[0]))

    # -- consent and contact history ---------------------------------------------------------
    def ledger(self, customer_id: str) -> ConsentLedger:
        rows = self._db().execute(
            "SELECT event FROM consent WHERE customer_id = ? ORDER BY seq", (customer_id,)
        )
        return ConsentLedger(ConsentEvent.from_dict(json.loads(text)) for (text,) in rows)

    def append_consent(self, event: ConsentEvent) -> None:
        self._db().execute(
            "INSERT INTO consent (customer_id, event) VALUES (?, ?)",
            (event.customer_id, dumps(event.to_dict())),
        )

    def history(self, customer_id: str, *, since: datetime) -> ContactHistory:
        rows = self._db().execute(
            "SELECT at, channel, checkout_id, kind FROM contacts"
            " WHERE customer_id = ? AND at >= ? ORDER BY at, seq",
            (customer_id, micros(since)),
        )
        return ContactHistory(
            tuple(
                ContactRecord(from_micros(at), channel, checkout_id, kind)
                for at, channel, checkout_id, kind in rows
            )
        )

    def add_contact(self, customer_id: str, record: ContactRecord) -> None:
        self._db().execute(_ADD_CONTACT, _contact_row(customer_id, record))

    def service_window(self, customer_id: str, channel: Channel) -> datetime | None:
        row = (
            self._db()
            .execute(
                "SELECT until FROM windows WHERE customer_id = ? AND channel = ?",
                (customer_id, channel.value),
            )
            .fetchone()
        )
        return None if row is None else from_micros(row[0])

    def open_service_window(self, customer_id: str, channel: Channel, until: datetime) -> None:
        self._db().execute(
            "INSERT INTO windows (customer_id, channel, until) VALUES (?, ?, ?)"
            " ON CONFLICT (customer_id, channel) DO UPDATE SET until = max(until, excluded.until)",
            (customer_id, channel.value, micros(until)),
        )

    # -- outbox, dedup, log --------------------------------------------------------------------
    def add_outbox(self, entry: OutboxEntry) -> bool:
        cursor = self._db().execute(
            "INSERT OR IGNORE INTO outbox (key, status, created_at, message, provider_id, detail,"
            " attempted_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                entry.key,
                entry.status.value,
                micros(entry.created_at),
                dumps(message_to_dict(entry.message)),
                entry.provider_id,
                entry.detail,
                _maybe_micros(entry.attempted_at),
            ),
        )
        return cursor.rowcount == 1

    def sent_message(self, channel: Channel, provider_id: str) -> OutboxEntry | None:
        row = (
            self._db()
            .execute(
                "SELECT * FROM outbox WHERE provider_id = ?"
                " AND json_extract(message, '$.channel') = ? ORDER BY created_at DESC LIMIT 1",
                (provider_id, channel.value),
            )
            .fetchone()
        )
        return None if row is None else _outbox_entry(row)

    def mark_seen(self, event_id: str) -> bool:
        cursor = self._db().execute("INSERT OR IGNORE INTO seen (event_id) VALUES (?)", (event_id,))
        return cursor.rowcount == 1

    def log(self, record: LogRecord) -> None:
        self._db().execute(_ADD_LOG, _log_row(record))

    # -- a whole batch at once (BatchTransaction) -------------------------------------------------
    def ledgers(self, customer_ids: Collection[str]) -> dict[str, ConsentLedger]:
        """Every ledger in one query; each customer's events in the order appended."""
        events: dict[str, list[ConsentEvent]] = {customer_id: [] for customer_id in customer_ids}
        rows = self._db().execute(
            "SELECT customer_id, event FROM consent"
            " WHERE customer_id IN (SELECT value FROM json_each(?)) ORDER BY seq",
            (_each(events),),
        )
        for customer_id, text in rows:
            events[customer_id].append(ConsentEvent.from_dict(json.loads(text)))
        return {customer_id: ConsentLedger(found) for customer_id, found in events.items()}

    def histories(
        self, customer_ids: Collection[str], *, since: datetime
    ) -> dict[str, ContactHistory]:
        """Every history in one query, each oldest first."""
        records: dict[str, list[ContactRecord]] = {customer_id: [] for customer_id in customer_ids}
        rows = self._db().execute(
            "SELECT customer_id, at, channel, checkout_id, kind FROM contacts"
            " WHERE customer_id IN (SELECT value FROM json_each(?)) AND at >= ? ORDER BY at, seq",
            (_each(records), micros(since)),
        )
        for customer_id, at, channel, checkout_id, kind in rows:
            records[customer_id].append(ContactRecord(from_micros(at), channel, checkout_id, kind))
        return {customer_id: ContactHistory(found) for customer_id, found in records.items()}

    def service_windows(self, customer_ids: Collection[str]) -> dict[str, dict[Channel, datetime]]:
        """Every stored window of these customers in one query."""
        found: dict[str, dict[Channel, datetime]] = {}
        rows = self._db().execute(
            "SELECT customer_id, channel, until FROM windows"
            " WHERE customer_id IN (SELECT value FROM json_each(?))",
            (_each(customer_ids),),
        )
        for customer_id, channel, until in rows:
            found.setdefault(customer_id, {})[Channel(channel)] = from_micros(until)
        return found

    def add_contacts(self, contacts: Sequence[tuple[str, ContactRecord]]) -> None:
        self._db().executemany(_ADD_CONTACT, [_contact_row(*pair) for pair in contacts])

    def log_many(self, records: Sequence[LogRecord]) -> None:
        self._db().executemany(_ADD_LOG, [_log_row(record) for record in records])


class SQLiteStore:
    """The embedded ``Store``: one SQLite file (or ``":memory:"``) in WAL mode.

    >>> store = SQLiteStore(":memory:")
    >>> store.next_due() is None
    True
    >>> store.close()

    Opening a file applies any schema migrations it lacks; a file written by a newer
    release is refused with ``StoreError`` rather than misread.
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = 30.0) -> None:
        self.path = str(path)
        self._busy_timeout = busy_timeout
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        self._conn.row_factory = sqlite3.Row
        try:
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    # -- schema --------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        """The schema version of the open file."""
        row = self._conn.execute("SELECT version FROM schema_version").fetchone()
        return 0 if row is None else int(row[0])

    def _migrate(self) -> None:
        migrations = MIGRATIONS
        with self._write() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = db.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                db.execute("INSERT INTO schema_version (version) VALUES (0)")
                current = 0
            else:
                current = int(row[0])
            if current > len(migrations):
                msg = (
                    f"{self.path!r} has schema version {current}, but this release of "
                    f"recoverykit knows versions up to {len(migrations)}; upgrade recoverykit "
                    "to open it"
                )
                raise StoreError(msg)
            for number, script in enumerate(migrations[current:], start=current + 1):
                for statement in _statements(script):
                    db.execute(statement)
                db.execute("UPDATE schema_version SET version = ?", (number,))

    # -- transactions ------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """Hold the write lock for the block; commit on success, roll back on any exception."""
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                msg = (
                    f"Could not start a write on {self.path!r}: {exc} (another process held "
                    f"the write lock for over busy_timeout={self._busy_timeout}s; keep "
                    "transactions short or raise busy_timeout)"
                )
                raise StoreError(msg) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def transaction(self) -> Iterator[SQLiteTransaction]:
        """A write transaction (``BEGIN IMMEDIATE``): other writers wait until it ends."""
        with self._write() as conn:
            tx = SQLiteTransaction(conn)
            try:
                yield tx
            finally:
                tx._open = False

    # -- scheduling ----------------------------------------------------------------------
    def claim_due(
        self, now: datetime, *, limit: int, lease: timedelta, worker: str
    ) -> list[Claimed]:
        moment = micros(now)
        with self._write() as db:
            rows = db.execute(
                "SELECT checkout_id, version, state FROM recoveries"
                " WHERE due IS NOT NULL AND due <= ?"
                " AND (lease_until IS NULL OR lease_until <= ?)"
                " ORDER BY due LIMIT ?",
                (moment, moment, limit),
            ).fetchall()
            db.execute(
                "UPDATE recoveries SET claimed_by = ?, lease_until = ?"
                " WHERE checkout_id IN (SELECT value FROM json_each(?))",
                (worker, micros(now + lease), _each([row[0] for row in rows])),
            )
        return [Claimed(state_from_json(row[2]), row[1]) for row in rows]

    def next_due(self) -> datetime | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT min(due) FROM recoveries WHERE due IS NOT NULL"
            ).fetchone()
        return _maybe_datetime(row[0])

    # -- outbox ----------------------------------------------------------------------------
    def outbox(
        self, *, status: OutboxStatus = OutboxStatus.PENDING, limit: int = 1000
    ) -> list[OutboxEntry]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM outbox WHERE status = ? ORDER BY created_at, rowid LIMIT ?",
                (OutboxStatus(status).value, limit),
            ).fetchall()
        return [_outbox_entry(row) for row in rows]

    def mark_outbox(
        self,
        key: str,
        status: OutboxStatus,
        *,
        at: datetime,
        provider_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        with self._write() as db:
            cursor = db.execute(
                _MARK, (OutboxStatus(status).value, micros(at), provider_id, detail, key)
            )
            if cursor.rowcount == 0:
                msg = f"No outbox entry with key {key!r}; add it with add_outbox first"
                raise StoreError(msg)

    def mark_outbox_many(self, marks: list[OutboxMark], *, at: datetime) -> None:
        moment = micros(at)
        rows = [(OutboxStatus(mark.status).value, moment, mark.provider_id, mark.detail, mark.key)
                for mark in marks]  # fmt: skip
        with self._write() as db:
            # Keys are unique, so each mark changes one row: a shortfall is an unknown key.
            if db.executemany(_MARK, rows).rowcount != len(rows):
                keys = [mark.key for mark in marks]
                found = db.execute(
                    "SELECT key FROM outbox WHERE key IN (SELECT value FROM json_each(?))",
                    (_each(keys),),
                )
                known = {key for (key,) in found}
                missing = next(key for key in keys if key not in known)
                msg = f"No outbox entry with key {missing!r}; add it with add_outbox first"
                raise StoreError(msg)

    def mark_attempted(
        self,
        keys: list[str],
        *,
        at: datetime,
        previous: Mapping[str, datetime] | None = None,
    ) -> list[str]:
        seen = previous or {}
        wanted = list(dict.fromkeys(keys))
        with self._write() as db:
            # Read, then stamp, under the write lock: no other process can stamp in between,
            # so the compare-and-set holds for the whole list in two statements. (The status
            # is checked here rather than in SQL, so the lookup goes by key, never by status.)
            current = {
                key: attempted_at
                for key, status, attempted_at in db.execute(
                    "SELECT key, status, attempted_at FROM outbox"
                    " WHERE key IN (SELECT value FROM json_each(?))",
                    (_each(wanted),),
                )
                if status == OutboxStatus.PENDING.value
            }
            claimed = [
                key
                for key in wanted
                if key in current and current[key] == _maybe_micros(seen.get(key))
            ]
            db.execute(
                "UPDATE outbox SET attempted_at = ? WHERE key IN (SELECT value FROM json_each(?))",
                (micros(at), _each(claimed)),
            )
        return claimed

    # -- reading ---------------------------------------------------------------------------
    def events(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[LogRecord]:
        """The log from ``since`` (inclusive) to ``until`` (exclusive), read in chunks.

        Each chunk is its own short query (keyset paging on time and insertion order),
        so no read stays open between chunks and writers are never held up.
        """
        start = -(2**63) if since is None else micros(since)
        stop = 2**63 - 1 if until is None else micros(until)
        position = (start, -1)
        while True:
            with self._lock:
                rows = self._conn.execute(
                    "SELECT seq, at, kind, checkout_id, customer_id, data FROM log"
                    " WHERE (at, seq) > (?, ?) AND at < ? ORDER BY at, seq LIMIT ?",
                    (*position, stop, _CHUNK),
                ).fetchall()
            for seq, at, kind, checkout_id, customer_id, data in rows:
                yield LogRecord(from_micros(at), kind, checkout_id, customer_id, json.loads(data))
                position = (at, seq)
            if len(rows) < _CHUNK:
                return

    def states(self) -> Iterator[RecoveryState]:
        """Every stored recovery, in checkout id order, read in chunks."""
        after = ""
        while True:
            with self._lock:
                rows = self._conn.execute(
                    "SELECT checkout_id, state FROM recoveries WHERE checkout_id > ?"
                    " ORDER BY checkout_id LIMIT ?",
                    (after, _CHUNK),
                ).fetchall()
            for checkout_id, state in rows:
                yield state_from_json(state)
                after = checkout_id
            if len(rows) < _CHUNK:
                return

    # -- retention ---------------------------------------------------------------------------
    def purge(self, before: datetime, *, limit: int = 1000) -> int:
        """Delete up to ``limit`` expired rows: finished recoveries, log lines, contact
        records and settled outbox entries older than ``before``. Consent stays.
        """
        moment = micros(before)
        removed = 0
        with self._write() as db:
            for sql in _PURGES:
                if removed >= limit:
                    break
                removed += db.execute(sql, (moment, limit - removed)).rowcount
        return removed

    def close(self) -> None:
        """Close the connection; the store object cannot be used afterwards."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

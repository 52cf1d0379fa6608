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
from typing import Any, Final

from ..engine.state import RecoveryState
from ..errors import ForeignDatabase, StoreError
from ..protocols import Claimed, LogRecord, OutboxEntry, OutboxMark, OutboxStatus
from ._holds import SQLHolds
from ._refusals import newer_schema, unknown_outbox_key
from ._sql import Dialect, SQLTransaction, Statements, apply_migrations, log, purge
from .codec import dumps, from_micros, micros, state_from_json, state_to_json

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SQLiteStore"]

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
    # 4: the abandonment detector's watches and the shop's orders (DetectorTransaction).
    """
    CREATE TABLE watches (
        checkout_id TEXT PRIMARY KEY,
        due INTEGER,
        touched INTEGER,
        data TEXT NOT NULL
    );
    CREATE INDEX watches_due ON watches (due, checkout_id) WHERE due IS NOT NULL;
    CREATE TABLE shop_orders (
        order_id TEXT PRIMARY KEY,
        at INTEGER NOT NULL,
        checkout_id TEXT,
        customer_id TEXT,
        phone TEXT,
        email TEXT,
        data TEXT NOT NULL
    );
    CREATE INDEX shop_orders_checkout ON shop_orders (checkout_id);
    CREATE INDEX shop_orders_customer ON shop_orders (customer_id, at);
    CREATE INDEX shop_orders_phone ON shop_orders (phone, at);
    CREATE INDEX shop_orders_email ON shop_orders (email, at);
    CREATE INDEX shop_orders_at ON shop_orders (at);
    """,
    # 5: consent stays append-only, except that erasing a customer pseudonymises their
    # events once (Store.erase_customer); the log is found by checkout for erasure.
    """
    DROP TRIGGER IF EXISTS consent_no_update;
    CREATE TRIGGER consent_no_update BEFORE UPDATE ON consent
    WHEN NOT (NEW.customer_id LIKE 'erased:%' AND OLD.customer_id NOT LIKE 'erased:%')
    BEGIN SELECT RAISE(ABORT, 'consent events are append-only'); END;
    CREATE INDEX IF NOT EXISTS log_checkout ON log (checkout_id);
    CREATE INDEX IF NOT EXISTS log_customer ON log (customer_id);
    """,
    # 6: a watched checkout's customer, phone and e-mail, so an order reaches every
    # customer record of the person who placed it (DetectorTransaction.customers_with).
    """
    ALTER TABLE watches ADD COLUMN customer_id TEXT;
    ALTER TABLE watches ADD COLUMN phone TEXT;
    ALTER TABLE watches ADD COLUMN email TEXT;
    CREATE INDEX watches_phone ON watches (phone) WHERE phone IS NOT NULL;
    CREATE INDEX watches_email ON watches (email) WHERE email IS NOT NULL;
    """,
    # 7: channel circuits and recipient holds that outlive a tick (HealthTransaction).
    """
    CREATE TABLE channel_holds (
        channel TEXT NOT NULL,
        recipient TEXT NOT NULL,
        opened_at INTEGER NOT NULL,
        next_probe_at INTEGER NOT NULL,
        probes INTEGER NOT NULL,
        code TEXT,
        reason TEXT NOT NULL,
        PRIMARY KEY (channel, recipient)
    ) WITHOUT ROWID;
    """,
)

#: ``PRAGMA application_id`` of every recoverykit SQLite file ("RKIT"): the schema
#: marker that tells a store from a file some other application owns.
APPLICATION_ID: Final = 0x524B4954
#: Tables a recoverykit file had before it carried the marker.
_OWN_TABLES: Final = frozenset({"schema_version", "recoveries", "log", "outbox", "consent"})

_MARK: Final = (
    "UPDATE outbox SET status = ?, settled_at = ?,"
    " provider_id = coalesce(?, provider_id), detail = coalesce(?, detail) WHERE key = ?"
)
#: Log pages (4 KiB each by default) after which SQLite checkpoints on its own: a
#: safety net for a store whose ticks are never idle (``SQLiteStore.checkpoint``).
WAL_AUTOCHECKPOINT: Final = 10_000
#: Rows fetched per round trip when streaming the log or the states.
_CHUNK: Final = 500


def _each(values: Collection[str]) -> str:
    """Values bound as one JSON array parameter, read back with ``json_each(?)``: one
    statement for a batch of any length (SQLite caps how many ``?`` a statement has)."""
    return dumps(list(values))


#: Instants as whole microseconds since 1970 UTC; JSON as compact text.
DIALECT: Final = Dialect(
    param="?",
    insertion="rowid",
    in_list="IN (SELECT value FROM json_each(?))",
    greatest="max",
    message_channel="json_extract(message, '$.channel')",
    message_customer="json_extract(message, '$.customer_id')",
    watch_customer="json_extract(data, '$.latest.customer.id')",
    time_in=micros,
    time_out=from_micros,
    json_in=dumps,
    json_out=json.loads,
    state_in=state_to_json,
    state_out=state_from_json,
    ids=_each,
)
_Q: Final = Statements(DIALECT)
#: Most saves change only the due time and the JSON. SQLite re-indexes every column a
#: SET names, changed or not, so ``save`` first tries this narrow form, which the WHERE
#: allows only when the other indexed columns already hold these values.
_NARROW_UPDATE: Final = (
    "UPDATE recoveries SET due = ?, state = ?, version = version + 1,"
    " claimed_by = NULL, lease_until = NULL WHERE checkout_id = ? AND version = ?"
    " AND customer_id = ? AND status = ? AND started IS ? AND finished IS ?"
)


_ATTEMPT: Final = (
    "UPDATE outbox SET attempted_at = ? WHERE key = ? AND status = 'pending' AND attempted_at IS ?"
)


def _connect(path: str, busy_timeout: float, *, read_only: bool) -> sqlite3.Connection:
    """A connection to ``path``; read-only ones never create the file."""
    target, uri = path, False
    if read_only:
        target, uri = f"{Path(path).resolve().as_uri()}?mode=ro", True
    try:
        return sqlite3.connect(
            target,
            timeout=busy_timeout,
            isolation_level=None,
            check_same_thread=False,
            uri=uri,
        )
    except sqlite3.Error as exc:
        msg = f"Could not open the SQLite file {path!r}: {exc}"
        raise StoreError(msg) from exc


def _inspect(conn: sqlite3.Connection, path: str, *, read_only: bool) -> int:
    """The file's ``application_id`` once it is known to be a recoverykit store (or empty).

    A file is ours when it carries ``APPLICATION_ID``, or (written before the marker)
    holds the recoverykit tables; an empty database is a new store, unless it is
    opened read-only. Anything else raises ``ForeignDatabase`` untouched.
    """
    try:
        application_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        tables = {
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
    except sqlite3.DatabaseError as exc:
        msg = f"{path!r} is not an SQLite database ({exc}); name a recoverykit store"
        raise ForeignDatabase(msg) from exc
    if application_id == APPLICATION_ID or (application_id == 0 and tables >= _OWN_TABLES):
        return application_id
    if application_id == 0 and not tables:
        if read_only:
            msg = f"{path!r} holds no recoverykit store (it is empty); nothing to read"
            raise ForeignDatabase(msg)
        return application_id
    owner = f"application id {application_id:#x}" if application_id else "its own tables"
    shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
    msg = (
        f"{path!r} is not a recoverykit store ({owner}: {shown or 'none'}); it was left "
        "untouched: name a new file or one recoverykit created"
    )
    log.warning("refused a foreign database: %s", path, extra={"database": path})
    raise ForeignDatabase(msg)


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


class SQLiteTransaction(SQLHolds, SQLTransaction):
    """A ``Transaction`` on an ``SQLiteStore``: valid only inside its ``with`` block.

    SQLite has one writer, so no customer row needs locking: the shared SQL runs as is.
    """

    __slots__ = ("_conn",)
    _q = _Q

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__()
        self._conn = conn

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        self._check_open()
        return self._conn.execute(sql, params)

    def _execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        self._check_open()
        return self._conn.executemany(sql, rows).rowcount

    def _update_recovery(
        self, state: RecoveryState, values: tuple[Any, ...], expected_version: int
    ) -> bool:
        customer_id, status, due, started, finished, text = values
        narrow = (due, text, state.checkout_id, expected_version, customer_id, status, started,
                  finished)  # fmt: skip
        if self._execute(_NARROW_UPDATE, narrow).rowcount == 1:
            return True
        return super()._update_recovery(state, values, expected_version)

    def _attempt_sql(self) -> str:
        return _ATTEMPT

    def _update_many(self, rows: list[tuple[Any, ...]]) -> int:
        """The narrow form for every row, then the full one: a row the narrow form wrote
        has moved to the next version, so the second statement only reaches the rest."""
        narrow = [
            (due, text, checkout_id, version, customer_id, status, started, finished)
            for customer_id, status, due, started, finished, text, checkout_id, version in rows
        ]
        changed = self._execute_many(_NARROW_UPDATE, narrow)
        if changed < len(rows):
            changed += super()._update_many(rows)
        return changed


class SQLiteStore:
    """The embedded ``Store``: one SQLite file (or ``":memory:"``) in WAL mode.

    >>> store = SQLiteStore(":memory:")
    >>> store.next_due() is None
    True
    >>> store.close()

    Opening a file applies any schema migrations it lacks; a file written by a newer
    release is refused with ``StoreError`` rather than misread. A file another
    application owns (any SQLite file with tables but without the recoverykit marker,
    or not an SQLite file at all) is refused with ``ForeignDatabase`` before anything
    is written to it. ``read_only=True`` opens an existing store for reading only:
    nothing is migrated, no journal mode is changed, every write fails.

    Deleted rows are overwritten on disk (``secure_delete``), so erased personal data
    does not linger in free pages.
    """

    def __init__(
        self, path: str | Path, *, busy_timeout: float = 30.0, read_only: bool = False
    ) -> None:
        self.path = str(path)
        self.read_only = read_only
        self._busy_timeout = busy_timeout
        self._lock = threading.RLock()
        self._conn = _connect(self.path, busy_timeout, read_only=read_only)
        self._conn.row_factory = sqlite3.Row
        try:
            found = _inspect(self._conn, self.path, read_only=read_only)
            if read_only:
                self._check_version()
            else:
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute("PRAGMA synchronous = NORMAL")
                self._conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT}")
                self._conn.execute("PRAGMA secure_delete = ON")
                self._migrate(mark=found != APPLICATION_ID)
        except sqlite3.Error as exc:
            self._conn.close()
            msg = f"Could not open the SQLite store {self.path!r}: {exc}"
            raise StoreError(msg) from exc
        except BaseException:
            self._conn.close()
            raise

    # -- schema --------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        """The schema version of the open file."""
        row = self._conn.execute("SELECT version FROM schema_version").fetchone()
        return 0 if row is None else int(row[0])

    def _check_version(self) -> None:
        if self.schema_version > len(MIGRATIONS):
            raise newer_schema(repr(self.path), self.schema_version, len(MIGRATIONS))

    def _migrate(self, *, mark: bool) -> None:
        with self._write() as db:
            if mark:
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")

            def run_script(script: str) -> None:
                for statement in _statements(script):
                    db.execute(statement)

            apply_migrations(_Q, db.execute, run_script, MIGRATIONS, where=repr(self.path))

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
                tx._end()

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
            row = self._conn.execute(_Q.next_due).fetchone()
        return _maybe_datetime(row[0])

    # -- outbox ----------------------------------------------------------------------------
    def outbox(
        self, *, status: OutboxStatus = OutboxStatus.PENDING, limit: int = 1000
    ) -> list[OutboxEntry]:
        with self._lock:
            rows = self._conn.execute(_Q.outbox, (OutboxStatus(status).value, limit)).fetchall()
        return [DIALECT.outbox_entry(row) for row in rows]

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
                raise unknown_outbox_key(key)

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
                raise unknown_outbox_key(next(key for key in keys if key not in known))

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
                if key in current and current[key] == DIALECT.maybe_time_in(seen.get(key))
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
        records and settled (or uncertain) outbox entries older than ``before``, and the
        customers left without a recovery. Consent stays.
        """
        with self._write() as db:
            return purge(_Q, db.execute, before, limit)

    # -- one customer ------------------------------------------------------------------------
    def export_customer(self, customer_id: str) -> dict[str, Any]:
        """Everything the file keeps about ``customer_id`` (GDPR article 15)."""
        with self.transaction() as tx:
            return tx.export_customer(customer_id)

    def erase_customer(self, customer_id: str) -> int:
        """Erase ``customer_id``'s personal data (GDPR article 17); consent stays,
        pseudonymised. Deleted pages are overwritten (``secure_delete``)."""
        with self.transaction() as tx:
            return tx.erase_customer(customer_id)

    def checkpoint(self) -> int:
        """Copy the write-ahead log into the database file now; the pages left in the log.

        With ``synchronous=NORMAL`` a commit reaches the log but is synced to disk only
        when the log is checkpointed: a power loss (not a process crash) may undo what
        was committed since. SQLite would checkpoint inside whichever commit crossed its
        threshold, in the middle of a tick; this store raises the threshold to
        ``WAL_AUTOCHECKPOINT`` pages (a safety net) and ``Runner.run_due`` calls this on
        every tick that finds nothing due, off the hot path. Passive: it never waits
        for a reader or a writer, and leaves in the log what they still use.
        """
        if self.read_only:
            return 0
        with self._lock:
            row = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        _busy, in_log, copied = (int(value) for value in row)
        return max(in_log - copied, 0)

    def close(self) -> None:
        """Close the connection; the store object cannot be used afterwards."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

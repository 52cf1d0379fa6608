"""``PostgresStore``: one PostgreSQL database shared by many workers on many machines.

Why PostgreSQL: a platform hosting thousands of shops runs several worker processes
against one database, and needs row locks rather than SQLite's single writer. The
store keeps the same promises as ``SQLiteStore`` (``recoverykit.protocols.Store``) and
adds what many writers need:

* Due recoveries are claimed in one statement with ``FOR UPDATE SKIP LOCKED`` and a
  lease, so two workers never pick the same wake-up and a killed worker's claims come
  back once the lease runs out.
* Every transaction locks the row of each customer it reads or changes consent,
  contact history or the outbox for (``SELECT ... FOR UPDATE`` on ``customers``,
  SEAMS 5). The reads that follow the lock see everything committed before it, so a
  revocation committed first always wins, and a revocation that arrives meanwhile
  waits for the send's transaction and is recorded after it.
* A deadlock or serialisation failure between workers surfaces as ``ConflictError``,
  which the runner already treats as "someone else got there first: retry".
* The outbox is keyed by idempotency key; the event log is indexed by time and read
  through a server-side cursor; purges delete in bounded batches.

Instants are ``timestamptz`` (whole microseconds, like Python); states, messages and
log data are ``json`` columns, which keep the text exactly as written. The schema is
versioned in ``schema_version`` and migrated forward-only when a store opens, under
an advisory lock so workers starting together migrate once.

Requires the optional extra: ``pip install 'recoverykit[postgres]'`` (psycopg 3 and
psycopg-pool).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Final, LiteralString

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.types.json import Json
from psycopg_pool import ConnectionPool, PoolTimeout

from ..engine.state import RecoveryState
from ..errors import ConflictError, ForeignDatabase, StoreError
from ..protocols import Claimed, LogRecord, OutboxEntry, OutboxMark, OutboxStatus
from ._holds import SQLHolds
from ._refusals import newer_schema, unknown_outbox_key
from ._sql import Dialect, SQLTransaction, Statements, apply_migrations, log, purge
from .codec import dumps, state_to_json
from .trusted import state_from_stored

__all__ = ["MIGRATIONS", "PostgresStore", "PostgresTransaction"]

#: Forward-only schema migrations; migration ``n`` (1-based) brings the schema to version
#: ``n``. Never edit a released entry: append a new one.
MIGRATIONS: Final[tuple[LiteralString, ...]] = (
    """
    CREATE TABLE recoveries (
        checkout_id text PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        customer_id text NOT NULL,
        version integer NOT NULL,
        status text NOT NULL,
        due timestamptz,
        claimed_by text,
        lease_until timestamptz,
        started timestamptz,
        finished timestamptz,
        state json NOT NULL
    );
    CREATE INDEX recoveries_due ON recoveries (due, checkout_id) WHERE due IS NOT NULL;
    CREATE INDEX recoveries_open ON recoveries (customer_id) WHERE status <> 'finished';
    CREATE INDEX recoveries_finished ON recoveries (finished) WHERE finished IS NOT NULL;

    -- One row per customer: the row transactions lock (FOR UPDATE) before touching the
    -- customer's consent, contact history or outbox. data is NULL until save_customer.
    CREATE TABLE customers (id text PRIMARY KEY, data json);
    CREATE TABLE addresses (
        channel text NOT NULL,
        address text NOT NULL,
        customer_id text NOT NULL,
        PRIMARY KEY (channel, address)
    );
    CREATE INDEX addresses_customer ON addresses (customer_id);

    CREATE TABLE consent (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        customer_id text NOT NULL,
        event json NOT NULL
    );
    CREATE INDEX consent_customer ON consent (customer_id, seq);
    CREATE FUNCTION recoverykit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'consent events are append-only';
    END
    $$;
    CREATE TRIGGER consent_append_only BEFORE UPDATE OR DELETE ON consent
        FOR EACH ROW EXECUTE FUNCTION recoverykit_append_only();

    CREATE TABLE contacts (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        customer_id text NOT NULL,
        at timestamptz NOT NULL,
        channel text NOT NULL,
        checkout_id text NOT NULL,
        kind text NOT NULL
    );
    CREATE INDEX contacts_customer ON contacts (customer_id, at);
    CREATE INDEX contacts_at ON contacts (at);

    CREATE TABLE windows (
        customer_id text NOT NULL,
        channel text NOT NULL,
        until timestamptz NOT NULL,
        PRIMARY KEY (customer_id, channel)
    );

    CREATE TABLE outbox (
        key text PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        status text NOT NULL,
        created_at timestamptz NOT NULL,
        message json NOT NULL,
        provider_id text,
        detail text,
        attempted_at timestamptz,
        settled_at timestamptz
    );
    CREATE INDEX outbox_status ON outbox (status, created_at, seq);

    CREATE TABLE seen (event_id text PRIMARY KEY);

    CREATE TABLE log (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at timestamptz NOT NULL,
        kind text NOT NULL,
        checkout_id text,
        customer_id text,
        data json NOT NULL
    );
    CREATE INDEX log_at ON log (at, seq);
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
        checkout_id text PRIMARY KEY,
        due timestamptz,
        touched timestamptz,
        data json NOT NULL
    );
    CREATE INDEX watches_due ON watches (due, checkout_id) WHERE due IS NOT NULL;
    CREATE TABLE shop_orders (
        order_id text PRIMARY KEY,
        at timestamptz NOT NULL,
        checkout_id text,
        customer_id text,
        phone text,
        email text,
        data json NOT NULL
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
    CREATE OR REPLACE FUNCTION recoverykit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND NEW.customer_id LIKE 'erased:%'
                AND OLD.customer_id NOT LIKE 'erased:%' THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'consent events are append-only';
    END
    $$;
    CREATE INDEX IF NOT EXISTS log_checkout ON log (checkout_id);
    CREATE INDEX IF NOT EXISTS log_customer ON log (customer_id);
    """,
    # 6: a watched checkout's customer, phone and e-mail, so an order reaches every
    # customer record of the person who placed it (DetectorTransaction.customers_with).
    """
    ALTER TABLE watches ADD COLUMN customer_id text;
    ALTER TABLE watches ADD COLUMN phone text;
    ALTER TABLE watches ADD COLUMN email text;
    CREATE INDEX watches_phone ON watches (phone) WHERE phone IS NOT NULL;
    CREATE INDEX watches_email ON watches (email) WHERE email IS NOT NULL;
    """,
    # 7: channel circuits and recipient holds that outlive a tick (HealthTransaction).
    """
    CREATE TABLE channel_holds (
        channel text NOT NULL,
        recipient text NOT NULL,
        opened_at timestamptz NOT NULL,
        next_probe_at timestamptz NOT NULL,
        probes integer NOT NULL,
        code text,
        reason text NOT NULL,
        PRIMARY KEY (channel, recipient)
    );
    """,
)

#: Rows per round trip when streaming the log or the states through a server-side cursor.
_CHUNK: Final = 500
_CLAIM: Final = """
    WITH due AS (
        SELECT checkout_id FROM recoveries
        WHERE due IS NOT NULL AND due <= %(now)s
          AND (lease_until IS NULL OR lease_until <= %(now)s)
        ORDER BY due, checkout_id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    )
    UPDATE recoveries AS r SET claimed_by = %(worker)s, lease_until = %(until)s
    FROM due WHERE r.checkout_id = due.checkout_id
    RETURNING r.due, r.checkout_id, r.version, r.state
"""
_DUE_WATCHES: Final = (
    "SELECT data FROM watches WHERE due IS NOT NULL AND due <= %s"
    " ORDER BY due, checkout_id LIMIT %s FOR UPDATE SKIP LOCKED"
)
_WATCH: Final = "SELECT data FROM watches WHERE checkout_id = %s FOR UPDATE"
_MARK_MANY: Final = """
    UPDATE outbox AS o SET status = m.status, settled_at = %s,
        provider_id = coalesce(m.provider_id, o.provider_id),
        detail = coalesce(m.detail, o.detail)
    FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[])
        AS m(key, status, provider_id, detail)
    WHERE o.key = m.key
    RETURNING o.key
"""
_SCHEMA_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: Errors that mean "another transaction got in the way": the runner retries on these.
_CONTENTION: Final = (
    pg_errors.DeadlockDetected,
    pg_errors.SerializationFailure,
    pg_errors.LockNotAvailable,
)


def _json(data: Any) -> Json:
    return Json(data, dumps=dumps)


def _same(value: Any) -> Any:
    return value


#: psycopg binds and reads ``timestamptz`` as aware datetimes and ``json`` as Python data.
DIALECT: Final = Dialect(
    param="%s",
    insertion="seq",
    in_list="= ANY(?)",
    greatest="greatest",
    message_channel="message->>'channel'",
    message_customer="message->>'customer_id'",
    watch_customer="data->'latest'->'customer'->>'id'",
    time_in=_same,
    time_out=_same,
    json_in=_json,
    json_out=_same,
    state_in=lambda state: Json(state, dumps=state_to_json),
    state_out=state_from_stored,
    ids=list,
)
_Q: Final = Statements(DIALECT)
_VERSIONS: Final = _Q.versions + " FOR UPDATE"
_ATTEMPT: Final = (
    "UPDATE outbox SET attempted_at = %s WHERE key = %s AND status = 'pending'"
    " AND attempted_at IS NOT DISTINCT FROM %s::timestamptz"
)


#: Tables a recoverykit schema holds; finding some but not its own pair means a
#: foreign schema.
_OWN_TABLES: Final = (
    "schema_version", "recoveries", "customers", "addresses", "consent", "contacts",
    "windows", "outbox", "seen", "log",
)  # fmt: skip


def _failure(exc: psycopg.Error, doing: str) -> StoreError:
    """The recoverykit error for a database error raised while ``doing`` something."""
    if isinstance(exc, _CONTENTION):
        msg = (
            f"PostgreSQL gave up {doing} because another worker held the same rows "
            f"({type(exc).__name__}: {str(exc).strip()}); nothing of it was kept, redo it"
        )
        return ConflictError(msg)
    msg = (
        f"PostgreSQL failed {doing}: {type(exc).__name__}: {str(exc).strip()} "
        "(nothing of the transaction was kept; check the server and retry)"
    )
    return StoreError(msg)


class PostgresTransaction(SQLHolds, SQLTransaction):
    """A ``Transaction`` on a ``PostgresStore``: valid only inside its ``with`` block.

    It locks each customer's row the first time it touches their consent, contact
    history, service windows, outbox or recoveries, and keeps the lock until it ends.
    """

    __slots__ = ("_conn", "_failed", "_locked")
    _q = _Q

    def __init__(self, conn: psycopg.Connection[tuple[Any, ...]]) -> None:
        super().__init__()
        self._conn = conn
        self._failed: StoreError | None = None
        self._locked: set[str] = set()

    def _usable(self) -> psycopg.Connection[tuple[Any, ...]]:
        self._check_open()
        if self._failed is not None:
            msg = f"This transaction already failed and will be rolled back: {self._failed}"
            raise type(self._failed)(msg)
        return self._conn

    def _execute(self, sql: LiteralString, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        """Execute one statement; a database error ends the transaction for good."""
        conn = self._usable()
        try:
            return conn.execute(sql, params)
        except psycopg.Error as exc:
            self._failed = _failure(exc, "a statement of a transaction")
            raise self._failed from exc

    def _execute_many(self, sql: LiteralString, rows: Sequence[Sequence[Any]]) -> int:
        """Execute one statement per row (psycopg pipelines them); errors as ``_execute``.

        Returns the rows changed in all (psycopg sums them over the batch)."""
        if not rows:
            return 0
        conn = self._usable()
        try:
            with conn.cursor() as cursor:
                cursor.executemany(sql, rows)
                return cursor.rowcount
        except psycopg.Error as exc:
            self._failed = _failure(exc, "a statement of a transaction")
            raise self._failed from exc

    def _attempt_sql(self) -> LiteralString:
        return _ATTEMPT

    def _versions_sql(self) -> LiteralString:
        """The batch's versions, each row held until the transaction ends (in id order)."""
        return _VERSIONS

    def _due_watches_sql(self) -> LiteralString:
        """Due watches, each row held until the transaction ends; other workers skip it."""
        return _DUE_WATCHES

    def _watch_sql(self) -> LiteralString:
        """One watch, its row held until the transaction ends: a tick deciding it and a
        webhook updating it never both write from what they read."""
        return _WATCH

    def _lock_many(self, customer_ids: Collection[str]) -> None:
        """``_lock`` for many customers in a few statements, taking the locks in id order."""
        wanted = sorted(set(customer_ids) - self._locked)
        if not wanted:
            return
        select: LiteralString = "SELECT id FROM customers WHERE id = ANY(%s) ORDER BY id FOR UPDATE"
        found = {row[0] for row in self._execute(select, (wanted,)).fetchall()}
        missing = [customer_id for customer_id in wanted if customer_id not in found]
        if missing:
            self._execute(
                "INSERT INTO customers (id) SELECT unnest(%s::text[]) ON CONFLICT (id) DO NOTHING",
                (missing,),
            )
            # Rows another transaction created meanwhile were skipped: wait for their lock.
            self._execute(select, (missing,))
        self._locked.update(wanted)

    def _lock(self, customer_id: str) -> None:
        """Hold the customer's row until the transaction ends (SEAMS 5)."""
        if customer_id in self._locked:
            return
        select: LiteralString = "SELECT 1 FROM customers WHERE id = %s FOR UPDATE"
        if self._execute(select, (customer_id,)).fetchone() is None:
            inserted = self._execute(
                "INSERT INTO customers (id) VALUES (%s) ON CONFLICT (id) DO NOTHING",
                (customer_id,),
            ).rowcount
            if inserted == 0:  # someone else created it meanwhile: wait for their lock
                self._execute(select, (customer_id,))
        self._locked.add(customer_id)


class PostgresStore:
    """The ``Store`` for many workers: one PostgreSQL database (or one schema in it).

    ``PostgresStore("postgresql://app@db/shop")`` opens its own connection pool
    (``min_size``..``max_size`` connections); ``PostgresStore(pool)`` uses a
    ``psycopg_pool.ConnectionPool`` the application already has (and leaves it open on
    ``close``). ``schema`` keeps the tables in their own PostgreSQL schema (created
    when missing), e.g. one per tenant or per test.

    Opening applies any migrations the schema lacks; a schema written by a newer
    release is refused with ``StoreError`` rather than misread. One store object is
    safe to share between threads: each call borrows its own connection.
    """

    def __init__(
        self,
        conninfo: str | ConnectionPool,
        *,
        schema: str | None = None,
        min_size: int = 1,
        max_size: int = 4,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        read_only: bool = False,
    ) -> None:
        if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
            msg = (
                f"Invalid schema name: {schema!r} (use lower-case letters, digits and "
                "underscores, starting with a letter or underscore, at most 63 characters)"
            )
            raise StoreError(msg)
        self.schema = schema
        self.read_only = read_only
        self._lock = threading.Lock()
        if isinstance(conninfo, ConnectionPool):
            self._pool = conninfo
            self._owns_pool = False
        else:
            options = "-c TimeZone=UTC"
            if schema is not None:
                options += f" -c search_path={schema}"
            if read_only:
                options += " -c default_transaction_read_only=on"
            kwargs: dict[str, Any] = {
                "options": options,
                "connect_timeout": max(1, round(connect_timeout)),
            }
            _probe(conninfo, kwargs)
            try:
                self._pool = ConnectionPool(
                    conninfo,
                    min_size=min_size,
                    max_size=max_size,
                    timeout=timeout,
                    kwargs=kwargs,
                    check=ConnectionPool.check_connection,
                    open=True,
                    name="recoverykit",
                )
                self._pool.wait(timeout)
            except (psycopg.Error, PoolTimeout) as exc:
                raise _unreachable(conninfo, exc) from exc
            self._owns_pool = True
        try:
            if read_only:
                self._check_schema()
            else:
                self._migrate()
        except BaseException:
            self.close()
            raise

    # -- schema --------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        """The schema version of the database (0 before any migration)."""
        with self._connection("reading the schema version") as conn:
            row = conn.execute("SELECT version FROM schema_version").fetchone()
        return 0 if row is None else int(row[0])

    def _owned(self, conn: psycopg.Connection[tuple[Any, ...]]) -> bool | None:
        """True for a recoverykit schema, None for one without any of its tables, and
        ``ForeignDatabase`` for a schema whose tables of these names someone else owns."""
        found = {
            name
            for name in _OWN_TABLES
            if conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is not None  # type: ignore[index]
        }
        if not found:
            return None
        if {"schema_version", "recoveries"} <= found:
            return True
        where = self.schema or "the current schema"
        log.warning("refused a foreign schema: %s", where, extra={"database": where})
        msg = (
            f"{where} holds tables named {', '.join(sorted(found))} that recoverykit did not "
            "create; they were left untouched: use another database or pass schema=..."
        )
        raise ForeignDatabase(msg)

    def _check_schema(self) -> None:
        """A read-only open: the schema must be a recoverykit store this release can read."""
        with self._connection("reading the schema") as conn:
            owned = self._owned(conn)
            if owned is None:
                where = self.schema or "this database"
                msg = f"{where} holds no recoverykit store; nothing to read"
                raise ForeignDatabase(msg)
        version = self.schema_version
        if version > len(MIGRATIONS):
            raise newer_schema("The database", version, len(MIGRATIONS))

    def _migrate(self) -> None:
        with self._connection("migrating the schema") as conn, conn.transaction():
            if self.schema is not None:
                create = sql.SQL("CREATE SCHEMA IF NOT EXISTS {}")
                conn.execute(create.format(sql.Identifier(self.schema)))
            # Workers that start together queue here; the first migrates, the rest see it.
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('recoverykit:' || current_schema()))"
            )
            self._owned(conn)
            apply_migrations(_Q, conn.execute, conn.execute, MIGRATIONS, where="The database")

    # -- connections and transactions ------------------------------------------------------
    @contextmanager
    def _connection(self, doing: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """Borrow a pooled connection; database errors become ``StoreError``."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise _failure(exc, doing) from exc

    @contextmanager
    def transaction(self) -> Iterator[PostgresTransaction]:
        """A read-committed transaction that locks each customer's row it touches."""
        with self._connection("a transaction") as conn:
            tx = PostgresTransaction(conn)
            try:
                with conn.transaction():
                    yield tx
                    if tx._failed is not None:
                        raise tx._failed
            finally:
                tx._end()

    # -- scheduling ----------------------------------------------------------------------
    def claim_due(
        self, now: datetime, *, limit: int, lease: timedelta, worker: str
    ) -> list[Claimed]:
        params = {"now": now, "limit": limit, "worker": worker, "until": now + lease}
        with self._connection("claiming due recoveries") as conn, conn.transaction():
            rows = conn.execute(_CLAIM, params).fetchall()
        rows.sort(key=lambda row: (row[0], row[1]))
        return [Claimed(state_from_stored(state), version) for _due, _id, version, state in rows]

    def next_due(self) -> datetime | None:
        with self._connection("reading the next due time") as conn:
            row = conn.execute(_Q.next_due).fetchone()
        return None if row is None else row[0]

    # -- outbox ----------------------------------------------------------------------------
    def outbox(
        self, *, status: OutboxStatus = OutboxStatus.PENDING, limit: int = 1000
    ) -> list[OutboxEntry]:
        with self._connection("listing the outbox") as conn:
            rows = conn.execute(_Q.outbox, (OutboxStatus(status).value, limit)).fetchall()
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
        self.mark_outbox_many([OutboxMark(key, OutboxStatus(status), provider_id, detail)], at=at)

    def mark_outbox_many(self, marks: list[OutboxMark], *, at: datetime) -> None:
        if not marks:
            return
        columns = (
            [mark.key for mark in marks],
            [OutboxStatus(mark.status).value for mark in marks],
            [mark.provider_id for mark in marks],
            [mark.detail for mark in marks],
        )
        with self._connection("marking outbox entries") as conn, conn.transaction():
            found = {row[0] for row in conn.execute(_MARK_MANY, (at, *columns)).fetchall()}
            missing = [mark.key for mark in marks if mark.key not in found]
            if missing:
                raise unknown_outbox_key(missing[0])

    def mark_attempted(
        self,
        keys: list[str],
        *,
        at: datetime,
        previous: Mapping[str, datetime] | None = None,
    ) -> list[str]:
        keys = list(dict.fromkeys(keys))  # a key named twice is still claimed once
        if not keys:
            return []
        seen = previous or {}
        with self._connection("marking outbox entries attempted") as conn, conn.transaction():
            rows = conn.execute(
                "UPDATE outbox AS o SET attempted_at = %s"
                " FROM unnest(%s::text[], %s::timestamptz[]) AS c(key, seen)"
                " WHERE o.key = c.key AND o.status = 'pending'"
                " AND o.attempted_at IS NOT DISTINCT FROM c.seen RETURNING o.key",
                (at, keys, [seen.get(key) for key in keys]),
            ).fetchall()
        won = {str(row[0]) for row in rows}
        return [key for key in keys if key in won]

    # -- reading ---------------------------------------------------------------------------
    def events(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[LogRecord]:
        """The log from ``since`` (inclusive) to ``until`` (exclusive), in time order.

        Read through a server-side cursor ``_CHUNK`` rows at a time, in one read-only
        snapshot: memory stays flat however long the log, and writers are not held up.
        """
        with (
            self._connection("reading the event log") as conn,
            conn.transaction(),
            conn.cursor(name="recoverykit_events") as cursor,
        ):
            cursor.itersize = _CHUNK
            cursor.execute(
                "SELECT at, kind, checkout_id, customer_id, data FROM log"
                " WHERE (%(since)s::timestamptz IS NULL OR at >= %(since)s)"
                " AND (%(until)s::timestamptz IS NULL OR at < %(until)s)"
                " ORDER BY at, seq",
                {"since": since, "until": until},
            )
            for at, kind, checkout_id, customer_id, data in cursor:
                yield LogRecord(at, kind, checkout_id, customer_id, data)

    def states(self) -> Iterator[RecoveryState]:
        """Every stored recovery, in checkout id order, through a server-side cursor."""
        with (
            self._connection("reading the recoveries") as conn,
            conn.transaction(),
            conn.cursor(name="recoverykit_states") as cursor,
        ):
            cursor.itersize = _CHUNK
            cursor.execute("SELECT state FROM recoveries ORDER BY checkout_id")
            for (state,) in cursor:
                yield state_from_stored(state)

    # -- retention ---------------------------------------------------------------------------
    def purge(self, before: datetime, *, limit: int = 1000) -> int:
        """Delete up to ``limit`` expired rows: finished recoveries, log lines, contact
        records and settled (or uncertain) outbox entries older than ``before``, and the
        customers left without a recovery. Consent stays. Deleted rows leave the disk
        only after VACUUM, and stay in WAL archives and backups until they expire.
        """
        with self._connection("purging old rows") as conn, conn.transaction():
            return purge(_Q, conn.execute, before, limit)

    # -- one customer ------------------------------------------------------------------------
    def export_customer(self, customer_id: str) -> dict[str, Any]:
        """Everything the database keeps about ``customer_id`` (GDPR article 15)."""
        with self.transaction() as tx:
            return tx.export_customer(customer_id)

    def erase_customer(self, customer_id: str) -> int:
        """Erase ``customer_id``'s personal data (GDPR article 17) under the customer's
        row lock; consent stays, pseudonymised. See the privacy page for VACUUM and WAL."""
        with self.transaction() as tx:
            return tx.erase_customer(customer_id)

    def close(self) -> None:
        """Close the pool this store opened (a pool passed in stays open)."""
        with self._lock:
            if self._owns_pool:
                self._pool.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _probe(conninfo: str, kwargs: Mapping[str, Any]) -> None:
    """One plain connection attempt first: an unreachable server is reported once, after
    ``connect_timeout``, instead of by a pool retrying in the background."""
    try:
        with psycopg.connect(conninfo, **kwargs):
            pass
    except (psycopg.Error, OSError) as exc:
        raise _unreachable(conninfo, exc) from None


def _unreachable(conninfo: str, exc: BaseException) -> StoreError:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    msg = (
        f"Could not connect to PostgreSQL at {_redact(conninfo)!r}: {reason[:300]} "
        "(check the conninfo, that the server runs and accepts this user)"
    )
    return StoreError(msg)


def _redact(conninfo: str) -> str:
    """``conninfo`` without its password, for error messages."""
    return re.sub(
        r"(://[^:/@]*:)[^@]*@", r"\1***@", re.sub(r"password=\S+", "password=***", conninfo)
    )

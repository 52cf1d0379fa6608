"""How fast ``PostgresStore`` claims and settles recoveries, alone and with many workers.

Needs a server: set ``RECOVERYKIT_TEST_PG`` to a conninfo (``scripts/pg-test-server.sh``
starts a throw-away one). Each figure runs in a fresh schema that is dropped afterwards.
Figures: claim latency, the runner's batched tick on the store side (claim; lock the
batch's customers and read their ledgers, save with outbox; mark attempted, mark sent),
``run_due`` throughput with 1, 2 and 4 worker processes, and the rows and bytes one
stored recovery costs.

The store-side figures are this process's CPU time (the client's share: the server's
work is another process), each beside a floor from the same run: raw ``psycopg``
writing one state-sized row per item with one ``executemany`` and a commit per batch.
The worker figures are wall-clock time across processes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import attrs

from benchmarks._timing import Floor, rate
from recoverykit.engine.commands import SendMessage
from recoverykit.engine.events import CheckoutAbandoned
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.protocols import OutboxEntry, OutboxMark, OutboxStatus, Receipt
from recoverykit.runtime.runner import Runner
from recoverykit.testing.fakes import FakeClock
from recoverykit.testing.store_contract import active, message
from recoverykit.values.model import Channel, Checkout, Customer, LineItem, Stage
from recoverykit.values.money import Money

try:
    from recoverykit.protocols import batched
except ImportError:  # a release before the batch methods: one customer at a time
    batched = None  # type: ignore[assignment]

ENV = "RECOVERYKIT_TEST_PG"
BATCH = 500
TICKS = 10
T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
WORK_AT = T0 + timedelta(hours=2)
LEASE = timedelta(minutes=5)
POLICY = RecoveryPolicy(store_name="Bench Shop")
PER_WORKER = 500


def _rate(label: str, count: int, seconds: float) -> None:
    print(f"  {label:<48} {count / seconds:>10,.0f} /s   ({seconds * 1e3 / count:.3f} ms each)")


def _raw_floor(conninfo: str, schema: str, count: int) -> Floor:
    """Client CPU seconds per state-sized row written by plain ``psycopg``."""
    import psycopg  # noqa: PLC0415 - optional dependency

    body = json.dumps({"status": "active", "touch": 1, "pad": "y" * 500})
    with psycopg.connect(conninfo) as conn:
        conn.execute(
            psycopg.sql.SQL(
                "CREATE TABLE {}.bench_floor (key text PRIMARY KEY, body jsonb)"
            ).format(psycopg.sql.Identifier(schema))
        )
        conn.commit()
        insert = psycopg.sql.SQL("INSERT INTO {}.bench_floor VALUES (%s, %s)").format(
            psycopg.sql.Identifier(schema)
        )
        started = time.process_time()
        for first in range(0, count, BATCH):
            with conn.cursor() as cursor:
                cursor.executemany(
                    insert, [(f"k-{n}", body) for n in range(first, min(first + BATCH, count))]
                )
            conn.commit()
        seconds = time.process_time() - started
    return ("raw psycopg row", seconds / count)


@contextmanager
def _schema(conninfo: str) -> Iterator[str]:
    import psycopg  # noqa: PLC0415 - optional dependency

    name = f"rk_bench_{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(
                psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    psycopg.sql.Identifier(name)
                )
            )


def _tick(conninfo: str) -> None:
    from recoverykit.stores.postgres import PostgresStore  # noqa: PLC0415

    with _schema(conninfo) as schema, PostgresStore(conninfo, schema=schema) as store:
        count = BATCH * TICKS
        floor = _raw_floor(conninfo, schema, count)
        started = time.process_time()
        for offset in range(0, count, BATCH):
            with store.transaction() as tx:
                for index in range(offset, offset + BATCH):
                    tx.save(active(f"chk-{index:07d}", f"cus-{index}"), expected_version=None)
        rate(f"save new recoveries (batches of {BATCH})", count, time.process_time() - started,
             floor)  # fmt: skip
        claim = save = attempted = marks = 0.0
        for tick in range(TICKS):
            now = T0 + timedelta(seconds=tick)
            started = time.process_time()
            claimed = store.claim_due(now, limit=BATCH, lease=LEASE, worker="bench")
            claim += time.process_time() - started
            started = time.process_time()
            entries = []
            with store.transaction() as tx:
                customers = [item.state.customer_id for item in claimed]
                if batched is None:
                    for customer_id in customers:
                        tx.ledger(customer_id)
                else:
                    batched(tx).ledgers(customers)
                for item in claimed:
                    state = item.state
                    tx.save(attrs.evolve(state, wakeup_at=None), expected_version=item.version)
                    key = f"{state.checkout_id}:touch1:0"
                    entry = OutboxEntry(
                        key, message(key, state.checkout_id, state.customer_id), now
                    )
                    tx.add_outbox(entry)
                    entries.append(entry)
            save += time.process_time() - started
            started = time.process_time()
            store.mark_attempted([entry.key for entry in entries], at=now)
            attempted += time.process_time() - started
            started = time.process_time()
            store.mark_outbox_many(
                [OutboxMark(entry.key, OutboxStatus.SENT, f"p-{entry.key}") for entry in entries],
                at=now,
            )
            marks += time.process_time() - started
        print(f"  claim_due, client CPU per batch of {BATCH}: {claim / TICKS * 1e3:.1f} ms")
        rate("claims", count, claim, floor)
        rate("lock customers, ledgers, save + outbox (one commit)", count, save, floor)
        rate("mark_attempted", count, attempted, floor)
        rate("mark_outbox_many", count, marks, floor)
        rate("whole tick, store side", count, claim + save + attempted + marks, floor)


class _NullChannel:
    channel = Channel.SMS

    def send(self, message: SendMessage) -> Receipt:
        return Receipt(provider_id=message.idempotency_key, accepted_at=WORK_AT)


def _prepare(conninfo: str, schema: str, start: int, count: int, spent: Any = None) -> None:
    from recoverykit.stores.postgres import PostgresStore  # noqa: PLC0415

    price = Money(Decimal("40.00"), "GBP")
    with PostgresStore(conninfo, schema=schema, max_size=1) as store:
        runner = Runner(POLICY, store, {}, FakeClock(T0))
        for number in range(start, start + count):
            buyer = Customer(id=f"cust-{number}", phone=f"+4474{number:08d}",
                             timezone="Europe/London", country="GB")  # fmt: skip
            with store.transaction() as tx:
                tx.append_consent(
                    ConsentEvent(buyer.id, Channel.SMS, Purpose.RECOVERY, ConsentAction.GRANTED,
                                 T0 - timedelta(minutes=5), "checkout_checkbox", "Yes.", "1")
                )  # fmt: skip
            link = f"https://shop.example/r/{number}"
            items = (LineItem("S", "Teapot", 1, price),)
            checkout = Checkout(f"co-{number}", buyer, items, price, Stage.PAYMENT, T0, link)
            runner.handle(CheckoutAbandoned(checkout, T0))
    if spent is not None:
        spent.put((0.0, 0))


def _work(conninfo: str, schema: str, name: str, spent: Any = None) -> None:
    """One worker: tick until nothing is due; ``spent`` gets its CPU seconds and sends."""
    from recoverykit.stores.postgres import PostgresStore  # noqa: PLC0415

    with PostgresStore(conninfo, schema=schema, max_size=1) as store:
        clock = FakeClock(WORK_AT)
        runner = Runner(POLICY, store, {Channel.SMS: _NullChannel()}, clock, worker=name)
        started, sent = time.process_time(), 0
        while done := runner.run_due(limit=200):
            sent += done
        if spent is not None:
            spent.put((time.process_time() - started, sent))


def _raw_work(conninfo: str, schema: str, name: str, spent: Any = None) -> None:
    """The floor's worker: the statements a send cannot do without, issued raw.

    Per batch of 200: a claim (one ``UPDATE ... RETURNING`` over ``SKIP LOCKED`` rows,
    committed), the states and the outbox rows (one ``executemany`` each, one commit);
    per entry: an "attempted" mark and a "sent" mark, each its own commit. No decision,
    no last look, no JSON decoding beyond what psycopg does.
    """
    import psycopg  # noqa: PLC0415 - optional dependency
    from psycopg.types.json import Jsonb  # noqa: PLC0415

    ident = psycopg.sql.Identifier(schema)
    claim = psycopg.sql.SQL(
        "UPDATE {0}.floor_recoveries SET claimed_by = %s WHERE checkout_id IN ("
        " SELECT checkout_id FROM {0}.floor_recoveries WHERE claimed_by IS NULL"
        " ORDER BY checkout_id LIMIT 200 FOR UPDATE SKIP LOCKED)"
        " RETURNING checkout_id, version, state"
    ).format(ident)
    save = psycopg.sql.SQL(
        "UPDATE {}.floor_recoveries SET state = %s, version = version + 1"
        " WHERE checkout_id = %s AND version = %s"
    ).format(ident)
    add = psycopg.sql.SQL("INSERT INTO {}.floor_outbox (key, message) VALUES (%s, %s)").format(
        ident
    )
    attempted = psycopg.sql.SQL(
        "UPDATE {}.floor_outbox SET attempted_at = now() WHERE key = %s"
    ).format(ident)
    sent_mark = psycopg.sql.SQL("UPDATE {}.floor_outbox SET status = 'sent' WHERE key = %s").format(
        ident
    )
    started, sent = time.process_time(), 0
    with psycopg.connect(conninfo) as conn:
        while rows := conn.execute(claim, (name,)).fetchall():
            conn.commit()
            keys = [f"{checkout_id}:touch1:0" for checkout_id, _version, _state in rows]
            with conn.cursor() as cursor:
                cursor.executemany(
                    save, [(Jsonb(state), key, version) for key, version, state in rows]
                )
                cursor.executemany(add, [(key, Jsonb({"key": key})) for key in keys])
            conn.commit()
            for key in keys:
                conn.execute(attempted, (key,))
                conn.commit()
                conn.execute(sent_mark, (key,))
                conn.commit()
                sent += 1
    if spent is not None:
        spent.put((time.process_time() - started, sent))


def _raw_prepare(conninfo: str, schema: str, count: int) -> None:
    import psycopg  # noqa: PLC0415 - optional dependency
    from psycopg.types.json import Jsonb  # noqa: PLC0415

    ident = psycopg.sql.Identifier(schema)
    state = json.loads(_STATE_TEXT)
    with psycopg.connect(conninfo) as conn:
        conn.execute(psycopg.sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
        conn.execute(
            psycopg.sql.SQL(
                "CREATE TABLE {0}.floor_recoveries (checkout_id text PRIMARY KEY,"
                " version int NOT NULL DEFAULT 1, claimed_by text, state jsonb NOT NULL);"
                " CREATE TABLE {0}.floor_outbox (key text PRIMARY KEY,"
                " status text NOT NULL DEFAULT 'pending', attempted_at timestamptz,"
                " message jsonb NOT NULL)"
            ).format(ident)
        )
        with conn.cursor() as cursor:
            cursor.executemany(
                psycopg.sql.SQL(
                    "INSERT INTO {}.floor_recoveries (checkout_id, state) VALUES (%s, %s)"
                ).format(ident),
                [(f"co-{number:07d}", Jsonb(state)) for number in range(count)],
            )
        conn.commit()


#: A stored state of the size the workers' recoveries have, for the floor's rows.
_STATE_TEXT: Final = json.dumps({"status": "active", "touch": 1, "pad": "y" * 1_500})


def _spread(target: object, jobs: list[tuple[object, ...]]) -> tuple[float, float, int]:
    """Run ``target`` once per job, each in its own process; wall seconds, and the CPU
    seconds and sends the processes reported."""
    spent: Any = multiprocessing.Queue()
    processes = [
        multiprocessing.Process(target=target, args=(*job, spent))  # type: ignore[arg-type]
        for job in jobs
    ]
    started = time.perf_counter()
    for process in processes:
        process.start()
    reports = [spent.get() for _ in processes]
    for process in processes:
        process.join()
    wall = time.perf_counter() - started
    return wall, sum(cpu for cpu, _sent in reports), sum(sent for _cpu, sent in reports)


def _workers(conninfo: str) -> None:
    import psycopg  # noqa: PLC0415

    from recoverykit.stores.postgres import PostgresStore  # noqa: PLC0415

    print(
        "  workers: wall-clock sends/s across processes, and sends per CPU second of one"
        " worker process (client CPU), beside raw psycopg issuing the claim, save, outbox"
        " and mark statements for as many sends with as many processes, in the same run"
    )
    for workers in (1, 2, 4):
        count = PER_WORKER * workers
        with _schema(conninfo) as floor_schema:
            _raw_prepare(conninfo, floor_schema, count)
            _wall, floor_cpu, floor_sent = _spread(
                _raw_work, [(conninfo, floor_schema, f"raw-{n}") for n in range(workers)]
            )
        with _schema(conninfo) as schema:
            PostgresStore(conninfo, schema=schema).close()
            share = count // 4
            _spread(
                _prepare, [(conninfo, schema, start, share) for start in range(0, count, share)]
            )
            wall, cpu, sent = _spread(_work, [(conninfo, schema, f"w-{n}") for n in range(workers)])
            _rate(f"run_due sends, {workers} worker process(es), wall", sent, wall)
            rate(
                f"run_due per worker CPU, {workers} process(es)",
                sent,
                cpu,
                ("raw statements", floor_cpu / max(floor_sent, 1)),
            )
            print(
                f"  {'':<52} run_due is {floor_cpu / max(floor_sent, 1) / (cpu / sent):.0%}"
                " of the raw-statement floor per worker"
            )
            if workers == 1:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    row = conn.execute(
                        "SELECT sum(n_live_tup), sum(pg_total_relation_size(relid))"
                        " FROM pg_stat_user_tables WHERE schemaname = %s",
                        (schema,),
                    ).fetchone()
                if row is not None and row[0]:
                    print(
                        f"  per stored recovery (one touch sent, log included): "
                        f"{int(row[0]) / count:.1f} rows, {int(row[1]) / count:,.0f} bytes"
                    )


def main() -> None:
    conninfo = os.environ.get(ENV)
    print("PostgresStore")
    if not conninfo:
        print(f"  skipped: set {ENV} to a conninfo (scripts/pg-test-server.sh starts a server)")
        return
    try:
        import psycopg  # noqa: F401, PLC0415
    except ImportError:
        print("  skipped: install the extra first: pip install 'recoverykit[postgres]'")
        return
    _tick(conninfo)
    _workers(conninfo)


if __name__ == "__main__":
    main()

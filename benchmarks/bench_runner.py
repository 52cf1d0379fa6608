"""How fast ``Runner.run_due`` works through due recoveries on an SQLite file.

Run with ``python -m benchmarks.bench_runner [--n 100000] [--batch 500] [--notes 20]
[--statements]``.
Recoveries are created in batched transactions with touch 1 already due, then the timed
part ticks ``run_due`` until nothing is due: claim (one commit), decide and write the
outbox and states (one commit), send to a ``FakeChannel``, mark each entry sent.
``--notes`` gives every state that many deferral notes first, the way real states grow
to a few kilobytes over their life.

Besides wall-clock time it prints the process's CPU time, which a busy shared machine
disturbs less; the difference is time spent waiting (the disk's syncs at WAL
checkpoints, or other processes). The CPU figure stands beside its floor, measured in
the same file right after: raw ``sqlite3`` encoding and writing one row of a state's
size per recovery (one statement each), in WAL mode with ``synchronous=NORMAL`` and a commit
per batch, as the store does. ``--statements`` also counts the SQL statements
SQLite runs per recovery (the counting itself costs a little time).
Prints figures only; it never asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import attrs

from recoverykit.engine.events import CheckoutAbandoned
from recoverykit.engine.machine import decide
from recoverykit.engine.notes import DeferReason, Deferred, Note
from recoverykit.engine.policy import Context, RecoveryPolicy
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.runtime.runner import Runner
from recoverykit.stores import SQLiteStore
from recoverykit.testing.fakes import FakeChannel, FakeClock
from recoverykit.values.model import Channel, Checkout, Customer, LineItem, Stage
from recoverykit.values.money import Money

T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
POLICY = RecoveryPolicy(store_name="Bench Shop")


def _deferrals(count: int) -> tuple[Note, ...]:
    """``count`` contact-hours deferrals, as a long-lived recovery collects them."""
    return tuple(
        Deferred(
            1,
            DeferReason.CONTACT_HOURS,
            "polite",
            T0 + timedelta(hours=index),
            T0 + timedelta(hours=index, minutes=30),
            "Europe/London",
        )
        for index in range(count)
    )


def populate(store: SQLiteStore, count: int, chunk: int = 2_000, *, notes: int = 0) -> None:
    """Store ``count`` started recoveries of distinct customers, each with SMS consent."""
    price = Money(Decimal("40.00"), "GBP")
    extra = _deferrals(notes)
    for first in range(0, count, chunk):
        with store.transaction() as tx:
            for number in range(first, min(first + chunk, count)):
                customer = Customer(
                    id=f"cust-{number}",
                    phone=f"+447400{number % 1_000_000:06d}",
                    timezone="Europe/London",
                    country="GB",
                )
                grant = ConsentEvent(
                    customer.id, Channel.SMS, Purpose.RECOVERY, ConsentAction.GRANTED,
                    T0 - timedelta(minutes=5), "checkout_checkbox", "Text me.", "1",
                )  # fmt: skip
                tx.save_customer(customer)
                tx.append_consent(grant)
                checkout = Checkout(
                    id=f"co-{number}", customer=customer, items=(LineItem("S", "Mug", 1, price),),
                    total=price, stage=Stage.PAYMENT, abandoned_at=T0,
                    link=f"https://shop.example/r/{number}",
                )  # fmt: skip
                context = Context(consent=tx.ledger(customer.id))
                decision = decide(
                    None, CheckoutAbandoned(checkout, T0), now=T0, policy=POLICY, context=context
                )
                state = decision.state
                if extra:
                    state = attrs.evolve(state, notes=(*state.notes, *extra))
                tx.save(state, expected_version=None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_runner")
    parser.add_argument("--n", type=int, default=20_000, help="due recoveries (issue goal: 100000)")
    parser.add_argument("--batch", type=int, default=500, help="run_due limit per tick")
    parser.add_argument(
        "--notes", type=int, default=0, help="deferral notes each state carries before the tick"
    )
    parser.add_argument(
        "--statements", action="store_true", help="count the SQL statements run per recovery"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="bench-runner-") as scratch:
        path = Path(scratch) / "bench.sqlite3"
        store = SQLiteStore(path)
        started = time.perf_counter()
        populate(store, args.n, notes=args.notes)
        built = time.perf_counter() - started
        size_before = os.path.getsize(path) + _wal(path)
        clock = FakeClock(T0 + timedelta(hours=2))
        channel = FakeChannel(Channel.SMS, clock=clock)
        runner = Runner(POLICY, store, {Channel.SMS: channel}, clock)
        statements = [0]
        if args.statements:
            store._conn.set_trace_callback(
                lambda _sql: statements.__setitem__(0, statements[0] + 1)
            )
        started = time.perf_counter()
        cpu_started = time.process_time()
        sent = 0
        while True:
            done = runner.run_due(limit=args.batch)
            sent += done
            due = store.next_due()
            if due is None or due > clock.now():
                break
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        size_after = os.path.getsize(path) + _wal(path)
        store.close()
        floor = raw_rows_per_cpu_second(path, args.n, args.batch)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    notes = f", {args.notes} notes each" if args.notes else ""
    print(f"run_due over {args.n:,} due recoveries on SQLite (batch {args.batch}{notes}):")
    print(f"  set-up: {built:.1f} s ({args.n / built:,.0f} recoveries/s stored)")
    print(
        f"  sent: {sent:,} in {elapsed:.1f} s = {sent / elapsed:,.0f} sends/s"
        " (store writes included)"
    )
    print(f"  CPU time: {cpu:.1f} s = {sent / cpu:,.0f} sends per CPU second")
    print(
        f"  floor: raw SQLite in the same file writes {floor:,.0f} rows per CPU second"
        f" (a commit per {args.batch}); run_due is {sent / cpu / floor:.1%} of it"
    )
    if args.statements:
        print(f"  SQL statements run: {statements[0] / args.n:.2f} per recovery")
    print(f"  file: {size_before / args.n:,.0f} bytes per stored recovery before the tick, "
          f"{size_after / args.n:,.0f} after (state, outbox, history, log)")  # fmt: skip
    print(f"  peak resident memory: {peak_kib / 1024:,.0f} MiB")


def raw_rows_per_cpu_second(path: Path, count: int, batch: int) -> float:
    """Rows of a recovery state's size that plain ``sqlite3`` writes per CPU second.

    Each row is a state-sized dictionary encoded by ``json.dumps`` and written by one
    ``INSERT``, with a commit per batch: what a store cannot do without.
    """
    shape = {
        "status": "active",
        "touch": 1,
        "notes": [{"kind": "deferred", "at": "x" * 25}] * 6,
        "checkout": {"items": [{"sku": "S", "name": "Mug", "price": "40.00"}], "pad": "y" * 300},
    }
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("CREATE TABLE bench_floor (key TEXT PRIMARY KEY, body TEXT NOT NULL)")
        started = time.process_time()
        for first in range(0, count, batch):
            conn.execute("BEGIN")
            for number in range(first, min(first + batch, count)):
                body = json.dumps({**shape, "checkout_id": f"co-{number}"})
                conn.execute(
                    "INSERT INTO bench_floor (key, body) VALUES (?, ?)", (f"co-{number}", body)
                )
            conn.execute("COMMIT")
        return count / max(time.process_time() - started, 1e-9)
    finally:
        conn.close()


def _wal(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return os.path.getsize(wal) if wal.exists() else 0


if __name__ == "__main__":
    main()

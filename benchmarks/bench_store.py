"""How fast the stores write, claim and settle recoveries, and how much disk one takes.

Figures for the runner's batched tick (SEAMS 6): claim a batch in one commit, save the
states and outbox entries in one commit, mark the hand-over in one commit, then record
each send's outcome. The "runner's writes" line is that middle commit as ``run_due``
makes it: the batch's consent ledgers, contact histories and service windows read,
then states, outbox entries, contact records and log lines written.

Figures are CPU time, each beside a floor from the same run: for SQLite, raw
``sqlite3`` encoding and writing one state-sized row per item with a commit per batch
(``bench_runner.raw_rows_per_cpu_second``); for memory, one dict assignment per item.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs

from benchmarks._timing import Floor, per_call, rate
from benchmarks.bench_runner import raw_rows_per_cpu_second
from recoverykit.policies.caps import ContactRecord
from recoverykit.protocols import Claimed, LogRecord, OutboxEntry, OutboxMark, OutboxStatus, Store
from recoverykit.stores import MemoryStore, SQLiteStore
from recoverykit.testing.store_contract import active, grant, message, with_checkout
from recoverykit.values.model import Channel

try:
    from recoverykit.protocols import batched
except ImportError:  # a release before the batch methods: the runner read one by one
    batched = None  # type: ignore[assignment]

BATCH = 500
BATCHES = 40
SIZE_COUNT = 100_000
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


#: Each store's floor per item, filled in by ``main`` before the figures.
_FLOORS: dict[str, Floor] = {}


def _rate(label: str, count: int, seconds: float) -> None:
    rate(label, count, seconds, _FLOORS.get(label.split(":", 1)[0]))


def _fill(store: Store, count: int, *, full: bool = False, start: int = 0) -> float:
    """Insert ``count`` due recoveries in batches of ``BATCH``; return the seconds taken."""
    states = [active(f"chk-{index:07d}", f"cus-{index % 5_000}") for index in range(count)]
    if full:
        states = [with_checkout(state, T0 - timedelta(hours=1)) for state in states]
    started = time.process_time()
    for offset in range(0, count, BATCH):
        with store.transaction() as tx:
            for state in states[offset : offset + BATCH]:
                tx.save(attrs.evolve(state, checkout_id=f"{state.checkout_id}-{start}"),
                        expected_version=None)  # fmt: skip
    return time.process_time() - started


def _runner_writes(store: Store, claimed: list[Claimed], now: datetime) -> list[str]:
    """The tick's middle commit as the runner makes it; returns the outbox keys."""
    keys = []
    with store.transaction() as tx:
        customers = [item.state.customer_id for item in claimed]
        since = now - timedelta(days=30)
        if batched is None:
            for customer_id in customers:
                tx.ledger(customer_id)
                tx.history(customer_id, since=since)
                for channel in (Channel.WHATSAPP, Channel.TELEGRAM, Channel.VIBER, Channel.EMAIL):
                    tx.service_window(customer_id, channel)
        else:
            batch = batched(tx)
            batch.ledgers(customers)
            batch.histories(customers, since=since)
            batch.service_windows(customers)
        contacts = []
        lines = []
        for item in claimed:
            key = f"{item.state.checkout_id}:1"
            keys.append(key)
            tx.save(attrs.evolve(item.state, wakeup_at=now + timedelta(days=1)),
                    expected_version=item.version)  # fmt: skip
            tx.add_outbox(OutboxEntry(key, message(key), now))
            contacts.append((item.state.customer_id, ContactRecord(now, Channel.SMS, key)))
            lines.append(LogRecord(now, "send", item.state.checkout_id, item.state.customer_id,
                                   {"key": key, "channel": "sms", "touch": 1}))  # fmt: skip
        if batched is None:
            for customer_id, record in contacts:
                tx.add_contact(customer_id, record)
            for line in lines:
                tx.log(line)
        else:
            batch.add_contacts(contacts)
            batch.log_many(lines)
    return keys


def _runner_figures(name: str, make: Callable[[], Store]) -> None:
    """The store side of ``run_due``: claim, the runner's writes, hand-over, outcomes."""
    store = make()
    try:
        count = BATCH * BATCHES
        _fill(store, count, full=True)
        with store.transaction() as tx:
            for index in range(5_000):
                tx.append_consent(grant(f"cus-{index}", T0 - timedelta(days=1)))
        seconds = 0.0
        for tick in range(BATCHES):
            now = T0 + timedelta(seconds=tick)
            started = time.process_time()
            claimed = store.claim_due(now, limit=BATCH, lease=LEASE, worker="bench")
            keys = _runner_writes(store, claimed, now)
            store.mark_attempted(keys, at=now)
            store.mark_outbox_many([OutboxMark(key, OutboxStatus.SENT, "SM" + key)
                                    for key in keys], at=now)  # fmt: skip
            seconds += time.process_time() - started
        _rate(f"{name}: whole tick with the runner's writes", count, seconds)
    finally:
        store.close()


def _tick_figures(name: str, make: Callable[[], Store]) -> None:
    store = make()
    try:
        count = BATCH * BATCHES
        _rate(f"{name}: save new (batches of {BATCH})", count, _fill(store, count))

        claim_seconds = settle_seconds = write_seconds = mark_seconds = many_seconds = 0.0
        for tick in range(BATCHES):
            now = T0 + timedelta(seconds=tick)
            started = time.process_time()
            claimed = store.claim_due(now, limit=BATCH, lease=LEASE, worker="bench")
            claim_seconds += time.process_time() - started

            started = time.process_time()
            keys = []
            with store.transaction() as tx:
                for item in claimed:
                    key = f"{item.state.checkout_id}:1"
                    keys.append(key)
                    tx.add_outbox(OutboxEntry(key, message(key), now))
                    later = attrs.evolve(item.state, wakeup_at=now + timedelta(days=1))
                    tx.save(later, expected_version=item.version)
            write_seconds += time.process_time() - started

            started = time.process_time()
            store.mark_attempted(keys, at=now)
            mark_seconds += time.process_time() - started

            started = time.process_time()
            half = len(keys) // 2
            store.mark_outbox_many(
                [OutboxMark(key, OutboxStatus.SENT, "SM" + key) for key in keys[:half]], at=now
            )
            many_seconds += time.process_time() - started
            started = time.process_time()
            for key in keys[half:]:
                store.mark_outbox(key, OutboxStatus.SENT, at=now, provider_id="SM" + key)
            settle_seconds += time.process_time() - started
        _rate(f"{name}: claim_due (limit {BATCH})", count, claim_seconds)
        _rate(f"{name}: outbox + state (one commit/batch)", count, write_seconds)
        _rate(f"{name}: mark_attempted (one commit/batch)", count, mark_seconds)
        _rate(f"{name}: mark_outbox_many (one commit/batch)", count // 2, many_seconds)
        _rate(f"{name}: mark_outbox (one commit each)", count - count // 2, settle_seconds)
        total = claim_seconds + write_seconds + mark_seconds + 2 * many_seconds
        _rate(f"{name}: whole batched tick, store side", count, total)
    finally:
        store.close()


def _bytes_per_recovery(directory: Path, *, full: bool, count: int) -> None:
    path = directory / f"size-{full}.db"
    store = SQLiteStore(path)
    seconds = _fill(store, count, full=full)
    store.close()  # the last connection checkpoints the WAL into the file
    what = "with checkout" if full else "small"
    _rate(f"sqlite: save new ({count:,} {what})", count, seconds)
    size = path.stat().st_size
    print(f"  {'sqlite: bytes per recovery (' + what + ')':<52} {size / count:>12,.0f} B")


def main() -> None:
    """Print store throughput for a batched tick and the disk cost of a recovery."""
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        rows = raw_rows_per_cpu_second(directory / "floor.db", BATCH * BATCHES, BATCH)
        _FLOORS["sqlite"] = ("raw sqlite3 row", 1 / rows)
        table: dict[str, object] = {}
        state = active("chk-0", "cus-0")
        _FLOORS["memory"] = (
            "dict assignment",
            per_call(lambda: table.__setitem__(state.checkout_id, state), number=100_000),
        )
        _tick_figures("sqlite", lambda: SQLiteStore(directory / "tick.db"))
        _tick_figures("memory", MemoryStore)
        _runner_figures("sqlite", lambda: SQLiteStore(directory / "runner.db"))
        _runner_figures("memory", MemoryStore)
        _bytes_per_recovery(directory, full=False, count=SIZE_COUNT)
        _bytes_per_recovery(directory, full=True, count=SIZE_COUNT // 10)


if __name__ == "__main__":
    main()

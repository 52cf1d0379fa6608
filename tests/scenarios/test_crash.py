"""Kill tests: a real worker process dies at each step; a restart loses and repeats nothing.

This file is also the worker: ``python test_crash.py DB SENT_LOG CLOCK [--crash STEP]
[--lookup] [--reconcile] [--name NAME] [--limit N]`` runs a ``Runner`` on the SQLite file
with a channel that appends each delivered idempotency key to ``SENT_LOG`` (flushed and
fsynced before returning, like a provider that has accepted the message).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from recoverykit.engine.commands import SendMessage
from recoverykit.engine.events import CheckoutAbandoned
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.protocols import ChannelAdapter, OutboxStatus, Receipt
from recoverykit.runtime.runner import Runner
from recoverykit.stores import SQLiteStore
from recoverykit.testing.fakes import FakeClock
from recoverykit.testing.faults import CRASH_STEPS, CrashingChannel, CrashingStore
from recoverykit.values.model import Channel, Checkout, Customer, LineItem, Stage
from recoverykit.values.money import Money

T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
#: When the first worker runs: every recovery's touch 1 is due (30-60 min after T0).
WORK_AT = T0 + timedelta(hours=2)
#: When the restarted worker runs: past the 5-minute lease, so claims and entries are stale.
RESTART_AT = WORK_AT + timedelta(minutes=10)
POLICY = RecoveryPolicy(store_name="Crash Test Shop")
CHECKOUTS = 24


class FileChannel:
    """Delivers by appending the key to a file, durably, before answering."""

    def __init__(self, path: Path, *, clock: FakeClock) -> None:
        self.channel = Channel.SMS
        self.path = path
        self.clock = clock

    def send(self, message: SendMessage) -> Receipt:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(message.idempotency_key + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return Receipt(provider_id=f"file-{message.idempotency_key}", accepted_at=self.clock.now())


class LookupFileChannel(FileChannel):
    """A FileChannel whose provider can be asked whether it has a key."""

    def lookup(self, key: str) -> Receipt | None:
        if not self.path.exists():
            return None
        keys = self.path.read_text("utf-8").split()
        return Receipt(f"file-{key}", self.clock.now()) if key in keys else None


def worker(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path)
    parser.add_argument("sent", type=Path)
    parser.add_argument("clock")
    parser.add_argument("--crash", choices=sorted(CRASH_STEPS))
    parser.add_argument("--lookup", action="store_true")
    parser.add_argument("--reconcile", action="store_true")
    parser.add_argument("--name", default="worker-1")
    parser.add_argument("--limit", type=int, default=500)
    args = parser.parse_args(argv)
    clock = FakeClock(datetime.fromisoformat(args.clock))
    kind = LookupFileChannel if args.lookup else FileChannel
    store = SQLiteStore(args.db)
    channel: ChannelAdapter = kind(args.sent, clock=clock)
    if args.crash == "after_send":
        channel = CrashingChannel(channel)
    crashing = CrashingStore(store, None if args.crash == "after_send" else args.crash)
    runner = Runner(POLICY, crashing, {Channel.SMS: channel}, clock, worker=args.name)
    if args.reconcile:
        runner.reconcile()
    while True:
        runner.run_due(limit=args.limit)
        due = store.next_due()
        if due is None or due > clock.now():
            break
        time.sleep(0.005)  # another worker holds the rest of the due claims
    store.close()
    return 0


# -- the tests -------------------------------------------------------------------------------
def prepare(db: Path, count: int = CHECKOUTS) -> None:
    """Abandon ``count`` checkouts of distinct customers, all consenting to SMS."""
    store = SQLiteStore(db)
    runner = Runner(POLICY, store, {}, FakeClock(T0))
    price = Money(Decimal("40.00"), "GBP")
    for number in range(count):
        customer = Customer(
            id=f"cust-{number}",
            phone=f"+4474001{number:05d}",
            timezone="Europe/London",
            country="GB",
        )
        with store.transaction() as tx:
            tx.append_consent(
                ConsentEvent(customer.id, Channel.SMS, Purpose.RECOVERY, ConsentAction.GRANTED,
                             T0 - timedelta(minutes=5), "checkout_checkbox", "Text me.", "1")
            )  # fmt: skip
        checkout = Checkout(
            id=f"co-{number}",
            customer=customer,
            items=(LineItem("SKU-1", "Teapot", 1, price),),
            total=price,
            stage=Stage.PAYMENT,
            abandoned_at=T0,
            link=f"https://shop.example/r/{number}",
        )
        runner.handle(CheckoutAbandoned(checkout, T0))
    store.close()


def spawn(db: Path, sent: Path, clock: datetime, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, str(db), str(sent), clock.isoformat(), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def finish(process: subprocess.Popen[bytes]) -> int:
    _, err = process.communicate(timeout=120)
    assert b"Traceback" not in err, err.decode("utf-8", "replace")
    return process.returncode


def delivered(sent: Path) -> list[str]:
    return sent.read_text("utf-8").split() if sent.exists() else []


def outbox_keys(db: Path, status: OutboxStatus) -> set[str]:
    store = SQLiteStore(db)
    try:
        return {entry.key for entry in store.outbox(status=status, limit=100_000)}
    finally:
        store.close()


CASES = [(step, False) for step in sorted(CRASH_STEPS)] + [("after_send", True)]


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, bool], Path]:
    """Every case run at once (processes in parallel): killed at its step, then restarted."""
    folders = {case: tmp_path_factory.mktemp(f"{case[0]}-{case[1]}") for case in CASES}
    for folder in folders.values():
        prepare(folder / "store.sqlite3")
    first = {
        case: spawn(folder / "store.sqlite3", folder / "sent.log", WORK_AT, "--crash", case[0],
                    *(["--lookup"] if case[1] else []))
        for case, folder in folders.items()
    }  # fmt: skip
    codes = {case: finish(process) for case, process in first.items()}
    assert dict.fromkeys(CASES, 137) == codes
    again = {
        case: spawn(folder / "store.sqlite3", folder / "sent.log", RESTART_AT, "--reconcile",
                    *(["--lookup"] if case[1] else []))
        for case, folder in folders.items()
    }  # fmt: skip
    assert dict.fromkeys(CASES, 0) == {case: finish(p) for case, p in again.items()}
    return folders


@pytest.mark.parametrize(("step", "lookup"), CASES)
def test_a_killed_worker_neither_loses_nor_repeats_a_touch(
    crashed: dict[tuple[str, bool], Path], step: str, lookup: bool
) -> None:
    """Killed at any step and restarted: no key delivered twice, every touch sent or uncertain.

    With a channel that can be asked (``lookup``) nothing is even uncertain: every
    touch is delivered exactly once.
    """
    folder = crashed[step, lookup]
    db, sent = folder / "store.sqlite3", folder / "sent.log"
    keys = delivered(sent)
    assert [key for key, times in Counter(keys).items() if times > 1] == []
    sent_keys = outbox_keys(db, OutboxStatus.SENT)
    uncertain = outbox_keys(db, OutboxStatus.UNCERTAIN)
    assert set() == outbox_keys(db, OutboxStatus.PENDING)
    assert len(sent_keys | uncertain) == CHECKOUTS
    assert sent_keys <= set(keys)
    assert set(keys) <= sent_keys | uncertain
    if lookup or step in ("after_claim", "after_commit"):
        assert (CHECKOUTS, set()) == (len(keys), uncertain)


def test_two_workers_on_one_file_never_send_the_same_touch_twice(tmp_path: Path) -> None:
    """Two worker processes claiming from one SQLite file deliver each touch exactly once."""
    count = 120
    db, sent = tmp_path / "store.sqlite3", tmp_path / "sent.log"
    prepare(db, count)
    workers = [spawn(db, sent, WORK_AT, "--name", name, "--limit", "10") for name in ("w-a", "w-b")]
    assert [finish(process) for process in workers] == [0, 0]
    keys = delivered(sent)
    assert count == len(keys)
    assert count == len(set(keys))


if __name__ == "__main__":
    sys.exit(worker(sys.argv[1:]))

"""A worker process for the PostgreSQL concurrency tests (and its preparation step).

``python -m tests.postgres.pg_worker run CONNINFO SCHEMA SENT_DIR CLOCK [--name N]
[--limit N] [--reconcile] [--latency S]`` runs a ``Runner`` until nothing is due, with a
channel that appends each delivered idempotency key to ``SENT_DIR/<name>.log`` (flushed and fsynced
before answering, like a provider that has accepted the message).
``python -m tests.postgres.pg_worker prepare CONNINFO SCHEMA START COUNT`` abandons
checkouts ``START .. START+COUNT-1``, each for its own consenting customer.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final

from recoverykit.engine.commands import SendMessage
from recoverykit.engine.events import CheckoutAbandoned
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.errors import StoreError
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.protocols import Receipt
from recoverykit.runtime.runner import Runner
from recoverykit.stores.postgres import PostgresStore
from recoverykit.testing.fakes import FakeClock
from recoverykit.values.model import Channel, Checkout, Customer, LineItem, Stage
from recoverykit.values.money import Money

T0: Final = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
#: Every recovery's first touch is due (30-60 minutes after T0).
WORK_AT: Final = T0 + timedelta(hours=2)
#: Past the 5-minute lease: a killed worker's claims are free again.
RESTART_AT: Final = WORK_AT + timedelta(minutes=10)
POLICY: Final = RecoveryPolicy(store_name="Postgres Test Shop")


class FileChannel:
    """Delivers by appending the key to this worker's own file, durably."""

    def __init__(self, path: Path, *, clock: FakeClock, latency: float = 0.0) -> None:
        self.channel = Channel.SMS
        self.path = path
        self.clock = clock
        self.latency = latency

    def send(self, message: SendMessage) -> Receipt:
        if self.latency:
            time.sleep(self.latency)  # a provider's round trip
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(f"{message.idempotency_key} {message.customer_id}\n")
            handle.flush()
            os.fsync(handle.fileno())
        return Receipt(provider_id=f"file-{message.idempotency_key}", accepted_at=self.clock.now())


def customer(number: int) -> Customer:
    """The customer of checkout ``number``."""
    return Customer(
        id=f"cust-{number}", phone=f"+4474{number:08d}", timezone="Europe/London", country="GB"
    )


def prepare(store: PostgresStore, start: int, count: int) -> None:
    """Abandon checkouts ``start .. start+count-1``, all consenting to SMS."""
    runner = Runner(POLICY, store, {}, FakeClock(T0))
    price = Money(Decimal("40.00"), "GBP")
    for number in range(start, start + count):
        buyer = customer(number)
        with store.transaction() as tx:
            tx.append_consent(
                ConsentEvent(buyer.id, Channel.SMS, Purpose.RECOVERY, ConsentAction.GRANTED,
                             T0 - timedelta(minutes=5), "checkout_checkbox", "Text me.", "1")
            )  # fmt: skip
        checkout = Checkout(
            id=f"co-{number}",
            customer=buyer,
            items=(LineItem("SKU-1", "Teapot", 1, price),),
            total=price,
            stage=Stage.PAYMENT,
            abandoned_at=T0,
            link=f"https://shop.example/r/{number}",
        )
        runner.handle(CheckoutAbandoned(checkout, T0))


def run(store: PostgresStore, sent: Path, clock: FakeClock, args: argparse.Namespace) -> None:
    """Run due recoveries until none is left, riding out a database restart.

    Stops when nothing is due, or when three rounds in a row sent nothing (what is
    still due is claimed by someone else, perhaps a killed worker whose lease runs on).
    """
    channel = FileChannel(sent, clock=clock, latency=args.latency)
    drive(Runner(POLICY, store, {Channel.SMS: channel}, clock, worker=args.name), store, args)


def drive(runner: Runner, store: PostgresStore, args: argparse.Namespace) -> None:
    """``runner``'s loop for ``run``: reconcile if asked, then tick until done."""
    clock = runner.clock
    if args.reconcile:
        runner.reconcile()
    idle = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and idle < 3:
        try:
            idle = 0 if runner.run_due(limit=args.limit) else idle + 1
            due = store.next_due()
        except StoreError as exc:  # the server went away: wait, then go on
            sys.stderr.write(f"{args.name}: {exc}\n")
            time.sleep(0.2)
            continue
        if due is None or due > clock.now():
            return
        time.sleep(0.02)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["run", "prepare"])
    parser.add_argument("conninfo")
    parser.add_argument("schema")
    parser.add_argument("rest", nargs="*")
    parser.add_argument("--name", default="worker-1")
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--reconcile", action="store_true")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per send")
    args = parser.parse_args(argv)
    with PostgresStore(args.conninfo, schema=args.schema, max_size=2) as store:
        if args.command == "prepare":
            prepare(store, int(args.rest[0]), int(args.rest[1]))
        else:
            sent_dir, moment = args.rest
            clock = FakeClock(datetime.fromisoformat(moment))
            run(store, Path(sent_dir) / f"{args.name}.log", clock, args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A worker process for the runtime property tests on PostgreSQL (and its preparation).

``python -m tests.postgres.pg_runtime_worker run CONNINFO SCHEMA SENT_DIR CLOCK [--name N]
[--limit N] [--reconcile] [--faults]`` runs a ``Runner`` until nothing is due, with a
channel that appends each message it delivers, with the wall-clock time, to
``SENT_DIR/<name>.log`` before answering. With ``--faults`` the provider misbehaves
by the message's key: some sends answer 5xx or time out *after* delivering, some are
refused (transient), some raise an unexpected exception.
``python -m tests.postgres.pg_runtime_worker prepare CONNINFO SCHEMA COUNT [--pairs]``
abandons ``COUNT`` checkouts; two customer records share each phone number, and with
``--pairs`` every customer has two checkouts due at the same instant instead.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final

from recoverykit.channels.errors import OutcomeUnknown
from recoverykit.engine.commands import SendMessage
from recoverykit.engine.events import CheckoutAbandoned
from recoverykit.errors import ChannelError
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.protocols import Receipt
from recoverykit.runtime.runner import Runner
from recoverykit.stores.postgres import PostgresStore
from recoverykit.testing.fakes import FakeClock
from recoverykit.values.model import Channel, Checkout, Customer, LineItem, Stage
from recoverykit.values.money import Money

from .pg_worker import POLICY, T0, drive

#: Out of every 20 sends (by key): 2 answer 5xx after delivering, 1 times out after
#: delivering, 1 is refused for now, 1 raises; the rest are accepted.
_FAULTS: Final = ("5xx", "5xx", "timeout", "busy", "bug")


def customer(number: int) -> Customer:
    """Customer ``number``; customers 2k and 2k+1 share one phone number."""
    return Customer(
        id=f"cust-{number}",
        phone=f"+4474{number // 2:08d}",
        timezone="Europe/London",
        country="GB",
    )


def number_of(customer_id: str) -> str:
    phone = customer(int(customer_id.removeprefix("cust-"))).phone
    assert phone is not None
    return phone


def prepare(store: PostgresStore, count: int, *, pairs: bool) -> None:
    """Abandon checkouts for ``count`` consenting customers (two each with ``pairs``)."""
    runner = Runner(POLICY, store, {}, FakeClock(T0))
    price = Money(Decimal("25.00"), "GBP")
    for number in range(count):
        buyer = customer(number)
        with store.transaction() as tx:
            tx.append_consent(
                ConsentEvent(buyer.id, Channel.SMS, Purpose.RECOVERY, ConsentAction.GRANTED,
                             T0 - timedelta(minutes=5), "checkout_checkbox", "Text me.", "1",
                             address=buyer.phone)
            )  # fmt: skip
        for suffix in ("a", "b") if pairs else ("a",):
            checkout = Checkout(
                id=f"co-{number:05d}-{suffix}",
                customer=buyer,
                items=(LineItem("SKU-1", "Teapot", 1, price),),
                total=price,
                stage=Stage.PAYMENT,
                abandoned_at=T0,
                link=f"https://shop.example/r/{number}{suffix}",
            )
            runner.handle(CheckoutAbandoned(checkout, T0))


class FaultyFileChannel:
    """Delivers by appending ``key customer to wall-time`` to this worker's file."""

    def __init__(self, path: Path, *, clock: FakeClock, faults: bool) -> None:
        self.channel = Channel.SMS
        self.path = path
        self.clock = clock
        self.faults = faults

    def send(self, message: SendMessage) -> Receipt:
        started = time.time()
        fault = self._fault(message.idempotency_key)
        if fault == "busy":
            raise ChannelError("provider busy (scripted)", permanent=False, code="busy")
        if fault == "bug":
            msg = "the HTTP client was closed (scripted adapter bug)"
            raise RuntimeError(msg)
        time.sleep(0.005)  # a provider's round trip
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(f"{message.idempotency_key} {message.customer_id} {message.to} "
                         f"{message.touch} {started:.6f}\n")  # fmt: skip
            handle.flush()
            os.fsync(handle.fileno())
        if fault == "5xx":
            raise OutcomeUnknown("HTTP 502 after the request arrived (scripted)")
        if fault == "timeout":
            raise OutcomeUnknown("read timed out after the request was sent (scripted)")
        return Receipt(provider_id=f"file-{message.idempotency_key}", accepted_at=self.clock.now())

    def _fault(self, key: str) -> str | None:
        if not self.faults:
            return None
        slot = int(hashlib.sha256(key.encode()).hexdigest(), 16) % 20
        return _FAULTS[slot] if slot < len(_FAULTS) else None


def run(store: PostgresStore, sent: Path, clock: FakeClock, args: argparse.Namespace) -> None:
    """Run due recoveries until none is left (``pg_worker.drive``), through the faulty file."""
    channel = FaultyFileChannel(sent, clock=clock, faults=args.faults)
    drive(Runner(POLICY, store, {Channel.SMS: channel}, clock, worker=args.name), store, args)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["run", "prepare"])
    parser.add_argument("conninfo")
    parser.add_argument("schema")
    parser.add_argument("rest", nargs="*")
    parser.add_argument("--name", default="worker-1")
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--reconcile", action="store_true")
    parser.add_argument("--faults", action="store_true")
    parser.add_argument("--pairs", action="store_true")
    args = parser.parse_args(argv)
    with PostgresStore(args.conninfo, schema=args.schema, max_size=2) as store:
        if args.command == "prepare":
            prepare(store, int(args.rest[0]), pairs=args.pairs)
        else:
            sent_dir, moment = args.rest
            clock = FakeClock(datetime.fromisoformat(moment))
            run(store, Path(sent_dir) / f"{args.name}.log", clock, args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

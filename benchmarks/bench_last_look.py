"""What the last look before each send costs, next to the send itself.

Run with ``python -m benchmarks.bench_last_look [--n 2000]``. Recoveries with touch 1 due
are stored in an SQLite file; one ``run_due`` then sends them all to a Twilio adapter
talking HTTP to a loopback server that answers at once (the cheapest send there is:
a real provider adds tens of milliseconds of network on top). The runner's
``_take`` (the last look and the "attempted" mark: one transaction) and the adapter's
``send`` are timed around each call. Prints figures only; it never asserts on time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from recoverykit.channels.twilio import TwilioSMS
from recoverykit.engine.commands import SendMessage
from recoverykit.protocols import Claimed, OutboxEntry, Receipt
from recoverykit.runtime.runner import Runner
from recoverykit.stores import SQLiteStore
from recoverykit.testing.channel_contract import LoopbackServer, Reply
from recoverykit.testing.fakes import FakeClock
from recoverykit.values.model import Channel

from .bench_runner import POLICY, T0, populate

_SID = "AC" + "0" * 32


class _TimedRunner(Runner):
    """A runner that adds up the time its last looks take."""

    look_seconds = 0.0
    looks = 0

    def _take(self, entry: OutboxEntry, now: datetime, known: Claimed | None = None) -> Any:
        start = time.perf_counter()
        try:
            return super()._take(entry, now, known)
        finally:
            self.look_seconds += time.perf_counter() - start
            self.looks += 1


class _TimedChannel:
    """The adapter, with the time its sends take added up."""

    def __init__(self, adapter: TwilioSMS) -> None:
        self.channel = Channel.SMS
        self.adapter = adapter
        self.seconds = 0.0
        self.calls = 0

    def send(self, message: SendMessage) -> Receipt:
        start = time.perf_counter()
        try:
            return self.adapter.send(message)
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2_000)
    args, _ = parser.parse_known_args(argv)
    with tempfile.TemporaryDirectory() as folder, LoopbackServer() as server:
        server.answer(*[Reply(201, {"sid": f"SM{n:032d}", "status": "queued"})
                        for n in range(args.n)])  # fmt: skip
        store = SQLiteStore(Path(folder) / "bench.sqlite3")
        populate(store, args.n)
        clock = FakeClock(T0 + timedelta(hours=2))
        twilio = TwilioSMS(_SID, "token-" + "x" * 26, from_number="+447400000000",
                           base_url=server.url, clock=clock)  # fmt: skip
        channel = _TimedChannel(twilio)
        runner = _TimedRunner(POLICY, store, {Channel.SMS: channel}, clock)
        start = time.perf_counter()
        sent = runner.run_due(limit=args.n)
        total = time.perf_counter() - start
        twilio.close()
        store.close()
    look = runner.look_seconds / max(runner.looks, 1)
    send = channel.seconds / max(channel.calls, 1)
    print(f"  sent {sent} of {args.n} in one tick: {total:.2f} s")
    print(f"  last look per send         {look * 1e6:9.1f} µs")
    print(f"  loopback HTTP send         {send * 1e6:9.1f} µs")
    print(f"  last look / send           {look / send * 100:9.1f} %")


if __name__ == "__main__":
    main()

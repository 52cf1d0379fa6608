"""The runtime's guarantees with four worker processes on PostgreSQL.

The same promises as ``tests/property/test_runtime_stateful.py``, where several
processes race: workers (``pg_runtime_worker.py``) send through a misbehaving provider
(5xx and timeouts after delivering, refusals, an adapter bug) while this process
commits STOPs from numbers two customer records share and orders, and one worker is
killed mid-run and replaced. Afterwards the channel files, the outbox and the log must
agree: no key delivered twice, nothing to a number after its STOP or to a customer
after their order was committed, at most one touch per customer (the 12 h cap), and
every message the provider got recorded ``sent`` or ``uncertain``, nothing pending.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Final

import psycopg
import pytest

from recoverykit.engine.events import OrderPlaced
from recoverykit.protocols import OutboxStatus
from recoverykit.runtime.runner import Runner
from recoverykit.stores.postgres import PostgresStore
from recoverykit.testing.fakes import FakeClock
from recoverykit.values.model import Channel
from recoverykit.webhooks.types import InboundMessage

from .conftest import fresh_schema
from .pg_runtime_worker import number_of
from .pg_worker import POLICY, RESTART_AT, WORK_AT
from .test_concurrency import _finish

ROOT: Final = Path(__file__).resolve().parents[2]
WORKERS: Final = 4
#: How late (wall clock) a send may start after a STOP or an order committed: the
#: moment between the last look and the provider call, on a busy shared machine.
SLACK: Final = 0.25


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.postgres.pg_runtime_worker", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _prepare(conninfo: str, count: int, *extra: str) -> str:
    schema = fresh_schema()
    assert _finish(_spawn("prepare", conninfo, schema, str(count), *extra)) == 0
    return schema


def _workers(conninfo: str, schema: str, sent: Path, *extra: str) -> list[subprocess.Popen[bytes]]:
    return [
        _spawn("run", conninfo, schema, str(sent), WORK_AT.isoformat(), "--name", f"w-{n}",
               *extra)
        for n in range(WORKERS)
    ]  # fmt: skip


def _delivered(sent: Path) -> list[tuple[str, str, str, str, float]]:
    rows = []
    for log in sorted(sent.glob("*.log")):
        for line in log.read_text("utf-8").splitlines():
            key, customer, to, touch, at = line.split()
            rows.append((key, customer, to, touch, float(at)))
    return rows


@pytest.fixture
def sent(tmp_path: Path) -> Path:
    folder = tmp_path / "sent"
    folder.mkdir()
    return folder


def test_workers_keep_every_guarantee_through_faults_stops_orders_and_a_kill(
    pg_conninfo: str, sent: Path
) -> None:
    """Four workers, a faulty provider, STOPs and orders committed mid-run, one worker
    killed and a replacement reconciling: every guarantee holds at every send."""
    count = 120
    schema = _prepare(pg_conninfo, count)
    workers = _workers(pg_conninfo, schema, sent, "--faults", "--limit", "5")
    stopped: dict[str, float] = {}
    ordered: dict[str, float] = {}
    clock = FakeClock(WORK_AT)
    with PostgresStore(pg_conninfo, schema=schema, max_size=2) as store:
        runner = Runner(POLICY, store, {}, clock, worker="webhooks")
        time.sleep(0.5)
        for n in range(0, count, 8):
            number = number_of(f"cust-{n}")
            runner.receive(InboundMessage(Channel.SMS, number, "STOP", f"sm-{n}", WORK_AT))
            stopped[number] = time.time()
            buyer = f"cust-{n + 3}"
            runner.handle(OrderPlaced(f"order-{n}", WORK_AT, customer_id=buyer))
            ordered[buyer] = time.time()
            if n == 40:
                workers[0].send_signal(signal.SIGKILL)
    codes = [_finish(process) for process in workers]
    assert codes[1:] == [0, 0, 0]
    restart = _spawn("run", pg_conninfo, schema, str(sent), RESTART_AT.isoformat(),
                     "--name", "w-again", "--reconcile", "--faults")  # fmt: skip
    assert _finish(restart) == 0

    delivered = _delivered(sent)
    keys = [key for key, *_rest in delivered]
    assert [] == [key for key, times in Counter(keys).items() if times > 1]
    touches = [row for row in delivered if row[3] != "None"]
    late_stop = [row for row in touches if row[2] in stopped and row[4] > stopped[row[2]] + SLACK]
    assert late_stop == []
    late_order = [row for row in touches if row[1] in ordered and row[4] > ordered[row[1]] + SLACK]
    assert late_order == []
    assert all(times == 1 for times in Counter(row[1] for row in touches).values())
    with PostgresStore(pg_conninfo, schema=schema) as store:
        by_status = {
            status: {entry.key for entry in store.outbox(status=status, limit=10**6)}
            for status in OutboxStatus
        }
    assert set() == by_status[OutboxStatus.PENDING]
    assert set(keys) <= by_status[OutboxStatus.SENT] | by_status[OutboxStatus.UNCERTAIN]
    assert by_status[OutboxStatus.SENT] <= set(keys)


def test_the_per_customer_lock_decides_a_customers_recoveries_one_after_the_other(
    pg_conninfo: str, sent: Path
) -> None:
    """Two recoveries of one customer, due at the same instant, claimed by two workers
    at once: the customer's lock makes the second decision see the first's touch, so
    it defers (the 12 h cap). No touch is decided only to be cancelled at the last look,
    and each customer gets exactly one."""
    count = 120
    schema = _prepare(pg_conninfo, count, "--pairs")
    with psycopg.connect(pg_conninfo, autocommit=True) as conn:
        conn.execute(
            f'UPDATE "{schema}".recoveries SET due = %s', (WORK_AT - timedelta(minutes=1),)
        )
    workers = _workers(pg_conninfo, schema, sent, "--limit", "1")
    assert [0] * WORKERS == [_finish(process) for process in workers]
    touches = [row for row in _delivered(sent) if row[3] != "None"]
    assert count == len(touches)
    assert all(times == 1 for times in Counter(row[1] for row in touches).values())
    with PostgresStore(pg_conninfo, schema=schema) as store:
        cancelled = store.outbox(status=OutboxStatus.CANCELLED, limit=10**6)
    assert [] == [entry.detail for entry in cancelled]

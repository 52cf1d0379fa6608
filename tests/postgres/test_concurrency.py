"""Many worker processes on one PostgreSQL database: every touch is sent exactly once.

The workers are real processes (``tests/postgres/pg_worker.py``) sharing one schema,
each with a channel that appends what it delivers to its own file. The tests compare
three records that must agree: what the channels delivered, what the outbox says was
sent, and the touches the recovery states remember.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Final

import pytest

from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.protocols import OutboxStatus
from recoverykit.stores.postgres import PostgresStore
from recoverykit.values.model import Channel

from . import pg_worker
from .conftest import fresh_schema
from .pg_worker import RESTART_AT, T0, WORK_AT

ROOT: Final = Path(__file__).resolve().parents[2]
#: Recoveries in the big exactly-once run; RECOVERYKIT_PG_RECOVERIES=10000 for the
#: issue's full size (about 75 s on two cores, too slow for every `make test`).
RECOVERYKIT_PG_RECOVERIES: Final = "RECOVERYKIT_PG_RECOVERIES"
RECOVERIES: Final = int(os.environ.get(RECOVERYKIT_PG_RECOVERIES, "1200"))
WORKERS: Final = 4


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.postgres.pg_worker", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _finish(process: subprocess.Popen[bytes]) -> int:
    _, err = process.communicate(timeout=300)
    assert b"Traceback" not in err, err.decode("utf-8", "replace")
    return process.returncode


def prepare(conninfo: str, count: int) -> str:
    """A fresh schema with ``count`` due recoveries, prepared by parallel threads."""
    schema = fresh_schema()
    share = -(-count // WORKERS)
    with PostgresStore(conninfo, schema=schema, max_size=WORKERS) as store:
        with ThreadPoolExecutor(WORKERS) as pool:
            done = pool.map(
                lambda start: pg_worker.prepare(store, start, min(share, count - start)),
                range(0, count, share),
            )
            list(done)
        assert count == sum(1 for _state in store.states())
    return schema


def spawn_worker(
    conninfo: str, schema: str, sent: Path, clock: datetime, name: str, *extra: str
) -> subprocess.Popen[bytes]:
    return _spawn("run", conninfo, schema, str(sent), clock.isoformat(), "--name", name, *extra)


def _kill_after(process: subprocess.Popen[bytes], log: Path, sends: int) -> None:
    """SIGKILL ``process`` once its channel file holds ``sends`` lines (mid-work)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if log.exists() and len(log.read_bytes().splitlines()) >= sends:
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)


def delivered(sent: Path) -> list[tuple[str, str]]:
    """Every (key, customer) the channels delivered, across all worker files."""
    return [
        (key, customer)
        for path in sorted(sent.glob("*.log"))
        for key, customer in (line.split() for line in path.read_text("utf-8").splitlines())
    ]


@pytest.fixture
def sent(tmp_path: Path) -> Path:
    folder = tmp_path / "sent"
    folder.mkdir()
    return folder


class Outcome:
    """The three records of one run, read back from the database and the channel files."""

    def __init__(self, conninfo: str, schema: str, sent: Path) -> None:
        self.delivered = delivered(sent)
        with PostgresStore(conninfo, schema=schema) as store:
            self.by_status = {
                status: {entry.key for entry in store.outbox(status=status, limit=10**6)}
                for status in OutboxStatus
            }
            self.touched = Counter(
                state.checkout_id for state in store.states() for _touch in state.sent
            )
            self.send_log = [record for record in store.events() if record.kind == "send"]

    @property
    def keys(self) -> list[str]:
        return [key for key, _customer in self.delivered]

    def duplicates(self) -> list[str]:
        return [key for key, times in Counter(self.keys).items() if times > 1]


def test_workers_sharing_due_recoveries_send_each_touch_exactly_once(
    pg_conninfo: str, sent: Path
) -> None:
    """Four worker processes share the due recoveries: channel log, outbox and states
    agree, and no touch is delivered twice or lost."""
    schema = prepare(pg_conninfo, RECOVERIES)
    workers = [spawn_worker(pg_conninfo, schema, sent, WORK_AT, f"w-{n}") for n in range(WORKERS)]
    assert [0] * WORKERS == [_finish(process) for process in workers]
    outcome = Outcome(pg_conninfo, schema, sent)
    assert [] == outcome.duplicates()
    assert RECOVERIES == len(outcome.keys)
    assert set(outcome.keys) == outcome.by_status[OutboxStatus.SENT]
    assert Counter(key.split(":")[0] for key in outcome.keys) == outcome.touched
    assert len(outcome.keys) == len(outcome.send_log)
    assert set() == outcome.by_status[OutboxStatus.PENDING]


def test_killed_workers_lose_nothing_and_repeat_nothing_after_a_restart(
    pg_conninfo: str, sent: Path
) -> None:
    """Workers killed with SIGKILL at random moments: once their leases run out, a
    restarted worker finishes their claims; no touch is delivered twice, and each is
    sent or (killed mid-send, unknowable) reported uncertain, never silently lost."""
    count = 600
    schema = prepare(pg_conninfo, count)
    chance = random.Random(count)
    workers = [
        spawn_worker(pg_conninfo, schema, sent, WORK_AT, f"w-{n}", "--limit", "50")
        for n in range(WORKERS)
    ]
    for name, process in (("w-0", workers[0]), ("w-1", workers[1])):
        _kill_after(process, sent / f"{name}.log", chance.randint(1, 120))
    codes = [_finish(process) for process in workers]
    assert [-signal.SIGKILL, -signal.SIGKILL, 0, 0] == codes
    restart = spawn_worker(pg_conninfo, schema, sent, RESTART_AT, "w-again", "--reconcile")
    assert _finish(restart) == 0
    outcome = Outcome(pg_conninfo, schema, sent)
    sent_keys = outcome.by_status[OutboxStatus.SENT]
    uncertain = outcome.by_status[OutboxStatus.UNCERTAIN]
    assert [] == outcome.duplicates()
    assert set() == outcome.by_status[OutboxStatus.PENDING]
    assert count == len(sent_keys | uncertain)
    assert sent_keys <= set(outcome.keys) <= sent_keys | uncertain


def test_an_opt_out_committed_first_always_wins(pg_conninfo: str, sent: Path) -> None:
    """Opt-outs committed while the workers are already claiming are seen by every
    worker: none of those customers gets a touch; everyone else gets exactly one."""
    count = 400
    schema = prepare(pg_conninfo, count)
    opted = {f"cust-{n}" for n in range(0, count, 3)}
    with PostgresStore(pg_conninfo, schema=schema) as store:
        with store.transaction() as tx:
            for customer_id in sorted(opted):  # holds these customers' rows until commit
                tx.append_consent(
                    ConsentEvent(customer_id, Channel.SMS, Purpose.RECOVERY,
                                 ConsentAction.REVOKED, T0, "sms_stop", "STOP", "1")
                )  # fmt: skip
            workers = [
                spawn_worker(pg_conninfo, schema, sent, WORK_AT, f"w-{n}", "--limit", "20")
                for n in range(WORKERS)
            ]
            time.sleep(1.0)  # the workers claim and queue on the locked customers
        assert [0] * WORKERS == [_finish(process) for process in workers]
    outcome = Outcome(pg_conninfo, schema, sent)
    assert set() == {customer for _key, customer in outcome.delivered} & opted
    assert [] == outcome.duplicates()
    assert count - len(opted) == len(outcome.keys)


def _drop_connections(
    conninfo: str, stop: threading.Event, cut: list[int], sent: Path, workers: int
) -> None:
    """Terminate the workers' connections three times, at least 0.5 s apart, like
    server restarts seen from the clients; ``cut`` collects how many went each time.

    Cutting starts once the workers are sending (the first sends are on file, plus a
    moment for slower starters): a worker whose connection dies while it is still
    opening its store fails at start-up, which is a different story from surviving
    a restart mid-run."""
    import psycopg

    deadline = time.monotonic() + 60
    while not stop.wait(0.05) and time.monotonic() < deadline:
        if sum(1 for path in sent.iterdir() if path.stat().st_size) >= min(workers, 2):
            stop.wait(0.2)
            break
    with psycopg.connect(conninfo, autocommit=True) as conn:
        while len(cut) < 3 and not stop.wait(0.1):
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
            if row is not None and row[0]:
                cut.append(int(row[0]))
                stop.wait(0.5)


def test_dropped_connections_are_survived_without_a_duplicate(pg_conninfo: str, sent: Path) -> None:
    """The workers' connections cut three times mid-run (as a server restart does):
    the workers reconnect and carry on; after reconciling, each touch is sent or uncertain and none
    is delivered twice."""
    count = 600
    schema = prepare(pg_conninfo, count)
    stop = threading.Event()
    workers = [
        # 20 ms a send keeps the run going for seconds, long enough for three cuts
        spawn_worker(
            pg_conninfo, schema, sent, WORK_AT, f"w-{n}", "--limit", "50", "--latency", "0.02"
        )
        for n in range(WORKERS)
    ]
    cut: list[int] = []
    cutter = threading.Thread(
        target=_drop_connections, args=(pg_conninfo, stop, cut, sent, WORKERS)
    )
    cutter.start()
    try:
        assert [0] * WORKERS == [_finish(process) for process in workers]
    finally:
        stop.set()
        cutter.join()
    assert cut, "no worker connection was ever cut: the test proved nothing"
    restart = spawn_worker(pg_conninfo, schema, sent, RESTART_AT, "w-again", "--reconcile")
    assert _finish(restart) == 0
    outcome = Outcome(pg_conninfo, schema, sent)
    sent_keys = outcome.by_status[OutboxStatus.SENT]
    uncertain = outcome.by_status[OutboxStatus.UNCERTAIN]
    assert [] == outcome.duplicates()
    assert set() == outcome.by_status[OutboxStatus.PENDING]
    assert count == len(sent_keys | uncertain)
    assert sent_keys <= set(outcome.keys) <= sent_keys | uncertain

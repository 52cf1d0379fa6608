"""The detector's tick on PostgreSQL with several workers: each abandonment starts once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.runtime.runner import Runner
from recoverykit.testing.fakes import FakeChannel, FakeClock
from recoverykit.values.model import Channel
from tests.detector_helpers import activity, shopper
from tests.postgres.conftest import make_store

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CHECKOUTS = 60
WORKERS = 4


def test_workers_racing_on_due_checkouts_start_each_recovery_once(pg_conninfo: str) -> None:
    """Four workers run the tick at once over 60 due checkouts: every checkout starts
    exactly one recovery, and the counts they report add up to 60."""
    store = make_store(pg_conninfo, max_size=WORKERS + 1)
    try:
        clock = FakeClock(T0)
        channels = {Channel.SMS: FakeChannel(Channel.SMS)}
        policy = RecoveryPolicy(store_name="Northwind")
        feeder = Runner(policy, store, channels, clock)
        for index in range(CHECKOUTS):
            who = shopper(f"cus-{index}", phone=None, email=f"c{index}@example.com")
            feeder.observe(activity(f"tok-{index}", at=T0, who=who))
        clock.set(T0 + timedelta(minutes=31))
        started: list[int] = []
        barrier = threading.Barrier(WORKERS)

        def work(name: str) -> None:
            runner = Runner(policy, store, channels, clock, worker=name)
            barrier.wait()
            total = 0
            while (got := runner.detect(limit=7)) > 0:
                total += got
            started.append(total)

        threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(WORKERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert CHECKOUTS == sum(started)
        ids = [state.checkout_id for state in store.states()]
        assert sorted(f"tok-{index}" for index in range(CHECKOUTS)) == sorted(ids)
    finally:
        store.close()

"""MemoryStore: the Store contract, plus what only an in-memory store promises."""

from __future__ import annotations

import threading
from pathlib import Path

from recoverykit.protocols import Store
from recoverykit.stores import MemoryStore
from recoverykit.testing.store_contract import LEASE, T0, StoreContract, active


class TestMemoryStore(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return MemoryStore()


def test_threads_never_claim_the_same_recovery() -> None:
    """Several threads claiming from one MemoryStore at once never share a recovery."""
    store = MemoryStore()
    with store.transaction() as tx:
        for index in range(400):
            tx.save(active(f"chk-{index:03d}"), expected_version=None)
    claims: dict[str, list[str]] = {}

    def work(worker: str) -> None:
        mine: list[str] = []
        while batch := store.claim_due(T0, limit=7, lease=LEASE, worker=worker):
            mine += [claimed.state.checkout_id for claimed in batch]
        claims[worker] = mine

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [name for mine in claims.values() for name in mine]
    assert sorted(everything) == sorted(set(everything))
    assert len(everything) == 400


class TestPackedMemoryStore(StoreContract):
    """Packing finished recoveries keeps every promise of the contract."""

    def make_store(self, tmp_path: Path) -> Store:
        return MemoryStore(pack_finished=True)


def test_log_lines_are_handed_on_only_when_their_transaction_commits() -> None:
    """With log_to, a rolled-back transaction's lines never leave the store."""
    from recoverykit.protocols import LogRecord

    lines: list[LogRecord] = []
    store = MemoryStore(log_to=lines.append)
    try:
        with store.transaction() as tx:
            tx.log(LogRecord(T0, "info", None, None, {"what": "lost"}))
            raise RuntimeError
    except RuntimeError:
        pass
    assert lines == []
    with store.transaction() as tx:
        tx.log(LogRecord(T0, "info", None, None, {"what": "kept"}))
        assert lines == []  # not before the commit
    assert [line.data["what"] for line in lines] == ["kept"]
    assert list(store.events()) == []

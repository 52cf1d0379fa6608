"""``recoverykit tick``: one round of production work for cron, and ``Runner.close``."""

from __future__ import annotations

import importlib
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from recoverykit.engine.events import CheckoutAbandoned, ReplyReceived
from recoverykit.engine.state import RecoveryStatus
from recoverykit.policies.replies import classify_reply
from recoverykit.protocols import OutboxStatus
from recoverykit.runtime.cli import main
from recoverykit.runtime.runner import Runner
from recoverykit.stores import MemoryStore, SQLiteStore
from recoverykit.testing.fakes import FakeChannel, FakeClock
from recoverykit.values.model import Channel
from tests.unit.test_runner import POLICY, T0, checkout, customer, grant

#: The factory a shop would write: it receives the opened store, returns its Runner.
FACTORY = textwrap.dedent(
    """
    from datetime import timedelta

    from recoverykit.runtime.runner import Runner
    from recoverykit.testing.fakes import FakeChannel, FakeClock
    from recoverykit.values.model import Channel
    from tests.unit.test_runner import POLICY, T0

    SMS = FakeChannel(Channel.SMS)
    CLOSED = []


    class Closing(FakeChannel):
        def close(self):
            CLOSED.append(self.channel)


    def runner(store):
        sms = Closing(Channel.SMS)
        global SMS
        SMS = sms
        return Runner(POLICY, store, {Channel.SMS: sms}, FakeClock(T0 + timedelta(days=1)))


    def not_a_runner(store):
        store.close()
        return "a string"
    """
)


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An SQLite store holding one abandoned checkout whose first touch is due, and the
    shop's factory module on the import path."""
    (tmp_path / "tick_shop.py").write_text(FACTORY, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "tick_shop", raising=False)
    monkeypatch.delenv("RECOVERYKIT_RUNNER", raising=False)
    db = tmp_path / "shop.sqlite3"
    who = customer()
    with Runner(POLICY, SQLiteStore(db), {}, FakeClock(T0)) as setup:
        with setup.store.transaction() as tx:
            tx.append_consent(grant(who))
        setup.handle(CheckoutAbandoned(checkout(1, who), T0))
    return db


def statuses(db: Path) -> list[RecoveryStatus]:
    store = SQLiteStore(db)
    try:
        return [state.status for state in store.states()]
    finally:
        store.close()


def sent_keys(db: Path) -> list[str]:
    store = SQLiteStore(db)
    try:
        return [entry.key for entry in store.outbox(status=OutboxStatus.SENT)]
    finally:
        store.close()


def test_tick_sends_what_is_due_and_closes_the_runner(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One tick claims the due recovery, sends its touch through the factory's adapter,
    prints what it did, and closes the adapters and the store."""
    assert [] == sent_keys(shop)
    status = main(["tick", "--db", str(shop), "--runner", "tick_shop:runner"])
    assert 0 == status
    assert "started 0, sent 1, uncertain 0" in capsys.readouterr().out
    tick_shop = importlib.import_module("tick_shop")
    assert [Channel.SMS] == tick_shop.CLOSED
    assert 1 == len(tick_shop.SMS.sent)
    assert 1 == len(sent_keys(shop))
    # Nothing else is due: a second tick sends nothing twice.
    assert 0 == main(["tick", "--db", str(shop), "--runner", "tick_shop:runner"])
    assert "sent 0" in capsys.readouterr().out


def test_runner_may_come_from_the_environment(
    shop: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Cron lines stay short: RECOVERYKIT_RUNNER names the factory."""
    monkeypatch.setenv("RECOVERYKIT_RUNNER", "tick_shop:runner")
    assert 0 == main(["tick", "--db", str(shop)])
    assert "sent 1" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "--runner module:function"),
        (["--runner", "tick_shop"], "must look like module:function"),
        (["--runner", "no_such_shop_module:runner"], "cannot import 'no_such_shop_module'"),
        (["--runner", "tick_shop:missing"], "has no function 'missing'"),
        (["--runner", "tick_shop:not_a_runner"], "not a Runner"),
        (["--runner", "tick_shop:runner", "--limit", "0"], "--limit must be a positive"),
    ],
)
def test_bad_runner_or_limit_is_bad_input(
    shop: Path, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    """A factory that cannot be used is bad input (status 2), named, with nothing sent."""
    assert 2 == main(["tick", "--db", str(shop), *args])
    assert says in capsys.readouterr().err
    assert [] == sent_keys(shop)


def test_missing_store_is_bad_input(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """tick never creates a store: a path with no database is refused (status 2)."""
    tmp_path = shop.parent
    assert 2 == main(
        ["tick", "--db", str(tmp_path / "none.sqlite3"), "--runner", "tick_shop:runner"]
    )
    assert "no database" in capsys.readouterr().err
    assert not (tmp_path / "none.sqlite3").exists()


class Closing(FakeChannel):
    def __init__(self, channel: Channel, *, fails: bool = False) -> None:
        super().__init__(channel)
        self.closed = 0
        self._fails = fails

    def close(self) -> None:
        self.closed += 1
        if self._fails:
            raise OSError("pool already gone")


class CountingStore(MemoryStore):
    closed = 0

    def close(self) -> None:
        self.closed += 1
        super().close()


def test_close_closes_each_adapter_once_then_the_store() -> None:
    """An adapter serving two channels is closed once; closing twice does nothing more."""
    shared = Closing(Channel.SMS)
    store = CountingStore()
    with Runner(POLICY, store, {Channel.SMS: shared, Channel.WHATSAPP: shared}, FakeClock(T0)):
        pass
    runner = Runner(POLICY, store, {Channel.SMS: shared}, FakeClock(T0))
    runner.close()
    runner.close()
    assert (2, 2) == (shared.closed, store.closed)


def test_one_failing_close_does_not_keep_the_rest_open() -> None:
    """The first error is raised only after every adapter and the store were closed."""
    broken, fine = Closing(Channel.SMS, fails=True), Closing(Channel.TELEGRAM)
    store = CountingStore()
    runner = Runner(POLICY, store, {Channel.SMS: broken, Channel.TELEGRAM: fine}, FakeClock(T0))
    with pytest.raises(OSError, match="pool already gone"):
        runner.close()
    assert (1, 1, 1) == (broken.closed, fine.closed, store.closed)


def test_resume_hands_a_paused_recovery_back_through_the_shops_runner(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``recoverykit resume`` applies ``RecoveryResumed`` with the store's own runner: a
    paused recovery plans its next touch again; anything else is refused (status 2)."""
    who = customer()
    with Runner(POLICY, SQLiteStore(shop), {}, FakeClock(T0 + timedelta(hours=2))) as setup:
        question = classify_reply("Does it come in green?", locale="en")
        setup.handle(ReplyReceived(who.id, Channel.SMS, question, T0 + timedelta(hours=2)))
    assert [RecoveryStatus.PAUSED] == statuses(shop)
    assert 0 == main(["resume", "co-1", "--db", str(shop), "--runner", "tick_shop:runner"])
    assert "resumed co-1: next wake-up" in capsys.readouterr().out
    assert [RecoveryStatus.ACTIVE] == statuses(shop)
    assert 2 == main(["resume", "co-1", "--db", str(shop), "--runner", "tick_shop:runner"])
    assert "co-1 is active, not paused: nothing to resume" in capsys.readouterr().err
    assert 2 == main(["resume", "co-9", "--db", str(shop), "--runner", "tick_shop:runner"])
    assert "no recovery for checkout 'co-9'" in capsys.readouterr().err

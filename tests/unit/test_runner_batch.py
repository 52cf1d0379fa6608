"""The batched tick decides exactly as reading and writing one recovery at a time would.

``run_due`` reads a whole claimed batch's contexts up front and writes its contact
records and log lines at the end (SEAMS 6). These tests hold it to the tick it
replaced, kept below as a frozen reference: every decision sees what the earlier ones
in the same batch did to the customer, and the store ends up the same, log order too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recoverykit.engine.events import CheckoutAbandoned, WakeupDue
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.errors import ConflictError
from recoverykit.policies.caps import ContactRecord, SendKind
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.protocols import LogRecord, OutboxEntry, OutboxStatus, RecordKind, Store, batched
from recoverykit.runtime.apply import BatchWrites, DirectWrites, Pending
from recoverykit.runtime.routing import Target
from recoverykit.runtime.runner import Runner
from recoverykit.stores import MemoryStore, SQLiteStore
from recoverykit.testing.fakes import FakeChannel, FakeClock
from recoverykit.testing.store_contract import message
from recoverykit.values.model import Channel, Checkout, Customer, LineItem, Stage
from recoverykit.values.money import Money

T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # 10:00 in London: inside contact hours
POLICY = RecoveryPolicy(store_name="Batch Test Shop")
PRICE = Money(Decimal("25.00"), "GBP")


def person(number: int) -> Customer:
    return Customer(
        id=f"cust-{number}",
        phone=f"+4474009{number:05d}",
        email=f"shopper{number}@example.com",
        timezone="Europe/London",
        country="GB",
    )


def consent(who: Customer, channel: Channel, *, granted: bool = True) -> ConsentEvent:
    return ConsentEvent(
        customer_id=who.id,
        channel=channel,
        purpose=Purpose.RECOVERY if granted else None,
        action=ConsentAction.GRANTED if granted else ConsentAction.REVOKED,
        at=T0 - timedelta(minutes=5),
        source="checkout_checkbox" if granted else "keyword",
        text="Remind me about my basket." if granted else "STOP",
        version="1" if granted else None,
    )


def abandon(runner: Runner, number: int, who: Customer, minutes: int) -> None:
    checkout = Checkout(
        id=f"co-{number}",
        customer=who,
        items=(LineItem("SKU-1", "Teapot", 1, PRICE),),
        total=PRICE,
        stage=Stage.PAYMENT,
        abandoned_at=T0 + timedelta(minutes=minutes),
        link=f"https://shop.example/r/{number}",
    )
    runner.handle(CheckoutAbandoned(checkout, checkout.abandoned_at))


def world(
    store: Store, plan: list[tuple[int, int, bool, bool]]
) -> tuple[Runner, FakeClock, FakeChannel]:
    """A runner over ``store`` with one checkout per ``(customer, minutes, sms, email)``."""
    clock = FakeClock(T0)
    sms = FakeChannel(Channel.SMS, clock=clock)
    email = FakeChannel(Channel.EMAIL, clock=clock)
    runner = Runner(POLICY, store, {Channel.SMS: sms, Channel.EMAIL: email}, clock)
    for number, (who, minutes, sms_ok, email_ok) in enumerate(plan):
        customer = person(who)
        with store.transaction() as tx:
            if not tx.ledger(customer.id).events:
                tx.append_consent(consent(customer, Channel.SMS, granted=sms_ok))
                tx.append_consent(consent(customer, Channel.EMAIL, granted=email_ok))
        clock.set(max(clock.now(), T0 + timedelta(minutes=minutes)))
        abandon(runner, number, customer, minutes)
    return runner, clock, sms


def reference_run_due(runner: Runner, limit: int) -> int:
    """FROZEN REFERENCE, do not optimise: the tick before batching, each recovery's
    context read and its writes made on their own, straight through the transaction."""
    now = runner.clock.now()
    claimed = runner.store.claim_due(now, limit=limit, lease=runner.lease, worker=runner.worker)
    if not claimed:
        return 0
    pending = Pending()
    with runner.store.transaction() as tx:
        for item in claimed:
            wakeup = WakeupDue(item.state.checkout_id, at=now)
            try:
                runner.deciding.apply(tx, Target.of(item), wakeup, now, pending, release=True)
            except ConflictError:
                continue
    return runner._after_commit(pending)


def tick(runner: Runner, clock: FakeClock, at: datetime, *, reference: bool = False) -> int:
    """Run the tick at ``at`` until nothing more is due then."""
    clock.set(max(at, clock.now()))
    sent = 0
    for _ in range(1_000):
        due = runner.store.next_due()
        if due is None or due > clock.now():
            return sent
        sent += reference_run_due(runner, 500) if reference else runner.run_due(limit=500)
    msg = "the tick never ran dry"
    raise AssertionError(msg)


def snapshot(store: Store) -> dict[str, Any]:
    """Everything a tick writes, in a comparable form."""
    with store.transaction() as tx:
        customers = sorted({state.customer_id for state in store.states()})
        history = {c: tx.history(c, since=T0 - timedelta(days=1)) for c in customers}
        ledgers = {c: tx.ledger(c) for c in customers}
    return {
        "states": [state.to_dict() for state in store.states()],
        "outbox": {
            status: [(e.key, e.message, e.provider_id) for e in store.outbox(status=status)]
            for status in OutboxStatus
        },
        "log": list(store.events()),
        "history": history,
        "ledgers": ledgers,
    }


@pytest.mark.parametrize("make", [MemoryStore, lambda: SQLiteStore(":memory:")])
def test_a_batch_respects_the_cap_across_one_customers_recoveries(make: Any) -> None:
    """Three due recoveries of one customer in one batch: the first sends, the cap defers
    the other two (they see the first's send), and the other customer still gets theirs."""
    store = make()
    plan = [(1, 0, True, False), (1, 1, True, False), (1, 2, True, False), (2, 0, True, False)]
    runner, clock, sms = world(store, plan)
    assert tick(runner, clock, T0 + timedelta(hours=3)) == 2
    assert sorted(message.customer_id for message in sms.sent) == ["cust-1", "cust-2"]
    deferred = [r for r in store.events() if r.kind == "defer" and r.data["reason"] == "cap"]
    (first,) = [message.checkout_id for message in sms.sent if message.customer_id == "cust-1"]
    assert sorted([first, *(record.checkout_id for record in deferred)]) == ["co-0", "co-1", "co-2"]
    store.close()


@pytest.mark.parametrize("make", [MemoryStore, lambda: SQLiteStore(":memory:")])
def test_a_batch_writes_what_the_tick_before_batching_wrote(make: Any) -> None:
    """The same recoveries ticked by ``run_due`` and by the reference tick leave identical
    states, outbox, log (in order), contact history and ledgers."""
    plan = [
        (1, 0, True, True),
        (1, 5, True, True),
        (2, 0, True, False),
        (3, 10, False, True),
        (3, 11, False, True),
        (4, 3, False, False),
    ]
    results = []
    for reference in (False, True):
        store = make()
        runner, clock, _sms = world(store, plan)
        for hours in (2, 26, 50, 80):
            tick(runner, clock, T0 + timedelta(hours=hours), reference=reference)
        results.append(snapshot(store))
        store.close()
    batch, single = results
    assert single == batch


@settings(deadline=None)
@given(
    plan=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=3),
            st.integers(min_value=0, max_value=90),
            st.booleans(),
            st.booleans(),
        ),
        min_size=1,
        max_size=7,
    ),
    ticks=st.lists(st.integers(min_value=1, max_value=96), min_size=1, max_size=4),
)
def test_batching_never_changes_a_decision(
    plan: list[tuple[int, int, bool, bool]], ticks: list[int]
) -> None:
    """For any customers, consent and tick times, ``run_due`` and the reference tick
    write the same thing."""
    results = []
    for reference in (False, True):
        store = MemoryStore()
        runner, clock, _sms = world(store, plan)
        for hours in sorted(ticks):
            tick(runner, clock, T0 + timedelta(hours=hours), reference=reference)
        results.append(snapshot(store))
    batch, single = results
    assert single == batch


@pytest.mark.parametrize("make", [MemoryStore, lambda: SQLiteStore(":memory:")])
def test_a_batch_context_is_what_a_fresh_read_would_give(make: Any) -> None:
    """After sends and a consent change collected in a batch, the customer's context is
    the one read afresh from the store once the same writes went through."""
    store: Store = make()
    who = person(1)
    since = T0 - timedelta(days=30)
    sent = [
        ContactRecord(T0, Channel.SMS, "co-1"),
        ContactRecord(T0 - timedelta(hours=1), Channel.EMAIL, "co-2", SendKind.REPLY),
    ]
    revocation = consent(who, Channel.SMS, granted=False)
    with store.transaction() as tx:
        tx.append_consent(consent(who, Channel.SMS))
        tx.add_contact(who.id, ContactRecord(T0 - timedelta(days=2), Channel.SMS, "co-0"))
        tx.open_service_window(who.id, Channel.WHATSAPP, T0 + timedelta(hours=20))
    pending = Pending()
    with store.transaction() as tx:
        writes = BatchWrites(batched(tx), [who.id, "cust-x", who.id], since=since)
        assert writes.context(who.id) == DirectWrites(tx, since=since).context(who.id)
        for record in sent:
            writes.add_outbox(*_queued(who, record), pending)
        writes.append_consent(revocation)
        collected = writes.context(who.id)
        assert writes.context("cust-x") == DirectWrites(tx, since=since).context("cust-x")
        writes.flush(pending)
        assert collected == DirectWrites(tx, since=since).context(who.id)
    assert [entry.message.checkout_id for entry in pending.entries] == ["co-1", "co-2"]
    store.close()


def _queued(
    who: Customer, record: ContactRecord
) -> tuple[OutboxEntry, tuple[str, ContactRecord], LogRecord]:
    """An outbox entry for ``record``'s send, with the contact and log line it brings."""
    key = f"key-{record.checkout_id}"
    entry = OutboxEntry(key, message(key, record.checkout_id, who.id), created_at=record.at)
    line = LogRecord(record.at, RecordKind.SEND, record.checkout_id, who.id, {"key": key})
    return entry, (who.id, record), line


@pytest.mark.parametrize("make", [MemoryStore, lambda: SQLiteStore(":memory:")])
def test_a_batch_drops_an_entry_decided_before_with_its_contact_and_log_line(make: Any) -> None:
    """An outbox key already stored (a retried decision) is not queued again in a batch:
    neither its contact record nor its log line is written, and it is not sent; the
    other entries of the batch are, in order (as add_outbox answering False would do)."""
    store: Store = make()
    who = person(1)
    old, new = ContactRecord(T0, Channel.SMS, "co-1"), ContactRecord(T0, Channel.SMS, "co-2")
    with store.transaction() as tx:
        tx.add_outbox(_queued(who, old)[0])
    pending = Pending()
    with store.transaction() as tx:
        writes = BatchWrites(batched(tx), [who.id], since=T0 - timedelta(days=1))
        writes.add_outbox(*_queued(who, old), pending)
        writes.log(LogRecord(T0, RecordKind.FINISH, "co-1", who.id, {"reason": "x"}))
        writes.add_outbox(*_queued(who, new), pending)
        writes.flush(pending)
    assert [entry.key for entry in pending.entries] == ["key-co-2"]
    with store.transaction() as tx:
        assert tx.history(who.id, since=T0 - timedelta(days=1)).records == (new,)
    assert [(line.kind, line.checkout_id) for line in store.events()] == [
        (RecordKind.FINISH, "co-1"),
        (RecordKind.SEND, "co-2"),
    ]
    store.close()


@pytest.mark.parametrize("make", [MemoryStore, lambda: SQLiteStore(":memory:")])
def test_a_recovery_saved_after_its_claim_is_left_to_the_writer(make: Any) -> None:
    """A recovery saved by someone else between the claim and the batch (a webhook, say)
    keeps their state: the batch decides and writes only the others, set-based, and
    queues nothing for it."""
    store: Store = make()
    runner, clock, _sms = world(store, [(1, 0, True, False), (2, 0, True, False)])
    clock.set(T0 + timedelta(hours=2))
    claimed = store.claim_due(clock.now(), limit=10, lease=runner.lease, worker="w")
    assert len(claimed) == 2
    with store.transaction() as tx:
        found = tx.load("co-0")
        assert found is not None
        theirs = attrs.evolve(found.state, zone_source="someone else")
        tx.save(theirs, expected_version=found.version)
    pending = Pending()
    with store.transaction() as tx:
        runner.deciding.decide_claimed(batched(tx), claimed, clock.now(), pending)
    assert [entry.message.checkout_id for entry in pending.entries] == ["co-1"]
    assert set(pending.decided) == {"co-1"}
    with store.transaction() as tx:
        mine, other = tx.load("co-1"), tx.load("co-0")
    assert other is not None
    assert other.state == theirs
    assert mine is not None
    assert mine.version == pending.decided["co-1"].version
    assert mine.state == pending.decided["co-1"].state
    store.close()

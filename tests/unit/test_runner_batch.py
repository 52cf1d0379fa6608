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

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recoverykit.engine.events import CheckoutAbandoned, WakeupDue
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.errors import ConflictError
from recoverykit.policies.caps import ContactRecord, SendKind
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.protocols import OutboxStatus, Store, batched
from recoverykit.runtime.apply import BatchWrites, DirectWrites, Pending
from recoverykit.runtime.routing import Target
from recoverykit.runtime.runner import Runner
from recoverykit.stores import MemoryStore, SQLiteStore
from recoverykit.testing.fakes import FakeChannel, FakeClock
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
    with store.transaction() as tx:
        writes = BatchWrites(batched(tx), [who.id, "cust-x", who.id], since=since)
        assert writes.context(who.id) == DirectWrites(tx, since=since).context(who.id)
        for record in sent:
            writes.add_contact(who.id, record)
        writes.append_consent(revocation)
        collected = writes.context(who.id)
        assert writes.context("cust-x") == DirectWrites(tx, since=since).context("cust-x")
        writes.flush()
        assert collected == DirectWrites(tx, since=since).context(who.id)
    store.close()

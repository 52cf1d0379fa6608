"""The runner: routing, one transaction per unit of work, the outbox, reconcile."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

from recoverykit.channels.errors import OutcomeUnknown
from recoverykit.engine.commands import HandOff, HandOffReason, MessageKind, SendMessage
from recoverykit.engine.conversation import Direction
from recoverykit.engine.events import CheckoutAbandoned, OrderPlaced, ReplyReceived
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.engine.state import RecoveryStatus
from recoverykit.errors import ChannelError, NaiveDatetimeError
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.policies.replies import classify_reply
from recoverykit.protocols import ChannelAdapter, OutboxEntry, OutboxStatus, Store
from recoverykit.runtime.runner import Runner
from recoverykit.stores import MemoryStore, SQLiteStore
from recoverykit.testing.fakes import FakeChannel, FakeClock, FakeLookupChannel
from recoverykit.testing.faults import CrashingStore, SimulatedCrash
from recoverykit.values.model import Channel, Checkout, Customer, LineItem, Stage
from recoverykit.values.money import Money

T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # 10:00 in London: inside contact hours
POLICY = RecoveryPolicy(store_name="Runner Test Shop")

StoreFactory = Callable[[], Store]


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    made: Store = SQLiteStore(":memory:") if request.param == "sqlite" else MemoryStore()
    yield made
    made.close()


def customer(number: int = 1) -> Customer:
    return Customer(
        id=f"cust-{number}",
        first_name="Sam",
        phone=f"+44740012345{number}",
        locale="en",
        timezone="Europe/London",
        country="GB",
    )


def checkout(number: int, who: Customer, at: datetime = T0) -> Checkout:
    price = Money(Decimal("40.00"), "GBP")
    return Checkout(
        id=f"co-{number}",
        customer=who,
        items=(LineItem("SKU-1", "Teapot", 1, price),),
        total=price,
        stage=Stage.PAYMENT,
        abandoned_at=at,
        link=f"https://shop.example/r/{number}",
    )


def grant(who: Customer, channel: Channel = Channel.SMS) -> ConsentEvent:
    return ConsentEvent(
        customer_id=who.id,
        channel=channel,
        purpose=Purpose.RECOVERY,
        action=ConsentAction.GRANTED,
        at=T0 - timedelta(minutes=5),
        source="checkout_checkbox",
        text="Text me a reminder about this basket.",
        version="1",
    )


def setup(
    store: Store, channel: ChannelAdapter | None = None, **kwargs: object
) -> tuple[Runner, FakeClock, FakeChannel]:
    clock = FakeClock(T0)
    fake = FakeChannel(Channel.SMS, clock=clock)
    adapter = fake if channel is None else channel
    runner = Runner(POLICY, store, {Channel.SMS: adapter}, clock, **kwargs)  # type: ignore[arg-type]
    return runner, clock, fake


def start(store: Store, runner: Runner, *numbers: int, who: Customer | None = None) -> None:
    person = who or customer()
    with store.transaction() as tx:
        tx.append_consent(grant(person))
    for number in numbers:
        runner.handle(CheckoutAbandoned(checkout(number, person), T0))


def tick_until_idle(runner: Runner, clock: FakeClock, until: datetime) -> int:
    sent = 0
    while (due := runner.store.next_due()) is not None and due <= until:
        clock.set(max(due, clock.now()))
        sent += runner.run_due()
    return sent


def reply(text: str, who: Customer, at: datetime, channel: Channel = Channel.SMS) -> ReplyReceived:
    return ReplyReceived(who.id, channel, classify_reply(text, channel=channel), at)


def test_first_touch_is_sent_once_at_its_due_time(store: Store) -> None:
    """An abandonment schedules touch 1; the tick sends it once, a second tick sends nothing."""
    runner, clock, channel = setup(store)
    start(store, runner, 1)
    due = store.next_due()
    assert due is not None
    assert timedelta(minutes=5) <= due - T0 <= timedelta(hours=2)
    clock.set(due)
    assert runner.run_due() == 1
    assert runner.run_due() == 0
    assert [message.touch for message in channel.sent] == [1]
    assert store.outbox(status=OutboxStatus.PENDING) == []
    assert [channel.sent[0].idempotency_key] == [
        e.key for e in store.outbox(status=OutboxStatus.SENT)
    ]


def test_replayed_webhook_changes_nothing(store: Store) -> None:
    """An event delivered twice (same id) is applied once; the replay is logged as a duplicate."""
    runner, _, _ = setup(store)
    event = CheckoutAbandoned(checkout(1, customer()), T0)
    assert len(runner.handle(event)) == 1
    assert runner.handle(event) == []
    ignored = [r for r in store.events() if r.kind == "ignored"]
    assert [r.data["reason"] for r in ignored] == ["duplicate"]


def test_order_on_one_checkout_stops_every_open_recovery_of_the_customer(store: Store) -> None:
    """OrderPlaced (any checkout) finishes all of that customer's open recoveries (SEAMS 2)."""
    runner, clock, channel = setup(store)
    start(store, runner, 1, 2)
    runner.handle(OrderPlaced("co-2", T0 + timedelta(minutes=1)))
    assert tick_until_idle(runner, clock, T0 + timedelta(days=10)) == 0
    assert channel.sent == []
    with store.transaction() as tx:
        states = [tx.load(f"co-{n}") for n in (1, 2)]
    assert [s.state.finish_reason for s in states if s is not None] == ["ordered", "ordered"]


def test_opt_out_gets_one_confirmation_and_stops_everything(store: Store) -> None:
    """STOP answers with one confirmation, finishes every open recovery, and nothing follows."""
    runner, clock, channel = setup(store)
    who = customer()
    start(store, runner, 1, 2, who=who)
    tick_until_idle(runner, clock, T0 + timedelta(hours=2))
    touches_before = len(channel.sent)
    clock.set(T0 + timedelta(hours=3))
    decisions = runner.handle(reply("STOP", who, clock.now()))
    assert len(decisions) == 2
    assert tick_until_idle(runner, clock, T0 + timedelta(days=10)) == 0
    after = channel.sent[touches_before:]
    assert [(m.kind, m.key) for m in after] == [(MessageKind.REPLY, "optout_confirm")]


def test_late_stop_after_the_end_is_still_confirmed(store: Store) -> None:
    """With nothing open, a STOP goes to the recovery last touched and gets its confirmation."""
    runner, clock, channel = setup(store)
    who = customer()
    start(store, runner, 1, who=who)
    tick_until_idle(runner, clock, T0 + timedelta(days=10))
    with store.transaction() as tx:
        assert tx.open_recoveries(who.id) == []
    clock.set(T0 + timedelta(days=10))
    runner.handle(reply("STOP", who, clock.now()))
    assert channel.sent[-1].key == "optout_confirm"


def test_reply_opens_the_service_window(store: Store) -> None:
    """A WhatsApp reply opens the customer's service window on WhatsApp for 24 h."""
    runner, clock, _ = setup(store)
    who = customer()
    start(store, runner, 1, who=who)
    at = T0 + timedelta(minutes=20)
    clock.set(at)
    runner.handle(reply("hello?", who, at, Channel.WHATSAPP))
    with store.transaction() as tx:
        assert at + timedelta(hours=24) == tx.service_window(who.id, Channel.WHATSAPP)


def test_question_is_handed_to_the_sink(store: Store) -> None:
    """A question pauses the recovery and reaches the hand-off sink after commit, with
    all a person needs: the reason, the cart, the address and the conversation."""
    handed: list[HandOff] = []

    class Sink:
        def hand_off(self, handoff: HandOff) -> None:
            handed.append(handoff)

    runner, clock, _ = setup(store, handoffs=Sink())
    who = customer()
    start(store, runner, 1, who=who)
    tick_until_idle(runner, clock, T0 + timedelta(hours=2))
    clock.set(T0 + timedelta(hours=2))
    runner.handle(reply("Does it ship to Leeds?", who, clock.now()))
    assert [("co-1", "Does it ship to Leeds?")] == [(h.checkout_id, h.text) for h in handed]
    handoff = handed[0]
    assert HandOffReason.QUESTION == handoff.reason
    assert handoff.paused
    assert who.phone == handoff.to
    assert handoff.checkout is not None
    assert handoff.link == handoff.checkout.link
    assert [Direction.OUT, Direction.IN] == [line.direction for line in handoff.conversation]
    assert "Does it ship to Leeds?" == handoff.conversation[-1].text
    assert [r.data["reason"] for r in store.events() if r.kind == "handoff"] == ["question"]


def test_one_plain_word_stop_is_one_hand_off_however_many_recoveries_it_ends(
    store: Store,
) -> None:
    """An opt-out in plain words ends every open recovery of the customer but reaches a
    person once; a recovery a person already had tells them too (a follow-up)."""
    handed: list[HandOff] = []

    class Sink:
        def hand_off(self, handoff: HandOff) -> None:
            handed.append(handoff)

    runner, clock, _ = setup(store, handoffs=Sink())
    who = customer()
    start(store, runner, 1, 2, 3, who=who)
    tick_until_idle(runner, clock, T0 + timedelta(hours=2))
    clock.set(T0 + timedelta(hours=2))
    runner.handle(
        ReplyReceived(who.id, Channel.SMS, classify_reply("Does it ship?"), clock.now(),
                      checkout_id="co-3")
    )  # fmt: skip
    handed.clear()
    runner.handle(reply("please stop texting me", who, clock.now() + timedelta(minutes=5)))
    assert ["opted_out"] * 3 == [state.finish_reason for state in store.states()]
    reasons = sorted((h.checkout_id, h.reason.value) for h in handed)
    assert 2 == len(reasons)
    assert ("co-3", "follow_up") in reasons
    assert 1 == sum(1 for _, reason in reasons if reason == "needs_review")


def test_a_failing_sink_harms_nothing_else(store: Store) -> None:
    """A sink that raises is logged; the decision stands and the next events are handled."""

    class Broken:
        def hand_off(self, handoff: HandOff) -> None:
            raise RuntimeError("helpdesk down")

    runner, clock, _ = setup(store, handoffs=Broken())
    who = customer()
    start(store, runner, 1, who=who)
    tick_until_idle(runner, clock, T0 + timedelta(hours=2))
    clock.set(T0 + timedelta(hours=2))
    runner.handle(reply("Does it ship to Leeds?", who, clock.now()))
    with store.transaction() as tx:
        found = tx.load("co-1")
    assert found is not None
    assert RecoveryStatus.PAUSED == found.state.status
    assert ["handoff"] == [r.kind for r in store.events() if r.kind == "handoff"]


def test_event_for_an_unknown_checkout_is_logged_not_raised(store: Store) -> None:
    """A webhook for a checkout the store never saw is logged as ignored (unknown)."""
    runner, _, _ = setup(store)
    assert runner.handle(OrderPlaced("nope", T0)) == []
    assert [r.data["reason"] for r in store.events() if r.kind == "ignored"] == ["unknown"]


def test_missing_adapter_is_a_permanent_failure(store: Store) -> None:
    """A message for a channel without an adapter fails for good; the engine stops trying it."""
    clock = FakeClock(T0)
    runner = Runner(POLICY, store, {}, clock)
    start(store, runner, 1)
    tick_until_idle(runner, clock, T0 + timedelta(hours=2))
    failed = store.outbox(status=OutboxStatus.FAILED)
    assert len(failed) == 1
    with store.transaction() as tx:
        found = tx.load("co-1")
    assert found is not None
    assert found.state.finish_reason == "undeliverable"


def test_transient_failure_is_retried_with_a_new_attempt(store: Store) -> None:
    """A transient ChannelError is fed back; the touch goes out again later as attempt 1."""
    runner, clock, channel = setup(store)
    channel.fail_next(ChannelError("timeout", permanent=False, code="408"))
    start(store, runner, 1)
    tick_until_idle(runner, clock, T0 + timedelta(hours=6))
    assert [message.attempt for message in channel.attempts] == [0, 1]
    assert len(channel.sent) == 1
    assert channel.attempts[0].idempotency_key != channel.attempts[1].idempotency_key


def _pending_entry(store: Store, runner: Runner) -> OutboxEntry:
    """Decide touch 1 and leave its outbox entry pending: the process dies after the commit."""
    start(store, runner, 1)
    due = store.next_due()
    assert due is not None
    assert isinstance(runner.clock, FakeClock)
    runner.clock.set(due)
    dying = Runner(
        POLICY, CrashingStore(store, "after_commit", exit_process=False), {}, runner.clock
    )
    with pytest.raises(SimulatedCrash):
        dying.run_due()
    [entry] = store.outbox(status=OutboxStatus.PENDING)
    assert entry.attempted_at is None
    return entry


def test_reconcile_sends_entries_never_handed_over(store: Store) -> None:
    """A pending entry never attempted (crash after commit) is sent by reconcile, once."""
    runner, clock, channel = setup(store)
    entry = _pending_entry(store, runner)
    clock.set(entry.created_at + timedelta(minutes=10))
    assert runner.reconcile() == []
    assert [entry.key] == channel.keys()
    assert runner.reconcile() == []
    assert [entry.key] == channel.keys()


def test_reconcile_leaves_young_entries_to_their_worker(store: Store) -> None:
    """Entries younger than the lease may belong to a live worker: reconcile leaves them."""
    runner, clock, channel = setup(store)
    entry = _pending_entry(store, runner)
    clock.set(entry.created_at + timedelta(minutes=1))
    runner.reconcile()
    assert channel.sent == []
    assert [entry.key] == [e.key for e in store.outbox(status=OutboxStatus.PENDING)]


def test_interrupted_send_without_lookup_becomes_uncertain(store: Store) -> None:
    """Attempted but never marked, and the channel cannot be asked: uncertain, not resent."""
    runner, clock, channel = setup(store)
    entry = _pending_entry(store, runner)
    store.mark_attempted([entry.key], at=entry.created_at)
    clock.set(entry.created_at + timedelta(minutes=10))
    uncertain = runner.reconcile()
    assert [entry.key] == [e.key for e in uncertain]
    assert channel.sent == []
    assert [entry.key] == [e.key for e in store.outbox(status=OutboxStatus.UNCERTAIN)]
    assert [r.data["status"] for r in store.events() if r.kind == "outbox"] == ["uncertain"]


@pytest.mark.parametrize("provider_saw_it", [True, False])
def test_interrupted_send_with_lookup_is_settled_exactly_once(
    store: Store, provider_saw_it: bool
) -> None:
    """With ``lookup`` the provider is asked: marked sent if it has the key, else sent now."""
    clock = FakeClock(T0)
    channel = FakeLookupChannel(Channel.SMS, clock=clock)
    runner = Runner(POLICY, store, {Channel.SMS: channel}, clock)
    entry = _pending_entry(store, runner)
    store.mark_attempted([entry.key], at=entry.created_at)
    if provider_saw_it:
        channel.send(entry.message)
    clock.set(entry.created_at + timedelta(minutes=10))
    assert runner.reconcile() == []
    assert [entry.key] == channel.keys()
    assert [entry.key] == [e.key for e in store.outbox(status=OutboxStatus.SENT)]


def test_reconcile_cancels_a_touch_whose_consent_was_withdrawn(store: Store) -> None:
    """A touch still pending when the customer opted out is cancelled, never sent."""
    runner, clock, channel = setup(store)
    entry = _pending_entry(store, runner)
    revoke = ConsentEvent(
        customer_id="cust-1",
        channel=Channel.SMS,
        purpose=None,
        action=ConsentAction.REVOKED,
        at=entry.created_at + timedelta(minutes=2),
        source="keyword",
        text="STOP",
    )
    with store.transaction() as tx:
        tx.append_consent(revoke)
    clock.set(entry.created_at + timedelta(minutes=10))
    runner.reconcile()
    assert channel.sent == []
    assert [entry.key] == [e.key for e in store.outbox(status=OutboxStatus.CANCELLED)]


def test_unknown_crash_step_is_refused() -> None:
    """The crash hook names one of the documented steps; a typo is an error, not a no-op."""
    with pytest.raises(ValueError, match="after_send"):
        CrashingStore(MemoryStore(), "after_sned")  # type: ignore[arg-type]


def test_fake_clock_moves_only_forward_and_only_when_told() -> None:
    """FakeClock stands still, advances by a non-negative delta, and refuses naive times."""
    clock = FakeClock(T0)
    assert clock.now() == T0
    assert T0 + timedelta(hours=1) == clock.advance(timedelta(hours=1))
    with pytest.raises(ValueError, match="forward"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(NaiveDatetimeError):
        clock.set(datetime(2026, 1, 1))


def test_fake_channel_follows_its_script() -> None:
    """FakeChannel raises the scripted errors in order, then accepts and records."""
    boom = ChannelError("down", permanent=False)
    channel = FakeChannel(Channel.SMS, failures=[boom, None])
    message = SendMessage("k1", "co", "cu", Channel.SMS, "+447400123451", MessageKind.TOUCH,
                          "remind", "hi", "en", touch=1)  # fmt: skip
    with pytest.raises(ChannelError):
        channel.send(message)
    assert channel.send(message).provider_id == "fake-k1"
    assert channel.keys() == ["k1"]
    assert len(channel.attempts) == 2


def test_a_send_whose_outcome_is_unknown_is_uncertain_and_never_retried(store: Store) -> None:
    """A timeout after the request left may mean the provider accepted it: the entry is
    marked uncertain, the engine keeps the touch as sent, and no retry goes out."""
    runner, clock, channel = setup(store)
    channel.fail_next(OutcomeUnknown("read timed out after the request was sent"))
    start(store, runner, 1)
    tick_until_idle(runner, clock, T0 + timedelta(hours=6))
    assert [] == channel.sent
    assert 1 == len(store.outbox(status=OutboxStatus.UNCERTAIN))
    with store.transaction() as tx:
        found = tx.load("co-1")
    assert found is not None
    assert [(1, False)] == [(s.touch, s.failed) for s in found.state.sent]
    logged = [r.data["status"] for r in store.events() if r.kind == "outbox"]
    assert ["uncertain"] == logged


def test_two_reconciles_racing_send_a_left_over_entry_once(store: Store) -> None:
    """Two processes reconcile at start-up and both read the same never-sent entry: the
    one that claims it first sends it; the other finds it claimed and sends nothing."""
    runner, clock, channel = setup(store)
    entry = _pending_entry(store, runner)
    clock.set(entry.created_at + timedelta(minutes=10))
    late_reader = FakeChannel(Channel.SMS, clock=clock)
    other = Runner(POLICY, store, {Channel.SMS: late_reader}, clock, worker="worker-2")
    read_before = store.outbox(status=OutboxStatus.PENDING)
    other.store = _StaleOutbox(store, read_before)
    runner.reconcile()
    other.reconcile()
    assert [entry.key] == [m.idempotency_key for m in channel.sent]
    assert [] == late_reader.sent
    assert [entry.key] == [e.key for e in store.outbox(status=OutboxStatus.SENT)]


def test_a_whatsapp_template_send_logs_the_template_name(store: Store) -> None:
    """Measurement prices WhatsApp by template: the send record names the template used."""
    from recoverykit import presets

    clock = FakeClock(T0)
    whatsapp = FakeChannel(Channel.WHATSAPP, clock=clock)
    policy = RecoveryPolicy(
        store_name="Runner Test Shop", sequence=presets.get("whatsapp-three-touch")
    )
    runner = Runner(policy, store, {Channel.WHATSAPP: whatsapp}, clock)
    who = customer()
    with store.transaction() as tx:
        tx.append_consent(attrs.evolve(grant(who, Channel.WHATSAPP), address=who.phone))
    runner.handle(CheckoutAbandoned(checkout(1, who), T0))
    tick_until_idle(runner, clock, T0 + timedelta(hours=2))
    sends = [r.data for r in store.events() if r.kind == "send"]
    # The cart was left at the payment step, so touch 1 is the one about the card.
    assert [(1, "cart_remind_payment_v1")] == [(d["touch"], d["template"]) for d in sends]


class _StaleOutbox:
    """A store whose pending outbox reads as it was earlier (a slow second reconcile)."""

    def __init__(self, store: Store, entries: list[OutboxEntry]) -> None:
        self._store = store
        self._entries = entries

    def outbox(self, **_: object) -> list[OutboxEntry]:
        return self._entries

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

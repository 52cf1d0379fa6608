"""The guarantees, proven on the runtime users run: the real Runner over an SQLite file.

A Hypothesis state machine interleaves abandonments, orders, STOPs and STARTs from
numbers that several customer records share, consent revocations, replies, clock
jumps, provider faults (transient, permanent, 5xx, timeout after sending, an
adapter bug, a slow accept) and crashes at every step of a unit of work, each
followed by a restart and ``reconcile``. At the moment each message reaches the
provider, and after every step, it checks:

* no idempotency key reaches the provider twice;
* no touch goes to a customer after their committed order, to an address after
  its committed STOP (until a START), or to a customer after a revocation;
* no touch goes out outside 09-20 local time in any of the recipient's zones;
* personal touches to one customer at least 6 h apart and at most two in any 24 h
  (the default caps);
* nothing is lost: no entry stays pending, and every message the provider got is
  recorded ``sent`` or ``uncertain``.

``tests/postgres/test_runtime_concurrent.py`` runs the same checks with four
worker processes on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections import deque
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from recoverykit.engine.commands import MessageKind, SendMessage
from recoverykit.engine.events import CheckoutAbandoned, ConsentChanged, OrderPlaced
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.protocols import OutboxStatus
from recoverykit.runtime.runner import Runner
from recoverykit.stores import SQLiteStore
from recoverykit.testing.fakes import FakeClock
from recoverykit.testing.faults import (
    CRASH_STEPS,
    CrashingChannel,
    CrashingStore,
    Fault,
    FaultyChannel,
    SimulatedCrash,
)
from recoverykit.values.model import Channel, Checkout, Customer, LineItem, Stage
from recoverykit.values.money import Money
from recoverykit.values.zones import get_zone

T0 = datetime(2026, 3, 9, 7, 30, tzinfo=UTC)
POLICY = RecoveryPolicy(store_name="Stateful Shop")
PRICE = Money(Decimal("30.00"), "GBP")
LEASE = timedelta(minutes=5)
CAP = timedelta(hours=6)
DAY = timedelta(hours=24)
#: Two numbers, each shared by two customer records (a guest and an account, a household).
NUMBERS = ("+447400111001", "+447400111002")
#: Customer records: (id, number, zone the store supplied).
PEOPLE = (
    ("guest-a", NUMBERS[0], "Europe/London"),
    ("account-a", NUMBERS[0], "Europe/London"),
    ("guest-b", NUMBERS[1], "Europe/London"),
    ("account-b", NUMBERS[1], "Europe/Dublin"),
)
FAULTS = st.sampled_from(list(Fault))


def customer(index: int) -> Customer:
    name, number, zone = PEOPLE[index]
    return Customer(id=name, first_name="Kim", phone=number, timezone=zone, country="GB")


class RuntimeModel(RuleBasedStateMachine):
    """What must hold, whatever happens in between."""

    @initialize()
    def start(self) -> None:
        self.folder = tempfile.TemporaryDirectory()
        self.db = Path(self.folder.name) / "store.sqlite3"
        self.store = SQLiteStore(self.db)
        self.clock = FakeClock(T0)
        self.faults: deque[Fault] = deque()
        self.channel = FaultyChannel(
            Channel.SMS, script=self._next_fault, clock=self.clock, on_send=self._at_send
        )
        self.runner = self._runner()
        self.counter = 0
        self.delivered_keys: set[str] = set()
        #: What went wrong at a moment of sending (raising there would be caught by the
        #: runner as an adapter failure, so it is recorded and asserted after the step).
        self.violations: list[str] = []
        #: The abandonment counter when each customer's order was committed.
        self.ordered: dict[str, int] = {}
        self.stopped: dict[str, datetime] = {}
        self.revoked: dict[str, datetime] = {}
        self.touch_times: dict[str, list[datetime]] = {}
        self.checkouts: dict[str, tuple[str, int]] = {}
        with self.store.transaction() as tx:
            for index in range(len(PEOPLE)):
                who = customer(index)
                tx.append_consent(
                    ConsentEvent(who.id, Channel.SMS, Purpose.RECOVERY, ConsentAction.GRANTED,
                                 T0 - timedelta(days=1), "checkout_checkbox", "Text me.", "1",
                                 address=who.phone)
                )  # fmt: skip

    def teardown(self) -> None:
        store = getattr(self, "store", None)
        if store is not None:
            store.close()
            self.folder.cleanup()

    def _runner(self, store: Any = None, channel: Any = None) -> Runner:
        return Runner(
            POLICY,
            store if store is not None else self.store,
            {Channel.SMS: channel if channel is not None else self.channel},
            self.clock,
            lease=LEASE,
        )

    def _next_fault(self, _message: SendMessage) -> Fault:
        return self.faults.popleft() if self.faults else Fault.ACCEPT

    # -- checked at the moment each message reaches the provider ----------------------------------
    def _at_send(self, message: SendMessage) -> None:
        now = self.clock.now()
        key = message.idempotency_key
        if key in self.delivered_keys:
            self.violations.append(f"{key} reached the provider twice")
        self.delivered_keys.add(key)
        if message.kind is not MessageKind.TOUCH:
            return
        who = message.customer_id
        owner, abandoned = self.checkouts[message.checkout_id]
        if owner != who:
            self.violations.append(f"{key} went to {who}, not to {owner}")
        ordered = self.ordered.get(who)
        if ordered is not None and abandoned <= ordered:
            self.violations.append(f"{key} after {who}'s committed order")
        if message.to in self.stopped:
            self.violations.append(f"{key} to {message.to} after its STOP")
        if who in self.revoked:
            self.violations.append(f"{key} to {who} after a revocation")
        for zone in self._zones(message.checkout_id):
            local = now.astimezone(get_zone(zone))
            if not 9 <= local.hour < 20:
                self.violations.append(f"{key} at {local} in {zone}")
        earlier = self.touch_times.setdefault(who, [])
        if earlier and now - earlier[-1] < CAP:
            self.violations.append(f"{key}: two touches to {who} within 6 h")
        if sum(1 for at in earlier if now - at < DAY) >= 2:
            self.violations.append(f"{key}: a third touch to {who} within 24 h")
        earlier.append(now)

    def _zones(self, checkout_id: str) -> tuple[str, ...]:
        with self.store.transaction() as tx:
            found = tx.load(checkout_id)
        assert found is not None
        return found.state.zones

    # -- rules -----------------------------------------------------------------------------------
    @rule(index=st.integers(0, len(PEOPLE) - 1))
    def abandon(self, index: int) -> None:
        who = customer(index)
        if who.id in self.revoked:
            return  # its consent is gone for good in this story
        self.counter += 1
        checkout_id = f"co-{self.counter}"
        now = self.clock.now()
        self.checkouts[checkout_id] = (who.id, self.counter)
        self.runner.handle(
            CheckoutAbandoned(
                Checkout(id=checkout_id, customer=who, items=(LineItem("S", "Mug", 1, PRICE),),
                         total=PRICE, stage=Stage.SHIPPING, abandoned_at=now,
                         link=f"https://shop.example/r/{checkout_id}"),
                now,
            )
        )  # fmt: skip

    @rule(minutes=st.integers(1, 60 * 40))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        self._tick()

    @rule(faults=st.lists(FAULTS, min_size=1, max_size=4))
    def provider_misbehaves(self, faults: list[Fault]) -> None:
        self.faults.extend(faults)
        self.clock.advance(timedelta(hours=2))
        self._tick()

    @rule(index=st.integers(0, len(PEOPLE) - 1))
    def order(self, index: int) -> None:
        who = customer(index).id
        self.runner.handle(OrderPlaced(f"order-{self.counter}", self.clock.now(), customer_id=who))
        self.ordered[who] = self.counter

    @rule(number=st.sampled_from(NUMBERS))
    def stop(self, number: str) -> None:
        self._text(number, "STOP")
        self.stopped.setdefault(number, self.clock.now())

    @rule(number=st.sampled_from(NUMBERS))
    def start_again(self, number: str) -> None:
        self._text(number, "START")
        self.stopped.pop(number, None)

    @rule(number=st.sampled_from(NUMBERS), text=st.sampled_from(["1", "help", "ok thanks"]))
    def reply(self, number: str, text: str) -> None:
        self._text(number, text)

    @rule(index=st.integers(0, len(PEOPLE) - 1))
    def revoke(self, index: int) -> None:
        who = customer(index)
        revocation = ConsentEvent(who.id, Channel.SMS, None, ConsentAction.REVOKED,
                                  self.clock.now(), "support_agent", "No more texts.")  # fmt: skip
        self.runner.handle(ConsentChanged(revocation))
        self.revoked[who.id] = self.clock.now()

    @rule(step=st.sampled_from(sorted(CRASH_STEPS)), hours=st.integers(0, 30))
    def crash_and_restart(self, step: str, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))
        if step == "after_send":
            dying = self._runner(channel=CrashingChannel(self.channel, exit_process=False))
        else:
            dying = self._runner(store=CrashingStore(self.store, step, exit_process=False))  # type: ignore[arg-type]
        with contextlib.suppress(SimulatedCrash):
            self._tick(dying)
        self.clock.advance(LEASE + timedelta(minutes=1))
        self.runner = self._runner()
        self.runner.reconcile()
        self._tick()

    def _text(self, number: str, text: str) -> None:
        from recoverykit.webhooks.types import InboundMessage

        self.counter += 1
        self.runner.receive(
            InboundMessage(Channel.SMS, number, text, f"sm-{self.counter}", self.clock.now())
        )

    def _tick(self, runner: Runner | None = None) -> None:
        runner = runner or self.runner
        for _ in range(200):
            due = self.store.next_due()
            if due is None or due > self.clock.now():
                return
            runner.run_due(limit=3)
        msg = "the tick never ran dry"
        raise AssertionError(msg)

    # -- after every step ------------------------------------------------------------------------
    @invariant()
    def every_send_was_allowed(self) -> None:
        assert [] == getattr(self, "violations", [])

    @invariant()
    def nothing_is_lost(self) -> None:
        if not hasattr(self, "store"):
            return
        assert [] == self.store.outbox(status=OutboxStatus.PENDING)
        settled = {
            entry.key
            for status in (OutboxStatus.SENT, OutboxStatus.UNCERTAIN)
            for entry in self.store.outbox(status=status, limit=100_000)
        }
        assert self.delivered_keys <= settled, "a message the provider got is not recorded"


# Each example runs a store file through dozens of ticks: a fifth of the profile's count
# (12 by default, 400 with HYPOTHESIS_PROFILE=thorough) keeps the suite within budget.
RuntimeModel.TestCase.settings = settings(
    max_examples=max(5, settings().max_examples // 5), stateful_step_count=25, deadline=None
)
TestRuntimeModel = RuntimeModel.TestCase

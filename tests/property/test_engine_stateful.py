"""A Hypothesis state machine drives the engine against a tiny reference model."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from recoverykit import (
    CartEmptied,
    Channel,
    CheckoutAbandoned,
    LinkClicked,
    OrderPlaced,
    RecoveryPolicy,
    ReplyReceived,
    classify_reply,
)
from recoverykit.testing import EngineDriver
from tests.engine_helpers import T0, checkout, customer, grant

POLICY = RecoveryPolicy(store_name="Sklep Ola")


class RecoveryModel(RuleBasedStateMachine):
    """The model: a recovery is open until an order, an empty cart, a STOP or a refusal;
    while open it may send at most three touches; once closed it sends no touch again,
    and each STOP is answered by exactly one confirmation."""

    @initialize(zone=st.sampled_from(["Europe/Warsaw", "America/Denver", "Asia/Kathmandu"]))
    def start(self, zone: str) -> None:
        who = customer(timezone=zone)
        self.driver = EngineDriver(POLICY, consent=[grant(who, Channel.SMS)])
        self.now = T0
        self.driver.feed(CheckoutAbandoned(checkout(who), T0))
        self.open = True
        self.closed_at_touches: int | None = None
        self.stops = 0
        self.counter = 0

    def _touches(self) -> int:
        return len(self.driver.touches("chk-1"))

    def _close(self) -> None:
        if self.open:
            self.open = False
            self.closed_at_touches = self._touches()

    @rule(hours=st.integers(1, 30))
    def wait(self, hours: int) -> None:
        self.now += timedelta(hours=hours)
        self.driver.run_until(self.now)

    @rule()
    def order(self) -> None:
        self.driver.feed(OrderPlaced("chk-1", self.now, customer_id="c1"))
        self._close()

    @rule()
    def empty(self) -> None:
        self.driver.feed(CartEmptied("chk-1", self.now))
        self._close()

    @rule()
    def stop(self) -> None:
        self.counter += 1
        before = len(self.driver.replies())
        self.driver.feed(
            ReplyReceived(
                "c1", Channel.SMS, classify_reply("STOP"), self.now, id=f"r{self.counter}"
            )
        )
        # Answered once: by the recovery when one can answer, else by the runner itself.
        assert before + 1 == len(self.driver.replies())
        assert "optout_confirm" == self.driver.replies()[-1].message.key
        self.stops += 1
        self._close()

    @rule(text=st.sampled_from(["already bought it", "not interested"]))
    def refuse(self, text: str) -> None:
        self.counter += 1
        self.driver.feed(
            ReplyReceived("c1", Channel.SMS, classify_reply(text), self.now, id=f"r{self.counter}")
        )
        self._close()

    @rule()
    def click(self) -> None:
        self.counter += 1
        self.driver.feed(LinkClicked("chk-1", self.now, id=f"k{self.counter}"))

    @invariant()
    def agrees_with_model(self) -> None:
        touches = self._touches()
        assert touches <= 3
        if self.closed_at_touches is not None:
            assert self.closed_at_touches == touches
        state = self.driver.states["chk-1"]
        assert (not self.open) <= (not state.open)


RecoveryModel.TestCase.settings = settings(max_examples=40, stateful_step_count=15, deadline=None)
TestRecoveryModel = RecoveryModel.TestCase

"""The detector's guarantees where they must hold: in the runtime users run (issue 21).

Random streams of shop facts and ticks go through the real ``Runner`` and a real
store; what the customer receives is checked, not only what the pure detector says.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

from hypothesis import given
from hypothesis import strategies as st

from recoverykit.detector import CheckoutActivity, ShopOrder, base_checkout_id
from recoverykit.engine.events import ConsentChanged
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.engine.state import RecoveryStatus
from recoverykit.runtime.runner import Runner
from recoverykit.stores import MemoryStore
from recoverykit.testing.fakes import FakeChannel, FakeClock
from recoverykit.values.model import Channel, Stage
from tests.detector_helpers import activity, shopper
from tests.engine_helpers import grant

#: 09:00 in Warsaw: a day of contact hours ahead.
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TOKENS = ("tok-a", "tok-b")
#: Two customer records of one person (same phone), and a stranger.
PEOPLE = {
    "cus-1": shopper("cus-1", phone="+48601234567", email="anna@example.com"),
    "cus-2": shopper("cus-2", phone="+48601234567", email="anna.work@example.com"),
    "cus-3": shopper("cus-3", phone="+48609999999", email="bob@example.com"),
}
OWNER = {"tok-a": "cus-1", "tok-b": "cus-2"}


@st.composite
def steps(draw: st.DrawFn) -> tuple[str, object]:
    kind = draw(st.sampled_from(["activity", "order", "tick"]))
    token = draw(st.sampled_from(TOKENS))
    if kind == "activity":
        return kind, (
            token,
            draw(st.sampled_from([Stage.CONTACT, Stage.SHIPPING, Stage.PAYMENT])),
            draw(st.integers(1, 3)),
        )
    if kind == "order":
        return kind, (token, draw(st.booleans()))
    return kind, draw(st.integers(1, 180))


class TestDetectionInTheRuntime:
    """Nothing is sent to a person after the runner saw their order (on any of their
    records), and one checkout never has two recoveries running at once."""

    @given(st.lists(steps(), max_size=25))
    def test_no_message_after_an_order_and_one_recovery_per_checkout(
        self, script: list[tuple[str, object]]
    ) -> None:
        clock = FakeClock(T0)
        sms = FakeChannel(Channel.SMS, clock=clock)
        store = MemoryStore()
        runner = Runner(RecoveryPolicy(store_name="Northwind"), store, {Channel.SMS: sms}, clock)
        for person in PEOPLE.values():
            runner.handle(ConsentChanged(grant(person, Channel.SMS, at=T0 - timedelta(days=1))))
        #: phone -> how many messages had gone out when the runner saw an order by it
        sent_before: dict[str, int] = {}
        for number, (kind, data) in enumerate(script):
            if kind == "activity":
                token, stage, quantity = cast(tuple[str, Stage, int], data)
                fact: CheckoutActivity | ShopOrder = activity(
                    token, at=clock.now(), stage=stage, quantity=quantity,
                    who=PEOPLE[OWNER[token]],
                )  # fmt: skip
                runner.observe(fact)
            elif kind == "order":
                token, own_checkout = cast(tuple[str, bool], data)
                person = PEOPLE[OWNER[token]]
                runner.observe(
                    ShopOrder(
                        f"ord-{number}",
                        clock.now(),
                        checkout_id=token if own_checkout else None,
                        customer_id=person.id,
                        phone=person.phone,
                    )
                )
                assert person.phone is not None
                sent_before.setdefault(person.phone, len(sms.sent))
            else:
                clock.advance(timedelta(minutes=cast(int, data)))
                runner.detect()
                runner.run_due()
            running = [
                base_checkout_id(state.checkout_id)
                for state in store.states()
                if state.status is not RecoveryStatus.FINISHED
            ]
            assert len(running) == len(set(running))
        for index, message in enumerate(sms.sent):
            cut = sent_before.get(message.to)
            assert cut is None or index < cut, f"{message.key} went out after the order"


def test_an_order_under_one_record_stops_the_running_recovery_of_the_other() -> None:
    """The example the property above needs luck to find: the person's recovery runs
    under one customer record, then they check out again and order under another that
    shares the phone. Nothing more reaches that phone."""
    clock = FakeClock(T0)
    sms = FakeChannel(Channel.SMS, clock=clock)
    store = MemoryStore()
    runner = Runner(RecoveryPolicy(store_name="Northwind"), store, {Channel.SMS: sms}, clock)
    for person in PEOPLE.values():
        runner.handle(ConsentChanged(grant(person, Channel.SMS, at=T0 - timedelta(days=1))))
    runner.observe(activity("tok-a", at=clock.now(), who=PEOPLE["cus-1"]))
    for minutes in (31, 40):
        clock.advance(timedelta(minutes=minutes))
        runner.detect()
        runner.run_due()
    # Left at the payment step: the first touch is the one about the card (remind.payment).
    assert ["remind.payment"] == [message.key for message in sms.sent]
    runner.observe(activity("tok-b", at=clock.now(), who=PEOPLE["cus-2"]))
    clock.advance(timedelta(minutes=31))
    runner.detect()
    runner.run_due()
    sent = len(sms.sent)
    runner.observe(ShopOrder("ord-1", clock.now(), customer_id="cus-2", phone="+48601234567"))
    for _ in range(10):
        clock.advance(timedelta(hours=6))
        runner.detect()
        runner.run_due()
    assert sent == len(sms.sent)
    assert {"ordered"} == {str(state.finish_reason) for state in store.states()}

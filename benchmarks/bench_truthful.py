"""The just-in-time pass: a touch with fresh stock, and a last touch that gets a code.

CPU time, each figure beside its floor measured in the same run: the plain ``decide``
of the same touch, which the just-in-time pass wraps.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import attrs

from benchmarks._timing import per_call_pair, report
from benchmarks.bench_engine import decision_floor
from recoverykit import (
    Channel,
    Checkout,
    CheckoutAbandoned,
    ConsentAction,
    ConsentEvent,
    ConsentLedger,
    Context,
    Customer,
    DiscountPolicy,
    LineItem,
    Money,
    Purpose,
    RecoveryPolicy,
    RecoveryState,
    Stage,
    StockInfo,
    WakeupDue,
    decide,
    decide_just_in_time,
    presets,
)
from recoverykit.testing import FakeDiscountIssuer

LEFT = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


class _Stock:
    def stock(self, checkout: Checkout, *, now: datetime) -> Mapping[str, StockInfo]:
        return {"s1": StockInfo(False, now), "s2": StockInfo(True, now, level=2)}


def main() -> None:
    who = Customer(id="c1", email="anna@example.com", locale="en", timezone="Europe/London")
    items = (
        LineItem("s1", "Teapot", 1, Money("90.00", "USD"), "kitchen"),
        LineItem("s2", "Kettle", 1, Money("40.00", "USD"), "kitchen"),
    )
    checkout = Checkout(
        id="chk-1",
        customer=who,
        items=items,
        total=Money("130.00", "USD"),
        stage=Stage.SHIPPING,
        abandoned_at=LEFT,
        link="https://shop.example/c/1",
    )
    ledger = ConsentLedger().append(
        ConsentEvent(
            customer_id="c1",
            channel=Channel.EMAIL,
            purpose=Purpose.RECOVERY,
            action=ConsentAction.GRANTED,
            at=LEFT - timedelta(days=1),
            source="checkout_checkbox",
            address=who.email,
        )
    )
    sequence = presets.get("messenger-escalation")
    sequence = attrs.evolve(
        sequence, touches=tuple(attrs.evolve(t, channel=Channel.EMAIL) for t in sequence.touches)
    )
    policy = RecoveryPolicy(
        store_name="Northwind",
        sequence=sequence,
        discounts=DiscountPolicy(),
        stock_lines=True,
        channels=(Channel.EMAIL,),
    )
    context = Context(consent=ledger)
    state = decide(
        None, CheckoutAbandoned(checkout, LEFT), now=LEFT, policy=policy, context=context
    ).state
    first = state.wakeup_at
    assert first is not None
    stock = _Stock()
    issuer = FakeDiscountIssuer()

    def no_recoveries(_since: datetime) -> list[RecoveryState]:
        return []

    def touch(state: RecoveryState, at: datetime) -> None:
        decide_just_in_time(
            state,
            WakeupDue("chk-1", at),
            now=at,
            policy=policy,
            context=context,
            stock=stock,
            issuer=issuer,
            recoveries=no_recoveries,
        )

    def plain(state: RecoveryState, at: datetime) -> None:
        decide(state, WakeupDue("chk-1", at), now=at, policy=policy, context=context)

    floor_name = "plain decide"
    seconds, floor = per_call_pair(
        lambda: plain(state, first), decision_floor, number=5_000, floor_number=20_000
    )
    report(
        "decide: touch 1 plain (no stock source)",
        seconds,
        ("astimezone + format_map + evolve", floor),
    )
    seconds, floor = per_call_pair(lambda: touch(state, first), lambda: plain(state, first),
                                   number=5_000)  # fmt: skip
    report("decide_just_in_time: touch 1 with fresh stock", seconds, (floor_name, floor))
    last = state
    for _ in range(2):
        at = last.wakeup_at
        assert at is not None
        last = decide(last, WakeupDue("chk-1", at), now=at, policy=policy, context=context).state
    final_at = last.wakeup_at
    assert final_at is not None
    seconds, floor = per_call_pair(lambda: touch(last, final_at), lambda: plain(last, final_at),
                                   number=5_000)  # fmt: skip
    report("decide_just_in_time: last touch, stock + code", seconds, (floor_name, floor))


if __name__ == "__main__":
    main()

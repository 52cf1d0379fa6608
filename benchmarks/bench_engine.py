"""``decide`` for a due touch that sends, and for one that defers (warm caches).

Each figure stands beside issue 25's floor for a decision, measured in the same run:
one ``astimezone`` into the recipient's zone, one ``str.format_map`` of a reminder and
one ``attrs.evolve`` of a small frozen value, the least work a decision that sends
cannot avoid.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import attrs

from benchmarks._timing import Floor, per_call_pair, report
from recoverykit import (
    Channel,
    Checkout,
    CheckoutAbandoned,
    ConsentAction,
    ConsentEvent,
    ConsentLedger,
    Context,
    Customer,
    LineItem,
    Money,
    Purpose,
    RecoveryPolicy,
    Stage,
    WakeupDue,
    decide,
)
from recoverykit.engine.plan import CompiledPlan

LEFT = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
_WARSAW = ZoneInfo("Europe/Warsaw")
_REMINDER = "{store_name}: {first_name}, your checkout is saved: {link}\nReply STOP to opt out."
_VALUES = {"store_name": "Sklep Ola", "first_name": "Anna", "link": "https://shop.example/c/1"}


@attrs.frozen
class _Small:
    touch: int
    at: datetime


_SMALL = _Small(1, LEFT)


def decision_floor() -> None:
    """Issue 25's floor: one zone conversion, one format, one evolve."""
    LEFT.astimezone(_WARSAW)
    _REMINDER.format_map(_VALUES)
    attrs.evolve(_SMALL, touch=2)


def _beside_floor(label: str, fn: Callable[[], object], number: int) -> None:
    seconds, floor = per_call_pair(fn, decision_floor, number=number, floor_number=number * 4)
    figure: Floor = ("astimezone + format_map + evolve", floor)
    report(label, seconds, figure)


def main() -> None:
    who = Customer(id="c1", first_name="Anna", phone="+48601234567", locale="pl")
    price = Money("84.00", "PLN")
    checkout = Checkout(
        id="chk-1",
        customer=who,
        items=(LineItem("s1", "Czajnik", 1, price, "kitchen"),),
        total=price,
        stage=Stage.SHIPPING,
        abandoned_at=LEFT,
        link="https://shop.example/c/1",
    )
    ledger = ConsentLedger().append(_text_grant(who))
    policy = RecoveryPolicy(store_name="Sklep Ola")
    context = Context(consent=ledger)
    started = decide(
        None, CheckoutAbandoned(checkout, LEFT), now=LEFT, policy=policy, context=context
    )
    state = started.state
    due = state.wakeup_at
    assert due is not None
    wake = WakeupDue("chk-1", due)

    def sends() -> None:
        decide(state, wake, now=due, policy=policy, context=context)

    _beside_floor(
        "decide: start (CheckoutAbandoned)",
        lambda: decide(
            None, CheckoutAbandoned(checkout, LEFT), now=LEFT, policy=policy, context=context
        ),
        5_000,
    )
    _beside_floor("decide: due touch that sends (1 zone)", sends, 10_000)
    # What a caller pays who builds a new policy object per decision instead of reusing
    # one: the plan for it is prepared again (engine/plan.py).
    _beside_floor(
        "prepare a policy's plan (new policy object)", lambda: CompiledPlan(policy), 5_000
    )
    _beside_floor("decide: due touch that sends, a new cart each call", _many_carts(policy), 10_000)
    night = datetime(2026, 3, 3, 22, 30, tzinfo=UTC)  # 23:30 in Warsaw
    late = attrs.evolve(state, wakeup_at=night)
    _beside_floor(
        "decide: due touch that defers (quiet hours)",
        lambda: decide(late, WakeupDue("chk-1", night), now=night, policy=policy, context=context),
        10_000,
    )
    many = Customer(id="c2", first_name="Olga", phone="+79161234567", locale="ru")
    checkout_ru = Checkout(
        id="chk-2",
        customer=many,
        items=(LineItem("s1", "Чайник", 1, Money("2500", "RUB")),),
        total=Money("2500", "RUB"),
        stage=Stage.PAYMENT,
        abandoned_at=LEFT,
        link="https://shop.example/c/2",
    )
    ledger_ru = ConsentLedger().append(_text_grant(many))
    context_ru = Context(consent=ledger_ru)
    state_ru = decide(
        None, CheckoutAbandoned(checkout_ru, LEFT), now=LEFT, policy=policy, context=context_ru
    ).state
    due_ru = state_ru.wakeup_at
    assert due_ru is not None
    _beside_floor(
        "decide: due touch, Russian mobile (13 zones)",
        lambda: decide(
            state_ru, WakeupDue("chk-2", due_ru), now=due_ru, policy=policy, context=context_ru
        ),
        5_000,
    )


def _text_grant(who: Customer) -> ConsentEvent:
    """The customer ticked "remind me by text" at checkout the day before."""
    return ConsentEvent(
        customer_id=who.id,
        channel=Channel.SMS,
        purpose=Purpose.RECOVERY,
        action=ConsentAction.GRANTED,
        at=LEFT - timedelta(days=1),
        source="checkout_checkbox",
        address=who.phone,
    )


def _many_carts(policy: RecoveryPolicy, count: int = 2_000) -> Callable[[], object]:
    """Due touches for ``count`` different customers and carts, taken in turn.

    The line above decides the same touch over and over; this one lets no cache keyed
    on a customer's text or link help more than it would for real traffic.
    """
    names = ("Anna", "Piotr", "Zofia", "Jan", "Maria", None)
    prices = ("84.00", "129.99", "35.50", "610.00")
    events = []
    states = []
    for index in range(count):
        who = Customer(
            id=f"c{index}",
            first_name=names[index % len(names)],
            phone=f"+48601{index:06d}",
            locale="pl",
        )
        price = Money(prices[index % len(prices)], "PLN")
        checkout = Checkout(
            id=f"chk-{index}",
            customer=who,
            items=(LineItem(f"s{index % 7}", f"Czajnik {index % 13}", 1, price, "kitchen"),),
            total=price,
            stage=Stage.SHIPPING,
            abandoned_at=LEFT,
            link=f"https://shop.example/c/{index}",
        )
        events.append(_text_grant(who))
        states.append(checkout)
    context = Context(consent=ConsentLedger().extend(events))
    due_touches = []
    for checkout in states:
        state = decide(
            None, CheckoutAbandoned(checkout, LEFT), now=LEFT, policy=policy, context=context
        ).state
        due = state.wakeup_at
        assert due is not None
        due_touches.append((state, WakeupDue(checkout.id, due), due))
    turn = itertools.cycle(due_touches)

    def one() -> object:
        state, wake, due = next(turn)
        return decide(state, wake, now=due, policy=policy, context=context)

    return one


if __name__ == "__main__":
    main()

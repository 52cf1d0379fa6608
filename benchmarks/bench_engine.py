"""``decide`` for a due touch that sends, and for one that defers (warm caches)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs

from benchmarks._timing import per_call, report
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

LEFT = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


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
    ledger = ConsentLedger().append(
        ConsentEvent(
            customer_id="c1",
            channel=Channel.SMS,
            purpose=Purpose.RECOVERY,
            action=ConsentAction.GRANTED,
            at=LEFT - timedelta(days=1),
            source="checkout_checkbox",
            address=who.phone,
        )
    )
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

    report(
        "decide: start (CheckoutAbandoned)",
        per_call(
            lambda: decide(
                None, CheckoutAbandoned(checkout, LEFT), now=LEFT, policy=policy, context=context
            ),
            number=5_000,
        ),
    )
    report("decide: due touch that sends (1 zone)", per_call(sends, number=10_000))
    night = datetime(2026, 3, 3, 22, 30, tzinfo=UTC)  # 23:30 in Warsaw
    late = attrs.evolve(state, wakeup_at=night)
    report(
        "decide: due touch that defers (quiet hours)",
        per_call(
            lambda: decide(
                late, WakeupDue("chk-1", night), now=night, policy=policy, context=context
            ),
            number=10_000,
        ),
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
    ledger_ru = ConsentLedger().append(
        ConsentEvent(
            customer_id="c2",
            channel=Channel.SMS,
            purpose=Purpose.RECOVERY,
            action=ConsentAction.GRANTED,
            at=LEFT - timedelta(days=1),
            source="checkout_checkbox",
            address=many.phone,
        )
    )
    context_ru = Context(consent=ledger_ru)
    state_ru = decide(
        None, CheckoutAbandoned(checkout_ru, LEFT), now=LEFT, policy=policy, context=context_ru
    ).state
    due_ru = state_ru.wakeup_at
    assert due_ru is not None
    report(
        "decide: due touch, Russian mobile (13 zones)",
        per_call(
            lambda: decide(
                state_ru, WakeupDue("chk-2", due_ru), now=due_ru, policy=policy, context=context_ru
            ),
            number=5_000,
        ),
    )


if __name__ == "__main__":
    main()

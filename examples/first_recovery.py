"""Your first recovery: the pure engine, a fake channel's worth of bookkeeping, a few events.

Run it with ``python examples/first_recovery.py``; the tutorial walks through it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from recoverykit import (
    Channel,
    Checkout,
    CheckoutAbandoned,
    ConsentAction,
    ConsentEvent,
    Customer,
    LineItem,
    Money,
    OrderPlaced,
    Purpose,
    RecoveryPolicy,
    Stage,
    explain,
)
from recoverykit.testing import EngineDriver


def main() -> list[str]:
    """Abandon at 23:40 in Warsaw, let two touches go out, then the customer orders."""
    anna = Customer(id="c1", first_name="Anna", phone="+48 601 234 567", locale="pl")
    left = datetime(2026, 3, 2, 22, 40, tzinfo=UTC)
    kettle = Money("84.00", "PLN")
    cart = Checkout(
        id="chk-1",
        customer=anna,
        items=(LineItem("k1", "Kettle", 1, kettle, "kitchen"),),
        total=kettle,
        stage=Stage.SHIPPING,
        abandoned_at=left,
        link="https://shop.example/c/1",
    )
    consent = ConsentEvent(
        customer_id="c1",
        channel=Channel.SMS,
        purpose=Purpose.RECOVERY,
        action=ConsentAction.GRANTED,
        at=left - timedelta(minutes=2),
        source="checkout_checkbox",
        text="Text me one reminder about this checkout. Reply STOP to opt out.",
        version="2026-01",
        address=anna.phone,
    )
    driver = EngineDriver(RecoveryPolicy(store_name="Sklep Ola"), consent=[consent])
    driver.feed(CheckoutAbandoned(cart, left))
    driver.run_until(left + timedelta(days=1, hours=12))
    driver.feed(OrderPlaced("chk-1", left + timedelta(days=1, hours=12), customer_id="c1"))
    driver.run_until(left + timedelta(days=7))
    lines = [f"{sent.at:%Y-%m-%d %H:%M} UTC  {sent.message.text!r}" for sent in driver.sent]
    lines += explain(driver.states["chk-1"])
    lines.append(f"finished: {driver.states['chk-1'].finish_reason}")
    return lines


if __name__ == "__main__":
    print("\n".join(main()))

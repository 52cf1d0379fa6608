"""A reference driver for the abandonment detector: what the runner's tick does, in memory."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import attrs

from recoverykit.detector import (
    CheckoutActivity,
    CheckoutStarted,
    CheckoutUpdated,
    CheckoutWatch,
    DetectorPolicy,
    ShopOrder,
    check,
    complete,
    observe,
)
from recoverykit.engine.events import CheckoutAbandoned
from recoverykit.values.model import Customer, LineItem, Stage
from recoverykit.values.money import Money
from tests.engine_helpers import T0

POLICY = DetectorPolicy()


@attrs.frozen
class Tick:
    """The runner's tick at ``now``."""

    now: datetime


Input = CheckoutActivity | ShopOrder | Tick


@attrs.define
class Book:
    """Watches and orders, fed the way the runner feeds its store."""

    policy: DetectorPolicy = POLICY
    watches: dict[str, CheckoutWatch] = attrs.field(factory=dict)
    orders: list[ShopOrder] = attrs.field(factory=list)
    emitted: list[tuple[datetime, CheckoutAbandoned]] = attrs.field(factory=list)

    def feed(self, item: Input) -> list[CheckoutAbandoned]:
        if isinstance(item, CheckoutActivity):
            self.watches[item.checkout_id] = observe(
                self.watches.get(item.checkout_id), item, policy=self.policy
            )
            return []
        if isinstance(item, ShopOrder):
            self.orders.append(item)
            if item.checkout_id is not None:
                self.watches[item.checkout_id] = complete(self.watches.get(item.checkout_id), item)
            return []
        found: list[CheckoutAbandoned] = []
        for key, watch in sorted(self.watches.items()):
            if watch.due_at is None or watch.due_at > item.now:
                continue
            detection = check(watch, now=item.now, policy=self.policy, orders=self.orders)
            self.watches[key] = detection.watch
            if detection.abandoned is not None:
                found.append(detection.abandoned)
                self.emitted.append((item.now, detection.abandoned))
        return found

    def run(self, items: Iterable[Input]) -> list[CheckoutAbandoned]:
        out: list[CheckoutAbandoned] = []
        for item in items:
            out.extend(self.feed(item))
        return out


def shopper(
    cid: str = "cus-1",
    *,
    phone: str | None = "+48601234567",
    email: str | None = "anna@example.com",
) -> Customer:
    return Customer(id=cid, first_name="Anna", phone=phone, email=email, locale="pl")


def activity(
    checkout_id: str = "tok-1",
    *,
    at: datetime = T0,
    stage: Stage = Stage.PAYMENT,
    who: Customer | None = None,
    quantity: int = 1,
    items: bool = True,
    started: bool = False,
) -> CheckoutActivity:
    price = Money("42.00", "PLN")
    lines = (LineItem("sku-1", "Kettle", quantity, price),) if items else ()
    total = price * quantity if items else Money("0.00", "PLN")
    cls = CheckoutStarted if started else CheckoutUpdated
    return cls(
        checkout_id=checkout_id,
        customer=who or shopper(),
        stage=stage,
        items=lines,
        total=total,
        link=f"https://shop.example/checkouts/{checkout_id}/recover",
        at=at,
    )

"""Builders for the truthful-message tests: a pack that names items, a discount plan."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from recoverykit import Channel, Checkout, Customer, LineItem, Money, Stage, presets
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.messages.packs import MessagePack
from recoverykit.policies.discounts import DiscountPolicy
from recoverykit.policies.stock import StockInfo

#: E-mail wording that names the top item, the total, and (when true) units left.
NAMING_PACK = MessagePack.load(
    {
        "name": "naming",
        "languages": {
            "en": {
                "messages": {
                    "remind": {
                        "email": {
                            "body": "{store_name}: your cart\n\n{top_item} is waiting, "
                            "{total} in all. Only {stock_left} left.\n{link}\n\n"
                            "The {store_name} team",
                            "fallback": "{store_name}: your cart\n\n{top_item} is waiting, "
                            "{total} in all.\n{link}\n\nThe {store_name} team",
                        }
                    },
                    "help": {
                        "email": "{store_name}: need a hand?\n\nYour cart comes to {total}.\n"
                        "{link}\n\nThe {store_name} team"
                    },
                    "final": {
                        "email": "{store_name}: last note\n\nYour cart ({total}) is saved.\n"
                        "{link}\n\nThe {store_name} team"
                    },
                    "final.discount": {
                        "email": "{store_name}: last note\n\nYour cart ({total}) is saved, "
                        "and code {discount_code} works on it until {discount_expiry}.\n"
                        "{link}\n\nThe {store_name} team"
                    },
                },
            }
        },
    }
)


def email_policy(**changes: Any) -> RecoveryPolicy:
    """Messenger pacing on e-mail, the last touch allowed a discount."""
    sequence = presets.get("messenger-escalation")
    touches = tuple(attrs.evolve(t, channel=Channel.EMAIL) for t in sequence.touches)
    policy = RecoveryPolicy(
        store_name="Northwind",
        sequence=attrs.evolve(sequence, touches=touches),
        pack=NAMING_PACK,
        discounts=DiscountPolicy(),
        channels=(Channel.EMAIL,),
    )
    return attrs.evolve(policy, **changes)


def cart(
    who: Customer,
    items: list[tuple[str, str, bool]],
    *,
    cid: str = "chk-1",
    at: datetime,
    currency: str = "USD",
) -> Checkout:
    """A checkout of ``(name, price, in_stock)`` lines, one of each."""
    lines = tuple(
        LineItem(f"sku-{n}", name, 1, Money(price, currency), "kitchen", in_stock=ok)
        for n, (name, price, ok) in enumerate(items)
    )
    total = Money.zero(currency)
    for line in lines:
        total = total + line.subtotal
    return Checkout(
        id=cid,
        customer=who,
        items=lines,
        total=total,
        stage=Stage.SHIPPING,
        abandoned_at=at,
        link=f"https://shop.example/c/{cid}",
    )


class DictStock:
    """A ``StockSource`` answering from a dict (SKU → info), counting its calls."""

    def __init__(self, answers: Mapping[str, StockInfo] | None = None) -> None:
        self.answers = dict(answers or {})
        self.calls = 0

    def stock(self, checkout: Checkout, *, now: datetime) -> Mapping[str, StockInfo]:
        self.calls += 1
        return self.answers

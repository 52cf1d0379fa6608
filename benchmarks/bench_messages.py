"""Messages: render + segment count of an SMS, segment counting alone, the whole send path."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from benchmarks._timing import per_call, report
from recoverykit.messages.lint import guard
from recoverykit.messages.packs import default_pack, message_context
from recoverykit.messages.sms import _count, sms_segments
from recoverykit.messages.templates import render
from recoverykit.values.model import Channel, Checkout, Customer, LineItem
from recoverykit.values.money import Money

ASCII_160 = ("Northwind Studio: your checkout is saved. " * 4)[:160]
CYRILLIC_160 = ("Нортвинд: ваш заказ сохранён, вернуться к нему можно по ссылке. " * 3)[:160]
LINK = "https://nwnd.example/r/8fK2xQ7pLmZ4vB9tR3wYc1"


def main() -> None:
    pack = default_pack()
    en = pack.find("remind", Channel.SMS, "en")
    pl = pack.find("remind", Channel.SMS, "pl")
    context = {"store_name": "Northwind Studio", "first_name": "Alexandra", "link": LINK}
    report(
        "render + segments, SMS en (GSM-7)", per_call(lambda: render(en, context), number=50_000)
    )
    names = itertools.cycle([f"Katarzyna{i}" for i in range(100_000)])

    def fresh_pl() -> None:
        render(pl, {**context, "first_name": next(names)})

    report("render + segments, SMS pl (UCS-2, new text)", per_call(fresh_pl, number=20_000))
    report(
        "render + segments, SMS pl (UCS-2, repeat)",
        per_call(lambda: render(pl, context), number=50_000),
    )
    report("sms_segments, 160 ASCII", per_call(lambda: sms_segments(ASCII_160), number=200_000))
    uncached = _count.__wrapped__
    report(
        "sms_segments, 160 Cyrillic (uncached)",
        per_call(lambda: uncached(CYRILLIC_160), number=20_000),
    )
    report(
        "sms_segments, 160 Cyrillic (cached)",
        per_call(lambda: sms_segments(CYRILLIC_160), number=200_000),
    )
    checkout = Checkout(
        id="co-1",
        customer=Customer(id="c-1", first_name="Anna", locale="pl"),
        items=(LineItem("a", "Szalik", 1, Money("84.00", "PLN")),),
        total=Money("84.00", "PLN"),
        stage="payment",
        abandoned_at=datetime(2026, 11, 20, 12, tzinfo=UTC),
        link=LINK,
    )

    def send_path() -> None:
        values = message_context(
            checkout, store_name="Northwind Studio", channel=Channel.SMS, zone="Europe/Warsaw"
        )
        template = pack.find("remind", Channel.SMS, "pl_PL")
        guard(render(template, values), store_name="Northwind Studio")

    report("context + find + render + guard, SMS pl", per_call(send_path, number=5_000))


if __name__ == "__main__":
    main()

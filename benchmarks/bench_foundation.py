"""Phone parsing (cold and cached) and money formatting.

CPU time, each figure beside its floor from the same run: ``phonenumbers.parse`` for a
number parsed cold, a dict look-up for a cached one, and babel's
``format_currency`` for money.
"""

from __future__ import annotations

from decimal import Decimal

import phonenumbers
from babel.numbers import format_currency

from benchmarks._timing import per_call_pair, report
from recoverykit import Money, PhoneNumber
from recoverykit.values.phone import _parse

NUMBERS = ["+48601234567", "+79161234567", "+12085551234", "+447911123456", "+33612345678"]


def main() -> None:
    def cold() -> None:
        _parse.cache_clear()
        for number in NUMBERS:
            PhoneNumber.parse(number)

    def library() -> None:
        for number in NUMBERS:
            phonenumbers.parse(number)

    seconds, floor = per_call_pair(cold, library, number=200)
    report(
        "PhoneNumber.parse, cold (per number)",
        seconds / len(NUMBERS),
        ("phonenumbers.parse", floor / len(NUMBERS)),
    )
    PhoneNumber.parse(NUMBERS[0])
    memo = {NUMBERS[0]: NUMBERS[0]}
    seconds, floor = per_call_pair(
        lambda: PhoneNumber.parse(NUMBERS[0]), lambda: memo.get(NUMBERS[0]), number=100_000
    )
    report("PhoneNumber.parse, cached", seconds, ("one dict look-up", floor))
    money = Money("84.00", "PLN")
    amount = Decimal("84.00")
    seconds, floor = per_call_pair(
        lambda: money.format("pl"),
        lambda: format_currency(amount, "PLN", locale="pl"),
        number=100_000,
        floor_number=2_000,
    )
    report("Money.format, warm", seconds, ("babel format_currency", floor))
    amounts = [Money(Decimal(cents).scaleb(-2), "PLN") for cents in range(10_000, 20_000)]
    iterator = iter(amounts * 10)

    def fresh() -> None:
        next(iterator).format("pl_PL")

    seconds, floor = per_call_pair(
        fresh, lambda: format_currency(amount, "PLN", locale="pl_PL"), number=2_000, repeat=3
    )
    report("Money.format, first time per amount", seconds, ("babel format_currency", floor))
    seconds, floor = per_call_pair(
        lambda: money.approximate("pl"),
        lambda: format_currency(amount, "PLN", locale="pl"),
        number=20_000,
        floor_number=2_000,
    )
    report("Money.approximate", seconds, ("babel format_currency", floor))


if __name__ == "__main__":
    main()

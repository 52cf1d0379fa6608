"""Phone parsing (cold and cached) and money formatting."""

from __future__ import annotations

from decimal import Decimal

from benchmarks._timing import per_call, report
from recoverykit import Money, PhoneNumber
from recoverykit.values.phone import _parse

NUMBERS = ["+48601234567", "+79161234567", "+12085551234", "+447911123456", "+33612345678"]


def main() -> None:
    def cold() -> None:
        _parse.cache_clear()
        for number in NUMBERS:
            PhoneNumber.parse(number)

    report("PhoneNumber.parse, cold (per number)", per_call(cold, number=200) / len(NUMBERS))
    PhoneNumber.parse(NUMBERS[0])
    report(
        "PhoneNumber.parse, cached", per_call(lambda: PhoneNumber.parse(NUMBERS[0]), number=100_000)
    )
    money = Money("84.00", "PLN")
    report("Money.format, warm", per_call(lambda: money.format("pl"), number=100_000))
    amounts = [Money(Decimal(cents).scaleb(-2), "PLN") for cents in range(10_000, 20_000)]
    iterator = iter(amounts * 10)

    def fresh() -> None:
        next(iterator).format("pl_PL")

    report("Money.format, first time per amount", per_call(fresh, number=2_000, repeat=3))
    report("Money.approximate", per_call(lambda: money.approximate("pl"), number=20_000))


if __name__ == "__main__":
    main()

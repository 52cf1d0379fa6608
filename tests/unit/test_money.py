"""Money: exact amounts in one currency, formatted the way each locale writes them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from recoverykit import Money
from recoverykit.errors import CurrencyMismatch, InvalidMoney


def test_formats_per_locale() -> None:
    """Totals read as a customer in that locale writes them (babel's CLDR patterns)."""
    assert "84,00\xa0zł" == Money("84.00", "PLN").format("pl")
    assert "$84.00" == Money("84", "USD").format("en_US")
    assert "15\xa0700,00\xa0₸" == Money("15700", "KZT").format("ru_KZ")


def test_plain_spaces_for_sms() -> None:
    """SMS formatting swaps no-break spaces for plain ones so the text stays GSM-7."""
    assert "15 700,00 ₸" == Money("15700", "KZT").format("ru_KZ", plain_spaces=True)
    assert "\xa0" not in Money("1234.5", "EUR").format("fr", plain_spaces=True)


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        ("84", "USD", "en_US", "$50–100"),
        ("84", "PLN", "pl", "50–100\xa0zł"),
        ("1234.5", "EUR", "fr", "1\u202f000–2\u202f000\xa0€"),
        ("5", "GBP", "en_GB", "£0–10"),
        ("100", "USD", "en_US", "$100–200"),
    ],
)
def test_approximate_is_an_honest_range(
    amount: str, currency: str, locale: str, expected: str
) -> None:
    """An approximate total names a 1-2-5 band that contains the amount."""
    assert expected == Money(amount, currency).approximate(locale)


@pytest.mark.parametrize("bad", ["-1", "NaN", "Infinity", "abc", True, None])
def test_bad_amounts_are_refused(bad: object) -> None:
    """Negative, non-finite and non-numeric amounts raise InvalidMoney naming the value."""
    with pytest.raises(InvalidMoney, match="Invalid amount"):
        Money(bad, "USD")


def test_unknown_currency_is_refused() -> None:
    """A currency code babel does not know is an error naming it."""
    with pytest.raises(InvalidMoney, match="'XYZ'"):
        Money("1", "XYZ")


def test_arithmetic_stays_in_one_currency() -> None:
    """Adding two currencies is refused; within one currency it is exact."""
    assert Money("0.30", "EUR") == Money("0.10", "EUR") + Money("0.20", "EUR")
    assert Money("30", "EUR") == Money("10", "EUR") * 3
    with pytest.raises(CurrencyMismatch):
        Money("1", "EUR") + Money("1", "USD")
    with pytest.raises(CurrencyMismatch):
        _ = Money("1", "EUR") < Money("1", "USD")


def test_float_input_keeps_the_meant_value() -> None:
    """A float is read by its shortest repr, so 0.1 means one tenth, not its binary value."""
    assert Decimal("0.1") == Money(0.1, "USD").amount


def test_json_round_trip_and_paths() -> None:
    """Money round-trips through JSON, and loading reports every problem with its path."""
    money = Money("84.00", "PLN")
    assert money == Money.from_dict(money.to_dict())
    with pytest.raises(ValueError, match=r"\$\.amount") as info:
        Money.from_dict({"amount": 84.5, "currency": "ZZZ"})
    assert "$.currency" in str(info.value)

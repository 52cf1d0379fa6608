"""Property tests for the values and the strategies users build their own tests on."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from recoverykit import Checkout, Customer, Money, PhoneNumber
from recoverykit.testing import strategies as rks


@given(rks.checkouts())
def test_checkout_round_trips(checkout: Checkout) -> None:
    """Every checkout survives to_dict/from_dict unchanged."""
    assert checkout == Checkout.from_dict(checkout.to_dict())


@given(rks.money(), rks.locales())
def test_approximate_range_contains_the_amount(money: Money, locale: str) -> None:
    """The approximate range is never a lie: its bounds enclose the amount."""
    from recoverykit.values.money import _band

    low, high = _band(money.amount)
    assert low <= money.amount < high
    text = money.approximate(locale)
    assert "–" in text


@given(rks.money(), rks.locales())
def test_plain_format_has_no_no_break_spaces(money: Money, locale: str) -> None:
    """SMS formatting never contains a no-break space."""
    text = money.format(locale, plain_spaces=True)
    assert "\xa0" not in text
    assert "\u202f" not in text


@given(rks.phone_numbers())
def test_phone_numbers_reparse_to_themselves(number: PhoneNumber) -> None:
    """A parsed number's E.164 form parses back to the same number; zones all load."""
    assert number == PhoneNumber.parse(number.e164)
    assert "Etc/Unknown" not in number.time_zones


@given(st.from_type(Customer))
def test_from_type_is_registered(customer: Customer) -> None:
    """The entry point registers strategies, so st.from_type(Customer) works for users."""
    assert isinstance(customer, Customer)


@given(rks.instants_near_dst())
def test_instants_near_dst_are_aware(instant: datetime) -> None:
    """DST-neighbourhood instants are aware UTC datetimes."""
    assert instant.tzinfo is not None

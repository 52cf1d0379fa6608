"""The cart a message speaks of is the same value it was before the speed-up.

``spoken_cart`` and ``fresh_cart`` now build the changed checkout without running
``Checkout``'s validators again, and total the items in Decimal before building one
``Money``. The ``*_reference`` functions below are the pre-optimisation code, copied
verbatim and kept frozen (``attrs.evolve`` and ``Money`` arithmetic). Every test
requires equal results, a result that the validators would accept unchanged, and
the same error where there was one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recoverykit.errors import CurrencyMismatch
from recoverykit.policies.stock import StockInfo, fresh_cart, items_total, spoken_cart
from recoverykit.testing.strategies import checkouts
from recoverykit.values.model import Checkout, LineItem
from recoverykit.values.money import Money


# -- frozen reference ---------------------------------------------------------------------
def _sum_reference(items: tuple[LineItem, ...] | list[LineItem], like: Money) -> Money:
    total = Money.zero(like.currency)
    for item in items:
        total = total + item.subtotal
    return total


def spoken_cart_reference(checkout: Checkout) -> Checkout | None:
    available = tuple(item for item in checkout.items if item.in_stock)
    if not available:
        return None
    if len(available) == len(checkout.items):
        return checkout
    return attrs.evolve(checkout, items=available, total=_sum_reference(available, checkout.total))


def fresh_cart_reference(checkout: Checkout, stock: Mapping[str, StockInfo]) -> Checkout:
    if not stock:
        return checkout
    items: list[LineItem] = []
    changed = False
    for item in checkout.items:
        info = stock.get(item.sku)
        if info is None:
            items.append(item)
            continue
        price = item.unit_price
        if info.unit_price is not None:
            if info.unit_price.currency != price.currency:
                msg = (
                    f"fresh price for {item.sku!r} is in {info.unit_price.currency}, "
                    f"the cart in {price.currency}"
                )
                raise CurrencyMismatch(msg)
            price = info.unit_price
        items.append(
            attrs.evolve(
                item,
                in_stock=info.in_stock,
                stock_level=info.level,
                stock_as_of=info.as_of,
                unit_price=price,
            )
        )
        changed = changed or price != item.unit_price
    total = _sum_reference(items, checkout.total) if changed else checkout.total
    return attrs.evolve(checkout, items=tuple(items), total=total)


# -- inputs ---------------------------------------------------------------------------------
@st.composite
def carts_with_stock(draw: st.DrawFn) -> tuple[Checkout, dict[str, StockInfo]]:
    """A cart, some items sold out, and fresh data for some SKUs (prices may change)."""
    checkout = draw(checkouts())
    items = tuple(
        attrs.evolve(item, sku=f"{item.sku}-{index}", in_stock=draw(st.booleans()))
        for index, item in enumerate(checkout.items)
    )
    checkout = attrs.evolve(checkout, items=items)
    currency = checkout.total.currency
    stock: dict[str, StockInfo] = {}
    for item in items:
        if draw(st.booleans()):
            price = draw(
                st.none()
                | st.decimals(0, 5000, places=2).map(lambda amount: Money(amount, currency))
            )
            stock[item.sku] = StockInfo(
                draw(st.booleans()),
                checkout.abandoned_at + timedelta(minutes=draw(st.integers(0, 600))),
                level=draw(st.none() | st.integers(0, 9)),
                unit_price=price,
            )
    return checkout, stock


def _revalidated(checkout: Checkout) -> Checkout:
    """The checkout rebuilt through every validator and converter."""
    return attrs.evolve(checkout)


# -- the comparison --------------------------------------------------------------------
@given(carts_with_stock())
def test_spoken_cart_is_the_same_valid_value(case: tuple[Checkout, dict[str, StockInfo]]) -> None:
    """Same in-stock items, same total (to the Decimal exponent), and still valid."""
    checkout, _ = case
    expected = spoken_cart_reference(checkout)
    found = spoken_cart(checkout)
    assert found == expected
    if found is not None and expected is not None:
        assert str(found.total.amount) == str(expected.total.amount)
        assert _revalidated(found) == found


@given(carts_with_stock())
def test_fresh_cart_is_the_same_valid_value(case: tuple[Checkout, dict[str, StockInfo]]) -> None:
    """Fresh availability and prices fold in alike; the result passes validation."""
    checkout, stock = case
    expected = fresh_cart_reference(checkout, stock)
    found = fresh_cart(checkout, stock)
    assert found == expected
    assert str(found.total.amount) == str(expected.total.amount)
    assert _revalidated(found) == found


@given(checkouts(), st.sampled_from(["USD", "EUR", "PLN", "JPY"]))
def test_sum_matches_money_arithmetic_and_its_error(checkout: Checkout, currency: str) -> None:
    """The Decimal total equals the Money sum, and a foreign price fails with its message."""
    like = Money(Decimal(0), currency)
    try:
        expected: Money | Exception = _sum_reference(checkout.items, like)
    except CurrencyMismatch as exc:
        expected = exc
    if isinstance(expected, Exception):
        with pytest.raises(CurrencyMismatch) as caught:
            items_total(checkout.items, like)
        assert str(caught.value) == str(expected)
    else:
        found = items_total(checkout.items, like)
        assert found == expected
        assert str(found.amount) == str(expected.amount)

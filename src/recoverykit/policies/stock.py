"""What a message may say about the cart: only what is true when it is sent.

A reminder that names a sold-out item, or a price that has since changed, costs
more trust than it wins back. The cart a recovery holds is a snapshot from the
abandonment (and later ``CartUpdated`` events); just before a touch goes out the
runner may ask the store for fresh availability (``StockSource``), and this
module folds that in and decides what can be spoken of:

- a sold-out item is never named and its price leaves the total;
- when every item is sold out there is nothing to come back for: the touch is
  skipped and the recovery ends as ``unavailable``;
- "only N left" appears only when the store allows such lines, the level is a
  real number, and it was measured recently (``stock_fresh_for``, 1 h by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final, Protocol, runtime_checkable

import attrs

from ..errors import CurrencyMismatch, InvalidInputError
from ..values.model import Checkout, LineItem
from ..values.money import Money
from ..values.time import require_aware

__all__ = [
    "StockInfo",
    "StockSource",
    "evolve_checkout",
    "fresh_cart",
    "items_total",
    "low_stock",
    "spoken_cart",
    "unspeakable",
]


def _aware(_inst: object, attribute: attrs.Attribute[datetime], value: datetime) -> None:
    require_aware(value, attribute.name)


def _level(_inst: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        msg = f"{attribute.name} must be a whole number of units, 0 or more (got {value!r})"
        raise InvalidInputError(msg)


@attrs.frozen
class StockInfo:
    """Availability of one SKU as the store knows it at ``as_of``."""

    in_stock: bool
    as_of: datetime = attrs.field(validator=_aware)
    #: Units left, when the store counts them.
    level: int | None = attrs.field(default=None, validator=_level)
    #: The current unit price, when it may have changed since the abandonment.
    unit_price: Money | None = None


@runtime_checkable
class StockSource(Protocol):
    """**Protocol:** fresh availability for a cart, asked just before a touch is sent.

    Return what you know by SKU; leave out what you do not. Raising, or returning
    nothing, means "no fresh data": the touch then makes no stock claim at all.
    """

    def stock(self, checkout: Checkout, *, now: datetime) -> Mapping[str, StockInfo]: ...


def fresh_cart(checkout: Checkout, stock: Mapping[str, StockInfo]) -> Checkout:
    """The checkout with fresh availability and prices folded into its items.

    A fresh price in another currency than the cart's raises ``CurrencyMismatch``
    (the runner then uses no fresh data for this send).
    """
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
    total = items_total(items, checkout.total) if changed else checkout.total
    # Each item went through LineItem's validators above and every price is in the
    # cart's currency (checked above), so the checkout needs no second validation.
    return evolve_checkout(checkout, items=tuple(items), total=total)


def spoken_cart(checkout: Checkout) -> Checkout | None:
    """The cart a message may speak of: in-stock items only, their total; ``None`` if none."""
    available = tuple(item for item in checkout.items if item.in_stock)
    if not available:
        return None
    if len(available) == len(checkout.items):
        return checkout
    # Some of a valid cart's items and their total in its currency: still a valid cart.
    return evolve_checkout(checkout, items=available, total=items_total(available, checkout.total))


def unspeakable(checkout: Checkout) -> str:
    """Why ``spoken_cart(checkout)`` is ``None``, in words true for this checkout.

    A checkout left with no items at all (at the contact step, say) is not a cart
    whose items sold out, and a note must not say so.
    """
    if not checkout.items:
        return "the checkout holds no items"
    return "every item in the cart is sold out"


_CHECKOUT_FIELDS: Final = tuple(field.name for field in attrs.fields(Checkout))
_set = object.__setattr__


def evolve_checkout(checkout: Checkout, **changes: Any) -> Checkout:
    """``attrs.evolve`` for a change that keeps a valid checkout valid, without running
    ``Checkout``'s validators again (they read every field and the link's pattern, on
    the hot path of each touch). Its converters would change nothing either: the
    values here are already tuples and enum members. A subclass goes the usual way."""
    if type(checkout) is not Checkout:
        return attrs.evolve(checkout, **changes)
    new = object.__new__(Checkout)
    for name in _CHECKOUT_FIELDS:
        _set(new, name, changes[name] if name in changes else getattr(checkout, name))
    return new


def low_stock(item: LineItem, now: datetime, *, fresh_for: timedelta, at_most: int) -> int | None:
    """How many are left, when that is a true, recent and small number; else ``None``."""
    level = item.stock_level
    as_of = item.stock_as_of
    if not item.in_stock or level is None or as_of is None or not 0 < level <= at_most:
        return None
    if as_of > now or now - as_of > fresh_for:
        return None
    return level


def items_total(items: tuple[LineItem, ...] | list[LineItem], like: Money) -> Money:
    """The items' total in ``like``'s currency.

    The same Decimal sum ``Money.zero(currency) + item.subtotal + ...`` makes, and the
    same error for a price in another currency, with one ``Money`` built at the end
    instead of two per item.
    """
    currency = like.currency
    amount = Decimal(0)
    for item in items:
        price = item.unit_price
        if price.currency != currency:
            msg = f"Cannot combine {currency} and {price.currency}: convert first"
            raise CurrencyMismatch(msg)
        amount += price.amount * item.quantity
    return Money(amount, currency)

"""What the shop sources share: reading shop payloads into detector facts, strictly.

A shop's payload is read after its signature verified, field by field, and every
problem becomes ``MalformedWebhook`` naming the JSON path, so a source raises only
``WebhookError`` subclasses whatever arrives. Contact details are the exception:
a phone number or e-mail address the library cannot use (a typo at checkout) is
dropped, not fatal, since the rest of the checkout is still worth watching and a
recovery then reaches the customer on the channels that remain.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from ..errors import InvalidInputError, RecoveryKitError
from ..values.model import Customer
from ..values.money import Money
from ..values.phone import PhoneNumber
from ..webhooks.kit import text
from ..webhooks.types import MalformedWebhook

__all__ = ["build_customer", "iso_instant", "money", "optional_mapping", "quantity"]

#: ISO 8601 instants longer than this are not timestamps.
_MAX_INSTANT_CHARS: Final = 40


def iso_instant(value: object, path: str, *, now: datetime, naive_utc: bool = False) -> datetime:
    """An ISO 8601 instant as an aware datetime, never after ``now``.

    Shopify writes offsets (``2026-03-02T11:00:00+01:00``); WooCommerce's ``*_gmt``
    fields have none and are UTC (``naive_utc=True``). A time ahead of ``now`` (a
    shop's clock running fast) is taken as ``now``.
    """
    raw = text(value, path)
    if len(raw) > _MAX_INSTANT_CHARS:
        msg = f"{path} is not an ISO 8601 time (got {raw[:40]!r}...)"
        raise MalformedWebhook(msg)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        msg = f"{path} is not an ISO 8601 time (got {raw!r})"
        raise MalformedWebhook(msg) from None
    if moment.tzinfo is None:
        if not naive_utc:
            msg = f"{path} has no UTC offset (got {raw!r}); the shop sends times with one"
            raise MalformedWebhook(msg)
        moment = moment.replace(tzinfo=UTC)
    return min(moment, now)


def money(amount: object, currency: object, path: str) -> Money:
    """A shop's price (a decimal string or number) in ``currency``."""
    if isinstance(amount, bool) or not isinstance(amount, str | int | float):
        msg = f"{path} must be a price (a decimal string; got {type(amount).__name__})"
        raise MalformedWebhook(msg)
    try:
        return Money(str(amount), currency)
    except (RecoveryKitError, ValueError, TypeError, ArithmeticError) as exc:
        msg = f"{path} is not a price: {exc}"
        raise MalformedWebhook(msg[:300]) from None


def quantity(value: object, path: str) -> int:
    """A line's quantity: a whole number of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value > 1_000_000:
        msg = f"{path} must be a whole number from 1 (got {str(value)[:40]!r})"
        raise MalformedWebhook(msg)
    return value


def optional_mapping(container: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    """``container[key]`` as an object; absent or null is an empty one."""
    value = container.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        msg = f"{path}.{key} must be an object (got {type(value).__name__})"
        raise MalformedWebhook(msg)
    return value


def _usable(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _national(phone: str, country: str | None) -> str | None:
    """``phone`` read as a national number of ``country``, in E.164, or ``None``."""
    if country is None:
        return None
    try:
        return PhoneNumber.parse(phone, region=country.upper()).e164
    except (InvalidInputError, ValueError, TypeError):
        return None


def build_customer(
    *,
    customer_id: str,
    first_name: object = None,
    phone: object = None,
    email: object = None,
    locale: object = None,
    country: object = None,
    orders_count: object = 0,
) -> Customer:
    """A ``Customer`` from what a shop knows, dropping any detail the library cannot use.

    A phone without a country code is read as a national number of ``country``.
    A phone that is not a valid number, an e-mail that is not an address, a locale
    or country the library does not know are left out (each would otherwise
    refuse the whole checkout); the id must be usable.
    """
    fields: dict[str, Any] = {
        "first_name": _usable(first_name),
        "phone": _usable(phone),
        "email": _usable(email),
        "locale": _usable(locale),
        "country": _usable(country),
    }
    if isinstance(orders_count, int) and not isinstance(orders_count, bool) and orders_count > 0:
        fields["orders_count"] = orders_count
    if fields["first_name"] is not None and len(fields["first_name"]) > 100:
        fields["first_name"] = None
    for key in ("country", "phone", "email", "locale"):
        if fields[key] is None:
            continue
        try:
            Customer(id=customer_id, **{key: fields[key]})
        except (InvalidInputError, ValueError, TypeError):
            fields[key] = _national(fields[key], fields["country"]) if key == "phone" else None
    if fields["locale"] is None:
        fields["locale"] = "en"
    try:
        return Customer(id=customer_id, **fields)
    except (InvalidInputError, ValueError, TypeError) as exc:
        msg = f"The customer cannot be used: {exc}"
        raise MalformedWebhook(msg[:300]) from None

"""Checks shared by the policy values: numbers, durations and names a store could configure.

Each raises ``InvalidPolicy`` naming the class, the field, the value it got and
what would be accepted, so ``TimingScale(low_factor=-1)`` fails where it is
written rather than later inside ``decide``.
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from ..errors import InvalidPolicy

__all__ = [
    "factor",
    "non_empty",
    "non_negative_int",
    "positive_duration",
    "positive_int",
    "text",
    "threshold",
]

T = TypeVar("T")


def _fail(owner: str, name: str, expected: str, value: object) -> InvalidPolicy:
    return InvalidPolicy(f"{owner}.{name} must be {expected} (got {value!r})")


def factor(owner: str, name: str, value: Any, *, low: float, high: float) -> float:
    """A finite float in ``[low, high]`` (bools and NaN refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(owner, name, f"a number between {low:g} and {high:g}", value)
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise _fail(owner, name, f"a finite number between {low:g} and {high:g}", value)
    return number


def positive_int(owner: str, name: str, value: Any) -> int:
    """A whole number of at least 1 (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(owner, name, "a whole number of at least 1", value)
    return value


def non_negative_int(owner: str, name: str, value: Any) -> int:
    """A whole number of at least 0 (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(owner, name, "a whole number of 0 or more", value)
    return value


def positive_duration(owner: str, name: str, value: Any, *, zero_ok: bool = False) -> timedelta:
    """A ``timedelta`` above zero (or at least zero with ``zero_ok``)."""
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise _fail(owner, name, "a positive timedelta", value)
    if value == timedelta(0) and not zero_ok:
        raise _fail(owner, name, "a positive timedelta", value)
    return value


def text(owner: str, name: str, value: Any) -> str:
    """A string with something other than spaces in it."""
    if not isinstance(value, str) or not value.strip():
        raise _fail(owner, name, "a non-empty string", value)
    return value


def threshold(owner: str, name: str, currency: Any, amount: Any) -> tuple[str, Decimal]:
    """A ``(currency, amount)`` pair: a three-letter code and a finite amount of 0 or more."""
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        msg = f"{owner}.{name} keys must be ISO 4217 codes such as 'USD' (got {currency!r})"
        raise InvalidPolicy(msg)
    try:
        number = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except InvalidOperation:
        number = Decimal("NaN")
    if isinstance(amount, bool) or not number.is_finite() or number < 0:
        msg = (
            f"{owner}.{name}[{currency.upper()!r}] must be a finite amount of 0 or more "
            f"(got {amount!r})"
        )
        raise InvalidPolicy(msg)
    return currency.upper(), number


def non_empty(owner: str, name: str, found: frozenset[T], *, why: str, fix: str) -> frozenset[T]:
    """A set with at least one member; an empty one would make the rule mean nothing."""
    if not found:
        msg = f"{owner}.{name} is empty, so {why}; {fix}"
        raise InvalidPolicy(msg)
    return found

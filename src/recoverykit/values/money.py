"""Money: a Decimal amount in one ISO 4217 currency, formatted for a locale by babel.

Formatting is the hot path of rendering, so babel's locale data and number
patterns are looked up once per ``(locale, currency)`` and reused.
"""

from __future__ import annotations

import copy
import functools
import itertools
import math
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Final

import attrs
from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_precision, list_currencies

from ..errors import CurrencyMismatch, InvalidLocale, InvalidMoney
from .loading import Problems, expect_mapping, field, load_or_raise, unknown_keys

__all__ = ["Money", "get_locale", "load_money"]

_NBSP: Final = "\u00a0"
_NNBSP: Final = "\u202f"


@functools.cache
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


@functools.lru_cache(maxsize=512)
def get_locale(identifier: str) -> Locale:
    """The babel ``Locale`` for ``en``, ``pl_PL`` or ``pt-BR``; ``InvalidLocale`` otherwise."""
    if not isinstance(identifier, str) or not identifier:
        msg = f"Unknown locale: {identifier!r}; use a code such as 'en', 'pl' or 'fr_FR'"
        raise InvalidLocale(msg)
    try:
        return Locale.parse(identifier.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        msg = f"Unknown locale: {identifier!r}; use a code such as 'en', 'pl' or 'fr_FR'"
        raise InvalidLocale(msg) from None


#: Amounts stay far inside Decimal's default 28-digit precision, so every sum,
#: rounding and band the engine computes is exact: 15 digits before the point...
MAX_WHOLE_DIGITS: Final = 15
#: ... and 8 after it (no currency has more than 4 minor digits).
MAX_FRACTION_DIGITS: Final = 8


def _to_amount(value: Any) -> Decimal:
    if isinstance(value, bool):
        msg = f"Invalid amount: {value!r}; pass a Decimal or a string such as '84.00'"
        raise InvalidMoney(msg)
    if isinstance(value, float):
        # A float has already lost the cents; its shortest repr is what the caller meant.
        value = repr(value)
    try:
        amount = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        msg = f"Invalid amount: {value!r}; pass a Decimal or a string such as '84.00'"
        raise InvalidMoney(msg) from None
    if not amount.is_finite():
        msg = f"Invalid amount: {value!r}; an amount must be a finite number"
        raise InvalidMoney(msg)
    if amount < 0:
        msg = f"Invalid amount: {value!r}; amounts are never negative"
        raise InvalidMoney(msg)
    if amount and amount.adjusted() >= MAX_WHOLE_DIGITS:
        msg = (
            f"Invalid amount: {value!r:.60}; at most {MAX_WHOLE_DIGITS} digits before the "
            "decimal point (no shop total is that large: check the field's unit)"
        )
        raise InvalidMoney(msg)
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_FRACTION_DIGITS:
        msg = (
            f"Invalid amount: {value!r:.60}; at most {MAX_FRACTION_DIGITS} digits after the "
            "decimal point"
        )
        raise InvalidMoney(msg)
    return amount


def _to_currency(value: Any) -> str:
    code = value.upper() if isinstance(value, str) else value
    if not isinstance(code, str) or code not in _currencies():
        msg = f"Unknown currency: {value!r}; use an ISO 4217 code such as 'PLN' or 'USD'"
        raise InvalidMoney(msg)
    return code


@functools.lru_cache(maxsize=2048)
def _formatter(locale: str, currency: str) -> tuple[Locale, Any, int]:
    loc = get_locale(locale)
    pattern = loc.currency_formats["standard"]
    return loc, pattern, get_currency_precision(currency)


@attrs.frozen(order=False)
class Money:
    """A non-negative amount of one currency.

    >>> Money("84.00", "PLN").format("pl")
    '84,00\\xa0zł'
    """

    #: The amount, exact.
    amount: Decimal = attrs.field(converter=_to_amount)
    #: ISO 4217 code, upper case.
    currency: str = attrs.field(converter=_to_currency)

    # -- arithmetic within one currency ---------------------------------------------------
    def _check(self, other: object) -> Money:
        if not isinstance(other, Money):
            msg = f"cannot combine Money with {type(other).__name__}"
            raise TypeError(msg)
        if other.currency != self.currency:
            msg = f"Cannot combine {self.currency} and {other.currency}: convert first"
            raise CurrencyMismatch(msg)
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._check(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._check(other).amount, self.currency)

    def __mul__(self, factor: int | Decimal | float) -> Money:
        """Scale by a whole number, a ``Decimal`` or a float (read as its shortest repr,
        so ``* 1.1`` means 1.1 exactly); the result is never rounded here."""
        return Money(self.amount * _factor(factor), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._check(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._check(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._check(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._check(other).amount

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    # -- formatting -------------------------------------------------------------------
    def format(self, locale: str, *, plain_spaces: bool = False) -> str:
        """The amount as a customer in ``locale`` writes it: ``84,00 zł``, ``$84.00``.

        ``plain_spaces`` swaps babel's no-break spaces for ordinary ones, which keeps
        an SMS in the GSM-7 alphabet.
        """
        return _format(self.amount, self.currency, locale, plain_spaces)

    def approximate(self, locale: str, *, plain_spaces: bool = False) -> str:
        """An honest range containing the amount, such as ``$50–100`` or ``50–100 zł``.

        Bands follow the 1-2-5 series (10–20, 20–50, 50–100, 100–200, ...), so a
        message names the order of magnitude without quoting the exact total.
        Amounts below 10 read as ``under $10``-style ranges starting at zero.
        """
        low, high = _band(self.amount)
        return _approximate(low, high, self.currency, locale, plain_spaces)

    # -- JSON -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, str]:
        return {"amount": str(self.amount), "currency": self.currency}

    @classmethod
    def from_dict(cls, data: Any) -> Money:
        """Load ``{"amount": "84.00", "currency": "PLN"}``; reports every problem at once."""
        return load_or_raise(load_money, data, "Invalid money")

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def _factor(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        msg = f"Money can be multiplied by a number only (got {type(value).__name__} {value!r:.40})"
        raise InvalidMoney(msg)
    factor = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not factor.is_finite() or factor < 0:
        msg = f"Invalid factor: {value!r}; multiply money by a finite, non-negative number"
        raise InvalidMoney(msg)
    return factor


@functools.lru_cache(maxsize=65536)
def _format(amount: Decimal, currency: str, locale: str, plain_spaces: bool) -> str:
    """Formatted amounts are memoized: a shop's prices and totals repeat all day."""
    loc, pattern, digits = _formatter(locale, currency)
    quantum = Decimal(1).scaleb(-digits)
    text: str = pattern.apply(
        amount.quantize(quantum, ROUND_HALF_EVEN), loc, currency=currency, currency_digits=True
    )
    return _plain(text) if plain_spaces else text


@functools.lru_cache(maxsize=8192)
def _approximate(low: Decimal, high: Decimal, currency: str, locale: str, plain: bool) -> str:
    loc, pattern, _ = _formatter(locale, currency)
    high_text = _whole(pattern, high, loc, currency)
    high_digits = _whole(_number_pattern(locale), high, loc, None)
    low_digits = _whole(_number_pattern(locale), low, loc, None)
    text = high_text.replace(high_digits, f"{low_digits}–{high_digits}", 1)
    return _plain(text) if plain else text


def _whole(pattern: Any, value: Decimal, loc: Locale, currency: str | None) -> str:
    """``value`` through ``pattern`` with no fraction digits (ranges are whole units)."""
    text: str = _no_fraction(pattern).apply(value, loc, currency=currency, currency_digits=False)
    return text


@functools.lru_cache(maxsize=2048)
def _no_fraction(pattern: Any) -> Any:
    whole = copy.copy(pattern)
    whole.frac_prec = (0, 0)
    return whole


@functools.lru_cache(maxsize=512)
def _number_pattern(locale: str) -> Any:
    return get_locale(locale).decimal_formats[None]


_BAND_STEPS: Final = (1, 2, 5)


def _band(amount: Decimal) -> tuple[Decimal, Decimal]:
    """The 1-2-5 band ``[low, high)`` that holds ``amount``; ``[0, 10)`` below 10."""
    if amount < 10:
        return Decimal(0), Decimal(10)
    exponent = math.floor(math.log10(amount))
    scale = Decimal(10) ** exponent
    edges = [Decimal(step) * scale for step in _BAND_STEPS] + [Decimal(10) * scale]
    for low, high in itertools.pairwise(edges):
        if low <= amount < high:
            return low, high
    return edges[-1], edges[-1] * 2  # pragma: no cover - log10 rounding guard


def _plain(text: str) -> str:
    return text.replace(_NBSP, " ").replace(_NNBSP, " ")


_MONEY_KEYS: Final = frozenset({"amount", "currency"})


def load_money(data: Any, path: str, problems: Problems) -> Money | None:
    """Loader for the JSON shape ``{"amount": "84.00", "currency": "PLN"}``."""
    mapping = expect_mapping(data, path, problems)
    if mapping is None:
        return None
    unknown_keys(mapping, _MONEY_KEYS, path, problems)
    before = len(problems.items)
    amount = field(mapping, "amount", path, problems, _amount_from_json)
    currency = field(mapping, "currency", path, problems, _to_currency)
    if len(problems.items) > before or amount is None or currency is None:
        return None
    return Money(amount, currency)


def _amount_from_json(value: Any) -> Decimal:
    if not isinstance(value, str | int):
        msg = f'write amounts as strings such as "84.00" (got {value!r:.40})'
        raise InvalidMoney(msg)
    return _to_amount(value)

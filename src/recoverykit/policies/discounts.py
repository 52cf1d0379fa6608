"""Honest discounts: who may get one, the abuse guard, and codes that are real.

A discount in every reminder teaches customers to abandon on purpose. So a
recovery discount is the exception: only on touches the sequence marks
(never the first), only for customers the store chose (new ones, carts above a
threshold, some categories), and at most one per customer per 90 days across
all their checkouts, none at all for someone who abandoned three or more times
in 30 days.

A code is asked for only when the message carrying it is about to go out
(``DiscountIssuer``), must come back with a real expiry far enough ahead, and
is never invented: when the issuer fails, the touch goes out without one and a
note says why. The engine stays pure by asking: its first decision carries a
``DiscountRequest``; the runner checks the guard against the customer's
history, asks the issuer, and decides again with the code in the context
(``recoverykit.offer_discount`` does this for any runner).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final, Protocol, runtime_checkable

import attrs

from ..errors import InvalidInputError
from ..values import checks
from ..values.loading import (
    Problems,
    expect_list,
    expect_mapping,
    field,
    load_or_raise,
    to_bool,
    to_datetime,
    to_int,
    to_str,
    unknown_keys,
)
from ..values.model import Channel, Checkout
from ..values.money import Money
from ..values.time import require_aware

__all__ = [
    "DiscountHistory",
    "DiscountIssuer",
    "DiscountPolicy",
    "DiscountRequest",
    "IssuedDiscount",
    "OfferKind",
    "StaticCode",
    "eligibility_refusal",
    "guard_refusal",
    "load_discount_policy",
]

#: Codes are short, printable and without spaces, so they survive SMS and copy-paste.
_CODE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{1,39}")


def _check_code(_inst: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or _CODE.fullmatch(value) is None:
        msg = (
            f"Invalid discount code {value!r}: use 2-40 letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
        raise InvalidInputError(msg)


def _aware(_inst: object, attribute: attrs.Attribute[datetime], value: datetime) -> None:
    require_aware(value, attribute.name)


def _positive(_inst: object, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    checks.positive_duration("DiscountPolicy", attribute.name, value)


class OfferKind(enum.StrEnum):
    """What a recovery offer gives: money off, free delivery, a gift, or instalments.

    Every kind but instalments is a price the store gives up, so it comes as a real,
    single-use code from the issuer. Instalments are a way to pay the store already
    offers: no code, no price cut, nothing to teach customers to abandon for.
    """

    #: Money off, through a discount code.
    CODE = "code"
    #: Free delivery, through a code the issuer creates for it.
    FREE_SHIPPING = "free_shipping"
    #: A gift with the order (``DiscountPolicy.gift`` names it), through a code.
    GIFT = "gift"
    #: Paying in instalments at checkout: a payment option, no code.
    INSTALMENTS = "instalments"

    @property
    def needs_code(self) -> bool:
        """Whether the offer is given through a code the issuer creates."""
        return self is not OfferKind.INSTALMENTS

    @property
    def pack_suffix(self) -> str:
        """The suffix of the pack entry that words it: ``final.discount``, ``final.gift``."""
        return "discount" if self is OfferKind.CODE else self.value


#: The longest gift name a message may carry; it is a name, not a description.
MAX_GIFT: Final = 60


@attrs.frozen
class IssuedDiscount:
    """A code the store's system created for one message, with its real deadline."""

    code: str = attrs.field(validator=_check_code)
    expires_at: datetime = attrs.field(validator=_aware)
    #: False for a code shared by everyone (``StaticCode``): lint flags those.
    single_use: bool = True


@attrs.frozen
class DiscountRequest:
    """What the engine asks for: a code for this touch of this checkout."""

    customer_id: str
    checkout_id: str
    touch: int
    channel: Channel
    #: The cart as it will be spoken of (current items and total).
    total: Money
    #: When the code is asked for (the moment the message goes out).
    at: datetime
    #: A code must stay valid at least until then.
    valid_until: datetime
    #: What the code is for: money off, free delivery or a gift.
    offer: OfferKind = OfferKind.CODE


@runtime_checkable
class DiscountIssuer(Protocol):
    """**Protocol:** creates a single-use code when a message is about to carry one.

    Return an ``IssuedDiscount`` whose ``expires_at`` is the code's real expiry in
    the store's system, or raise: any exception means "no code", and the touch goes
    out without a discount (with a note). Never return a code that will not work.
    """

    def issue(self, request: DiscountRequest) -> IssuedDiscount: ...


@attrs.frozen
class StaticCode:
    """One code for everyone, valid until a fixed instant.

    Allowed because small stores start there, but a shared code leaks to coupon
    sites and teaches abandonment; ``recoverykit lint`` flags it (RK114).
    """

    code: str = attrs.field(validator=_check_code)
    expires_at: datetime = attrs.field(validator=_aware)

    def issue(self, request: DiscountRequest) -> IssuedDiscount:
        if self.expires_at < request.valid_until:
            msg = f"the shared code {self.code!r} expires at {self.expires_at.isoformat()}"
            raise LookupError(msg)
        return IssuedDiscount(self.code, self.expires_at, single_use=False)


def _thresholds(value: Mapping[str, Any]) -> Mapping[str, Decimal]:
    return dict(
        checks.threshold("DiscountPolicy", "min_cart", currency, amount)
        for currency, amount in dict(value).items()
    )


def _categories(value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    return checks.non_empty(
        "DiscountPolicy",
        "categories",
        frozenset(str(item) for item in value),
        why="no cart could ever get a discount",
        fix="name the categories, or pass None for every category",
    )


@attrs.frozen
class DiscountPolicy:
    """Who may be offered a recovery discount, and how often.

    Only touches the sequence marks with ``discount`` carry one (never the first:
    the sequence refuses it). ``min_cart`` is per currency: when it is set, a cart
    in a currency it does not name gets no discount. ``categories``, when set,
    must cover every item still in stock, so the code works on the whole cart.
    """

    new_customers_only: bool = False
    min_cart: Mapping[str, Decimal] = attrs.field(factory=dict, converter=_thresholds)
    categories: frozenset[str] | None = attrs.field(default=None, converter=_categories)
    #: At most one recovery discount per customer in this period, across checkouts.
    once_per: timedelta = attrs.field(default=timedelta(days=90), validator=_positive)
    #: No discount for a customer with this many abandonments (this one included)...
    abandon_limit: int = 3
    #: ... within this period.
    abandon_window: timedelta = attrs.field(default=timedelta(days=30), validator=_positive)
    #: A code must stay valid at least this long after the message goes out.
    min_validity: timedelta = attrs.field(default=timedelta(hours=24), validator=_positive)
    #: A shared code instead of an issuer (flagged by lint).
    static_code: StaticCode | None = None
    #: What the offer gives (``OfferKind``): a code off the price by default.
    offer: OfferKind = attrs.field(default=OfferKind.CODE, converter=OfferKind)
    #: The gift as messages name it ("a linen tote bag"), for ``offer="gift"`` only.
    gift: str | None = None

    def __attrs_post_init__(self) -> None:
        checks.positive_int("DiscountPolicy", "abandon_limit", self.abandon_limit)
        _check_gift(self.offer, self.gift)

    @classmethod
    def from_dict(cls, data: Any) -> DiscountPolicy:
        """Load the ``discounts`` section of a policy; every problem is reported at once."""
        return load_or_raise(load_discount_policy, data, "discount policy")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "new_customers_only": self.new_customers_only,
            "min_cart": {currency: str(amount) for currency, amount in self.min_cart.items()},
            "once_per_days": self.once_per / timedelta(days=1),
            "abandon_limit": self.abandon_limit,
            "abandon_window_days": self.abandon_window / timedelta(days=1),
            "min_validity_hours": self.min_validity / timedelta(hours=1),
        }
        if self.offer is not OfferKind.CODE:
            data["offer"] = self.offer.value
        if self.gift is not None:
            data["gift"] = self.gift
        if self.categories is not None:
            data["categories"] = sorted(self.categories)
        if self.static_code is not None:
            data["static_code"] = {
                "code": self.static_code.code,
                "expires_at": self.static_code.expires_at.isoformat(),
            }
        return data


def _check_gift(offer: OfferKind, gift: str | None) -> None:
    """A gift offer names its gift in one short line; no other offer names one."""
    if offer is not OfferKind.GIFT:
        if gift is not None:
            msg = (
                f"DiscountPolicy.gift is {gift!r} but the offer is {offer.value!r}; "
                "set offer='gift' or leave the gift out"
            )
            raise InvalidInputError(msg)
        return
    if not isinstance(gift, str) or not gift.strip():
        msg = (
            f"DiscountPolicy(offer='gift') needs the gift's name (got gift={gift!r}); "
            "write e.g. gift='a linen tote bag'"
        )
        raise InvalidInputError(msg)
    if "\n" in gift or "\r" in gift or len(gift) > MAX_GIFT or gift != gift.strip():
        msg = (
            f"DiscountPolicy.gift must be one trimmed line of at most {MAX_GIFT} characters "
            f"(got {gift!r:.80}); name the gift, the link shows the rest"
        )
        raise InvalidInputError(msg)


_POLICY_KEYS: Final = frozenset(
    {
        "new_customers_only",
        "min_cart",
        "categories",
        "once_per_days",
        "abandon_limit",
        "abandon_window_days",
        "min_validity_hours",
        "static_code",
        "offer",
        "gift",
    }
)


def _to_days(value: Any) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        msg = f"expected a positive number (got {value!r})"
        raise ValueError(msg)
    return timedelta(days=value)


def _to_offer(value: Any) -> OfferKind:
    try:
        return OfferKind(to_str(value))
    except ValueError:
        choices = ", ".join(kind.value for kind in OfferKind)
        msg = f"unknown offer {value!r}; use one of {choices}"
        raise ValueError(msg) from None


def _to_hours(value: Any) -> timedelta:
    return _to_days(value) / 24


def load_discount_policy(raw: Any, path: str, problems: Problems) -> DiscountPolicy | None:
    mapping = expect_mapping(raw, path, problems)
    if mapping is None:
        return None
    unknown_keys(mapping, _POLICY_KEYS, path, problems)
    before = len(problems.items)
    kwargs: dict[str, Any] = {
        "new_customers_only": field(
            mapping, "new_customers_only", path, problems, to_bool, default=False
        ),
        "once_per": field(
            mapping, "once_per_days", path, problems, _to_days, default=timedelta(days=90)
        ),
        "abandon_limit": field(mapping, "abandon_limit", path, problems, to_int, default=3),
        "abandon_window": field(
            mapping, "abandon_window_days", path, problems, _to_days, default=timedelta(days=30)
        ),
        "min_validity": field(
            mapping, "min_validity_hours", path, problems, _to_hours, default=timedelta(hours=24)
        ),
        "offer": field(mapping, "offer", path, problems, _to_offer, default=OfferKind.CODE),
        "gift": field(mapping, "gift", path, problems, to_str, default=None),
    }
    min_cart = mapping.get("min_cart", {})
    if expect_mapping(min_cart, f"{path}.min_cart", problems) is not None:
        kwargs["min_cart"] = min_cart
    categories = mapping.get("categories")
    if categories is not None:
        items = expect_list(categories, f"{path}.categories", problems)
        if items is not None:
            kwargs["categories"] = [to_str(item) for item in items]
    static = mapping.get("static_code")
    if static is not None:
        inner = expect_mapping(static, f"{path}.static_code", problems)
        if inner is not None:
            unknown_keys(inner, frozenset({"code", "expires_at"}), f"{path}.static_code", problems)
            code = field(inner, "code", f"{path}.static_code", problems, to_str)
            expires = field(inner, "expires_at", f"{path}.static_code", problems, to_datetime)
            if code is not None and expires is not None:
                try:
                    kwargs["static_code"] = StaticCode(code, expires)
                except InvalidInputError as exc:
                    problems.add(f"{path}.static_code.code", str(exc))
    if len(problems.items) > before:
        return None
    try:
        return DiscountPolicy(**kwargs)
    except (InvalidInputError, ValueError, TypeError) as exc:
        problems.add(path, str(exc))
        return None


@attrs.frozen
class DiscountHistory:
    """What the guard needs to know about the customer across all their checkouts."""

    #: When earlier recovery discounts went out (any checkout).
    discounts: tuple[datetime, ...] = ()
    #: When this customer's checkouts were abandoned (this one included).
    abandonments: tuple[datetime, ...] = ()


def eligibility_refusal(policy: DiscountPolicy, checkout: Checkout) -> str | None:
    """Why this checkout's customer may not get a discount, from the cart alone (or ``None``)."""
    if policy.new_customers_only and checkout.customer.returning:
        return "discounts go to new customers only"
    if policy.min_cart:
        threshold = policy.min_cart.get(checkout.total.currency)
        if threshold is None:
            return f"no minimum cart is set for {checkout.total.currency}"
        if checkout.total.amount < threshold:
            return f"the cart is under the {threshold} {checkout.total.currency} minimum"
    if policy.categories is not None:
        outside = sorted(
            {
                item.category or "(none)"
                for item in checkout.items
                if item.in_stock and item.category not in policy.categories
            }
        )
        if outside:
            return f"the cart holds items outside the discount categories: {', '.join(outside)}"
    return None


def guard_refusal(policy: DiscountPolicy, history: DiscountHistory, now: datetime) -> str | None:
    """The abuse guard: why no discount may go out now (or ``None``)."""
    recent = [at for at in history.discounts if now - policy.once_per < at <= now]
    if recent:
        days = (now - max(recent)).days
        return f"a recovery discount went to this customer {days} day(s) ago"
    abandoned = sum(1 for at in history.abandonments if now - policy.abandon_window < at <= now)
    if abandoned >= policy.abandon_limit:
        return (
            f"{abandoned} abandonments in the last "
            f"{policy.abandon_window.days} days: no discount, so abandoning never pays"
        )
    return None

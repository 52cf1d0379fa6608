"""The values every layer speaks: channels, stages, customers, carts and checkouts.

Values are frozen and validated when built; after that the rest of the library
trusts them. ``from_dict`` is the loading boundary: it reports every problem in a
document at once, each with its JSON path.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from ..errors import CurrencyMismatch, InvalidInputError
from .loading import (
    Problems,
    checked,
    expect_list,
    expect_mapping,
    field,
    load_or_raise,
    to_bool,
    to_datetime,
    to_enum,
    to_int,
    to_str,
    unknown_keys,
)
from .money import Money, get_locale, load_money
from .phone import PhoneNumber
from .text import item_name_problem, lone_surrogate_at, replace_surrogates, strip_controls
from .time import require_aware
from .zones import get_zone

__all__ = [
    "ADDRESS_FIELDS",
    "READ_SIGNALS",
    "Channel",
    "Checkout",
    "Customer",
    "Friction",
    "LineItem",
    "ReadSignal",
    "Stage",
    "address_key",
]


class Channel(enum.StrEnum):
    """Where a message can go."""

    #: Plain text messages; reach every phone, need a mobile line.
    SMS = "sms"
    #: WhatsApp Business; templates outside the 24 h service window.
    WHATSAPP = "whatsapp"
    #: A Telegram bot chat the customer started.
    TELEGRAM = "telegram"
    #: A Viber bot chat or business message.
    VIBER = "viber"
    #: E-mail; never counted against the personal-channel cap.
    EMAIL = "email"

    @property
    def personal(self) -> bool:
        """True for the channels that land on the customer's phone as a chat."""
        return self is not Channel.EMAIL

    @property
    def read_signal(self) -> ReadSignal:
        """Whether this kind of channel can ever say a message was read (``READ_SIGNALS``)."""
        return READ_SIGNALS[self]


class ReadSignal(enum.StrEnum):
    """What a channel kind can tell about a message being read or opened.

    "Only if the previous message was not read" can be judged only where a read
    would be reported: silence from a channel that never reports reads says nothing.
    """

    #: Never: an SMS has no read receipt, and a Telegram bot is never told.
    NONE = "none"
    #: The provider reports reads by default (WhatsApp "read", Viber "seen").
    RECEIPT = "receipt"
    #: Only where the store tracks opens itself (an e-mail open pixel or its provider's
    #: open events) and says so in ``RecoveryPolicy.read_signals``.
    TRACKED = "tracked"


#: Each channel kind's read signal, as data: the one place the engine and the policy
#: checks ask whether "not read" can mean anything on a channel.
READ_SIGNALS: Final[Mapping[Channel, ReadSignal]] = {
    Channel.SMS: ReadSignal.NONE,
    Channel.WHATSAPP: ReadSignal.RECEIPT,
    Channel.TELEGRAM: ReadSignal.NONE,
    Channel.VIBER: ReadSignal.RECEIPT,
    Channel.EMAIL: ReadSignal.TRACKED,
}


class Stage(enum.StrEnum):
    """How far the customer got before leaving; it says which help fits."""

    CART = "cart"
    CONTACT = "contact"
    SHIPPING = "shipping"
    PAYMENT = "payment"


class Friction(enum.StrEnum):
    """Why the customer probably left, when the store knows or can guess."""

    SHIPPING_COST = "shipping_cost"
    PAYMENT_FAILED = "payment_failed"
    DELIVERY_TIME = "delivery_time"
    RETURNS = "returns"
    TRUST = "trust"
    SIZING = "sizing"
    COMPARISON = "comparison"
    DISTRACTION = "distraction"
    POSTPONING = "postponing"


# -- validators --------------------------------------------------------------------------
def _nonempty_id(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        msg = f"{attribute.name} must be a non-empty string (got {value!r:.60})"
        raise InvalidInputError(msg)
    if len(value) > 200:
        msg = f"{attribute.name} is longer than 200 characters (got {value[:40]!r}...)"
        raise InvalidInputError(msg)
    _valid_unicode(attribute.name, value)


def _valid_unicode(name: str, value: str) -> None:
    """Refuse a lone surrogate: it cannot be encoded, so no store or provider could keep it."""
    at = lone_surrogate_at(value)
    if at is not None:
        msg = (
            f"{name} holds a lone surrogate at index {at} ({value[:40]!r}); it is not valid "
            "Unicode: decode the input as UTF-8 before passing it"
        )
        raise InvalidInputError(msg)


def _optional_id(_inst: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None:
        _nonempty_id(_inst, attribute, value)


def _first_name(value: object) -> str | None:
    """Any string is kept (a name that cannot be used is left out of messages, with a
    note); a lone surrogate becomes U+FFFD so the customer can still be stored."""
    if value is None:
        return None
    if not isinstance(value, str):
        msg = f"first_name must be a string or None (got {type(value).__name__} {value!r:.40})"
        raise InvalidInputError(msg)
    return replace_surrogates(value)


def _item_text(value: object) -> str:
    """An item name or category: control, bidi and zero-width characters removed."""
    if not isinstance(value, str):
        return value  # type: ignore[return-value]  # the validator names the problem
    return strip_controls(replace_surrogates(value))


def _item_name(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    _nonempty_id(_inst, attribute, value)
    problem = item_name_problem(value)
    if problem is not None:
        msg = f"{attribute.name} {value[:60]!r} {problem}"
        raise InvalidInputError(msg)


def _category(_inst: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None:
        _item_name(_inst, attribute, value)


def _aware(_inst: object, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
    if value is not None:
        require_aware(value, attribute.name)


def _positive_quantity(_inst: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = f"{attribute.name} must be a whole number of at least 1 (got {value!r})"
        raise InvalidInputError(msg)


def _non_negative(_inst: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        msg = f"{attribute.name} must be a whole number of at least 0 (got {value!r})"
        raise InvalidInputError(msg)


def _phone(value: str | PhoneNumber | None) -> str | None:
    if value is None or isinstance(value, PhoneNumber):
        return None if value is None else value.e164
    return PhoneNumber.parse(value).e164  # refuses non-strings with InvalidPhoneNumber


_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not _EMAIL.fullmatch(value)
        or len(value) > 254
        or lone_surrogate_at(value) is not None
    ):
        msg = f"Invalid e-mail address: {value!r:.80}; expected name@example.com"
        raise InvalidInputError(msg)
    return value


def _locale(value: str) -> str:
    get_locale(value)
    return value.replace("-", "_")


def _timezone(value: str | None) -> str | None:
    if value is not None:
        get_zone(value)
    return value


def _country(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{2}", value):
        msg = f"Invalid country: {value!r}; use an ISO 3166 alpha-2 code such as 'PL'"
        raise InvalidInputError(msg)
    return value.upper()


_LINK: Final = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def _link(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _LINK.match(value):
        msg = f"{attribute.name} must be an http(s) URL (got {value!r:.80})"
        raise InvalidInputError(msg)
    _valid_unicode(attribute.name, value)


def _items(value: Iterable[LineItem]) -> tuple[LineItem, ...]:
    items = tuple(value)
    for index, item in enumerate(items):
        if not isinstance(item, LineItem):
            msg = f"items[{index}] must be a LineItem (got {type(item).__name__})"
            raise TypeError(msg)
    return items


# -- values ------------------------------------------------------------------------------
@attrs.frozen
class LineItem:
    """One line of a cart: what, how many, at what unit price, and whether it is in stock."""

    sku: str = attrs.field(validator=_nonempty_id)
    #: Control, bidi and zero-width characters are removed; a URL or e-mail address
    #: is refused (a message may name the item, never send the reader elsewhere).
    name: str = attrs.field(converter=_item_text, validator=_item_name)
    quantity: int = attrs.field(validator=_positive_quantity)
    unit_price: Money = attrs.field(validator=attrs.validators.instance_of(Money))
    category: str | None = attrs.field(
        default=None, converter=attrs.converters.optional(_item_text), validator=_category
    )
    #: False when the item cannot be bought now; a sold-out item is never named.
    in_stock: bool = True
    #: Units left, when the store knows; only shown when fresh and allowed.
    stock_level: int | None = attrs.field(default=None, validator=_non_negative)
    #: When ``in_stock`` and ``stock_level`` were true.
    stock_as_of: datetime | None = attrs.field(default=None, validator=_aware)

    @property
    def subtotal(self) -> Money:
        return self.unit_price * self.quantity

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "sku": self.sku,
            "name": self.name,
            "quantity": self.quantity,
            "unit_price": self.unit_price.to_dict(),
        }
        if self.category is not None:
            data["category"] = self.category
        if not self.in_stock:
            data["in_stock"] = False
        if self.stock_level is not None:
            data["stock_level"] = self.stock_level
        if self.stock_as_of is not None:
            data["stock_as_of"] = self.stock_as_of.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: Any) -> LineItem:
        return load_or_raise(load_line_item, data, "Invalid line item")


@attrs.frozen
class Customer:
    """A shopper as the store knows them from checkout, and nothing more.

    ``phone`` is kept as E.164 text; any format ``PhoneNumber.parse`` accepts in
    international form is normalized on construction. ``first_name`` is kept as the
    store gave it, but a message uses it only when ``usable_first_name`` accepts it
    (letters, marks, spaces, hyphens, apostrophes); otherwise the no-name wording goes.
    """

    id: str = attrs.field(validator=_nonempty_id)
    first_name: str | None = attrs.field(default=None, converter=_first_name)
    phone: str | None = attrs.field(default=None, converter=_phone)
    email: str | None = attrs.field(default=None, converter=_email)
    locale: str = attrs.field(default="en", converter=_locale)
    #: IANA zone the store knows for certain (browser or shipping address).
    timezone: str | None = attrs.field(default=None, converter=_timezone)
    #: ISO 3166 alpha-2 country, e.g. of the shipping address.
    country: str | None = attrs.field(default=None, converter=_country)
    #: Orders placed before; 0 means a new customer.
    orders_count: int = attrs.field(default=0, validator=_non_negative)
    telegram_chat_id: str | None = attrs.field(default=None, validator=_optional_id)
    viber_id: str | None = attrs.field(default=None, validator=_optional_id)

    @property
    def phone_number(self) -> PhoneNumber | None:
        """The parsed phone (cached; free after the first call for a number)."""
        return None if self.phone is None else PhoneNumber.parse(self.phone)

    @property
    def returning(self) -> bool:
        return self.orders_count > 0

    def address_for(self, channel: Channel) -> str | None:
        """Where a message on ``channel`` goes for this customer, if anywhere.

        The phone serves SMS and WhatsApp; e-mail, Telegram and Viber have a field each
        (``ADDRESS_FIELDS``).
        """
        value: str | None = getattr(self, ADDRESS_FIELDS[Channel(channel)])
        return value

    def with_address(self, channel: Channel, address: str) -> Customer:
        """This customer reachable at ``address`` on ``channel`` (validated as when built).

        For SMS and WhatsApp the address is the phone, so both channels change.
        """
        changes: dict[str, Any] = {ADDRESS_FIELDS[Channel(channel)]: address}
        return attrs.evolve(self, **changes)

    def addresses(self) -> tuple[tuple[Channel, str], ...]:
        """Every ``(channel, address_key)`` under which a store finds this customer."""
        return tuple(
            (channel, address_key(channel, address))
            for channel in Channel
            if (address := self.address_for(channel)) is not None
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id}
        for key in ("first_name", "phone", "email"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        data["locale"] = self.locale
        for key in ("timezone", "country"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        data["orders_count"] = self.orders_count
        for key in ("telegram_chat_id", "viber_id"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Customer:
        return load_or_raise(load_customer, data, "Invalid customer")


#: The customer field that holds each channel's address (one phone for SMS and WhatsApp).
ADDRESS_FIELDS: Final[Mapping[Channel, str]] = {
    Channel.SMS: "phone",
    Channel.WHATSAPP: "phone",
    Channel.TELEGRAM: "telegram_chat_id",
    Channel.VIBER: "viber_id",
    Channel.EMAIL: "email",
}


def address_key(channel: Channel | None, address: str) -> str:
    """An address as it is compared and looked up: the one normalisation per channel.

    E-mail addresses compare without case (``Ann@Example.com`` is ``ann@example.com``,
    by Unicode case folding); phone numbers (E.164 already) and chat ids compare as
    given, surrounding spaces aside. With no channel (a revocation of every channel),
    an address with an ``@`` is taken for an e-mail address.
    """
    key = address.strip()
    if channel is Channel.EMAIL or (channel is None and "@" in key):
        return key.casefold()
    return key


@attrs.frozen
class Checkout:
    """An abandoned checkout: who, what, how far they got, when they left, and the way back."""

    id: str = attrs.field(validator=_nonempty_id)
    customer: Customer = attrs.field(validator=attrs.validators.instance_of(Customer))
    items: tuple[LineItem, ...] = attrs.field(converter=_items)
    total: Money = attrs.field(validator=attrs.validators.instance_of(Money))
    stage: Stage = attrs.field(converter=Stage)
    abandoned_at: datetime = attrs.field(validator=_aware)
    #: Where the customer picks up: a cart link, never a login link.
    link: str = attrs.field(validator=_link)
    friction: Friction | None = attrs.field(
        default=None, converter=attrs.converters.optional(Friction)
    )
    #: A real reservation deadline the store will honour; the only urgency allowed.
    hold_until: datetime | None = attrs.field(default=None, validator=_aware)

    def __attrs_post_init__(self) -> None:
        for index, item in enumerate(self.items):
            if item.unit_price.currency != self.total.currency:
                msg = (
                    f"items[{index}] is priced in {item.unit_price.currency} but the total is in "
                    f"{self.total.currency}; one checkout has one currency"
                )
                raise CurrencyMismatch(msg)
        if self.hold_until is not None and self.hold_until <= self.abandoned_at:
            msg = (
                f"hold_until ({self.hold_until.isoformat()}) must be after abandoned_at "
                f"({self.abandoned_at.isoformat()})"
            )
            raise InvalidInputError(msg)

    @property
    def item_count(self) -> int:
        return sum(item.quantity for item in self.items)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "customer": self.customer.to_dict(),
            "items": [item.to_dict() for item in self.items],
            "total": self.total.to_dict(),
            "stage": self.stage.value,
            "abandoned_at": self.abandoned_at.isoformat(),
            "link": self.link,
        }
        if self.friction is not None:
            data["friction"] = self.friction.value
        if self.hold_until is not None:
            data["hold_until"] = self.hold_until.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: Any, *, customers: Mapping[str, Customer] | None = None) -> Checkout:
        """Load a checkout; ``customer`` is an embedded object or, with ``customers``, an id."""
        problems = Problems()
        checkout = load_checkout(data, "$", problems, customers=customers)
        problems.raise_if_any("Invalid checkout")
        assert checkout is not None
        return checkout


# -- loaders -----------------------------------------------------------------------------
_ITEM_KEYS: Final = frozenset(
    {"sku", "name", "quantity", "unit_price", "category", "in_stock", "stock_level", "stock_as_of"}
)
_CUSTOMER_KEYS: Final = frozenset(
    {
        "id",
        "first_name",
        "phone",
        "email",
        "locale",
        "timezone",
        "country",
        "orders_count",
        "telegram_chat_id",
        "viber_id",
        "consent",
    }
)
_CHECKOUT_KEYS: Final = frozenset(
    {
        "id",
        "customer",
        "items",
        "total",
        "stage",
        "abandoned_at",
        "link",
        "friction",
        "hold_until",
    }
)


def _build(cls: Any, path: str, problems: Problems, **kwargs: Any) -> Any:
    """Construct ``cls`` and record, rather than raise, a cross-field problem (at the
    field its message starts with, when it names one)."""
    try:
        return cls(**kwargs)
    except (InvalidInputError, ValueError, TypeError) as exc:
        text = str(exc)
        named = next((key for key in kwargs if text.startswith(f"{key} ")), None)
        problems.add(path if named is None else f"{path}.{named}", text)
        return None


def _money_at(data: Mapping[str, Any], key: str, path: str, problems: Problems) -> Money | None:
    if key not in data:
        problems.add(f"{path}.{key}", "is required")
        return None
    return load_money(data[key], f"{path}.{key}", problems)


def load_line_item(data: Any, path: str, problems: Problems) -> LineItem | None:
    mapping = expect_mapping(data, path, problems)
    if mapping is None:
        return None
    unknown_keys(mapping, _ITEM_KEYS, path, problems)
    before = len(problems.items)
    values = {
        "sku": field(mapping, "sku", path, problems, checked(LineItem, "sku", to_str)),
        "name": field(mapping, "name", path, problems, checked(LineItem, "name", to_str)),
        "quantity": field(
            mapping, "quantity", path, problems, checked(LineItem, "quantity", to_int)
        ),
        "unit_price": _money_at(mapping, "unit_price", path, problems),
        "category": field(
            mapping, "category", path, problems, checked(LineItem, "category", to_str), default=None
        ),
        "in_stock": field(mapping, "in_stock", path, problems, to_bool, default=True),
        "stock_level": field(
            mapping,
            "stock_level",
            path,
            problems,
            checked(LineItem, "stock_level", to_int),
            default=None,
        ),
        "stock_as_of": field(mapping, "stock_as_of", path, problems, to_datetime, default=None),
    }
    if len(problems.items) > before:
        return None
    return _build(LineItem, path, problems, **values)  # type: ignore[no-any-return]


def load_customer(data: Any, path: str, problems: Problems) -> Customer | None:
    mapping = expect_mapping(data, path, problems)
    if mapping is None:
        return None
    unknown_keys(mapping, _CUSTOMER_KEYS, path, problems)
    before = len(problems.items)
    values = {
        "id": field(mapping, "id", path, problems, checked(Customer, "id", to_str)),
        "first_name": field(mapping, "first_name", path, problems, to_str, default=None),
        "phone": field(mapping, "phone", path, problems, _phone, default=None),
        "email": field(mapping, "email", path, problems, _email, default=None),
        "locale": field(mapping, "locale", path, problems, _locale, default="en"),
        "timezone": field(mapping, "timezone", path, problems, _timezone, default=None),
        "country": field(mapping, "country", path, problems, _country, default=None),
        "orders_count": field(mapping, "orders_count", path, problems, to_int, default=0),
        "telegram_chat_id": field(
            mapping,
            "telegram_chat_id",
            path,
            problems,
            checked(Customer, "telegram_chat_id", to_str),
            default=None,
        ),
        "viber_id": field(
            mapping,
            "viber_id",
            path,
            problems,
            checked(Customer, "viber_id", to_str),
            default=None,
        ),
    }
    if len(problems.items) > before:
        return None
    return _build(Customer, path, problems, **values)  # type: ignore[no-any-return]


def load_checkout(
    data: Any,
    path: str,
    problems: Problems,
    *,
    customers: Mapping[str, Customer] | None = None,
) -> Checkout | None:
    mapping = expect_mapping(data, path, problems)
    if mapping is None:
        return None
    unknown_keys(mapping, _CHECKOUT_KEYS, path, problems)
    before = len(problems.items)
    customer: Customer | None = None
    raw_customer = mapping.get("customer")
    if raw_customer is None:
        problems.add(f"{path}.customer", "is required")
    elif isinstance(raw_customer, str):
        if customers is None or raw_customer not in customers:
            problems.add_unknown(f"{path}.customer", "customer", raw_customer)
        else:
            customer = customers[raw_customer]
    else:
        customer = load_customer(raw_customer, f"{path}.customer", problems)
    items: list[LineItem] = []
    raw_items = field(mapping, "items", path, problems, lambda v: v, default=[])
    listed = expect_list(raw_items, f"{path}.items", problems) or []
    for index, raw in enumerate(listed):
        item = load_line_item(raw, f"{path}.items[{index}]", problems)
        if item is not None:
            items.append(item)
    values = {
        "id": field(mapping, "id", path, problems, checked(Checkout, "id", to_str)),
        "total": _money_at(mapping, "total", path, problems),
        "stage": field(mapping, "stage", path, problems, to_enum(Stage), default=Stage.PAYMENT),
        "abandoned_at": field(mapping, "abandoned_at", path, problems, to_datetime),
        "link": field(mapping, "link", path, problems, checked(Checkout, "link", to_str)),
        "friction": field(mapping, "friction", path, problems, to_enum(Friction), default=None),
        "hold_until": field(mapping, "hold_until", path, problems, to_datetime, default=None),
    }
    if len(problems.items) > before or customer is None:
        return None
    return _build(  # type: ignore[no-any-return]
        Checkout, path, problems, customer=customer, items=tuple(items), **values
    )

"""What recovery messages cost: a price table, and spend per recovered and per added order.

A `PriceTable` holds one price per channel and recipient country, with a default
for countries it does not list, each in its own currency. The unit is fixed by
the channel, because that is how providers bill:

- **SMS**: per segment (a two-segment text costs twice), for every message the
  runner sends: touches, replies and opt-out confirmations alike.
- **WhatsApp**: per *delivered* template message (Meta bills a template when it is
  delivered, not when it is sent). A template touch is counted when it is sent and
  billed when the log shows its ``MessageDelivered`` (or ``MessageRead``); one with no
  such report is ``awaiting`` delivery and costs nothing yet. A free-form message (any
  reply, and a touch sent while the customer's 24-hour service window is open) costs
  nothing.
- **Telegram, Viber, e-mail**: per message, replies included. A Telegram bot
  usually pays nothing per message (only paid broadcasts cost Telegram Stars):
  price it at zero, so the table says so rather than leaving a gap.
- **Inbound messages** (the customer's own replies) cost something only where the
  table gives the channel an ``inbound`` price (Twilio bills received texts; Meta
  does not bill them): one unit per reply the log records.

Counting happens inside the scorecard's single pass (`UsageCounter`): integer
units per channel, country and period, never the records themselves; memory
grows by one entry per phone number seen, not per event. Prices are applied
once at the end (`Cost.of`). Amounts in different currencies are never added
together.

The number that matters is the cost per *incremental* order: spend divided by
the orders the messages added over the holdout. Cost per *recovered* order
divides by attributed orders, which include customers who would have come back
anyway, and so always looks cheaper than it is.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs
import phonenumbers

from ..errors import InvalidInputError
from ..programs import SERVICE_WINDOW
from ..protocols import MESSAGE_KINDS as _MESSAGE_KINDS
from ..protocols import RecordKind
from ..values.loading import (
    Problems,
    expect_mapping,
    field,
    load_or_raise,
    read_json_file,
    to_enum,
    to_str,
    unknown_keys,
)
from ..values.model import Channel
from ..values.money import Money, load_money

__all__ = [
    "UNITS",
    "UNKNOWN_COUNTRY",
    "ChannelPrices",
    "Cost",
    "CostLine",
    "PriceTable",
    "Usage",
    "UsageCounter",
    "country_of",
]

T = TypeVar("T")

#: What one price buys on each channel.
UNITS: Final[Mapping[Channel, str]] = {
    Channel.SMS: "segment",
    Channel.WHATSAPP: "message",
    Channel.TELEGRAM: "message",
    Channel.VIBER: "message",
    Channel.EMAIL: "message",
}
#: The country of a message whose address is not a phone number (e-mail, chat ids).
UNKNOWN_COUNTRY: Final = "unknown"
#: The channel of a log line that names none (as the scorecard labels it).
_NO_CHANNEL: Final = "none"
#: Log kinds that put a message in front of a customer (and on the provider's bill).
MESSAGE_KINDS: Final = _MESSAGE_KINDS
#: Channel names as the log writes them (an enum member's ``.value`` is slow in a hot loop).
_SMS: Final = Channel.SMS.value
_WHATSAPP: Final = Channel.WHATSAPP.value
#: Per-order figures are shown to four decimal places: SMS prices run below a cent.
_QUANTUM: Final = Decimal("0.0001")
#: Calling code → regions sharing it, as ``phonenumbers`` knows them (``"001"`` is non-geographic).
_REGIONS: Final[Mapping[str, tuple[str, ...]]] = {
    str(code): tuple(regions) for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
}
#: Area code → country inside the North American plan, filled as numbers are seen.
_NANP: dict[str, str] = {}


# -- countries -------------------------------------------------------------------------------
def _country_code(value: Any) -> str:
    """An ISO 3166 alpha-2 code that phone numbers can belong to, in upper case."""
    code = value.upper() if isinstance(value, str) else value
    if isinstance(code, str) and code in phonenumbers.SUPPORTED_REGIONS:
        return code
    hint = " ('GB' for the United Kingdom)" if code == "UK" else " such as 'PL' or 'US'"
    msg = f"unknown country {value!r}; use an ISO 3166 alpha-2 code{hint}"
    raise InvalidInputError(msg)


def country_of(address: object) -> str | None:
    """The country of a phone number in E.164 form; ``None`` for any other address.

    The answer is the region ``PhoneNumber.parse`` gives, found more cheaply (the
    report may meet a hundred thousand numbers): most calling codes belong to one
    country, answered from the code alone; inside the North American plan (+1)
    the three-digit area code always belongs to one country or territory, so one
    number answers for its whole area code; where the regions sharing a code are
    told apart by their leading digits (+7 Russia and Kazakhstan, +39, +47, +358,
    ...) those decide. Other numbers (+44, +61, ...) go through ``phonenumbers``'
    own region look-up. Numbers in the log were checked when the customer was
    loaded, so the shortcuts do not check the rest of the number again.
    """
    if not isinstance(address, str) or not address.startswith("+"):
        return None
    digits = address[1:]
    for size in (1, 2, 3):
        regions = _REGIONS.get(digits[:size])
        if regions is not None:
            break
    else:
        return None
    if len(regions) == 1:
        return None if regions[0] == "001" else regions[0]
    if digits[0] == "1" and len(digits) == 11:
        area = digits[1:4]
        found = _NANP.get(area)
        if found is None:
            found = _library_region("1", digits[1:])
            if found is not None:
                _NANP[area] = found
        return found
    return _by_leading_digits(digits[:size], digits[size:], regions)


@functools.cache
def _leading_digits(regions: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str] | None], ...]:
    """Each region sharing a calling code, in the library's order, with its leading-digits rule."""
    rules: list[tuple[str, re.Pattern[str] | None]] = []
    for region in regions:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        pattern = None if metadata is None else metadata.leading_digits
        rules.append((region, None if pattern is None else re.compile(pattern)))
    return tuple(rules)


def _by_leading_digits(code: str, national: str, regions: tuple[str, ...]) -> str | None:
    """The library's own walk over the regions, skipping the full check where it cannot matter.

    A region with leading digits claims a number they match. A region without
    them claims every valid number of its own, which needs the full check,
    unless no region after it could claim the number: then it is the only one left.
    """
    rules = _leading_digits(regions)
    for index, (region, pattern) in enumerate(rules):
        if pattern is not None:
            if pattern.match(national):
                return region
            continue
        rest = rules[index + 1 :]
        if all(later is not None and not later.match(national) for _, later in rest):
            return region
        return _library_region(code, national)
    return None


def _library_region(code: str, national: str) -> str | None:
    """``phonenumbers``' own region for the number, without the rest of a full parse.

    ``PhoneNumber.parse`` also checks the number and looks up its time zones, which
    costs about ten times as much and tells the price table nothing.
    """
    if not national.isdigit():
        return None
    number = phonenumbers.PhoneNumber(country_code=int(code), national_number=int(national))
    zeros = len(national) - len(national.lstrip("0"))
    if zeros:  # Italian-style national numbers keep their leading zeros in E.164
        number.italian_leading_zero = True
        number.number_of_leading_zeros = zeros
    region = phonenumbers.region_code_for_number(number)
    return None if region in (None, "001", "ZZ") else str(region)


# -- the price table --------------------------------------------------------------------------
def _countries(value: Any) -> dict[str, Money]:
    if not isinstance(value, Mapping):
        msg = f"countries must map ISO 3166 codes to Money (got {type(value).__name__})"
        raise InvalidInputError(msg)
    prices: dict[str, Money] = {}
    for code, price in value.items():
        if not isinstance(price, Money):
            msg = f"the price for {code!r} must be Money (got {type(price).__name__} {price!r})"
            raise InvalidInputError(msg)
        prices[_country_code(code)] = price
    return prices


def _check_default(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None and not isinstance(value, Money):
        msg = f"the default price must be Money or None (got {type(value).__name__} {value!r})"
        raise InvalidInputError(msg)


@attrs.frozen
class ChannelPrices:
    """One channel's prices: per country, and ``default`` for every country not listed.

    Without a default, messages to unlisted countries are *unpriced*: the report
    counts them and says the spend leaves them out, rather than calling them free.
    """

    default: Money | None = attrs.field(default=None, validator=_check_default)
    countries: Mapping[str, Money] = attrs.field(factory=dict, converter=_countries, hash=False)
    #: The price of one message the customer sends in (``None``: inbound is free).
    inbound: Money | None = attrs.field(default=None, validator=_check_default)

    def for_country(self, country: str | None) -> Money | None:
        """The price for a message to ``country`` (``None``: not priced)."""
        if country is not None:
            found = self.countries.get(country)
            if found is not None:
                return found
        return self.default

    def to_dict(self, channel: Channel) -> dict[str, Any]:
        data: dict[str, Any] = {"per": UNITS[channel]}
        if self.default is not None:
            data["default"] = self.default.to_dict()
        if self.countries:
            data["countries"] = {code: price.to_dict() for code, price in self.countries.items()}
        if self.inbound is not None:
            data["inbound"] = self.inbound.to_dict()
        return data


def _channels(value: Any) -> dict[Channel, ChannelPrices]:
    if not isinstance(value, Mapping):
        msg = f"channels must map channels to ChannelPrices (got {type(value).__name__})"
        raise InvalidInputError(msg)
    table: dict[Channel, ChannelPrices] = {}
    for name, prices in value.items():
        try:
            channel = Channel(name)
        except ValueError:
            choices = ", ".join(channel.value for channel in Channel)
            msg = f"unknown channel {name!r}; choose from {choices}"
            raise InvalidInputError(msg) from None
        if not isinstance(prices, ChannelPrices):
            msg = f"{channel.value} prices must be ChannelPrices (got {type(prices).__name__})"
            raise InvalidInputError(msg)
        table[channel] = prices
    return table


@attrs.frozen
class PriceTable:
    """What each message costs, per channel and recipient country (see `UNITS`).

    Load one from JSON with `from_dict` or `load`::

        {"note": "our contract prices, 2026",
         "channels": {
           "sms": {"per": "segment", "default": {"amount": "0.07", "currency": "EUR"},
                   "countries": {"PL": {"amount": "0.16", "currency": "PLN"}}},
           "whatsapp": {"per": "message", "default": {"amount": "0.05", "currency": "EUR"}}}}

    ``"inbound": {"amount": "0.0079", "currency": "USD"}`` in a channel prices the
    messages customers send in (one unit each); without it inbound is free.
    """

    channels: Mapping[Channel, ChannelPrices] = attrs.field(converter=_channels, hash=False)
    #: Where the prices come from; shown with the report.
    note: str = ""

    def price(self, channel: Channel | str, country: str | None) -> Money | None:
        """The price of one unit on ``channel`` to ``country``; ``None`` when not priced."""
        try:
            prices = self.channels.get(Channel(channel))
        except ValueError:
            return None
        return None if prices is None else prices.for_country(country)

    def inbound_price(self, channel: Channel | str) -> Money | None:
        """The price of one inbound message on ``channel``; ``None`` when inbound is free."""
        try:
            prices = self.channels.get(Channel(channel))
        except ValueError:
            return None
        return None if prices is None else prices.inbound

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.note:
            data["note"] = self.note
        data["channels"] = {
            channel.value: prices.to_dict(channel) for channel, prices in self.channels.items()
        }
        return data

    @classmethod
    def from_dict(cls, data: Any) -> PriceTable:
        """Load a table; every problem is reported at once with its JSON path."""
        return load_or_raise(load_price_table, data, "Invalid price table")

    @classmethod
    def load(cls, path: str | Path) -> PriceTable:
        """Read and load a price table JSON file; problems name the file and JSON paths."""
        where = Path(path)
        what = f"Invalid price table {str(where)!r}"
        data = read_json_file(where, "Invalid price table")
        return load_or_raise(load_price_table, data, what)


_TABLE_KEYS: Final = frozenset({"note", "channels"})
_CHANNEL_KEYS: Final = frozenset({"per", "default", "countries", "inbound"})


def load_price_table(data: Any, path: str, problems: Problems) -> PriceTable | None:
    """Loader for the price table's JSON shape (see `PriceTable`)."""
    mapping = expect_mapping(data, path, problems)
    if mapping is None:
        return None
    unknown_keys(mapping, _TABLE_KEYS, path, problems)
    before = len(problems.items)
    note = field(mapping, "note", path, problems, to_str, default="")
    listed: Mapping[str, Any] | None = None
    if mapping.get("channels") is None:
        problems.add(f"{path}.channels", "is required: name each channel and its prices")
    else:
        listed = expect_mapping(mapping["channels"], f"{path}.channels", problems)
        if listed is not None and not listed:
            problems.add(f"{path}.channels", "name at least one channel and its prices")
    channels: dict[Channel, ChannelPrices] = {}
    for name, entry in (listed or {}).items():
        here = f"{path}.channels.{name}"
        channel = _key(name, here, problems, to_enum(Channel))
        prices = None if channel is None else _load_channel(entry, here, channel, problems)
        if channel is not None and prices is not None:
            channels[channel] = prices
    if len(problems.items) > before:
        return None
    return PriceTable(channels=channels, note=note or "")


def _key(key: str, path: str, problems: Problems, convert: Callable[[Any], T]) -> T | None:
    """A mapping's key through ``convert``; a problem at the key's own path otherwise."""
    try:
        return convert(key)
    except ValueError as exc:  # InvalidInputError included
        problems.add(path, str(exc))
        return None


def _load_channel(
    data: Any, path: str, channel: Channel, problems: Problems
) -> ChannelPrices | None:
    mapping = expect_mapping(data, path, problems)
    if mapping is None:
        return None
    unknown_keys(mapping, _CHANNEL_KEYS, path, problems)
    before = len(problems.items)
    per = field(mapping, "per", path, problems, to_str, default=None)
    unit = UNITS[channel]
    if per is not None and per != unit:
        problems.add(
            f"{path}.per",
            f"{channel.value} is priced per {unit}, not per {per!r}; "
            f'write "per": "{unit}" or leave it out',
        )
    default = None
    if mapping.get("default") is not None:
        default = load_money(mapping["default"], f"{path}.default", problems)
    countries: dict[str, Money] = {}
    listed = mapping.get("countries")
    table = None if listed is None else expect_mapping(listed, f"{path}.countries", problems)
    for code, raw in (table or {}).items():
        here = f"{path}.countries.{code}"
        country = _key(code, here, problems, _country_code)
        price = load_money(raw, here, problems)
        if country in countries:
            problems.add(here, f"{country} is listed twice (codes are case-insensitive)")
        if country is not None and price is not None:
            countries[country] = price
    inbound = None
    if mapping.get("inbound") is not None:
        inbound = load_money(mapping["inbound"], f"{path}.inbound", problems)
    if mapping.get("default") is None and not listed:
        problems.add(path, "give a default price, prices per country, or both")
    if len(problems.items) > before:
        return None
    return ChannelPrices(default=default, countries=countries, inbound=inbound)


# -- counting in the scorecard's pass --------------------------------------------------------
def _instant(data: Mapping[str, Any], fallback: datetime) -> datetime:
    """When the customer's message was sent (the event's own time), else the log line's."""
    text = data.get("at")
    if isinstance(text, str):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return fallback
        if moment.tzinfo is not None:
            return moment
    return fallback


@attrs.frozen
class Usage:
    """Messages and billable units, by channel, recipient country and whose checkout.

    ``counts`` maps ``(channel, country, counted)`` to ``(messages, units, free)``;
    ``counted`` is true for messages to checkouts the scorecard counts (abandoned in
    the period read) and false for the rest (abandoned earlier, or not in the log).
    ``awaiting`` counts, under the same keys, WhatsApp templates with no delivery
    report (not billed, and not in ``units``); ``inbound`` the customers' own messages.
    """

    counts: Mapping[tuple[str, str, bool], tuple[int, int, int]]
    awaiting: Mapping[tuple[str, str, bool], int] = attrs.field(factory=dict)
    inbound: Mapping[tuple[str, str, bool], int] = attrs.field(factory=dict)


class UsageCounter:
    """The cost side of the scorecard's one pass: integer counts, never the records.

    Memory grows with channels × countries, plus one entry per phone number seen
    (its country), per customer messaged (their country, for pricing replies), per
    customer who wrote on WhatsApp (their service window), and per WhatsApp template
    whose delivery report has not come yet.
    """

    __slots__ = (
        "_awaiting",
        "_countries",
        "_counts",
        "_inbound",
        "_latest",
        "_undelivered",
        "_windows",
    )

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, bool], list[int]] = {}
        self._countries: dict[str, str] = {}
        self._windows: dict[str, datetime] = {}
        #: (checkout, touch) → the row a template sent for it waits to be billed in.
        self._awaiting: dict[tuple[str, int], tuple[str, str, bool]] = {}
        self._inbound: dict[tuple[str, str, bool], int] = {}
        #: Templates replaced by a resend before any delivery report: never billed.
        self._undelivered: dict[tuple[str, str, bool], int] = {}
        #: customer → the country of the last message sent to them.
        self._latest: dict[str, str] = {}

    def inbound(
        self,
        customer_id: str | None,
        data: Mapping[str, Any],
        at: datetime,
        *,
        counted: bool = False,
    ) -> None:
        """A customer's own message: counted for inbound prices; on WhatsApp it opens (or
        extends) their service window. ``counted`` as for ``message``."""
        raw = data.get("channel")
        channel = raw if isinstance(raw, str) else _NO_CHANNEL
        country = UNKNOWN_COUNTRY
        if customer_id is not None:
            country = self._latest.get(customer_id, UNKNOWN_COUNTRY)
        key = (channel, country, counted)
        self._inbound[key] = self._inbound.get(key, 0) + 1
        if customer_id is None or channel != _WHATSAPP:
            return
        until = _instant(data, at) + SERVICE_WINDOW
        current = self._windows.get(customer_id)
        if current is None or until > current:
            self._windows[customer_id] = until

    def message(
        self,
        kind: str,
        at: datetime,
        customer_id: str | None,
        data: Mapping[str, Any],
        *,
        counted: bool,
        checkout_id: str | None = None,
    ) -> str:
        """Count one outgoing message; returns the recipient's country (or ``unknown``).

        A WhatsApp template touch (with its ``checkout_id``) waits for its delivery
        report to be billed (``delivered``); without a checkout to match a report to,
        it is billed when sent.
        """
        raw = data.get("channel")
        channel = raw if isinstance(raw, str) else _NO_CHANNEL
        country = self._country(data)
        key = (channel, country, counted)
        row = self._counts.get(key)
        if row is None:
            row = self._counts[key] = [0, 0, 0]
        row[0] += 1
        if customer_id is not None:
            self._latest[customer_id] = country
        if channel == _SMS:
            segments = data.get("segments")
            row[1] += segments if isinstance(segments, int) and segments > 0 else 1
        elif channel == _WHATSAPP:
            touch = data.get("touch")
            if not self._charged_on_whatsapp(kind, at, customer_id, data):
                row[2] += 1
            elif checkout_id is not None and isinstance(touch, int):
                # A resend of the touch means the earlier send was never delivered: it
                # stays unbilled, and a delivery report now names the resend.
                replaced = self._awaiting.get((checkout_id, touch))
                if replaced is not None:
                    self._undelivered[replaced] = self._undelivered.get(replaced, 0) + 1
                self._awaiting[(checkout_id, touch)] = key
            else:
                row[1] += 1
        else:
            row[1] += 1
        return country

    def delivered(self, checkout_id: str | None, data: Mapping[str, Any]) -> None:
        """A delivery (or read) report: the WhatsApp template it names is billed, once."""
        touch = data.get("touch")
        if checkout_id is None or not isinstance(touch, int) or data.get("channel") != _WHATSAPP:
            return
        key = self._awaiting.pop((checkout_id, touch), None)
        if key is not None:
            self._counts[key][1] += 1

    def _charged_on_whatsapp(
        self, kind: str, at: datetime, customer_id: str | None, data: Mapping[str, Any]
    ) -> bool:
        """A template is billed; free-form text (replies, touches in the window) is not.

        When the log names no template, a touch is billed unless the log shows the
        customer wrote on WhatsApp within the 24 hours before it: free-form text is
        only possible inside that window, so outside it the touch was a template.
        """
        if data.get("template"):
            return True
        if kind != RecordKind.SEND:
            return False
        until = None if customer_id is None else self._windows.get(customer_id)
        return until is None or at >= until

    def _country(self, data: Mapping[str, Any]) -> str:
        """The country the log states, else the one the number says (memoized per number)."""
        stated = data.get("country")
        if isinstance(stated, str) and stated.upper() in phonenumbers.SUPPORTED_REGIONS:
            return stated.upper()
        to = data.get("to")
        if not isinstance(to, str) or not to.startswith("+"):
            return UNKNOWN_COUNTRY
        found = self._countries.get(to)
        if found is None:
            found = country_of(to)
            if found is None:
                return UNKNOWN_COUNTRY
            self._countries[to] = found
        return found

    def usage(self) -> Usage:
        awaiting = dict(self._undelivered)
        for key in self._awaiting.values():
            awaiting[key] = awaiting.get(key, 0) + 1
        return Usage(
            {key: (row[0], row[1], row[2]) for key, row in self._counts.items()},
            awaiting,
            dict(self._inbound),
        )


# -- applying prices ---------------------------------------------------------------------------
def _ratio(amount: Decimal, count: float) -> Decimal:
    return (amount / Decimal(repr(count))).quantize(_QUANTUM)


def _amounts(amounts: Mapping[str, Decimal]) -> dict[str, str]:
    return {currency: str(amount) for currency, amount in sorted(amounts.items())}


@attrs.frozen
class CostLine:
    """Spend on one row (everything, a channel or a country) and the orders it is set against.

    ``units`` are what the provider bills (SMS segments, delivered WhatsApp
    templates, other messages); ``free`` messages cost nothing (WhatsApp free-form);
    ``awaiting`` WhatsApp templates have no delivery report, so they are not billed
    (yet); ``unpriced`` messages cost something the table has no price for, so
    ``spend`` leaves them out. ``inbound`` counts the customers' own messages, in
    ``spend`` where the table prices them. ``recovered`` is the attributed orders
    credited to this row's last touch.
    """

    messages: int = 0
    units: int = 0
    free: int = 0
    unpriced: int = 0
    spend: Mapping[str, Decimal] = attrs.field(factory=dict, hash=False)
    recovered: int = 0
    awaiting: int = 0
    inbound: int = 0

    @property
    def complete(self) -> bool:
        """True when every billed message had a price."""
        return self.unpriced == 0

    @property
    def per_recovered(self) -> dict[str, Decimal] | None:
        """Spend per attributed order, per currency; ``None`` without orders."""
        if self.recovered == 0:
            return None
        return {c: _ratio(a, self.recovered) for c, a in sorted(self.spend.items())}

    def to_dict(self) -> dict[str, Any]:
        per = self.per_recovered
        return {
            "messages": self.messages,
            "units": self.units,
            "free": self.free,
            "unpriced": self.unpriced,
            "complete": self.complete,
            "awaiting": self.awaiting,
            "inbound": self.inbound,
            "spend": _amounts(self.spend),
            "recovered": self.recovered,
            "per_recovered_order": None if per is None else _amounts(per),
        }


#: One row of usage as ``_line`` reads it: channel, country, the ``Usage.counts``
#: triple, then awaiting templates and inbound messages.
_Row = tuple[str, str, tuple[int, int, int], int, int]


def _line(prices: PriceTable, rows: Iterable[_Row], recovered: int) -> CostLine:
    messages = units = free = unpriced = awaiting = inbound = 0
    spend: dict[str, Decimal] = {}

    def add(price: Money, count: int) -> None:
        spend[price.currency] = spend.get(price.currency, Decimal(0)) + price.amount * count

    for channel, country, (sent, billed, gratis), waiting, received in rows:
        messages += sent
        units += billed
        free += gratis
        awaiting += waiting
        inbound += received
        price = prices.price(channel, None if country == UNKNOWN_COUNTRY else country)
        if price is None:
            unpriced += sent - gratis - waiting
        elif billed:
            add(price, billed)
        inbound_price = prices.inbound_price(channel) if received else None
        if inbound_price is not None:
            add(inbound_price, received)
    return CostLine(messages, units, free, unpriced, spend, recovered, awaiting, inbound)


def _rows(usage: Usage, counted: bool) -> list[_Row]:
    """Every ``(channel, country)`` with sends or inbound messages, for one side of ``counted``."""
    keys = [key for key in (*usage.counts, *usage.inbound) if key[2] is counted]
    return [
        (channel, country, usage.counts.get(key, (0, 0, 0)), usage.awaiting.get(key, 0),
         usage.inbound.get(key, 0))
        for key in dict.fromkeys(keys)
        for channel, country, _ in (key,)
    ]  # fmt: skip


@attrs.frozen
class Cost:
    """Spend, cost per recovered order and cost per incremental order, by channel and country.

    ``total`` covers messages to checkouts the scorecard counts; ``other`` the
    messages in the period to checkouts abandoned before it (shown apart, left out
    of the per-order figures). ``per_incremental`` maps each currency to
    ``(estimate, low, high)``, and is empty unless the incremental orders'
    interval lies wholly above zero; ``verdict`` says in words what can be read.
    """

    prices: PriceTable
    total: CostLine
    by_channel: Mapping[str, CostLine]
    by_country: Mapping[str, CostLine]
    other: CostLine
    incremental_orders: tuple[float, float, float] | None
    per_incremental: Mapping[str, tuple[Decimal, Decimal, Decimal]]
    verdict: str
    confidence: float = 0.95

    @classmethod
    def of(
        cls,
        prices: PriceTable,
        usage: Usage,
        *,
        credited: Iterable[tuple[str, str]],
        incremental_orders: tuple[float, float, float] | None,
        confidence: float = 0.95,
        unavailable: str = "no holdout to compare with",
    ) -> Cost:
        """Apply ``prices`` to ``usage``.

        ``credited`` has one ``(channel, country)`` per attributed order: the
        channel and country of the touch credited with it. ``incremental_orders``
        is the lift's ``(estimate, low, high)``; ``unavailable`` says why when it
        is ``None``.
        """
        orders: dict[tuple[str, str], int] = {}
        for key in credited:
            orders[key] = orders.get(key, 0) + 1
        counted = _rows(usage, True)
        other = _rows(usage, False)
        channels = sorted({row[0] for row in counted} | {ch for ch, _ in orders})
        countries = sorted({row[1] for row in counted} | {co for _, co in orders})
        total = _line(prices, counted, sum(orders.values()))
        per, verdict = _per_incremental(total, incremental_orders, confidence, unavailable)
        return cls(
            prices=prices,
            total=total,
            by_channel={
                name: _line(
                    prices,
                    [row for row in counted if row[0] == name],
                    sum(n for (ch, _), n in orders.items() if ch == name),
                )
                for name in channels
            },
            by_country={
                name: _line(
                    prices,
                    [row for row in counted if row[1] == name],
                    sum(n for (_, co), n in orders.items() if co == name),
                )
                for name in countries
            },
            other=_line(prices, other, 0),
            incremental_orders=incremental_orders,
            per_incremental=per,
            verdict=verdict,
            confidence=confidence,
        )

    def to_dict(self) -> dict[str, Any]:
        orders = self.incremental_orders
        return {
            "prices": self.prices.to_dict(),
            **self.total.to_dict(),
            "incremental_orders": None
            if orders is None
            else dict(zip(("estimate", "low", "high"), orders, strict=True)),
            "per_incremental_order": {
                currency: {"estimate": str(e), "low": str(lo), "high": str(hi)}
                for currency, (e, lo, hi) in sorted(self.per_incremental.items())
            },
            "verdict": self.verdict,
            "by_channel": {name: line.to_dict() for name, line in self.by_channel.items()},
            "by_country": {name: line.to_dict() for name, line in self.by_country.items()},
            "other_checkouts": self.other.to_dict(),
            "confidence": self.confidence,
        }


def _per_incremental(
    total: CostLine,
    orders: tuple[float, float, float] | None,
    confidence: float,
    unavailable: str,
) -> tuple[dict[str, tuple[Decimal, Decimal, Decimal]], str]:
    """Spend per order the messages added, with its interval, or why it cannot be read.

    The interval comes from the incremental orders' interval: the most orders
    gives the lowest cost. When that interval reaches zero the messages may have
    added no order at all, and a cost per added order has no upper bound.
    """
    level = round(confidence * 100)
    if orders is None:
        return {}, f"not available: {unavailable}"
    estimate, low, high = orders
    counts = f"incremental orders {estimate:.1f} ({level} % CI {low:.1f} to {high:.1f})"
    if high <= 0:
        return {}, f"not meaningful: the messages added no orders; {counts}"
    if low <= 0:
        return {}, (
            f"not meaningful: {counts}; the interval includes zero, so the messages may have "
            "added no order and one added order may have cost any amount"
        )
    if not total.spend:
        return {}, f"no priced spend to divide among {counts}"
    per = {
        currency: (_ratio(amount, estimate), _ratio(amount, high), _ratio(amount, low))
        for currency, amount in sorted(total.spend.items())
    }
    parts = "; ".join(
        f"{e} {currency} ({level} % CI {lo} to {hi})" for currency, (e, lo, hi) in per.items()
    )
    verdict = f"{parts} per order the messages added"
    if not total.complete:
        verdict += f" (incomplete: {total.unpriced} messages have no price in the table)"
    return per, verdict

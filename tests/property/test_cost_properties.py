"""Properties of cost over random event logs: spend equals a naive recount.

The naive recount looks at the whole log as a list: for each message it finds
whether its checkout was abandoned earlier in the log, the recipient's country
with ``PhoneNumber.parse``, whether the customer wrote on WhatsApp in the 24 hours
before, whether a WhatsApp template was reported delivered before the touch was
sent again, and the price straight from the JSON document; each customer reply is
priced at the channel's inbound price. The report reads the log
once as a stream and prices integer counts at the end. Agreement over random logs
(ties in time, window edges, shared calling codes, unpriced channels) is the check.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import phonenumbers
from hypothesis import assume, given
from hypothesis import strategies as st

from recoverykit.errors import InvalidPhoneNumber
from recoverykit.metrics import PriceTable, Report, country_of
from recoverykit.protocols import LogRecord
from recoverykit.values.phone import PhoneNumber

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WINDOW = timedelta(hours=24)
CHECKOUTS = ("c0", "c1", "c2")
ADDRESSES = (
    "+48601234567",  # PL
    "+12015550123",  # US
    "+14165550123",  # CA: shares +1 with the US
    "+447400123456",  # GB
    "+447797123456",  # JE: shares +44 with GB
    "shopper@example.com",
    "123456789",  # a chat id
)
PRICES: dict[str, Any] = {
    "channels": {
        "sms": {
            "default": {"amount": "0.07", "currency": "EUR"},
            "countries": {
                "PL": {"amount": "0.16", "currency": "PLN"},
                "US": {"amount": "0.0079", "currency": "USD"},
                "JE": {"amount": "0.05", "currency": "GBP"},
            },
        },
        "whatsapp": {"countries": {"PL": {"amount": "0.12", "currency": "PLN"},
                                   "GB": {"amount": "0.03", "currency": "GBP"}}},
        "email": {"default": {"amount": "0.001", "currency": "USD"}},
    },
}  # fmt: skip
PRICES["channels"]["sms"]["inbound"] = {"amount": "0.0083", "currency": "USD"}
TABLE = PriceTable.from_dict(PRICES)


def _customer(checkout: str) -> str:
    return "cu0" if checkout in ("c0", "c2") else "cu1"


@st.composite
def logs(draw: st.DrawFn) -> list[LogRecord]:
    """A random, time-ordered log of abandonments, messages, replies and orders."""
    steps = draw(st.integers(min_value=0, max_value=40))
    at = T0
    log: list[LogRecord] = []
    for _ in range(steps):
        at += timedelta(hours=draw(st.sampled_from([0, 1, 5, 23, 24])))
        checkout = draw(st.sampled_from(CHECKOUTS))
        customer = _customer(checkout)
        kind = draw(
            st.sampled_from(["abandon", "message", "message", "reply", "order", "delivered"])
        )
        if kind == "abandon":
            data: dict[str, Any] = {
                "type": "CheckoutAbandoned",
                "total": {"amount": "50.00", "currency": "EUR"},
                "arm": draw(st.sampled_from(["messaged", "messaged", "holdout"])),
            }
            log.append(LogRecord(at, "event", checkout, customer, data))
        elif kind == "message":
            data = {
                "channel": draw(st.sampled_from(["sms", "whatsapp", "email", "telegram"])),
                "to": draw(st.sampled_from(ADDRESSES)),
                "touch": draw(st.integers(1, 3)),
                "segments": draw(st.sampled_from([None, 1, 2, 3])),
                "template": draw(st.sampled_from([None, None, "cart_remind"])),
            }
            sort = draw(st.sampled_from(["send", "send", "reply", "confirm"]))
            log.append(LogRecord(at, sort, checkout, customer, data))
        elif kind == "reply":
            data = {
                "type": "ReplyReceived",
                "channel": draw(st.sampled_from(["whatsapp", "sms"])),
                "intent": "question",
                "text": "?",
            }
            log.append(LogRecord(at, "event", checkout, customer, data))
        elif kind == "delivered":
            data = {
                "type": draw(st.sampled_from(["MessageDelivered", "MessageRead"])),
                "touch": draw(st.integers(1, 3)),
                "channel": draw(st.sampled_from(["whatsapp", "whatsapp", "sms"])),
            }
            log.append(LogRecord(at, "event", checkout, customer, data))
        else:
            data = {"type": "OrderPlaced", "order_id": f"o-{checkout}"}
            log.append(LogRecord(at, "event", checkout, customer, data))
    return log


def _country(address: str) -> str | None:
    if not address.startswith("+"):
        return None
    return PhoneNumber.parse(address).region


def _price(channel: str, country: str | None) -> tuple[Decimal, str] | None:
    prices = PRICES["channels"].get(channel)
    if prices is None:
        return None
    found = prices.get("countries", {}).get(country) or prices.get("default")
    return None if found is None else (Decimal(found["amount"]), found["currency"])


def _units(log: list[LogRecord], index: int) -> int:
    record = log[index]
    data = record.data
    if data["channel"] == "sms":
        return data["segments"] or 1
    if data["channel"] != "whatsapp":
        return 1
    if not _template(log, index):
        return 0
    # Meta bills a template once delivered: the first later news of this touch must be
    # its delivery (or read) report, not another template sent for it.
    for later_index in range(index + 1, len(log)):
        later = log[later_index]
        if later.checkout_id != record.checkout_id or later.data.get("touch") != data["touch"]:
            continue
        if later.kind == "event":
            if later.data.get("channel") == "whatsapp" and later.data.get("type") in (
                "MessageDelivered",
                "MessageRead",
            ):
                return 1
        elif later.data["channel"] == "whatsapp" and _template(log, later_index):
            return 0
    return 0


def _template(log: list[LogRecord], index: int) -> bool:
    """Whether the WhatsApp message at ``index`` went as a (billable) template."""
    record = log[index]
    if record.data["template"]:
        return True
    if record.kind != "send":
        return False
    return not any(
        earlier.kind == "event"
        and earlier.data.get("type") == "ReplyReceived"
        and earlier.data.get("channel") == "whatsapp"
        and earlier.customer_id == record.customer_id
        and record.at < earlier.at + WINDOW
        for earlier in log[:index]
    )


def _abandoned_before(log: list[LogRecord], index: int) -> bool:
    """Whether the checkout of ``log[index]`` was abandoned earlier in the log."""
    return any(
        earlier.kind == "event"
        and earlier.data.get("type") == "CheckoutAbandoned"
        and earlier.checkout_id == log[index].checkout_id
        for earlier in log[:index]
    )


def _naive(log: list[LogRecord], counted: bool, group: int | None = None) -> dict[Any, Any]:
    """Spend per (channel or country or nothing) and currency, message by message."""
    spend: dict[Any, dict[str, Decimal]] = {}
    for index, record in enumerate(log):
        if record.kind == "event" and record.data.get("type") == "ReplyReceived":
            _inbound(log, index, counted, group, spend)
            continue
        if record.kind not in ("send", "reply", "confirm"):
            continue
        if _abandoned_before(log, index) != counted:
            continue
        channel = record.data["channel"]
        country = _country(record.data["to"])
        key = None if group is None else (channel, country or "unknown")[group]
        price = _price(channel, country)
        units = _units(log, index)
        if price is None or units == 0:
            continue
        amounts = spend.setdefault(key, {})
        amounts[price[1]] = amounts.get(price[1], Decimal(0)) + price[0] * units
    return spend


def _inbound(
    log: list[LogRecord],
    index: int,
    counted: bool,
    group: int | None,
    spend: dict[Any, dict[str, Decimal]],
) -> None:
    """A reply priced at its channel's inbound price, under the customer's last country."""
    record = log[index]
    if _abandoned_before(log, index) != counted:
        return
    channel = record.data["channel"]
    inbound = PRICES["channels"].get(channel, {}).get("inbound")
    if inbound is None:
        return
    sent = [
        earlier
        for earlier in log[:index]
        if earlier.kind in ("send", "reply", "confirm")
        and earlier.customer_id == record.customer_id
    ]
    country = (_country(sent[-1].data["to"]) if sent else None) or "unknown"
    key = None if group is None else (channel, country)[group]
    amounts = spend.setdefault(key, {})
    amounts[inbound["currency"]] = amounts.get(inbound["currency"], Decimal(0)) + Decimal(
        inbound["amount"]
    )


@given(logs())
def test_spend_equals_a_naive_recount(log: list[LogRecord]) -> None:
    """Total spend, spend by channel and by country, and spend on other checkouts all agree."""
    cost = Report.from_events(log, prices=TABLE).cost
    assert cost is not None
    assert _naive(log, True).get(None, {}) == dict(cost.total.spend)
    assert _naive(log, False).get(None, {}) == dict(cost.other.spend)
    by_channel = {name: dict(line.spend) for name, line in cost.by_channel.items() if line.spend}
    assert _naive(log, True, 0) == by_channel
    by_country = {name: dict(line.spend) for name, line in cost.by_country.items() if line.spend}
    assert _naive(log, True, 1) == by_country


@given(logs())
def test_recovered_orders_in_cost_rows_add_up_to_the_scorecard(log: list[LogRecord]) -> None:
    """Every attributed order is credited to exactly one channel row and one country row."""
    report = Report.from_events(log, prices=TABLE)
    cost = report.cost
    assert cost is not None
    recovered = report.scorecard.totals.recovered
    assert recovered == cost.total.recovered
    assert recovered == sum(line.recovered for line in cost.by_channel.values())
    assert recovered == sum(line.recovered for line in cost.by_country.values())
    assert cost.total.messages == sum(line.messages for line in cost.by_channel.values())


def _examples() -> list[str]:
    """Example numbers (mobile, fixed, toll-free) of every region sharing a calling code."""
    found = []
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items():
        if len(regions) < 2:
            continue
        for region in regions:
            for kind in (phonenumbers.PhoneNumberType.MOBILE,
                         phonenumbers.PhoneNumberType.FIXED_LINE,
                         phonenumbers.PhoneNumberType.TOLL_FREE):  # fmt: skip
                example = phonenumbers.example_number_for_type(region, kind)
                if example is not None and example.country_code == code:
                    found.append(
                        phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
                    )
    return found


SHARED = _examples()


@given(st.sampled_from(SHARED), st.integers(min_value=0, max_value=9999), st.integers(1, 4))
def test_country_of_agrees_with_parse_on_shared_calling_codes(
    example: str, tail: int, width: int
) -> None:
    """Around every region's example numbers, the shortcuts give ``PhoneNumber.parse``'s region."""
    number = example[:-width] + f"{tail % 10**width:0{width}d}"
    try:
        expected = PhoneNumber.parse(number).region
    except InvalidPhoneNumber:
        assume(False)
        return
    assert expected == country_of(number)

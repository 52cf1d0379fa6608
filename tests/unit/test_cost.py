"""Cost: the price table, per-unit arithmetic, and spend per recovered and per added order."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import phonenumbers
import pytest

from recoverykit import Money
from recoverykit.errors import DefinitionError, InvalidInputError
from recoverykit.metrics import (
    ChannelPrices,
    Cost,
    PriceTable,
    Report,
    Scorecard,
    country_of,
    render,
)
from recoverykit.metrics.cost import UsageCounter
from recoverykit.protocols import LogRecord
from recoverykit.runtime.cli import main
from recoverykit.values.phone import PhoneNumber

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
ROOT = Path(__file__).resolve().parents[2]
PL_PHONE = "+48601234567"
DE_PHONE = "+4915123456789"

PRICES: dict[str, Any] = {
    "note": "test prices",
    "channels": {
        "sms": {
            "per": "segment",
            "default": {"amount": "0.05", "currency": "EUR"},
            "countries": {"PL": {"amount": "0.20", "currency": "PLN"}},
        },
        "whatsapp": {"default": {"amount": "0.06", "currency": "EUR"}},
    },
}


def table(data: dict[str, Any] | None = None) -> PriceTable:
    return PriceTable.from_dict(PRICES if data is None else data)


def abandoned(checkout: str, at: datetime = T0, *, arm: str = "messaged") -> LogRecord:
    data = {
        "type": "CheckoutAbandoned",
        "total": {"amount": "100.00", "currency": "EUR"},
        "arm": arm,
    }
    return LogRecord(at, "event", checkout, f"cu-{checkout}", data)


def message(
    checkout: str,
    at: datetime,
    *,
    kind: str = "send",
    channel: str = "sms",
    to: str = PL_PHONE,
    touch: int | None = 1,
    segments: int | None = None,
    template: str | None = None,
) -> LogRecord:
    data = {
        "channel": channel,
        "to": to,
        "touch": touch,
        "segments": segments,
        "template": template,
    }
    return LogRecord(at, kind, checkout, f"cu-{checkout}", data)


def reply(checkout: str, at: datetime, channel: str = "whatsapp") -> LogRecord:
    data = {"type": "ReplyReceived", "channel": channel, "intent": "question", "text": "?"}
    return LogRecord(at, "event", checkout, f"cu-{checkout}", data)


def delivered(checkout: str, at: datetime, touch: int, channel: str = "whatsapp") -> LogRecord:
    data = {"type": "MessageDelivered", "touch": touch, "channel": channel}
    return LogRecord(at, "event", checkout, f"cu-{checkout}", data)


def order(checkout: str, at: datetime) -> LogRecord:
    data = {"type": "OrderPlaced", "order_id": f"o-{checkout}"}
    return LogRecord(at, "event", checkout, f"cu-{checkout}", data)


def worked_log() -> list[LogRecord]:
    """The worked example of the docs: a Polish text that recovers, a German chat that does not.

    - ``a`` (Poland): one SMS touch of 2 segments at 0.20 PLN, then an order: recovered.
    - ``b`` (Germany): one 1-segment SMS at 0.05 EUR; a WhatsApp template at 0.06 EUR,
      billed when Meta reports it delivered; the customer writes back; the answer and
      the next touch go inside the service window and are free.
    - ``h``: held out, never messaged.

    Spend: 0.40 PLN and 0.11 EUR; one recovered order, credited to SMS in Poland.
    """
    return [
        abandoned("a"),
        abandoned("b"),
        abandoned("h", arm="holdout"),
        message("a", T0 + HOUR, segments=2),
        message("b", T0 + HOUR, to=DE_PHONE, segments=1),
        order("a", T0 + 2 * HOUR),
        message(
            "b", T0 + 5 * HOUR, channel="whatsapp", to=DE_PHONE, touch=2, template="cart_remind"
        ),
        delivered("b", T0 + 5 * HOUR, touch=2),
        reply("b", T0 + 6 * HOUR),
        message("b", T0 + 6 * HOUR, kind="reply", channel="whatsapp", to=DE_PHONE, touch=None),
        message("b", T0 + 20 * HOUR, channel="whatsapp", to=DE_PHONE, touch=3),
    ]


def cost_of(log: list[LogRecord], prices: PriceTable | None = None) -> Cost:
    report = Report.from_events(log, prices=prices or table())
    assert report.cost is not None
    return report.cost


# -- loading ---------------------------------------------------------------------------------
def test_table_loads_and_round_trips() -> None:
    """A table loads from JSON and ``from_dict(to_dict())`` gives the same table back."""
    prices = table()
    assert Money("0.20", "PLN") == prices.price("sms", "PL")
    assert prices == PriceTable.from_dict(prices.to_dict())
    assert "segment" == prices.to_dict()["channels"]["sms"]["per"]
    assert "message" == prices.to_dict()["channels"]["whatsapp"]["per"]


def test_price_lookup_falls_back_to_the_channel_default() -> None:
    """A listed country has its own price; others take the default; no default means unpriced."""
    prices = PriceTable({"sms": ChannelPrices(countries={"pl": Money("0.2", "PLN")})})
    assert Money("0.2", "PLN") == prices.price("sms", "PL")
    assert prices.price("sms", "DE") is None
    assert prices.price("whatsapp", "PL") is None
    assert prices.price("fax", "PL") is None
    assert Money("0.05", "EUR") == table().price("sms", None)


def test_every_problem_is_reported_with_its_path() -> None:
    """A bad table lists every problem at once, each at its JSON path."""
    bad = {
        "channels": {
            "sms": {
                "per": "message",
                "default": {"amount": "-0.01", "currency": "EUR"},
                "countries": {"UK": {"amount": "0.04", "currency": "GBP"},
                              "PL": {"amount": "0.1"}},
            },
            "fax": {"default": {"amount": "1", "currency": "EUR"}},
            "email": {},
            "viber": {"default": {"amount": "0.03", "currency": "EUR"}, "price": "0.03"},
        },
        "notes": "typo",
    }  # fmt: skip
    with pytest.raises(DefinitionError) as caught:
        PriceTable.from_dict(bad)
    paths = {problem.path: problem.message for problem in caught.value.problems}
    assert "sms is priced per segment" in paths["$.channels.sms.per"]
    assert "never negative" in paths["$.channels.sms.default.amount"]
    assert "'GB' for the United Kingdom" in paths["$.channels.sms.countries.UK"]
    assert "required" in paths["$.channels.sms.countries.PL.currency"]
    assert "unknown channel 'fax'" in paths["$.channels.fax"]
    assert "default price" in paths["$.channels.email"]
    assert "unknown key 'price'" in paths["$.channels.viber.price"]
    assert "unknown key 'notes'" in paths["$.notes"]
    assert 8 == len(caught.value.problems)


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({}, "$.channels"),
        ({"channels": {}}, "$.channels"),
        ({"channels": []}, "$.channels"),
        ([], "$"),
        ({"channels": {"sms": {"countries": []}}}, "$.channels.sms.countries"),
        ({"channels": {"sms": {"countries": {"pl": {"amount": "1", "currency": "EUR"},
                                             "PL": {"amount": "2", "currency": "EUR"}}}}},
         "$.channels.sms.countries.PL"),
    ],
)  # fmt: skip
def test_shapes_that_cannot_be_a_table_are_refused(data: Any, path: str) -> None:
    """No channels, a list instead of an object, or a country given twice: refused at the path."""
    with pytest.raises(DefinitionError) as caught:
        PriceTable.from_dict(data)
    assert path in {problem.path for problem in caught.value.problems}


def test_values_built_in_code_are_checked_too() -> None:
    """The constructors refuse what the loader refuses: unknown countries, channels, non-Money."""
    with pytest.raises(InvalidInputError, match="'GB' for the United Kingdom"):
        ChannelPrices(countries={"UK": Money("0.04", "GBP")})
    with pytest.raises(InvalidInputError, match="must be Money"):
        ChannelPrices(countries={"PL": "0.04"})
    with pytest.raises(InvalidInputError, match="default price must be Money"):
        ChannelPrices(default=Decimal("0.04"))  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="unknown channel 'fax'"):
        PriceTable({"fax": ChannelPrices(default=Money("1", "EUR"))})
    with pytest.raises(InvalidInputError, match="never negative"):
        ChannelPrices(default=Money("-0.01", "EUR"))


def test_load_names_the_file(tmp_path: Path) -> None:
    """A missing or malformed file is a DefinitionError that names the file."""
    with pytest.raises(DefinitionError, match=r"nope\.json"):
        PriceTable.load(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{", "utf-8")
    with pytest.raises(DefinitionError, match=r"broken\.json"):
        PriceTable.load(broken)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(PRICES), "utf-8")
    assert table() == PriceTable.load(good)


def test_the_example_table_loads_and_says_it_is_illustrative() -> None:
    """``examples/demo/prices.json`` loads, prices every channel and is marked illustrative."""
    prices = PriceTable.load(ROOT / "examples" / "demo" / "prices.json")
    assert "ILLUSTRATIVE" in prices.note
    assert {"sms", "whatsapp", "telegram", "viber", "email"} == {c.value for c in prices.channels}


# -- countries -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("address", "country"),
    [
        (PL_PHONE, "PL"),
        ("+14165550123", "CA"),
        ("+12015550123", "US"),
        ("+17875550123", "PR"),
        ("+77012345678", "KZ"),
        ("+79161234567", "RU"),
        ("+447797123456", "JE"),
        ("+80012345678", None),
        ("+9991234567", None),
        ("+1201", None),
        ("anna@example.com", None),
        ("123456789", None),
        (None, None),
    ],
)
def test_country_of_an_address(address: object, country: str | None) -> None:
    """Shared calling codes are told apart; e-mail, chat ids and invalid numbers have none."""
    assert country == country_of(address)


def test_country_of_agrees_with_phone_number_parse_in_every_region() -> None:
    """For example numbers of every region and line type, the fast path gives parse's region."""
    kinds = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE,
             phonenumbers.PhoneNumberType.TOLL_FREE)  # fmt: skip
    checked = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in kinds:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            expected = PhoneNumber.parse(e164).region
            assert expected == country_of(e164), e164
            checked += 1
    assert checked > 400


# -- per-unit arithmetic ---------------------------------------------------------------------
def units(*records: LogRecord, counted: bool = True) -> dict[tuple[str, str, bool], Any]:
    counter = UsageCounter()
    for record in records:
        if record.kind == "event":
            counter.inbound(record.customer_id, record.data, record.at)
        else:
            counter.message(
                record.kind, record.at, record.customer_id, record.data, counted=counted
            )
    return dict(counter.usage().counts)


def test_sms_is_counted_in_segments_and_a_missing_count_is_one() -> None:
    """An SMS bills its segments; a record without a segment count bills one."""
    counts = units(message("a", T0, segments=3), message("a", T0, segments=None))
    assert {("sms", "PL", True): (2, 4, 0)} == counts


def test_whatsapp_bills_templates_and_not_free_form_text() -> None:
    """Templates are billed; replies, and touches while the service window is open, are free."""
    log = [
        message("b", T0, channel="whatsapp", to=DE_PHONE),  # no window yet: a template
        reply("b", T0 + HOUR),
        message("b", T0 + HOUR, kind="reply", channel="whatsapp", to=DE_PHONE, touch=None),
        message("b", T0 + 2 * HOUR, channel="whatsapp", to=DE_PHONE),  # inside: free
        message("b", T0 + 3 * HOUR, channel="whatsapp", to=DE_PHONE, template="t"),  # named
        message("b", T0 + 25 * HOUR, channel="whatsapp", to=DE_PHONE),  # window closed
    ]
    assert {("whatsapp", "DE", True): (5, 3, 2)} == units(*log)


def test_the_service_window_starts_when_the_customer_wrote() -> None:
    """The window runs 24 h from the reply's own time, not from when the log line was written."""
    late = reply("b", T0 + 10 * HOUR)
    late.data["at"] = T0.isoformat()
    inside = message("b", T0 + 23 * HOUR, channel="whatsapp", to=DE_PHONE)
    after = message("b", T0 + 25 * HOUR, channel="whatsapp", to=DE_PHONE)
    assert {("whatsapp", "DE", True): (2, 1, 1)} == units(late, inside, after)


def test_other_channels_bill_every_message_and_name_no_country() -> None:
    """E-mail, Telegram and Viber bill one unit per message; their addresses have no country."""
    log = [
        message("c", T0, channel="email", to="c@example.com"),
        message("c", T0, kind="reply", channel="telegram", to="123456", touch=None),
        message("c", T0, kind="confirm", channel="viber", to="viber-id", touch=None),
    ]
    assert {
        ("email", "unknown", False): (1, 1, 0),
        ("telegram", "unknown", False): (1, 1, 0),
        ("viber", "unknown", False): (1, 1, 0),
    } == units(*log, counted=False)


def test_a_country_stated_in_the_log_wins_over_the_number() -> None:
    """When the send record carries the recipient's country, it is used as given."""
    record = message("c", T0, channel="email", to="c@example.com")
    record.data["country"] = "fr"
    assert {("email", "FR", True): (1, 1, 0)} == units(record)


# -- the worked example, end to end ----------------------------------------------------------
def test_worked_example_spend_and_cost_per_recovered_order() -> None:
    """0.40 PLN and 0.11 EUR spent; one recovered order, credited to SMS in Poland."""
    cost = cost_of(worked_log())
    total = cost.total
    assert {"PLN": Decimal("0.40"), "EUR": Decimal("0.11")} == dict(total.spend)
    assert (5, 4, 2, 0) == (total.messages, total.units, total.free, total.unpriced)
    assert {"PLN": Decimal("0.4000"), "EUR": Decimal("0.1100")} == total.per_recovered
    assert {"sms", "whatsapp"} == set(cost.by_channel)
    assert 1 == cost.by_channel["sms"].recovered
    assert {"PLN": Decimal("0.40"), "EUR": Decimal("0.05")} == dict(cost.by_channel["sms"].spend)
    assert cost.by_channel["whatsapp"].per_recovered is None
    assert {"DE", "PL"} == set(cost.by_country)
    assert {"EUR": Decimal("0.11")} == dict(cost.by_country["DE"].spend)
    assert {"PLN": Decimal("0.4000")} == cost.by_country["PL"].per_recovered


def test_currencies_are_never_added_together() -> None:
    """Spend in PLN and EUR stays apart in every format: no total mixes two currencies."""
    report = Report.from_events(worked_log(), prices=table())
    data = json.loads(render(report, "json"))["cost"]
    assert {"EUR": "0.11", "PLN": "0.40"} == data["spend"]
    assert {"EUR": "0.1100", "PLN": "0.4000"} == data["per_recovered_order"]
    text = render(report, "text")
    assert "spend: 0.11 EUR, 0.40 PLN on 5 messages (4 billed units, 2 free, 0 unpriced)" in text
    assert "per recovered order (1 attributed): 0.1100 EUR, 0.4000 PLN" in text
    rows = {
        (r["dimension"], r["value"]): r for r in csv.DictReader(io.StringIO(render(report, "csv")))
    }
    assert "EUR:0.11;PLN:0.40" == rows[("cost", "all")]["spend"]
    assert "PLN:0.40" == rows[("cost_country", "PL")]["spend"]
    assert "1" == rows[("cost_channel", "sms")]["recovered"]
    page = render(report, "html")
    assert "<h2>Cost</h2>" in page
    assert "0.11 EUR, 0.40 PLN" in page


def test_no_price_table_means_no_cost_section() -> None:
    """Without prices the JSON says ``"cost": null`` and the other formats show nothing new."""
    report = Report.from_events(worked_log())
    assert report.cost is None
    assert json.loads(render(report, "json"))["cost"] is None
    assert "Cost" not in render(report, "text")
    assert "spend" not in render(report, "csv").splitlines()[0]
    assert "<h2>Cost</h2>" not in render(report, "html")


def test_unpriced_messages_are_counted_and_left_out_of_spend() -> None:
    """A channel missing from the table makes its messages unpriced, never free, and says so."""
    log = [*worked_log(), message("a", T0 + 3 * HOUR, channel="email", to="a@example.com")]
    report = Report.from_events(log, prices=table())
    assert report.cost is not None
    assert 1 == report.cost.total.unpriced
    assert not report.cost.total.complete
    assert {"PLN": Decimal("0.40"), "EUR": Decimal("0.11")} == dict(report.cost.total.spend)
    assert "1 messages have no price in the table" in render(report, "text")
    assert json.loads(render(report, "json"))["cost"]["complete"] is False


def test_messages_to_checkouts_abandoned_earlier_are_shown_apart() -> None:
    """Reading from after an abandonment, its later messages are spend on other checkouts."""
    log = [record for record in worked_log() if record.checkout_id != "b" or record.at > T0]
    card = Scorecard.from_events(log, prices=table())
    report = Report.from_scorecard(card)
    assert report.cost is not None
    assert {"PLN": Decimal("0.40")} == dict(report.cost.total.spend)
    assert {"EUR": Decimal("0.11")} == dict(report.cost.other.spend)
    assert "messages to checkouts abandoned before the period: 4" in render(report, "text")


# -- cost per incremental order --------------------------------------------------------------
def arms(messaged: int, messaged_orders: int, holdout: int, holdout_orders: int) -> list[LogRecord]:
    """One 1-segment Polish SMS per messaged checkout; orders on the first few of each arm."""
    log: list[LogRecord] = []
    for index in range(messaged):
        log += [abandoned(f"m{index}"), message(f"m{index}", T0 + HOUR, segments=1)]
        if index < messaged_orders:
            log.append(order(f"m{index}", T0 + 2 * HOUR))
    for index in range(holdout):
        log.append(abandoned(f"h{index}", arm="holdout"))
        if index < holdout_orders:
            log.append(order(f"h{index}", T0 + 2 * HOUR))
    return sorted(log, key=lambda record: record.at)


def test_cost_per_incremental_order_divides_spend_by_added_orders() -> None:
    """Spend over the lift's incremental orders; the interval comes from theirs, inverted."""
    report = Report.from_events(arms(50, 25, 50, 2), prices=table(), min_effect=0.3)
    assert report.lift.enough
    cost = report.cost
    assert cost is not None
    orders = report.lift.incremental_orders
    assert orders is not None
    estimate, low, high = orders
    assert low > 0
    spend = Decimal("10.00")  # 50 texts at 0.20 PLN
    assert {"PLN": spend} == dict(cost.total.spend)
    got = cost.per_incremental["PLN"]
    assert got[0] == (spend / Decimal(repr(estimate))).quantize(Decimal("0.0001"))
    assert got[1] == (spend / Decimal(repr(high))).quantize(Decimal("0.0001"))
    assert got[2] == (spend / Decimal(repr(low))).quantize(Decimal("0.0001"))
    assert got[1] < got[0] < got[2]
    assert cost.total.per_recovered is not None
    assert cost.total.per_recovered["PLN"] < got[0]
    assert cost.verdict.startswith(f"{got[0]} PLN (95 % CI {got[1]} to {got[2]})")


def test_cost_per_incremental_order_is_not_meaningful_when_zero_is_possible() -> None:
    """When the incremental orders' interval includes zero, the report says so in words."""
    report = Report.from_events(arms(60, 9, 60, 6), prices=table(), min_effect=0.3)
    assert report.lift.enough
    assert report.cost is not None
    assert {} == report.cost.per_incremental
    assert report.cost.verdict.startswith("not meaningful:")
    assert "includes zero" in report.cost.verdict
    assert "per incremental order: not meaningful:" in render(report, "text")
    assert {} == json.loads(render(report, "json"))["cost"]["per_incremental_order"]


def test_cost_per_incremental_order_needs_a_holdout() -> None:
    """Without a holdout there is nothing to divide by, and the verdict says why."""
    report = Report.from_events(arms(10, 5, 0, 0), prices=table())
    assert report.cost is not None
    assert report.cost.incremental_orders is None
    assert report.cost.verdict.startswith("not available: no holdout to compare with")


# -- the command line ------------------------------------------------------------------------
def test_report_and_simulate_take_a_price_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``simulate --prices`` ends with the cost section; ``report --prices`` has the JSON key."""
    db = tmp_path / "demo.sqlite3"
    scenario = ROOT / "examples" / "demo" / "tiny.json"
    prices = ROOT / "examples" / "demo" / "prices.json"
    assert 0 == main(
        ["simulate", str(scenario), "--db", str(db), "--prices", str(prices), "--verbose"]
    )
    assert "\nCost\n  prices: ILLUSTRATIVE" in capsys.readouterr().out
    assert 0 == main(["report", "--db", str(db), "--prices", str(prices), "--format", "json"])
    cost = json.loads(capsys.readouterr().out)["cost"]
    assert cost["messages"] > 0
    assert cost["complete"] is True


def test_a_bad_price_file_is_bad_input_naming_file_and_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad ``--prices`` file exits 2 before any work, naming the file and each JSON path."""
    bad = tmp_path / "prices.json"
    bad.write_text(json.dumps({"channels": {"sms": {"countries": {"UK": {}}}}}), "utf-8")
    db = tmp_path / "demo.sqlite3"
    scenario = ROOT / "examples" / "demo" / "tiny.json"
    assert 2 == main(["simulate", str(scenario), "--db", str(db), "--prices", str(bad)])
    err = capsys.readouterr().err
    assert str(bad) in err
    assert "$.channels.sms.countries.UK:" in err
    assert "$.channels.sms.countries.UK.amount:" in err
    assert not db.exists()


def test_a_holdout_where_everyone_ordered_still_gives_a_report() -> None:
    """A holdout that all ordered yields "not enough data yet", never an error or a cost."""
    report = Report.from_events(arms(3, 2, 2, 2), prices=table())
    assert report.lift.missing is not None
    assert report.lift.missing["holdout"] > 0
    assert report.cost is not None
    assert report.cost.verdict.startswith("not available: not enough data yet: about ")
    assert {} == report.cost.per_incremental


def test_too_few_checkouts_give_no_cost_per_incremental_order() -> None:
    """Arms short of the required sample: no cost per added order even if the interval is clear."""
    report = Report.from_events(arms(50, 25, 50, 2), prices=table())
    assert not report.lift.enough
    assert report.cost is not None
    assert {} == report.cost.per_incremental
    assert report.cost.verdict.startswith("not available: not enough data yet")


# -- billed on delivery; inbound where priced (issue 23, item 5) ----------------------------
def test_a_whatsapp_template_is_billed_when_delivered_not_when_sent() -> None:
    """Meta bills delivered templates: one with no delivery report is ``awaiting`` and out of
    spend; its ``MessageDelivered`` bills it; a later ``MessageRead`` does not bill it again."""
    sent = message("b", T0, channel="whatsapp", to=DE_PHONE, touch=1, template="cart_remind")
    waiting = cost_of([abandoned("b"), sent])
    assert (waiting.total.messages, waiting.total.units, waiting.total.awaiting) == (1, 0, 1)
    assert dict(waiting.total.spend) == {}
    assert waiting.total.complete
    text = render(Report.from_events([abandoned("b"), sent], prices=table()), "text")
    assert "1 WhatsApp templates have no delivery report" in text
    read = LogRecord(T0 + 2 * HOUR, "event", "b", "cu-b",
                     {"type": "MessageRead", "touch": 1, "channel": "whatsapp"})  # fmt: skip
    billed = cost_of([abandoned("b"), sent, delivered("b", T0 + HOUR, touch=1), read])
    assert (billed.total.units, billed.total.awaiting) == (1, 0)
    assert dict(billed.total.spend) == {"EUR": Decimal("0.06")}
    assert billed.to_dict()["awaiting"] == 0


def test_a_read_report_alone_bills_the_template() -> None:
    """A read message was delivered, even when the delivery report itself was missed."""
    log = [
        abandoned("b"),
        message("b", T0, channel="whatsapp", to=DE_PHONE, touch=2, template="t"),
        LogRecord(T0 + HOUR, "event", "b", "cu-b",
                  {"type": "MessageRead", "touch": 2, "channel": "whatsapp"}),
    ]  # fmt: skip
    assert dict(cost_of(log).total.spend) == {"EUR": Decimal("0.06")}


def test_a_resent_touch_bills_the_send_that_was_delivered_only() -> None:
    """A template sent again for the same touch (the first never arrived) costs one message:
    the first stays unbilled and counts as awaiting delivery for good."""
    log = [
        abandoned("b"),
        message("b", T0, channel="whatsapp", to=DE_PHONE, touch=1, template="t"),
        message("b", T0 + HOUR, channel="whatsapp", to=DE_PHONE, touch=1, template="t"),
        delivered("b", T0 + 2 * HOUR, touch=1),
    ]
    total = cost_of(log).total
    assert (total.messages, total.units, total.awaiting) == (2, 1, 1)
    assert dict(total.spend) == {"EUR": Decimal("0.06")}


def test_sms_and_free_form_whatsapp_do_not_wait_for_delivery() -> None:
    """SMS is billed when sent whatever its reports say; free-form WhatsApp is free."""
    log = [
        abandoned("a"),
        message("a", T0, segments=2),
        reply("a", T0 + HOUR),
        message("a", T0 + 2 * HOUR, channel="whatsapp", to=DE_PHONE, touch=2),
    ]
    total = cost_of(log).total
    assert (total.units, total.free, total.awaiting) == (2, 1, 0)


def test_inbound_messages_are_priced_only_where_the_table_says() -> None:
    """A channel's ``inbound`` price bills each reply the log records; without one, replies
    are free. The price loads, round-trips and is checked like the others."""
    data = json.loads(json.dumps(PRICES))
    data["channels"]["sms"]["inbound"] = {"amount": "0.01", "currency": "EUR"}
    prices = table(data)
    assert prices == PriceTable.from_dict(prices.to_dict())
    assert Money("0.01", "EUR") == prices.inbound_price("sms")
    assert prices.inbound_price("whatsapp") is None
    log = [
        abandoned("a"),
        message("a", T0, to=DE_PHONE, segments=1),
        reply("a", T0 + HOUR, channel="sms"),
        reply("a", T0 + 2 * HOUR, channel="sms"),
        reply("a", T0 + 3 * HOUR, channel="whatsapp"),
    ]
    priced = cost_of(log, prices)
    assert priced.total.inbound == 3
    assert dict(priced.total.spend) == {"EUR": Decimal("0.07")}  # 0.05 + 2 × 0.01
    assert dict(priced.by_country["DE"].spend) == {"EUR": Decimal("0.07")}
    assert dict(cost_of(log).total.spend) == {"EUR": Decimal("0.05")}
    data["channels"]["sms"]["inbound"] = {"amount": "x", "currency": "EUR"}
    with pytest.raises(DefinitionError, match=r"\$\.channels\.sms\.inbound"):
        table(data)

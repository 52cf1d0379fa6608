"""The demo scenario (``make demo``): every story in it happens as told."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from recoverykit.policies.resolve import resolve_zones
from recoverykit.runtime.cli import main
from recoverykit.runtime.scenario import Scenario
from recoverykit.values.phone import PhoneNumber
from recoverykit.values.zones import get_zone

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo" / "scenario.json"
#: Kinds that put a message on the customer's phone or inbox.
OUTGOING = frozenset({"send", "confirm", "reply"})


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["simulate", str(DEMO), "--format", "jsonl"]) == 0
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def of(rows: list[dict[str, Any]], checkout: str, kinds: frozenset[str]) -> list[dict[str, Any]]:
    return [row for row in rows if row.get("checkout") == checkout and row["kind"] in kinds]


def test_demo_has_ten_customers_with_valid_numbers_in_six_currencies() -> None:
    """About ten customers, valid phone numbers, carts in PLN, RUB, EUR, KZT, GBP and USD."""
    scenario = Scenario.load(DEMO)
    assert len(scenario.customers) == 10
    for customer in scenario.customers:
        if customer.phone is not None:
            assert customer.phone == PhoneNumber.parse(customer.phone).e164
    currencies = {checkout.total.currency for checkout in scenario.checkouts}
    assert {"PLN", "RUB", "EUR", "KZT", "GBP", "USD"} == currencies


def test_exactly_one_checkout_is_held_out_and_gets_nothing(rows: list[dict[str, Any]]) -> None:
    """The holdout share puts exactly one demo checkout in the holdout; it is never messaged."""
    scenario = Scenario.load(DEMO)
    held = [c.id for c in scenario.checkouts if scenario.policy.in_holdout(c.id)]
    assert held == ["gb-1009"]
    assert of(rows, "gb-1009", OUTGOING) == []
    assert rows[-1]["holdout"] == 1


def test_russian_opt_out_gets_one_confirmation_and_nothing_after(
    rows: list[dict[str, Any]],
) -> None:
    """ "СТОП" on SMS: exactly one confirmation, the recovery stops, nothing is sent after."""
    stop_at = next(
        row["at"] for row in rows
        if row["kind"] == "event" and row.get("intent") == "opt_out"
        and row["customer"] == "cust-dmitry"
    )  # fmt: skip
    messages = [r for r in rows if r.get("customer") == "cust-dmitry" and r["kind"] in OUTGOING]
    after = [row for row in messages if row["at"] >= stop_at]
    assert [row["kind"] for row in after] == ["confirm"]
    assert [row["reason"] for row in of(rows, "ru-1012", frozenset({"finish"}))] == ["opted_out"]


def test_purchase_between_touches_stops_the_plan(rows: list[dict[str, Any]]) -> None:
    """The French order after touch 1 finishes the recovery; no touch follows it."""
    ordered_at = next(
        row["at"] for row in rows if row["kind"] == "event" and row.get("type") == "OrderPlaced"
        and row["checkout"] == "fr-1003"
    )  # fmt: skip
    sends = of(rows, "fr-1003", OUTGOING)
    assert [row["touch"] for row in sends] == [1]
    assert all(row["at"] < ordered_at for row in sends)
    assert [row["reason"] for row in of(rows, "fr-1003", frozenset({"finish"}))] == ["ordered"]


def test_menu_reply_on_whatsapp_gets_the_shipping_answer(rows: list[dict[str, Any]]) -> None:
    """Anna's "1" after a shipping-cost surprise is answered with the shipping help, once."""
    replies = of(rows, "pl-1001", frozenset({"reply"}))
    assert [(row["channel"], row["message"]) for row in replies] == [("whatsapp", "menu.shipping")]


def test_late_night_abandonment_waits_for_the_morning(rows: list[dict[str, Any]]) -> None:
    """Left at 23:40 in London: touch 1 waits for 09:00 local, after a contact-hours deferral."""
    first = of(rows, "gb-1004", frozenset({"send"}))[0]
    local = datetime.fromisoformat(first["at"]).astimezone(get_zone("Europe/London"))
    assert (first["touch"], local.hour) == (1, 9)
    assert of(rows, "gb-1004", frozenset({"defer"}))[0]["reason"] == "contact_hours"


def test_no_touch_outside_contact_hours_in_any_candidate_zone(rows: list[dict[str, Any]]) -> None:
    """Every touch falls between 09:00 and 20:00 in every zone the customer may be in."""
    scenario = Scenario.load(DEMO)
    zones = {c.id: resolve_zones(c).zones for c in scenario.customers}
    sends = [row for row in rows if row["kind"] == "send"]
    assert sends
    for row in sends:
        moment = datetime.fromisoformat(row["at"])
        for zone in zones[row["customer"]]:
            local = moment.astimezone(get_zone(zone))
            assert 9 <= local.hour < 20, (row["checkout"], zone, local)
    many = zones["cust-olga"]
    assert len(many) > 5
    assert len(of(rows, "ru-1005", frozenset({"send"}))) == 3


def test_late_stop_after_the_end_is_confirmed_once(rows: list[dict[str, Any]]) -> None:
    """Piotr's STOP after his recovery ended still gets its single confirmation."""
    confirms = of(rows, "pl-1008", frozenset({"confirm"}))
    assert len(confirms) == 1
    finish = of(rows, "pl-1008", frozenset({"finish"}))[0]
    assert finish["at"] < confirms[0]["at"]


def test_summary_counts_what_the_log_holds(rows: list[dict[str, Any]]) -> None:
    """The closing summary agrees with the lines printed before it."""
    *lines, summary = rows
    assert summary["kind"] == "summary"
    assert sum(1 for row in lines if row["kind"] == "send") == summary["sent"]
    assert sum(1 for row in lines if row["kind"] == "confirm") == summary["confirmations"]
    assert {"opted_out", "ordered", "sequence_done"} <= set(summary["finished_by"])


def test_florida_customer_gets_one_text_then_emails(rows: list[dict[str, Any]]) -> None:
    """CP-1: the confirmed US customer gets one text within 48 h; later touches go by e-mail."""
    sends = of(rows, "us-1007", frozenset({"send"}))
    assert [(1, "sms"), (2, "email"), (3, "email")] == [(r["touch"], r["channel"]) for r in sends]
    abandoned = datetime.fromisoformat("2026-03-11T17:25:00+00:00")
    first = datetime.fromisoformat(sends[0]["at"])
    assert (first - abandoned).total_seconds() <= 48 * 3600


def test_demo_ends_with_the_scorecard_and_prices_it() -> None:
    """``simulate`` ends with the scorecard; with the example prices it adds the cost.

    By hand from the demo's story and ``examples/demo/prices.json``: Russian texts
    10 segments at 0.30 EUR (3.00), Polish texts 6 segments at 0.04 EUR (0.24), the
    French text 0.07 EUR, British texts 5 segments at 0.04 GBP (0.20), the US text
    0.01 USD; Anna's two WhatsApp templates at 0.10 EUR (her reply's answer and the
    touch inside her service window are free), Aigerim's three at 0.04 EUR, and five
    e-mails at 0.001 EUR. 26 messages, 33 billed units, 2 free.
    """
    import contextlib
    import io

    prices = DEMO.parent / "prices.json"
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["simulate", str(DEMO), "--prices", str(prices)]) == 0
    text = buffer.getvalue()
    assert "\nRecovery scorecard\n" in text
    assert "\nCost\n  prices: ILLUSTRATIVE" in text
    assert (
        "spend: 3.6350 EUR, 0.2000 GBP, 0.0100 USD on 26 messages "
        "(33 billed units, 2 free, 0 unpriced)"
    ) in text
    assert "per incremental order: not available: not enough data yet" in text

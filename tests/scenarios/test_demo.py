"""The demo scenario (``make demo``): every story in it happens as told, and its verdict is right.

The story tests play the file without its generated traffic (the stories do not
depend on it, and it takes most of the time); the one-screen tests play it whole,
once, and check the lift against the true lift the traffic was generated with.
"""

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

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "demo"
FULL_DEMO = EXAMPLES / "scenario.json"
TINY = EXAMPLES / "tiny.json"
#: Kinds that put a message on the customer's phone or inbox.
OUTGOING = frozenset({"send", "confirm", "reply"})


def _stories_only(folder: Path) -> Path:
    data = json.loads(FULL_DEMO.read_text("utf-8"))
    del data["traffic"]
    path = folder / "stories.json"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return path


@pytest.fixture(scope="module")
def stories(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _stories_only(tmp_path_factory.mktemp("demo"))


def _run(*argv: str) -> str:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(list(argv)) == 0
    return buffer.getvalue()


@pytest.fixture(scope="module")
def rows(stories: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in _run("simulate", str(stories), "--format", "jsonl").splitlines()
    ]


def of(rows: list[dict[str, Any]], checkout: str, kinds: frozenset[str]) -> list[dict[str, Any]]:
    return [row for row in rows if row.get("checkout") == checkout and row["kind"] in kinds]


def test_demo_has_ten_customers_with_valid_numbers_in_six_currencies(stories: Path) -> None:
    """Ten story customers, valid phone numbers, carts in PLN, RUB, EUR, KZT, GBP and USD."""
    scenario = Scenario.load(stories)
    assert len(scenario.customers) == 10
    assert 10 == len(scenario.stories)
    for customer in scenario.customers:
        if customer.phone is not None:
            assert customer.phone == PhoneNumber.parse(customer.phone).e164
    currencies = {checkout.total.currency for checkout in scenario.checkouts}
    assert {"PLN", "RUB", "EUR", "KZT", "GBP", "USD"} == currencies


def test_exactly_one_checkout_is_held_out_and_gets_nothing(
    rows: list[dict[str, Any]], stories: Path
) -> None:
    """The holdout share puts exactly one story checkout in the holdout; it is never messaged."""
    scenario = Scenario.load(stories)
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


def test_no_touch_outside_contact_hours_in_any_candidate_zone(
    rows: list[dict[str, Any]], stories: Path
) -> None:
    """Every touch falls between 09:00 and 20:00 in every zone the customer may be in."""
    scenario = Scenario.load(stories)
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


def test_verbose_demo_ends_with_the_scorecard_and_prices_it(stories: Path) -> None:
    """``simulate --verbose`` ends with the scorecard; with the example prices it adds the cost.

    By hand from the demo's story and ``examples/demo/prices.json``: Russian texts
    10 segments at 0.30 EUR (3.00), Polish texts 7 segments at 0.04 EUR (0.28), the
    French text 2 segments at 0.07 EUR (0.14), British texts 6 segments at 0.04 GBP
    (0.24), the US text 2 segments at 0.01 USD; Anna's three WhatsApp templates at 0.10
    EUR (her menu answer's help is free; the answer paused her recovery for a person, so
    touch 2 went after the 24 h hand-off timeout, when her service window had closed),
    Aigerim's three at 0.04 EUR, and five e-mails at 0.001 EUR. 26 messages, 38 billed
    units, 1 free. The carts left at payment get the first touch about the card and
    3-D Secure, two segments by text.
    """
    prices = EXAMPLES / "prices.json"
    text = _run("simulate", str(stories), "--prices", str(prices), "--verbose")
    assert "\nRecovery scorecard\n" in text
    assert "\nCost\n  prices: ILLUSTRATIVE" in text
    assert (
        "spend: 3.8450 EUR, 0.2400 GBP, 0.0200 USD on 26 messages "
        "(38 billed units, 1 free, 0 unpriced)"
    ) in text
    assert "per incremental order: not available: not enough data yet" in text


# -- the whole demo, on one screen ----------------------------------------------------------------
#: The traffic's true lift (``examples/demo/scenario.json``: ``traffic.lift``).
TRUE_LIFT = 0.08


@pytest.fixture(scope="module")
def screen() -> str:
    return _run("simulate", str(FULL_DEMO), "--prices", str(EXAMPLES / "prices.json"))


def test_the_demo_fits_one_screen(screen: str) -> None:
    """At most 40 lines, none wider than 120 columns, one line per story."""
    lines = screen.splitlines()
    assert len(lines) <= 40
    assert max(len(line) for line in lines) <= 120
    story = [line for line in lines if line.startswith("  ") and " (" in line.split(":")[0]]
    assert 10 == sum(1 for line in story if line.split(" (")[1].split(",")[0] in _STORY_IDS)


_STORY_IDS = {
    "pl-1001", "ru-1012", "fr-1003", "gb-1004", "ru-1005", "kz-1006", "us-1007", "pl-1008",
    "gb-1009", "fr-1010",
}  # fmt: skip


def test_the_demo_verdict_is_the_true_lift(screen: str) -> None:
    """Enough data for a verdict, and its interval holds the lift the traffic was made with."""
    verdict = next(line for line in screen.splitlines() if line.startswith("  verdict"))
    assert verdict.startswith("  verdict   messages add +")
    low, high = (
        float(value) / 100
        for value in verdict.split("likely between ")[1].split(")")[0].split(" and ")
    )
    assert 0 < low <= TRUE_LIFT <= high


def test_the_demo_speaks_plainly(screen: str) -> None:
    """No engine words; each rule id named is explained once; the held-out group is explained."""
    lowered = screen.lower()
    for jargon in ("touch", "segment", "ucs-2", "recovery-cap", "attributed", "incremental"):
        assert jargon not in lowered, jargon
    for rule in ("CP-1", "KZ-OPERATORS", "FR-AF2M-2024"):
        assert 1 == sum(1 for line in screen.splitlines() if line.startswith(f"  {rule}: "))
    assert "Held out: a random 10 % of checkouts get no messages" in screen


def test_a_number_in_many_zones_shows_the_zone_that_held_it_back(screen: str) -> None:
    """Olga's Russian number may be in 14 zones; Kaliningrad's morning held her first text."""
    olga = next(line for line in screen.splitlines() if "(ru-1005," in line)
    assert "Kaliningrad, 1 of 14 zones" in olga
    assert "the first waited 08:45 to 09:00" in olga
    assert "Anadyr" not in screen


def test_simulated_receipts_give_real_rates(screen: str) -> None:
    """Delivery near the 96-97 % the receipts are drawn at, messenger reads near 80 %."""
    line = next(line for line in screen.splitlines() if line.startswith("  messages"))
    delivered = float(line.split("; ")[1].split(" %")[0])
    read = float(line.split("; ")[2].split(" %")[0])
    assert 94 <= delivered <= 99
    assert 70 <= read <= 90


def test_verbose_gives_the_event_log(stories: Path) -> None:
    """``--verbose`` prints every decision with its UTC and local time."""
    text = _run("simulate", str(stories), "--verbose")
    assert "| send     pl-1001 (cust-anna): whatsapp" in text
    assert "\nRecovery scorecard\n" in text


def test_the_tiny_scenario_says_not_enough_data_yet() -> None:
    """Six checkouts: no verdict, the interval so far, and the warning."""
    text = _run("simulate", str(TINY))
    assert "verdict   not enough data yet: about " in text
    assert "for a 5-point difference" in text
    assert "the lift has no verdict yet" in text
    assert "caused by the messages: not enough data yet" in text


def test_explain_says_each_program_note_once(stories: Path, tmp_path: Path) -> None:
    """``explain us-1007``: CP-1's switch to e-mail, once per touch in decisions and in the log."""
    db = tmp_path / "run.sqlite3"
    _run("simulate", str(stories), "--db", str(db))
    text = _run("explain", "us-1007", "--db", str(db))
    decisions, log = text.split("\nLog:\n")
    for part in (decisions, log):
        notes = [line for line in part.splitlines() if "program: touch" in line]
        assert 2 == len(notes), notes
        assert {"touch 2", "touch 3"} == {note.split("program: ")[1][:7] for note in notes}

"""The scorecard: funnel counts, attribution, breakdowns, revenue per currency, health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from recoverykit.errors import InvalidInputError
from recoverykit.metrics import (
    Attribution,
    Scorecard,
    friction_report,
    health_warnings,
)
from recoverykit.protocols import LogRecord

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def abandoned(
    checkout: str,
    at: datetime = T0,
    *,
    customer: str | None = None,
    amount: str = "100.00",
    currency: str = "EUR",
    arm: str = "messaged",
    **labels: Any,
) -> LogRecord:
    data: dict[str, Any] = {
        "type": "CheckoutAbandoned",
        "id": f"ab-{checkout}",
        "at": at.isoformat(),
        "total": {"amount": amount, "currency": currency},
        "stage": "payment",
        "segment": "new",
        "tier": "mid",
        "locale": "en",
        "friction": None,
        "arm": arm,
        "variant": None,
    }
    data.update(labels)
    return LogRecord(at, "event", checkout, customer or f"cu-{checkout}", data)


def send(
    checkout: str, at: datetime, touch: int = 1, channel: str = "sms", segments: int | None = 1
) -> LogRecord:
    data = {"touch": touch, "channel": channel, "segments": segments}
    return LogRecord(at, "send", checkout, f"cu-{checkout}", data)


def event(checkout: str, at: datetime, kind: str, **data: Any) -> LogRecord:
    return LogRecord(at, "event", checkout, f"cu-{checkout}", {"type": kind, **data})


def order(
    checkout: str,
    at: datetime,
    *,
    order_id: str | None = None,
    amount: str | None = None,
    currency: str = "EUR",
    customer: str | None = None,
) -> LogRecord:
    data: dict[str, Any] = {"type": "OrderPlaced", "id": f"o-{checkout}-{at}", "order_id": order_id}
    if amount is not None:
        data["total"] = {"amount": amount, "currency": currency}
    return LogRecord(at, "event", checkout, customer or f"cu-{checkout}", data)


def test_funnel_counts_each_step() -> None:
    """Checkouts, messaged, sends, delivered, read, replied, clicked and recovered are counted."""
    log = [
        abandoned("a"),
        abandoned("b"),
        abandoned("c", arm="holdout"),
        send("a", T0 + HOUR),
        event("a", T0 + 2 * HOUR, "MessageDelivered", touch=1, channel="sms"),
        event("a", T0 + 2 * HOUR, "MessageRead", touch=1, channel="sms"),
        event("a", T0 + 3 * HOUR, "ReplyReceived", channel="sms", intent="question", text="?"),
        event("a", T0 + 3 * HOUR, "LinkClicked", touch=1),
        order("a", T0 + 4 * HOUR),
        send("b", T0 + HOUR, segments=2),
        send("b", T0 + 30 * HOUR, touch=2),
    ]
    card = Scorecard.from_events(log)
    totals = card.totals
    expected = (3, 2, 1, 2, 3, 4, 1, 1, 1, 1, 1)
    actual = (
        totals.checkouts, totals.eligible, totals.holdout, totals.messaged, totals.sends,
        totals.segments, totals.delivered, totals.read, totals.replied, totals.clicked,
        totals.recovered,
    )  # fmt: skip
    assert expected == actual


def test_order_before_first_send_is_not_recovered() -> None:
    """An order placed before any message went out is not credited to the messages."""
    log = [abandoned("a"), order("a", T0 + HOUR), send("a", T0 + 2 * HOUR)]
    card = Scorecard.from_events(log)
    assert (0, 1) == (card.totals.recovered, card.totals.ordered)


def test_order_after_window_is_not_recovered() -> None:
    """An order later than the window after the last send counts as ordered, not recovered."""
    log = [abandoned("a"), send("a", T0 + HOUR), order("a", T0 + HOUR + timedelta(days=6))]
    card = Scorecard.from_events(log)
    assert (0, 1) == (card.totals.recovered, card.totals.ordered)
    wider = Scorecard.from_events(log, attribution=Attribution(window=timedelta(days=7)))
    assert 1 == wider.totals.recovered


def test_click_required_mode_needs_a_click_before_the_order() -> None:
    """With ``require_click`` only orders preceded by a click are credited."""
    rule = Attribution(require_click=True)
    unclicked = [abandoned("a"), send("a", T0 + HOUR), order("a", T0 + 2 * HOUR)]
    clicked = [*unclicked[:2], event("a", T0 + 90 * timedelta(minutes=1), "LinkClicked"),
               unclicked[2]]  # fmt: skip
    assert 0 == Scorecard.from_events(unclicked, attribution=rule).totals.recovered
    assert 1 == Scorecard.from_events(clicked, attribution=rule).totals.recovered


def test_last_touch_before_the_order_gets_the_credit() -> None:
    """The touch breakdown credits the order to the last touch sent before it."""
    log = [
        abandoned("a"),
        send("a", T0 + HOUR, touch=1),
        send("a", T0 + 24 * HOUR, touch=2, channel="whatsapp"),
        order("a", T0 + 25 * HOUR),
    ]
    card = Scorecard.from_events(log, by=("touch",))
    credited = {touch: row.recovered for touch, row in card.by["touch"].items()}
    assert {"1": 0, "2": 1} == credited
    assert "whatsapp" == card.outcomes["a"].credited_channel


def test_same_order_is_never_counted_twice() -> None:
    """A replayed order (same order id) on another checkout of the customer is not counted again."""
    log = [
        abandoned("a", customer="cu"),
        abandoned("b", T0 + HOUR, customer="cu"),
        send("a", T0 + 2 * HOUR),
        send("b", T0 + 2 * HOUR),
        order("a", T0 + 3 * HOUR, order_id="o-1", customer="cu"),
        order("b", T0 + 3 * HOUR, order_id="o-1", customer="cu"),
    ]
    card = Scorecard.from_events(log)
    assert (1, 1) == (card.totals.recovered, card.totals.ordered)


def test_order_for_an_unknown_checkout_goes_to_the_customers_latest() -> None:
    """An order on a new checkout id is matched to the customer's most recent abandoned checkout."""
    log = [
        abandoned("a", customer="cu"),
        send("a", T0 + HOUR),
        order("fresh-cart", T0 + 2 * HOUR, customer="cu", amount="80.00"),
    ]
    card = Scorecard.from_events(log)
    assert {"EUR": Decimal("80.00")} == card.totals.recovered_revenue


def test_revenue_is_kept_per_currency() -> None:
    """Recovered revenue is summed per currency and never across currencies."""
    log = [
        abandoned("a", amount="100.00", currency="EUR"),
        abandoned("b", amount="250.00", currency="PLN"),
        abandoned("c", amount="20.00", currency="EUR"),
        *(send(c, T0 + HOUR) for c in "abc"),
        order("a", T0 + 2 * HOUR),
        order("b", T0 + 2 * HOUR, amount="240.00", currency="PLN"),
        order("c", T0 + 2 * HOUR),
    ]
    card = Scorecard.from_events(log)
    expected = {"EUR": Decimal("120.00"), "PLN": Decimal("240.00")}
    assert expected == card.totals.recovered_revenue


def test_holdout_orders_are_never_attributed() -> None:
    """A holdout checkout's order counts for intention to treat, never as recovered."""
    log = [abandoned("h", arm="holdout"), order("h", T0 + HOUR)]
    card = Scorecard.from_events(log)
    assert (0, 1, 1) == (card.totals.recovered, card.arms["holdout"].ordered, card.totals.holdout)


def test_holdout_info_note_marks_the_arm() -> None:
    """Logs without an ``arm`` key still find the holdout through the engine's info note."""
    first = abandoned("h")
    del first.data["arm"]
    log = [first, LogRecord(T0, "info", "h", "cu-h", {"what": "holdout", "detail": ""})]
    assert 1 == Scorecard.from_events(log).arms["holdout"].checkouts


def test_breakdowns_group_by_labels() -> None:
    """Checkout-level breakdowns group by the labels logged at abandonment."""
    log = [
        abandoned("a", segment="returning", locale="pl", friction="shipping_cost"),
        abandoned("b"),
        send("a", T0 + HOUR, channel="whatsapp"),
    ]
    card = Scorecard.from_events(log)
    assert {"new": 1, "returning": 1} == {k: v.checkouts for k, v in card.by["segment"].items()}
    assert {"none": 1, "whatsapp": 1} == {k: v.checkouts for k, v in card.by["channel"].items()}
    assert {"none": 1, "shipping_cost": 1} == {
        k: v.checkouts for k, v in card.by["friction"].items()
    }


def test_unknown_breakdown_is_an_error() -> None:
    """Asking for a breakdown the scorecard does not keep names the choices."""
    with pytest.raises(InvalidInputError, match="colour"):
        Scorecard.from_events([], by=("colour",))


def test_rates_have_wilson_intervals_containing_the_estimate() -> None:
    """Each rate carries an interval around its estimate; an empty base has no interval."""
    log = [abandoned("a"), send("a", T0 + HOUR), order("a", T0 + 2 * HOUR), abandoned("b")]
    rates = Scorecard.from_events(log).rates()
    recovery = rates["recovery"]
    assert recovery.low is not None
    assert recovery.high is not None
    assert recovery.value is not None
    assert recovery.low <= recovery.value <= recovery.high
    assert None is Scorecard.from_events([abandoned("x")]).rates()["delivery"].value


def test_time_to_recovery_median_and_p90() -> None:
    """Median and p90 are nearest-rank hours from abandonment to a recovered order."""
    log = [abandoned(f"c{i}") for i in range(10)]
    log += [send(f"c{i}", T0 + HOUR) for i in range(10)]
    log += [order(f"c{i}", T0 + (2 + i) * HOUR) for i in range(10)]
    log.sort(key=lambda r: r.at)
    card = Scorecard.from_events(log)
    assert (6.0, 10.0) == (card.median_hours_to_recovery, card.p90_hours_to_recovery)


def test_opt_outs_from_replies_and_finish() -> None:
    """A STOP reply or a recovery finished as opted out counts one opt-out per checkout."""
    log = [
        abandoned("a"),
        abandoned("b"),
        send("a", T0 + HOUR),
        send("b", T0 + HOUR),
        event("a", T0 + 2 * HOUR, "ReplyReceived", intent="opt_out", text="STOP"),
        LogRecord(T0 + 2 * HOUR, "finish", "a", "cu-a", {"reason": "opted_out"}),
        LogRecord(T0 + 2 * HOUR, "finish", "b", "cu-b", {"reason": "opted_out"}),
    ]
    assert 2 == Scorecard.from_events(log).totals.opted_out


def test_health_warns_on_low_recovery_and_high_opt_outs() -> None:
    """Recovery under 5 % and opt-outs over 2 % of messages raise warnings naming the rate."""
    log: list[LogRecord] = []
    for i in range(100):
        log += [abandoned(f"c{i}"), send(f"c{i}", T0 + HOUR)]
        if i < 10:
            log.append(event(f"c{i}", T0 + 2 * HOUR, "ReplyReceived", intent="opt_out", text="S"))
        if i < 30:
            log.append(event(f"c{i}", T0 + 2 * HOUR, "MessageDelivered", touch=1))
    codes = {w.code for w in health_warnings(Scorecard.from_events(log))}
    assert {"recovery_low", "opt_out_high", "delivery_low", "reply_low"} == codes


def test_health_is_quiet_on_small_samples() -> None:
    """Fewer than 30 in a rate's base raises no warning: too few to judge."""
    log = [abandoned("a"), send("a", T0 + HOUR)]
    assert [] == health_warnings(Scorecard.from_events(log))


def test_friction_report_counts_stage_label_and_menu() -> None:
    """The friction report counts stages, friction labels and menu choices sent back."""
    log = [
        abandoned("a", stage="shipping", friction="shipping_cost"),
        abandoned("b"),
        send("a", T0 + HOUR),
        event("a", T0 + 2 * HOUR, "ReplyReceived", intent="menu_choice", text=" 2 "),
    ]
    report = friction_report(Scorecard.from_events(log))
    assert {"shipping": 1, "payment": 1} == dict(report.by_stage)
    assert {"2": 1} == dict(report.menu_choices)


def test_attribution_window_must_be_positive() -> None:
    """A zero or negative window is refused with the fix in the message."""
    with pytest.raises(InvalidInputError, match="days=5"):
        Attribution(window=timedelta(0))


def test_blocks_and_spam_reports_count_as_complaints_plain_stops_do_not() -> None:
    """A revocation whose source is a block or a spam report is a complaint; an ordinary
    unsubscribe is an opt-out only; a provider failure coded ``complaint`` still counts."""

    def consent(source: str, action: str = "revoked") -> LogRecord:
        change = {"action": action, "source": source, "channel": "telegram"}
        return event("a", T0 + HOUR, "ConsentChanged", consent=change)

    log = [
        abandoned("a"),
        send("a", T0 + HOUR),
        consent("blocked"),
        consent("spam_report"),
        consent("one-click"),
        consent("blocked", action="granted"),
        event("a", T0 + 2 * HOUR, "MessageFailed", touch=1, channel="sms", code="complaint"),
    ]
    assert 3 == Scorecard.from_events(log).totals.complaints


def test_a_complaint_rate_over_the_bulk_sender_limit_warns() -> None:
    """PW-5: complaints over 0.3 % of messages raise ``complaint_high``."""
    log = [abandoned(f"c{n}") for n in range(200)]
    log += [send(f"c{n}", T0 + HOUR) for n in range(200)]
    change = {"action": "revoked", "source": "spam_report", "channel": "email"}
    log += [event(f"c{n}", T0 + 2 * HOUR, "ConsentChanged", consent=change) for n in range(20)]
    card = Scorecard.from_events(log)
    assert "complaint" in card.rates()
    assert "complaint_high" in [w.code for w in health_warnings(card)]
    quiet = Scorecard.from_events(log[:400])
    assert "complaint_high" not in [w.code for w in health_warnings(quiet)]

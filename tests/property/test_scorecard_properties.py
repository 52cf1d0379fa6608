"""Properties of the scorecard over random event logs: it equals a naive recount.

The naive recount looks at the whole log at once, checkout by checkout, with
list filters; the scorecard reads the log once as a stream. Agreement over random
logs (ties in time, unknown checkouts, replayed orders, holdout arms) is the check.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from recoverykit.metrics import DIMENSIONS, Attribution, Scorecard
from recoverykit.protocols import LogRecord

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CHECKOUTS = ("c0", "c1", "c2", "c3", "zz")
WINDOW = timedelta(hours=30)


def _customer(checkout: str) -> str:
    return "cu0" if checkout in ("c0", "c2", "zz") else "cu1"


@st.composite
def logs(draw: st.DrawFn) -> list[LogRecord]:
    """A random, time-ordered log over a few checkouts and two customers."""
    steps = draw(st.integers(min_value=0, max_value=40))
    at = T0
    log: list[LogRecord] = []
    for _ in range(steps):
        at += timedelta(hours=draw(st.sampled_from([0, 1, 5, 20])))
        checkout = draw(st.sampled_from(CHECKOUTS))
        customer = _customer(checkout)
        kind = draw(
            st.sampled_from(
                ["abandon", "send", "delivered", "read", "reply", "click", "order", "finish"]
            )
        )
        if kind == "abandon":
            data: dict[str, Any] = {
                "type": "CheckoutAbandoned",
                "total": {"amount": draw(st.sampled_from(["10.00", "99.50"])),
                          "currency": draw(st.sampled_from(["EUR", "PLN"]))},
                "arm": draw(st.sampled_from(["messaged", "messaged", "holdout"])),
                "segment": draw(st.sampled_from(["new", "returning"])),
                "variant": draw(st.sampled_from([None, "a", "b"])),
            }  # fmt: skip
            log.append(LogRecord(at, "event", checkout, customer, data))
        elif kind == "send":
            data = {
                "touch": draw(st.integers(1, 3)),
                "channel": draw(st.sampled_from(["sms", "whatsapp"])),
            }
            log.append(LogRecord(at, "send", checkout, customer, data))
        elif kind in ("delivered", "read"):
            name = "MessageDelivered" if kind == "delivered" else "MessageRead"
            log.append(LogRecord(at, "event", checkout, customer, {"type": name, "touch": 1}))
        elif kind == "reply":
            intent = draw(st.sampled_from(["opt_out", "question", "menu_choice"]))
            data = {"type": "ReplyReceived", "intent": intent, "text": "1"}
            log.append(LogRecord(at, "event", checkout, customer, data))
        elif kind == "click":
            log.append(LogRecord(at, "event", checkout, customer, {"type": "LinkClicked"}))
        elif kind == "order":
            data = {"type": "OrderPlaced", "order_id": draw(st.sampled_from(["o1", "o2", "o3"]))}
            if draw(st.booleans()):
                data["total"] = {"amount": "42.00", "currency": "EUR"}
            log.append(LogRecord(at, "event", checkout, customer, data))
        else:
            reason = draw(st.sampled_from(["opted_out", "no_consent", "sequence_done"]))
            log.append(LogRecord(at, "finish", checkout, customer, {"reason": reason}))
    return log


def _is(record: LogRecord, kind: str, event: str | None = None) -> bool:
    return record.kind == kind and (event is None or record.data.get("type") == event)


def _naive_orders(log: list[LogRecord]) -> dict[str, int]:
    """Which log position's order each checkout got: named first, else the customer's latest."""
    started: dict[str, int] = {}
    latest: dict[str, str] = {}
    taken: dict[str, int] = {}
    used: set[str] = set()
    for index, record in enumerate(log):
        checkout = record.checkout_id or ""
        if _is(record, "event", "CheckoutAbandoned") and checkout not in started:
            started[checkout] = index
            latest[record.customer_id or ""] = checkout
        if not _is(record, "event", "OrderPlaced") or record.data["order_id"] in used:
            continue
        target = checkout if checkout in started and checkout not in taken else None
        if target is None:
            candidate = latest.get(record.customer_id or "")
            target = candidate if candidate is not None and candidate not in taken else None
        if target is None or record.at < log[started[target]].at:
            continue
        used.add(record.data["order_id"])
        taken[target] = index
    return taken


def _naive(log: list[LogRecord], window: timedelta) -> dict[str, dict[str, Any]]:
    orders = _naive_orders(log)
    result: dict[str, dict[str, Any]] = {}
    starts: dict[str, int] = {}
    for index, record in enumerate(log):
        if _is(record, "event", "CheckoutAbandoned"):
            starts.setdefault(record.checkout_id or "", index)
    for checkout, start in starts.items():
        end = orders.get(checkout, len(log))
        mine = [(i, r) for i, r in enumerate(log) if r.checkout_id == checkout and i > start]
        sends = [(i, r) for i, r in mine if r.kind == "send" and i < end]
        first_send = sends[0][0] if sends else None

        def after_send(i: int, first: int | None = first_send) -> bool:
            return first is not None and i > first

        replies = [(i, r) for i, r in mine if _is(r, "event", "ReplyReceived") and after_send(i)]
        holdout = log[start].data.get("arm") == "holdout"
        recovered = False
        if checkout in orders and sends and not holdout:
            placed = log[orders[checkout]].at
            recovered = sends[0][1].at < placed <= sends[-1][1].at + window
        result[checkout] = {
            "holdout": holdout,
            "sends": len(sends),
            "delivered": sum(_is(r, "event", "MessageDelivered") for _, r in mine),
            "read": sum(_is(r, "event", "MessageRead") for _, r in mine),
            "replied": bool(replies),
            "clicked": any(_is(r, "event", "LinkClicked") and after_send(i) for i, r in mine),
            "opted_out": any(r.data.get("intent") == "opt_out" for _, r in replies)
            or any(_is(r, "finish") and r.data["reason"] == "opted_out" for _, r in mine),
            "ordered": checkout in orders,
            "recovered": recovered,
        }
    return result


@given(logs())
def test_scorecard_equals_a_naive_recount(log: list[LogRecord]) -> None:
    """Every checkout's outcome and every total match a recount over the whole log."""
    card = Scorecard.from_events(iter(log), attribution=Attribution(window=WINDOW))
    naive = _naive(log, WINDOW)
    actual = {
        checkout: {
            "holdout": o.holdout,
            "sends": o.sends,
            "delivered": o.delivered,
            "read": o.read,
            "replied": o.replied,
            "clicked": o.clicked_at is not None,
            "opted_out": o.opted_out,
            "ordered": o.order_at is not None,
            "recovered": o.recovered,
        }
        for checkout, o in card.outcomes.items()
    }
    assert naive == actual
    totals = card.totals
    assert sum(v["recovered"] for v in naive.values()) == totals.recovered
    assert sum(v["sends"] for v in naive.values()) == totals.sends
    assert sum(v["holdout"] for v in naive.values()) == totals.holdout


@given(logs())
def test_attribution_never_counts_an_order_twice_or_before_the_first_send(
    log: list[LogRecord],
) -> None:
    """Each order id lands on at most one checkout; a recovered order follows the first send."""
    card = Scorecard.from_events(log)
    placed = [o for o in card.outcomes.values() if o.order_at is not None]
    assert len(placed) <= 3  # three distinct order ids in the generator
    for outcome in card.outcomes.values():
        if outcome.recovered:
            assert outcome.first_send is not None
            assert outcome.order_at is not None
            assert outcome.first_send < outcome.order_at
            assert not outcome.holdout


@given(logs())
def test_breakdowns_partition_the_checkouts(log: list[LogRecord]) -> None:
    """Each checkout-level breakdown's rows add up to the totals, revenue included."""
    card = Scorecard.from_events(log)
    for name in DIMENSIONS:
        if name == "touch":
            continue
        rows = card.by[name].values()
        assert card.totals.checkouts == sum(row.checkouts for row in rows)
        assert card.totals.recovered == sum(row.recovered for row in rows)
        revenue: dict[str, Decimal] = {}
        for row in rows:
            for currency, amount in row.recovered_revenue.items():
                revenue[currency] = revenue.get(currency, Decimal(0)) + amount
        assert card.totals.recovered_revenue == revenue


@given(logs())
def test_touch_credit_adds_up_to_recovered(log: list[LogRecord]) -> None:
    """Every recovered order credits exactly one touch (the last before it)."""
    card = Scorecard.from_events(log)
    credited = sum(row.recovered for row in card.by["touch"].values())
    assert card.totals.recovered == credited

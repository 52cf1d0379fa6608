"""How fast the scorecard reads a long event log, and how much memory it holds.

The log is generated lazily (a generator of ``LogRecord``), shaped like a busy
store's: each checkout is abandoned, gets up to three touches with delivery and
read receipts, sometimes a reply or a click, and sometimes an order; one in ten
is held out. Peak memory is measured with ``tracemalloc`` on a smaller run (it
slows Python down) and should grow with checkouts, not events.

With a price table (``examples/demo/prices.json``) the same pass also counts
message units by channel and recipient country; the benchmark times that run
too. Every customer has a number of their own (the worst case for the country
look-up), spread over single-country calling codes and the shared +1 and +44.

Times are CPU time. The passes stand beside a floor from the same run: a pass over
the same generated log that only reads each record's kind and event type (generation
included in both, since the log is a generator).

Run: ``python -m benchmarks.bench_metrics [--n 1000000]``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from recoverykit.metrics import Lift, PriceTable, Report, Scorecard, render
from recoverykit.protocols import LogRecord

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DEFAULT_EVENTS = 1_000_000
#: Events per checkout on average in the generated log (about 10).
_MINUTE = timedelta(minutes=1)
PRICES = Path(__file__).resolve().parents[1] / "examples" / "demo" / "prices.json"
#: Recipients' numbers: (weight, E.164 prefix, digits that follow), e.g. Polish mobiles.
_NUMBERS = ((3, "+4860", 7), (2, "+49151", 8), (2, "+1201", 7), (2, "+4474", 8), (1, "+336", 8))


def _phone(rng: random.Random) -> str:
    _, prefix, digits = rng.choices(_NUMBERS, weights=[w for w, _, _ in _NUMBERS])[0]
    first = str(rng.randint(2, 9)) if prefix == "+1201" else ""  # US exchanges start 2-9
    rest = digits - len(first)
    return f"{prefix}{first}{rng.randrange(10**rest):0{rest}d}"


def synthetic_log(events: int, *, seed: int = 7) -> Iterator[LogRecord]:
    """About ``events`` records, in time order, one checkout's story after another."""
    rng = random.Random(seed)
    produced = 0
    index = 0
    while produced < events:
        checkout = f"chk-{index:08d}"
        customer = f"cus-{index:08d}"
        at = T0 + index * _MINUTE
        holdout = rng.random() < 0.1
        abandoned = {
            "type": "CheckoutAbandoned",
            "total": {"amount": f"{rng.randint(10, 400)}.00",
                      "currency": rng.choice(("EUR", "PLN"))},
            "stage": rng.choice(("shipping", "payment", "review")),
            "segment": rng.choice(("new", "returning")),
            "tier": rng.choice(("low", "mid", "high")),
            "locale": rng.choice(("en", "pl", "de")),
            "friction": rng.choice((None, "shipping_cost", "payment_failed")),
            "arm": "holdout" if holdout else "messaged",
            "variant": rng.choice(("a", "b")),
        }  # fmt: skip
        story = [LogRecord(at, "event", checkout, customer, abandoned)]
        phone = _phone(rng)
        if holdout:
            story.append(LogRecord(at, "info", checkout, customer, {"what": "holdout"}))
        else:
            for touch in range(1, rng.randint(1, 3) + 1):
                at += timedelta(hours=touch * 6)
                channel = rng.choice(("sms", "whatsapp"))
                send = {
                    "touch": touch,
                    "channel": channel,
                    "segments": rng.choice((1, 1, 2)),
                    "to": phone,
                    "template": "cart_remind" if channel == "whatsapp" else None,
                }
                story.append(LogRecord(at, "send", checkout, customer, send))
                receipt = {"type": "MessageDelivered", "touch": touch, "channel": channel}
                story.append(LogRecord(at + _MINUTE, "event", checkout, customer, receipt))
                read = {"type": "MessageRead", "touch": touch, "channel": channel}
                story.append(LogRecord(at + 2 * _MINUTE, "event", checkout, customer, read))
            if rng.random() < 0.2:
                reply = {"type": "ReplyReceived", "intent": "question", "text": "?"}
                story.append(LogRecord(at + 3 * _MINUTE, "event", checkout, customer, reply))
        if rng.random() < 0.15:
            order = {"type": "OrderPlaced", "id": f"o-{index}", "order_id": f"o-{index}"}
            story.append(LogRecord(at + timedelta(hours=2), "event", checkout, customer, order))
        story.append(LogRecord(at + timedelta(days=1), "finish", checkout, customer,
                               {"reason": "sequence_done"}))  # fmt: skip
        yield from story
        produced += len(story)
        index += 1


def _args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench_metrics")
    parser.add_argument("--n", type=int, default=DEFAULT_EVENTS, help="log records to read")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Print the time to score ``--n`` records and the peak memory of a tenth of them.

    ``argv`` defaults to no arguments (the benchmark runner calls ``main()``).
    """
    events = _args([] if argv is None else argv).n
    started = time.process_time()
    for _ in synthetic_log(events):
        pass
    generated = time.process_time() - started
    started = time.process_time()
    card = Scorecard.from_events(synthetic_log(events))
    total = time.process_time() - started
    scored = max(total - generated, 1e-9)
    started = time.process_time()
    for record in synthetic_log(events):
        _ = record.kind, record.data.get("type")
    floor = max(time.process_time() - started, 1e-9)  # generation included, as in ``total``
    started = time.process_time()
    lift = Lift.from_scorecard(card)
    render(Report.from_scorecard(card), "html")
    rendered = time.process_time() - started
    print(f"scorecard over {events:,} records ({card.totals.checkouts:,} checkouts)")
    print(f"  generating the log alone {generated:8.2f} s")
    print(f"  one pass, generation out {scored:8.2f} s   ({events / scored:,.0f} records/s)")
    print(f"  generation and pass      {total:8.2f} s   ({total / floor:.1f}× the floor of"
          f" generating and reading each record's kind and type: {floor:.2f} s)")  # fmt: skip
    print(f"  lift + report (html)     {rendered:8.3f} s")
    print(f"  verdict: {lift.verdict}")
    sample = max(events // 10, 1)
    tracemalloc.start()
    Scorecard.from_events(synthetic_log(sample))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  peak memory, {sample:,} records: {peak / 2**20:8.1f} MiB "
          f"(about {peak / 2**20 * events / sample:,.0f} MiB scaled to {events:,})")  # fmt: skip
    prices = PriceTable.load(PRICES)
    started = time.process_time()
    priced = Scorecard.from_events(synthetic_log(events), prices=prices)
    with_cost = max(time.process_time() - started - generated, 1e-9)
    report = Report.from_scorecard(priced)
    assert report.cost is not None
    print(f"  one pass with prices     {with_cost:8.2f} s   ({events / with_cost:,.0f} records/s, "
          f"{(with_cost + generated) / floor:.1f}× the floor with generation, "
          f"{report.cost.total.messages:,} messages priced)")  # fmt: skip
    tracemalloc.start()
    Scorecard.from_events(synthetic_log(sample), prices=prices)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  peak memory with prices, {sample:,} records: {peak / 2**20:8.1f} MiB")


if __name__ == "__main__":
    main(sys.argv[1:])

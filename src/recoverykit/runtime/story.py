"""The one-screen account of a simulation: a line per customer story and a short scorecard.

``recoverykit simulate`` prints this by default (``--verbose`` prints the whole
event log instead). It is written for a store owner, not for the engine's
authors: "text" and "message", not "touch"; "held out", explained once; every
time in the customer's own time zone — and when a number could be in several
zones, in the one that actually held a message back — written the same way
everywhere (``Tue 10 Mar 19:31 Warsaw``). No line is wider than `WIDTH`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from ..metrics.report import Report
from ..metrics.scorecard import Rate
from ..policies.resolve import resolve_zones
from ..protocols import LogRecord
from ..values.loading import to_datetime
from ..values.model import Customer
from ..values.zones import get_zone
from .scenario import Scenario

__all__ = ["WIDTH", "StoryBook", "scorecard_lines", "story_lines"]

#: The widest line the summary prints.
WIDTH: Final = 120
_CHANNEL_WORDS: Final = {
    "sms": ("text", "texts"),
    "whatsapp": ("WhatsApp", "WhatsApps"),
    "telegram": ("Telegram message", "Telegram messages"),
    "viber": ("Viber message", "Viber messages"),
    "email": ("e-mail", "e-mails"),
}
#: Plain words for the rules a story can name, shown once with the rule's id.
_RULE_WORDS: Final[Mapping[str, str]] = {
    "CP-1": "US carriers allow one cart-reminder text per abandonment, within 48 hours",
    "FR-AF2M-2024": "the French operators' charter: no business messages on Sundays or holidays",
    "FR-AF2M-2026": "the French operators' charter: no business messages on Sundays or holidays",
    "KZ-OPERATORS": "Kazakh operators take promotional messages on weekdays, 09:00-21:00",
    "UK-EU-PLATFORM": "UK and EU quiet hours",
}
_MENU_WORDS: Final = {"1": "delivery", "2": "payment", "3": "changing items"}


def _city(zone: str) -> str:
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 1:
        return f"{max(1, round(hours * 60))} min"
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{hours / 24:.0f} days"


def _count(number: int, channel: str) -> str:
    one, many = _CHANNEL_WORDS.get(channel, ("message", "messages"))
    return f"{number} {one if number == 1 else many}"


def _grouped(value: int) -> str:
    return f"{value:,}".replace(",", " ")


class _Story:
    """What the log says about one checkout, gathered in one pass."""

    def __init__(self, checkout_id: str) -> None:
        self.checkout_id = checkout_id
        self.left: datetime | None = None
        self.total: str = ""
        self.sends: list[tuple[datetime, str]] = []
        self.defers: list[Mapping[str, Any]] = []
        self.programs: list[str] = []
        self.replies: list[tuple[datetime, Mapping[str, Any]]] = []
        self.answered = 0
        self.handoffs = 0
        self.clicked = False
        self.failed = 0
        self.holdout = False
        self.order: tuple[datetime, str] | None = None
        self.finish: str | None = None

    def add(self, record: LogRecord) -> None:
        data = record.data
        kind = record.kind
        if kind == "event":
            self._event(record.at, data)
        elif kind == "send":
            self.sends.append((record.at, str(data.get("channel"))))
        elif kind in ("reply", "confirm"):
            self.answered += 1
        elif kind == "defer":
            self.defers.append(data)
        elif kind == "info" and data.get("what") == "program":
            self.programs.append(str(data.get("detail", "")))
        elif kind == "info" and data.get("what") == "holdout":
            self.holdout = True
        elif kind == "handoff":
            self.handoffs += 1
        elif kind == "finish" and self.finish is None:
            self.finish = str(data.get("reason"))

    def _event(self, at: datetime, data: Mapping[str, Any]) -> None:
        kind = data.get("type")
        if kind == "CheckoutAbandoned":
            self.left = at
            self.total = _money(data.get("total"))
        elif kind == "OrderPlaced" and self.order is None:
            self.order = (at, _money(data.get("total")) or self.total)
        elif kind == "ReplyReceived":
            self.replies.append((at, data))
        elif kind == "LinkClicked":
            self.clicked = True
        elif kind == "MessageFailed":
            self.failed += 1


def _money(total: object) -> str:
    if not isinstance(total, Mapping):
        return ""
    return f"{total.get('amount')} {total.get('currency')}"


class StoryBook:
    """The stories of the scenario's own checkouts, gathered as the log streams past.

    Only what a story line needs is kept for each checkout, never the log lines
    themselves, so a long run's log can be printed or counted and let go.
    """

    def __init__(self, stories: Iterable[str]) -> None:
        self.stories = {checkout_id: _Story(checkout_id) for checkout_id in stories}

    def add(self, record: LogRecord) -> None:
        story = self.stories.get(record.checkout_id or "")
        if story is not None:
            story.add(record)

    def reading(self, records: Iterable[LogRecord]) -> Iterator[LogRecord]:
        """Pass ``records`` on unchanged, adding each to its story on the way."""
        for record in records:
            self.add(record)
            yield record

    def lines(self, scenario: Scenario) -> list[str]:
        """One line per story, in the order the scenario gives them."""
        return _lines(self, scenario)


def story_lines(records: Iterable[LogRecord], scenario: Scenario) -> list[str]:
    """One line per checkout the scenario file describes, in the order it gives them."""
    book = StoryBook(scenario.stories)
    for record in records:
        book.add(record)
    return book.lines(scenario)


def _lines(book: StoryBook, scenario: Scenario) -> list[str]:
    wanted = book.stories
    by_checkout = {
        checkout.id: checkout.customer for checkout in scenario.checkouts if checkout.id in wanted
    }
    lines: list[str] = []
    for checkout_id in scenario.stories:
        customer = by_checkout[checkout_id]
        lines.append(_line(wanted[checkout_id], customer, scenario))
    named = sorted({rule for rule in _RULE_WORDS if any(f" {rule} " in line for line in lines)})
    lines += [_fit(f"  {rule}: {_RULE_WORDS[rule]}") for rule in named]
    return lines


def _zone_that_mattered(story: _Story, zones: Sequence[str], scenario: Scenario) -> str | None:
    """The candidate zone whose hours held a message back, else the customer's only zone."""
    if len(zones) <= 1:
        return zones[0] if zones else None
    hours = scenario.policy.contact_hours
    for defer in story.defers:
        if defer.get("reason") != "contact_hours":
            continue
        moment = to_datetime(defer.get("from"))
        for zone in zones:
            if not hours.allows(moment, [zone]):
                return zone
    return None


def _line(story: _Story, customer: Customer, scenario: Scenario) -> str:
    zones = resolve_zones(customer).zones
    zone = _zone_that_mattered(story, zones, scenario)
    name = customer.first_name or customer.id
    where = f", {_city(zone)}" if zone is not None else ", zone unknown"
    if zone is not None and len(zones) > 1:
        where = f", {_city(zone)}, 1 of {len(zones)} zones"
    parts: list[str] = []
    if story.holdout:
        parts.append("held out on purpose, no messages")
    elif story.sends:
        by_channel: dict[str, int] = {}
        for _, channel in story.sends:
            by_channel[channel] = by_channel.get(channel, 0) + 1
        counts = ", ".join(_count(n, channel) for channel, n in by_channel.items())
        parts.append(f"{counts} from {_day(story.sends[0][0], zone)}")
    else:
        parts.append("no message could go out")
    parts += _why_held(story, zone)
    parts += _replies(story, zone)
    parts.append(_ending(story, zone))
    text = f"  {name} ({story.checkout_id}{where}): " + "; ".join(part for part in parts if part)
    return _fit(text)


def _day(moment: datetime, zone: str | None) -> str:
    """``Tue 10 Mar 18:34``, in ``zone``."""
    local = moment if zone is None else moment.astimezone(get_zone(zone))
    return f"{local:%d %b %H:%M}"


def _hm(moment: datetime, zone: str | None) -> str:
    local = moment if zone is None else moment.astimezone(get_zone(zone))
    return f"{local:%H:%M}"


def _why_held(story: _Story, zone: str | None) -> list[str]:
    """Why messages waited: the night (in the zone that mattered), or a rule."""
    found: list[str] = []
    night = next(
        (
            d
            for d in story.defers
            if d.get("reason") == "contact_hours"
            and d.get("rule") == "policy"
            and d.get("touch") == 1
        ),
        None,
    )
    if night is not None:
        due, waited = to_datetime(night.get("from")), to_datetime(night.get("to"))
        found.append(f"the first waited {_hm(due, zone)} to {_hm(waited, zone)}")
    rules = {str(d.get("rule")) for d in story.defers if d.get("rule") in _RULE_WORDS}
    rules |= {rule for rule in _RULE_WORDS for detail in story.programs if rule in detail}
    found += [
        f"{rule} sent the rest by e-mail" if rule == "CP-1" else f"{rule} held one"
        for rule in sorted(rules)
    ]
    return found


def _replies(story: _Story, zone: str | None) -> list[str]:
    found: list[str] = []
    for at, data in story.replies:
        intent = data.get("intent")
        text = str(data.get("text", "")).strip()
        if intent in ("opt_out", "opt_out_all"):
            found.append(f"replied “{text}” at {_hm(at, zone)}: confirmed, then silence")
        elif intent == "menu_choice":
            topic = _MENU_WORDS.get(text, f"option {text}")
            person = " and passed to a person" if story.handoffs else ""
            found.append(f"asked about {topic} at {_hm(at, zone)}, answered at once{person}")
        elif story.handoffs:
            found.append(f"asked a question at {_hm(at, zone)}: passed to a person")
    return found


def _ending(story: _Story, zone: str | None) -> str:
    if story.order is not None and story.left is not None:
        at, amount = story.order
        since = "leaving" if not story.sends else "the first message"
        start = story.left if not story.sends else story.sends[0][0]
        return f"ordered {_span(at - start)} after {since} ({amount})"
    if story.finish == "opted_out":
        return ""
    if story.finish == "sequence_done":
        return "no order"
    if story.finish is None:
        return "still open at the end of the run" if not story.holdout else "did not order"
    return {
        "undeliverable": "the number could not be reached",
        "no_consent": "no consent on any channel, so nothing was sent",
        "refused": "said no, so we stopped",
        "cart_emptied": "emptied the cart, so we stopped",
        "expired": "the week ran out",
        "program_limit": "a carrier rule left no message to send",
    }.get(story.finish, f"stopped ({story.finish})")


# -- the short scorecard --------------------------------------------------------------------------
def _pct(rate: Rate) -> str:
    return "–" if rate.value is None else f"{rate.value * 100:.1f} %"


def _amounts(amounts: Mapping[str, Decimal]) -> str:
    return ", ".join(f"{amount} {currency}" for currency, amount in sorted(amounts.items())) or "–"


def scorecard_lines(report: Report, scenario: Scenario) -> list[str]:
    """The figures that matter, in plain words, ending with the lift and what it means."""
    card = report.scorecard
    totals = card.totals
    lift = report.lift
    rates = card.rates()
    generated = len(scenario.checkouts) - len(scenario.stories)
    made = (
        f" ({len(scenario.stories)} stories above, {_grouped(generated)} generated)"
        if generated
        else ""
    )
    period = ""
    if card.first_at is not None and card.last_at is not None:
        period = f", {card.first_at:%d %b} to {card.last_at:%d %b}"
    lines = [f"All {_grouped(totals.checkouts)} checkouts{made}{period}"]
    messenger = [
        counts
        for name, counts in card.by.get("channel", {}).items()
        if name in ("whatsapp", "telegram", "viber")
    ]
    sent_messenger = sum(counts.sends for counts in messenger)
    read = sum(counts.read for counts in messenger)
    read_text = (
        f"; {read / sent_messenger * 100:.0f} % of messenger messages read"
        if sent_messenger
        else ""
    )
    lines.append(
        f"  messages  {_grouped(totals.sends)} to {_grouped(totals.messaged)} customers; "
        f"{_pct(rates['delivery'])} delivered{read_text}"
    )
    lines.append(
        f"  replies   {_grouped(totals.replied)} customers answered ({_pct(rates['reply'])}); "
        f"{totals.opted_out} opted out ({_pct(rates['opt_out'])} of messages); "
        f"{totals.complaints} complaints"
    )
    messaged, held = lift.messaged, lift.holdout
    share = f"{round(scenario.policy.holdout * 100)} %"
    lines.append(
        f"  orders    {_grouped(messaged.recovered)} of {_grouped(messaged.n)} messaged checkouts "
        f"ordered ({_rate(messaged.rate)}); "
        f"{held.recovered} of {held.n} held out ({_rate(held.rate)})"
    )
    lines.append(f"  verdict   {_verdict(report)}")
    lines += _revenue(report)
    if report.cost is not None:
        lines.append(f"  cost      {_cost(report)}")
    warnings = [warning.message for warning in report.warnings]
    lines.append("  warnings  " + ("none" if not warnings else warnings[0]))
    lines += [f"            {message}" for message in warnings[1:]]
    lines.append(
        f"Held out: a random {share} of checkouts get no messages; comparing orders in the two "
        "groups shows what the messages cause."
    )
    lines.append(
        "Intervals: the true figure is likely (95 %) between the two numbers; "
        "`recoverykit report` has every figure."
    )
    return [part for line in lines for part in _fit(line).split("\n")]


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _verdict(report: Report) -> str:
    lift = report.lift
    if lift.difference is None or lift.ci is None:
        return lift.verdict
    low, high = lift.ci
    so_far = (
        f"{lift.difference * 100:+.1f} points "
        f"(likely between {low * 100:+.1f} and {high * 100:+.1f})"
    )
    if not lift.enough and lift.missing is not None:
        more = lift.verdict.split(": ", 1)[1].split(" for ", 1)[0]
        size = f"{lift.min_effect * 100:g}-point difference"
        return f"not enough data yet: {more} for a {size}; so far {so_far}"
    if lift.incremental_orders is not None and (low > 0 or high < 0):
        verb = "add" if lift.difference > 0 else "lower orders by"
        caused = lift.incremental_orders[0]
        return f"messages {verb} {so_far}: about {caused:.0f} orders they caused"
    return f"no difference detected: {so_far}"


def _revenue(report: Report) -> list[str]:
    lift = report.lift
    lines = [f"  revenue   after a message: {_amounts(lift.attributed_revenue)}"]
    caused = [
        f"{estimate} {currency} (likely {low} to {high})"
        for currency, (estimate, low, high) in sorted(lift.incremental_revenue.items())
    ]
    if caused:
        lines.append("            caused by the messages: " + "; ".join(caused))
    elif lift.difference is not None and not lift.enough:
        lines.append("            caused by the messages: not enough data yet")
    if lift.not_comparable:
        names = ", ".join(sorted(lift.not_comparable))
        lines.append(f"            not comparable (no held-out checkouts in them): {names}")
    return lines


def _cost(report: Report) -> str:
    cost = report.cost
    assert cost is not None
    spend = _amounts({c: a.quantize(Decimal("0.01")) for c, a in cost.total.spend.items()})
    per = cost.per_incremental
    cents = Decimal("0.01")
    if per:
        each = ", ".join(
            f"{values[0].quantize(cents)} {c}"
            for c, values in sorted(per.items())
            if values[0] >= cents
        )
        return f"{spend} spent; about {each} per order the messages caused"
    return f"{spend} spent; per order caused: {cost.verdict.split(':', 1)[0]}"


def _fit(line: str) -> str:
    """A long line wrapped under its label, so nothing passes `WIDTH` or is cut."""
    if len(line) <= WIDTH:
        return line
    indent = " " * 12 if line.startswith("  ") else "  "
    return "\n".join(textwrap.wrap(line, WIDTH, subsequent_indent=indent, break_on_hyphens=False))

"""The recovery report: scorecard, lift, experiments and health in text, JSON, CSV or HTML.

`Report.from_events` gathers everything from one pass over the log; `render`
writes it in the format asked for. The HTML page is one self-contained file:
inline SVG charts (the funnel, recovery by touch, the lift with its interval),
no scripts, no fonts or images fetched from anywhere, so it can be mailed or
archived and opened years later.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any, Final, Literal

import attrs

from ..protocols import LogRecord
from .charts import (
    Bar,
    bars_with_intervals,
    breakdown_bars,
    daily_recovery,
    hourly_recovery,
    hours_histogram,
    lift_chart,
)
from .cost import UNKNOWN_COUNTRY, Cost, CostLine, PriceTable
from .experiments import VariantComparison, compare_variants
from .health import (
    FrictionReport,
    HealthWarning,
    friction_report,
    health_warnings,
    lift_warnings,
)
from .lift import DEFAULT_MIN_EFFECT, Lift
from .scorecard import DIMENSIONS, NONE_LABEL, Attribution, Counts, Rate, Scorecard

__all__ = ["FORMATS", "Report", "render"]

Format = Literal["text", "json", "csv", "html"]
FORMATS: Final = ("text", "json", "csv", "html")
#: The funnel steps, in order, as (label, ``Counts`` field).
_FUNNEL: Final = (
    ("checkouts", "checkouts"),
    ("eligible", "eligible"),
    ("messaged", "messaged"),
    ("clicked", "clicked"),
    ("recovered", "recovered"),
)
_CSV_COUNTS: Final = (
    "checkouts", "eligible", "holdout", "messaged", "sends", "segments", "delivered", "read",
    "replied", "clicked", "handoffs", "opted_out", "recovered", "ordered",
)  # fmt: skip
_RATES: Final = ("delivery", "read", "reply", "click", "opt_out", "recovery")
#: Columns the CSV gains with a price table; its cost rows fill these and ``recovered``.
_CSV_COST: Final = (
    "messages", "units", "free", "unpriced", "spend", "per_recovered_order",
    "per_incremental_order", "per_incremental_low", "per_incremental_high",
)  # fmt: skip


@attrs.frozen
class Report:
    """Everything the ``report`` command shows, computed once."""

    scorecard: Scorecard
    lift: Lift
    warnings: tuple[HealthWarning, ...]
    variants: tuple[VariantComparison, ...]
    friction: FrictionReport
    #: Spend and cost per order; ``None`` unless the log was read with a price table.
    cost: Cost | None = None

    @classmethod
    def from_events(
        cls,
        events: Iterable[LogRecord],
        *,
        attribution: Attribution | None = None,
        by: Iterable[str] = DIMENSIONS,
        min_effect: float = DEFAULT_MIN_EFFECT,
        prices: PriceTable | None = None,
    ) -> Report:
        """Read the log once; ``min_effect`` is the smallest lift worth a verdict."""
        card = Scorecard.from_events(events, attribution=attribution, by=by, prices=prices)
        return cls.from_scorecard(card, min_effect=min_effect)

    @classmethod
    def from_scorecard(cls, card: Scorecard, *, min_effect: float = DEFAULT_MIN_EFFECT) -> Report:
        lift = Lift.from_scorecard(card, min_effect=min_effect)
        return cls(
            scorecard=card,
            lift=lift,
            warnings=(*health_warnings(card), *lift_warnings(lift)),
            variants=tuple(compare_variants(card, detectable=min_effect)),
            friction=friction_report(card),
            cost=_cost(card, lift),
        )

    def to_dict(self) -> dict[str, Any]:
        data = self.scorecard.to_dict()
        data["lift"] = self.lift.to_dict()
        data["warnings"] = [warning.to_dict() for warning in self.warnings]
        data["variants"] = [comparison.to_dict() for comparison in self.variants]
        data["friction"] = self.friction.to_dict()
        data["cost"] = None if self.cost is None else self.cost.to_dict()
        return data


def _cost(card: Scorecard, lift: Lift) -> Cost | None:
    """The scorecard's message units priced, set against attributed and incremental orders."""
    if card.prices is None or card.usage is None:
        return None
    credited = [
        (outcome.credited_channel or NONE_LABEL, outcome.credited_country or UNKNOWN_COUNTRY)
        for outcome in card.outcomes.values()
        if outcome.recovered
    ]
    return Cost.of(
        card.prices,
        card.usage,
        credited=credited,
        incremental_orders=lift.incremental_orders if lift.enough else None,
        confidence=card.confidence,
        unavailable=lift.verdict,
    )


def render(report: Report, fmt: Format = "text") -> str:
    """The report as text, JSON, CSV (one row per breakdown value) or a self-contained HTML page."""
    if fmt == "json":
        return json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        return _csv(report)
    if fmt == "html":
        return _html(report)
    if fmt == "text":
        return _text(report)
    msg = f"Unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}"
    raise ValueError(msg)


# -- shared wording ----------------------------------------------------------------------------
def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _rate(rate: Rate) -> str:
    if rate.value is None:
        return "– (no base)"
    return f"{_pct(rate.value)} ({_pct(rate.low)}–{_pct(rate.high)}; {rate.successes}/{rate.n})"


def _money(amounts: Mapping[str, Any]) -> str:
    return ", ".join(f"{amount} {currency}" for currency, amount in sorted(amounts.items())) or "0"


def _hours(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} h"


# -- text --------------------------------------------------------------------------------------
def _text(report: Report) -> str:
    card = report.scorecard
    totals = card.totals
    lift = report.lift
    level = round(card.confidence * 100)
    lines = ["Recovery scorecard", ""]
    lines.append(
        f"  checkouts {totals.checkouts} | eligible {totals.eligible} | holdout "
        f"{totals.holdout} | messaged {totals.messaged} | sends {totals.sends} "
        f"({totals.segments} segments)"
    )
    lines.append(
        f"  delivered {totals.delivered} | read {totals.read} | replied {totals.replied} | "
        f"clicked {totals.clicked} | hand-offs {totals.handoffs} | opt-outs {totals.opted_out}"
        f" | complaints {totals.complaints}"
    )
    lines.append(f"  recovered (attributed) {totals.recovered}: {_money(totals.recovered_revenue)}")
    lines.append(
        f"  time to recovery: median {_hours(card.median_hours_to_recovery)}, "
        f"p90 {_hours(card.p90_hours_to_recovery)}"
    )
    lines += ["", f"Rates ({level} % Wilson intervals)"]
    lines += [f"  {name:<9} {_rate(rate)}" for name, rate in card.rates().items()]
    lines += ["", "Lift against the holdout (intention to treat)"]
    lines.append(
        f"  messaged arm {lift.messaged.recovered}/{lift.messaged.n} ordered; "
        f"holdout {lift.holdout.recovered}/{lift.holdout.n}"
    )
    lines.append(f"  verdict: {lift.verdict}")
    lines.append(f"  attributed revenue:  {_money(lift.attributed_revenue)}")
    lines.append(f"  incremental revenue: {_incremental_text(lift)}")
    for comparison in report.variants:
        diff = "–" if comparison.difference is None else f"{comparison.difference * 100:+.1f} pts"
        ci = (
            ""
            if comparison.ci is None
            else f" (CI {_pct(comparison.ci[0])} to {_pct(comparison.ci[1])})"
        )
        early = " — read early: below the planned sample" if comparison.early else ""
        lines.append(f"  variant {comparison.treatment} vs {comparison.control}: {diff}{ci}{early}")
    if report.cost is not None:
        lines += ["", *_cost_text(report.cost)]
    for name, rows in card.by.items():
        lines += ["", f"By {name}"]
        for value, counts in rows.items():
            recovery = counts.rates(card.confidence)["recovery"]
            lines.append(
                f"  {value:<14} checkouts {counts.checkouts:>6}  sends {counts.sends:>6}  "
                f"recovery {_rate(recovery)}  {_money(counts.recovered_revenue)}"
            )
    lines += ["", "Warnings"]
    lines += [f"  {w.code}: {w.message}" for w in report.warnings] or ["  none"]
    friction = report.friction
    lines += ["", "Friction"]
    lines.append("  by stage: " + _pairs(friction.by_stage))
    lines.append("  by friction label: " + _pairs(friction.by_friction))
    lines.append("  menu choices: " + (_pairs(friction.menu_choices) or "none"))
    return "\n".join(lines) + "\n"


def _incremental_text(lift: Lift) -> str:
    """Incremental revenue per comparable currency, or why there is no figure."""
    parts = [
        f"{e} {currency} ({lo} to {hi})"
        for currency, (e, lo, hi) in sorted(lift.incremental_revenue.items())
    ]
    if lift.difference is not None and not lift.enough:
        parts = ["– (not enough data yet)"]
    parts += [f"{c} not comparable ({why})" for c, why in sorted(lift.not_comparable.items())]
    return "; ".join(parts) or "–"


def _cost_text(cost: Cost) -> list[str]:
    total = cost.total
    lines = ["Cost"]
    if cost.prices.note:
        lines.append(f"  prices: {cost.prices.note}")
    lines.append(
        f"  spend: {_money(total.spend)} on {total.messages} messages ({total.units} billed "
        f"units, {total.free} free, {total.unpriced} unpriced)"
    )
    if not total.complete:
        lines.append(
            f"  note: {total.unpriced} messages have no price in the table; spend leaves them out"
        )
    if total.awaiting:
        lines.append(
            f"  note: {total.awaiting} WhatsApp templates have no delivery report; Meta bills "
            "only delivered ones, so spend leaves them out"
        )
    if total.inbound:
        lines.append(f"  inbound: {total.inbound} messages from customers")
    per = total.per_recovered
    lines.append(
        f"  per recovered order ({total.recovered} attributed): "
        + ("– (no recovered orders)" if per is None else _money(per))
    )
    lines.append(f"  per incremental order: {cost.verdict}")
    for title, rows in (("channel", cost.by_channel), ("country", cost.by_country)):
        lines.append(f"  by {title}:")
        lines += [f"    {name:<9} {_cost_row(line)}" for name, line in rows.items()] or ["    none"]
    if cost.other.messages:
        lines.append(
            f"  messages to checkouts abandoned before the period: {cost.other.messages}, "
            f"{_money(cost.other.spend)} (not in the figures above)"
        )
    return lines


def _cost_row(line: CostLine) -> str:
    per = line.per_recovered
    return (
        f"messages {line.messages:>6}  units {line.units:>6}  spend {_money(line.spend)}  "
        f"recovered {line.recovered}  per order {'–' if per is None else _money(per)}"
    )


def _pairs(counts: Any) -> str:
    return ", ".join(f"{key} {value}" for key, value in counts.items())


# -- csv ---------------------------------------------------------------------------------------
def _csv(report: Report) -> str:
    card = report.scorecard
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["dimension", "value", *_CSV_COUNTS]
    for name in _RATES:
        header += [f"{name}_rate", f"{name}_low", f"{name}_high"]
    header.append("recovered_revenue")
    cost = report.cost
    extra = [""] * len(_CSV_COST) if cost is not None else []
    if cost is not None:
        header += _CSV_COST
    writer.writerow(header)
    writer.writerow(_csv_row("total", "all", card.totals, card.confidence) + extra)
    for name, rows in card.by.items():
        for value, counts in rows.items():
            writer.writerow(_csv_row(name, value, counts, card.confidence) + extra)
    if cost is not None:
        width = len(header) - len(_CSV_COST)
        writer.writerow(_csv_cost_row("cost", "all", cost.total, width, cost))
        for dimension, lines in (("cost_channel", cost.by_channel),
                                 ("cost_country", cost.by_country)):  # fmt: skip
            for value, line in lines.items():
                writer.writerow(_csv_cost_row(dimension, value, line, width))
        writer.writerow(_csv_cost_row("cost_other", "all", cost.other, width))
    return buffer.getvalue()


def _pairs_csv(amounts: Mapping[str, Any] | None) -> str:
    return "" if amounts is None else ";".join(f"{c}:{a}" for c, a in sorted(amounts.items()))


def _csv_cost_row(
    dimension: str, value: str, line: CostLine, width: int, cost: Cost | None = None
) -> list[str]:
    """A cost row: the scorecard's columns empty but ``recovered``, then the cost columns.

    Only the ``cost,all`` row (given ``cost``) carries the per-incremental-order figures.
    """
    row = [dimension, value] + [""] * (width - 2)
    row[2 + _CSV_COUNTS.index("recovered")] = str(line.recovered)
    per = {} if cost is None else cost.per_incremental
    bounds = [_pairs_csv({c: values[i] for c, values in per.items()}) for i in range(3)]
    return [
        *row,
        str(line.messages), str(line.units), str(line.free), str(line.unpriced),
        _pairs_csv(line.spend), _pairs_csv(line.per_recovered), *bounds,
    ]  # fmt: skip


def _csv_row(dimension: str, value: str, counts: Counts, confidence: float) -> list[str]:
    row = [dimension, value, *(str(getattr(counts, field)) for field in _CSV_COUNTS)]
    rates = counts.rates(confidence)
    for name in _RATES:
        rate = rates[name]
        row += ["" if x is None else f"{x:.6f}" for x in (rate.value, rate.low, rate.high)]
    row.append(";".join(f"{c}:{a}" for c, a in sorted(counts.recovered_revenue.items())))
    return row


# -- html --------------------------------------------------------------------------------------
_SVG_NS: Final = "http://www.w3.org/2000/svg"
_STYLE: Final = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#222;"
    "line-height:1.4}h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem}"
    "table{border-collapse:collapse;margin:.5rem 0 1.5rem;display:block;overflow-x:auto}"
    "td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:right}"
    "th:first-child,td:first-child{text-align:left}"
    ".verdict{font-size:1.2rem;font-weight:600}.warn{color:#a33}"
    "figure{margin:1rem 0}svg{width:100%;height:auto;max-width:40rem;display:block}"
    "svg text{font-size:13px;fill:#222}figcaption{font-size:.9rem;color:#555}"
    "@media print{body{max-width:none;padding:0}figure,table{break-inside:avoid}"
    "h2{break-after:avoid}}"
)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _cost_html(cost: Cost) -> str:
    rows = [["all", *_cost_cells(cost.total)]]
    rows += [[f"channel {name}", *_cost_cells(line)] for name, line in cost.by_channel.items()]
    rows += [[f"country {name}", *_cost_cells(line)] for name, line in cost.by_country.items()]
    if cost.other.messages:
        rows.append(["checkouts abandoned earlier", *_cost_cells(cost.other)])
    note = f"<p>Prices: {escape(cost.prices.note)}</p>" if cost.prices.note else ""
    unpriced = (
        f'<p class="warn">{cost.total.unpriced} messages have no price in the table; '
        "the spend leaves them out.</p>"
        if cost.total.unpriced
        else ""
    )
    return (
        "<h2>Cost</h2>" + note
        + f'<p class="verdict">Per incremental order: {escape(cost.verdict)}</p>' + unpriced
        + _table(
            ["row", "messages", "units", "free", "unpriced", "spend", "recovered",
             "per recovered order"],
            rows,
        )
    )  # fmt: skip


def _cost_cells(line: CostLine) -> list[str]:
    per = line.per_recovered
    return [
        str(line.messages), str(line.units), str(line.free), str(line.unpriced),
        _money(line.spend), str(line.recovered), "–" if per is None else _money(per),
    ]  # fmt: skip


def _charts(report: Report) -> str:
    """Every chart of the page, each under its heading."""
    card = report.scorecard
    totals = card.totals
    funnel = [
        Bar(label, getattr(totals, field) / max(1, totals.checkouts),
            caption=str(getattr(totals, field)))
        for label, field in _FUNNEL
    ]  # fmt: skip
    touches = breakdown_bars(card, "touch", "message ") + breakdown_bars(card, "channel")
    return (
        "<h2>Funnel</h2>"
        + bars_with_intervals(
            "funnel", "Funnel", "Checkouts at each step, as a share of all.", funnel
        )
        + "<h2>Recovery over time</h2>" + daily_recovery(card)
        + "<h2>Time to recovery</h2>" + hours_histogram(card)
        + "<h2>Recovery by message and channel</h2>"
        + bars_with_intervals(
            "touch", "Recovery by message and channel",
            "Orders credited to each message of the sequence, and orders of checkouts first "
            "messaged on each channel, as a share of the checkouts that got it; thin lines are "
            "95 % intervals.",
            touches,
        )
        + "<h2>Lift against the holdout</h2>" + lift_chart(report.lift)
        + "<h2>By product category</h2>"
        + bars_with_intervals(
            "category", "Recovery by product category",
            "Share of messaged checkouts that ordered after a message, by the category of the "
            "cart's main item; thin lines are 95 % intervals.",
            breakdown_bars(card, "category"),
        )
        + "<h2>By hour of abandonment</h2>" + hourly_recovery(card)
    )  # fmt: skip


def _html(report: Report) -> str:
    card = report.scorecard
    lift = report.lift
    rates = [[name, _rate(rate)] for name, rate in card.rates().items()]
    incremental = [
        [currency, str(e), f"{lo} to {hi}"]
        for currency, (e, lo, hi) in sorted(lift.incremental_revenue.items())
    ]
    revenue = [
        [c, str(a), next((row[1] for row in incremental if row[0] == c), "–")]
        for c, a in sorted(lift.attributed_revenue.items())
    ]
    breakdowns = "".join(
        f"<h3>By {escape(name)}</h3>"
        + _table(
            ["value", "checkouts", "sends", "recovered", "recovery rate"],
            [
                [
                    value,
                    str(c.checkouts),
                    str(c.sends),
                    str(c.recovered),
                    _rate(c.rates(card.confidence)["recovery"]),
                ]
                for value, c in rows.items()
            ],
        )
        for name, rows in card.by.items()
    )
    warnings = "".join(f'<li class="warn">{escape(w.message)}</li>' for w in report.warnings)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Recovery report</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<h1>Recovery report</h1>"
        f'<p class="verdict">{escape(lift.verdict)}</p>'
        + _charts(report)
        + "<h2>Rates</h2>" + _table(["rate", "value"], rates)
        + "<h2>The two groups</h2>"
        + _table(
            ["group", "checkouts", "ordered"],
            [["messaged", str(lift.messaged.n), str(lift.messaged.recovered)],
             ["held out", str(lift.holdout.n), str(lift.holdout.recovered)]],
        )
        + "<h2>Revenue: attributed and incremental</h2>"
        + _table(["currency", "attributed", "incremental"], revenue)
        + ("" if report.cost is None else _cost_html(report.cost))
        + "<h2>Warnings</h2>" + (f"<ul>{warnings}</ul>" if warnings else "<p>None.</p>")
        + "<h2>Breakdowns</h2>" + breakdowns
        + "</body></html>\n"
    )  # fmt: skip

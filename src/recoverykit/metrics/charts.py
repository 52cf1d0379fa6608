"""Inline SVG charts for the HTML report: pictures for the figures people look at first.

Every chart is one ``<figure>`` holding one ``<svg>`` with a ``viewBox`` (so it
scales to a phone's width and prints sharply), a ``<title>`` for screen readers,
and a caption saying what is drawn. Each data mark (a bar, a dot) carries
``class="mark"`` and the ``<svg>`` says how many it holds in ``data-marks``, so a
test can check in a real browser that what was meant to be drawn was drawn.
No scripts, no fonts, nothing fetched: the page stays one self-contained file.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Final

import attrs

from .lift import Lift
from .scorecard import Counts, Rate, Scorecard

__all__ = [
    "HOUR_BINS",
    "Bar",
    "bars_with_intervals",
    "breakdown_bars",
    "daily_recovery",
    "hourly_recovery",
    "hours_histogram",
    "lift_chart",
    "rate_bar",
]

#: Bin edges (hours) for time to recovery: finer where most orders come back.
HOUR_BINS: Final = (0, 1, 2, 4, 8, 12, 24, 48, 72, 120)
_BLUE: Final = "#3f6fa8"
_GREY: Final = "#888"
_RED: Final = "#b6443f"
#: The drawing width: narrow, so 13-unit text stays readable when a phone scales it down.
_WIDTH: Final = 420


@attrs.frozen
class Bar:
    """One bar: its label, its value in [0, 1], the interval around it and a caption."""

    label: str
    value: float
    low: float | None = None
    high: float | None = None
    caption: str = ""


def _figure(name: str, title: str, caption: str, *, height: int, marks: int, body: str) -> str:
    return (
        f'<figure class="chart"><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} '
        f'{height}" role="img" data-chart="{name}" data-marks="{marks}" '
        f'preserveAspectRatio="xMinYMin meet"><title>{escape(title)}</title>{body}</svg>'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def bars_with_intervals(name: str, title: str, caption: str, bars: Sequence[Bar]) -> str:
    """Horizontal bars on a 0-100 % scale, each with its interval as a thin line."""
    if not bars:
        return f'<p class="empty">{escape(title)}: nothing to draw yet.</p>'
    left, right, row = 110, _WIDTH - 100, 26
    height = row * len(bars) + 24
    top = max([1e-9, *(bar.high if bar.high is not None else bar.value for bar in bars)])
    scale = (right - left) / min(1.0, top * 1.1)
    parts = []
    for index, bar in enumerate(bars):
        y = 6 + index * row
        parts.append(f'<text x="0" y="{y + 13}">{escape(bar.label)}</text>')
        parts.append(
            f'<rect class="mark" x="{left}" y="{y}" width="{bar.value * scale:.1f}" height="16" '
            f'fill="{_BLUE}"><title>{escape(bar.label)}: {escape(bar.caption)}</title></rect>'
        )
        if bar.low is not None and bar.high is not None:
            x1, x2 = left + bar.low * scale, left + bar.high * scale
            parts.append(
                f'<line class="interval" x1="{x1:.1f}" y1="{y + 8}" x2="{x2:.1f}" y2="{y + 8}" '
                'stroke="#222" stroke-width="2"/>'
            )
        parts.append(
            f'<text x="{right + 6}" y="{y + 13}" class="value">{escape(bar.caption)}</text>'
        )
    parts.append(
        f'<line x1="{left}" y1="{height - 14}" x2="{right}" y2="{height - 14}" stroke="{_GREY}"/>'
        f'<text x="{left}" y="{height - 2}">0</text>'
        f'<text x="{right}" y="{height - 2}" text-anchor="end">{_pct(min(1.0, top * 1.1))}</text>'
    )
    return _figure(name, title, caption, height=height, marks=len(bars), body="".join(parts))


def rate_bar(label: str, successes: int, n: int, confidence: float) -> Bar:
    """A bar for ``successes / n`` with its Wilson interval (empty base: a zero bar)."""
    rate = Rate.of(successes, n, confidence)
    if rate.value is None:
        return Bar(label, 0.0, caption="no data")
    return Bar(label, rate.value, rate.low, rate.high, f"{_pct(rate.value)} of {n}")


def _columns(
    name: str, title: str, caption: str, labels: Sequence[str], bars: Sequence[Bar]
) -> str:
    """Vertical bars over a row of labels (days, hours, bins), intervals as whiskers."""
    if not bars:
        return f'<p class="empty">{escape(title)}: nothing to draw yet.</p>'
    left, bottom, height = 40, 190, 230
    slot = (_WIDTH - left) / len(bars)
    top = max([1e-9, *(bar.high if bar.high is not None else bar.value for bar in bars)])
    scale = (bottom - 20) / top
    parts = [
        f'<line x1="{left}" y1="{bottom}" x2="{_WIDTH}" y2="{bottom}" stroke="{_GREY}"/>',
        f'<text x="0" y="24">{escape(_axis(top))}</text><text x="0" y="{bottom}">0</text>',
    ]
    every = max(1, math.ceil(len(bars) / 8))
    for index, (label, bar) in enumerate(zip(labels, bars, strict=True)):
        x = left + index * slot
        tall = bar.value * scale
        parts.append(
            f'<rect class="mark" x="{x + slot * 0.15:.1f}" y="{bottom - tall:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{tall:.1f}" fill="{_BLUE}">'
            f"<title>{escape(label)}: {escape(bar.caption)}</title></rect>"
        )
        if bar.low is not None and bar.high is not None:
            middle = x + slot / 2
            parts.append(
                f'<line class="interval" x1="{middle:.1f}" y1="{bottom - bar.low * scale:.1f}" '
                f'x2="{middle:.1f}" y2="{bottom - bar.high * scale:.1f}" stroke="#222"/>'
            )
        if index % every == 0:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{bottom + 16}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    return _figure(name, title, caption, height=height, marks=len(bars), body="".join(parts))


def _axis(top: float) -> str:
    return _pct(top) if top <= 1 else f"{top:.0f}"


def daily_recovery(card: Scorecard) -> str:
    """Recovery rate of messaged checkouts by the day they were left (UTC), with intervals."""
    days: dict[str, list[int]] = {}
    for outcome in card.outcomes.values():
        if outcome.holdout or not outcome.messaged:
            continue
        counts = days.setdefault(_day(outcome.abandoned_at), [0, 0])
        counts[0] += 1
        counts[1] += outcome.recovered
    labels = sorted(days)
    bars = [rate_bar(day, days[day][1], days[day][0], card.confidence) for day in labels]
    return _columns(
        "daily",
        "Recovery by day",
        "Share of messaged checkouts that ordered after a message, by the day they were left "
        "(UTC); the thin lines are 95 % intervals.",
        [label[5:] for label in labels],
        bars,
    )


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


def hours_histogram(card: Scorecard) -> str:
    """How long recovered customers took to order, in bins of hours since they left."""
    edges = (*HOUR_BINS, math.inf)
    counts = [0] * len(HOUR_BINS)
    for hours in card.hours_to_recovery:
        for index in range(len(HOUR_BINS)):
            if edges[index] <= hours < edges[index + 1]:
                counts[index] += 1
                break
    labels = [
        f"{low}-{high} h" if high != math.inf else f"{low} h+"
        for low, high in itertools.pairwise(edges)
    ]
    bars = [
        Bar(label, float(n), caption=f"{n} orders") for label, n in zip(labels, counts, strict=True)
    ]
    return _columns(
        "hours",
        "Time to recovery",
        "Orders after a message, by hours from leaving the checkout to ordering.",
        labels,
        bars,
    )


def lift_chart(lift: Lift) -> str:
    """The difference as a dot with its interval on a scale through zero."""
    if lift.difference is None or lift.ci is None:
        return '<p class="empty">No holdout comparison to draw.</p>'
    low, high = lift.ci
    span = max(abs(low), abs(high), lift.min_effect, 0.01) * 1.2

    def x(value: float) -> float:
        return 20 + (_WIDTH - 40) * (value + span) / (2 * span)

    zero, point = x(0.0), x(lift.difference)
    colour = _BLUE if lift.enough else _RED
    body = (
        f'<line x1="{zero:.1f}" y1="8" x2="{zero:.1f}" y2="62" stroke="{_GREY}" '
        'stroke-dasharray="4"/>'
        f'<line class="interval" x1="{x(low):.1f}" y1="36" x2="{x(high):.1f}" y2="36" '
        f'stroke="#222" stroke-width="3"/>'
        f'<circle class="mark" cx="{point:.1f}" cy="36" r="7" fill="{colour}">'
        f"<title>{lift.difference * 100:+.1f} points</title></circle>"
        f'<text x="{zero + 4:.1f}" y="76">0</text>'
        f'<text x="{x(low):.1f}" y="24" text-anchor="middle">{low * 100:+.1f}</text>'
        f'<text x="{x(high):.1f}" y="24" text-anchor="middle">{high * 100:+.1f}</text>'
    )
    caption = "Orders per 100 checkouts, messaged minus held out, with the 95 % interval; " + (
        "the dashed line is zero." if lift.enough else "too few checkouts yet for a verdict."
    )
    return _figure("lift", "Lift against the holdout", caption, height=84, marks=1, body=body)


def breakdown_bars(card: Scorecard, dimension: str, label: str = "") -> list[Bar]:
    """Recovery of messaged checkouts for each value of ``dimension`` that has any."""
    rows: dict[str, Counts] = dict(card.by.get(dimension, {}))
    return [
        rate_bar(f"{label}{value}", counts.recovered, counts.messaged, card.confidence)
        for value, counts in rows.items()
        if counts.messaged
    ]


def hourly_recovery(card: Scorecard) -> str:
    """Recovery of messaged checkouts by the local hour they were left, all 24 hours."""
    rows = card.by.get("hour", {})
    labels = [f"{hour:02d}" for hour in range(24)]
    bars = [
        rate_bar(label, rows[label].recovered, rows[label].messaged, card.confidence)
        if label in rows
        else Bar(label, 0.0, caption="no checkouts")
        for label in labels
    ]
    return _columns(
        "hour",
        "Recovery by hour of abandonment",
        "Share of messaged checkouts that ordered after a message, by the customer's local hour "
        "when they left; the thin lines are 95 % intervals.",
        labels,
        bars,
    )

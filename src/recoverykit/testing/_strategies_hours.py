"""Hypothesis strategies for contact hours and contact histories.

Re-exported from :mod:`recoverykit.testing.strategies`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from ..policies.caps import ContactHistory, ContactRecord, SendKind
from ..policies.hours import DAY, ContactHours, HolidayCalendar
from ..values.model import Channel

__all__ = ["contact_histories", "contact_hours"]


@st.composite
def _day(draw: st.DrawFn, max_intervals: int, granularity: int) -> list[tuple[int, int]]:
    """Up to ``max_intervals`` disjoint intervals with bounds on a ``granularity`` grid."""
    slots = DAY // granularity
    count = draw(st.integers(0, max_intervals))
    bounds = sorted(draw(st.sets(st.integers(0, slots), min_size=2 * count, max_size=2 * count)))
    return [
        (bounds[i] * granularity, bounds[i + 1] * granularity) for i in range(0, len(bounds), 2)
    ]


def contact_hours(
    *,
    max_intervals: int = 2,
    granularity: int = 60,
    holidays: bool = False,
) -> st.SearchStrategy[ContactHours]:
    """Random weekly windows: empty days, 24:00 ends and odd minutes included.

    ``granularity`` is the grid of interval bounds in seconds (a minute by
    default); ``holidays`` sometimes adds a public-holiday calendar.
    """
    week = st.lists(_day(max_intervals, granularity), min_size=7, max_size=7)
    excluded = (
        st.lists(
            st.sampled_from(
                [HolidayCalendar("US"), HolidayCalendar("FR"), HolidayCalendar("US", "PA")]
            ),
            max_size=1,
        )
        if holidays
        else st.just([])
    )
    return st.builds(ContactHours, week=week, excluded=excluded)


def contact_histories(
    *,
    start: datetime = datetime(2026, 3, 1, tzinfo=UTC),
    span: timedelta = timedelta(days=3),
    max_records: int = 12,
) -> st.SearchStrategy[ContactHistory]:
    """Histories of touches and replies on every channel within ``span`` of ``start``."""
    seconds = int(span.total_seconds())
    record = st.builds(
        ContactRecord,
        at=st.integers(0, seconds).map(lambda offset: start + timedelta(seconds=offset)),
        channel=st.sampled_from(Channel),
        checkout_id=st.sampled_from(["chk-1", "chk-2", "chk-3"]),
        kind=st.sampled_from(SendKind),
    )
    return st.lists(record, max_size=max_records).map(lambda items: ContactHistory(tuple(items)))

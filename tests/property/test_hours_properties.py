"""Properties of contact hours over every zone, near DST changes, for random windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from recoverykit.policies.hours import ContactHours
from recoverykit.testing.strategies import contact_hours, instants_near_dst, zone_names
from recoverykit.values.zones import get_zone

SECOND = timedelta(seconds=1)
HORIZON = timedelta(days=4)

ZONE_LISTS = st.lists(zone_names(all_zones=True), min_size=1, max_size=3, unique=True)
TRICKY_LISTS = st.lists(zone_names(), min_size=1, max_size=3, unique=True)


def reference_allows(hours: ContactHours, instant: datetime, zones: list[str]) -> bool:
    """The rule written plainly: each zone's real local time, date and weekday."""
    for zone in zones:
        local = instant.astimezone(get_zone(zone))
        if hours.is_excluded(local.date()):
            return False
        seconds = local.hour * 3600 + local.minute * 60 + local.second
        if not any(start <= seconds < end for start, end in hours.week[local.weekday()]):
            return False
    return True


@st.composite
def cases(draw: st.DrawFn) -> tuple[ContactHours, list[str], datetime]:
    """Random windows, one to three zones, an instant near one of their DST changes."""
    zones = draw(st.one_of(ZONE_LISTS, TRICKY_LISTS))
    instant = draw(instants_near_dst(st.sampled_from(zones)))
    hours = draw(contact_hours(holidays=draw(st.booleans())))
    return hours, zones, instant


@given(cases())
def test_allows_matches_the_plain_rule(case: tuple[ContactHours, list[str], datetime]) -> None:
    """The cached UTC intervals agree with judging each zone's local time directly."""
    hours, zones, instant = case
    for step in range(0, 6 * 3600, 1799):
        moment = instant + timedelta(seconds=step)
        assert reference_allows(hours, moment, zones) == hours.allows(moment, zones)


@given(cases())
def test_earliest_is_allowed_exact_and_idempotent(
    case: tuple[ContactHours, list[str], datetime],
) -> None:
    """The answer is allowed, not before the instant, exact to the second, and a fixed point."""
    hours, zones, instant = case
    found = hours.earliest(instant, zones, horizon=HORIZON)
    if found is None:
        # Nothing within the horizon: sampled points in it are all refused.
        for step in range(0, int(HORIZON.total_seconds()), 3593):
            assert not reference_allows(hours, instant + timedelta(seconds=step), zones)
        return
    assert found >= instant
    assert found <= instant + HORIZON
    assert reference_allows(hours, found, zones)
    assert found == hours.earliest(found, zones, horizon=HORIZON)
    if found != instant:
        assert not reference_allows(hours, found - SECOND, zones)
        assert not reference_allows(hours, instant + (found - instant) / 2, zones)
        assert found.microsecond == 0


@given(cases(), st.integers(0, 3 * 86_400))
def test_earliest_is_monotone(
    case: tuple[ContactHours, list[str], datetime], later_by: int
) -> None:
    """A later question never gets an earlier answer."""
    hours, zones, instant = case
    later = instant + timedelta(seconds=later_by)
    first = hours.earliest(instant, zones, horizon=timedelta(days=8))
    second = hours.earliest(later, zones, horizon=timedelta(days=8))
    if first is not None and second is not None:
        assert first <= second


@given(contact_hours(), contact_hours(), TRICKY_LISTS, instants_near_dst())
def test_intersection_allows_what_both_allow(
    left: ContactHours, right: ContactHours, zones: list[str], instant: datetime
) -> None:
    """``intersect`` allows an instant exactly when both sides do."""
    both = left.intersect(right)
    for step in range(0, 12 * 3600, 2399):
        moment = instant + timedelta(seconds=step)
        expected = left.allows(moment, zones) and right.allows(moment, zones)
        assert expected == both.allows(moment, zones)


@given(contact_hours(holidays=True))
def test_round_trip_through_dicts(hours: ContactHours) -> None:
    """``from_dict(to_dict())`` is the identity (empty weeks only warn)."""
    if not any(hours.week):
        return
    assert hours == ContactHours.from_dict(hours.to_dict())


@given(
    st.lists(zone_names(all_zones=True), min_size=16, max_size=16, unique=True),
    zone_names(),
)
def test_answers_are_the_same_instant_in_utc(zones: list[str], asked_in: str) -> None:
    """An instant given in any zone comes back as the same instant, in UTC."""
    instant = datetime(2026, 6, 1, 12, 30, 15, 500, tzinfo=get_zone(asked_in))
    found = ContactHours.every_day(0, 24).earliest(instant, zones)
    assert instant == found
    assert found is not None
    assert found.tzinfo is UTC

"""Contact hours: loading, presets, and exact answers across zones and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from recoverykit.errors import (
    DefinitionError,
    InvalidInputError,
    NaiveDatetimeError,
    RecoveryKitWarning,
    UnknownTimeZone,
)
from recoverykit.policies.hours import ContactHours, DateList, StatuteDays
from recoverykit.values.phone import PhoneNumber

NY = ("America/New_York",)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def spans(hours: ContactHours, zones: tuple[str, ...], day: date) -> str:
    """Allowed UTC spans within one UTC day, found minute by minute with ``allows``."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    found: list[str] = []
    opened: datetime | None = None
    for minute in range(24 * 60 + 1):
        moment = start + timedelta(minutes=minute)
        inside = minute < 24 * 60 and hours.allows(moment, zones)
        if inside and opened is None:
            opened = moment
        if not inside and opened is not None:
            end = "24:00" if minute == 24 * 60 else moment.strftime("%H:%M")
            found.append(f"{opened:%H:%M}-{end}")
            opened = None
    return " ".join(found)


# ----------------------------------------------------------------------------- loading


def test_from_dict_reads_days_and_leaves_missing_days_empty() -> None:
    """A weekday left out of the document has no allowed hours."""
    hours = ContactHours.from_dict({"mon": [["09:00", "12:00"], ["13:00", "24:00"]]})
    expected_monday = ((9 * 3600, 12 * 3600), (13 * 3600, 86_400))
    assert expected_monday == hours.week[0]
    assert not hours.week[6]


def test_to_dict_round_trips_with_holidays() -> None:
    """``to_dict`` writes the shape ``from_dict`` reads, holidays included."""
    data: dict[str, Any] = {
        "mon": [["09:00", "20:00"]],
        "tue": [],
        "wed": [["08:30", "12:15:30"]],
        "thu": [],
        "fri": [],
        "sat": [["10:00", "24:00"]],
        "sun": [],
        "exclude_holidays": {"country": "US", "subdiv": "PA"},
    }
    hours = ContactHours.from_dict(data)
    assert data == hours.to_dict()
    assert hours == ContactHours.from_dict(hours.to_dict())


def test_from_dict_accepts_a_list_of_dates() -> None:
    """Explicit ISO dates exclude those local dates."""
    hours = ContactHours.from_dict(
        {"mon": [["09:00", "20:00"]], "exclude_holidays": ["2026-03-02"]}
    )
    assert (DateList(frozenset({date(2026, 3, 2)})),) == hours.excluded
    assert not hours.allows(utc(2026, 3, 2, 12), ("UTC",))
    assert hours.allows(utc(2026, 3, 9, 12), ("UTC",))


def test_from_dict_reports_every_problem_with_its_path() -> None:
    """One DefinitionError names each bad value by its JSON path."""
    with pytest.raises(DefinitionError) as caught:
        ContactHours.from_dict(
            {
                "mon": [["09:00", "20:00"], ["19:00", "21:00"]],
                "tue": [["25:00", "26:00"]],
                "wed": [["20:00", "09:00"]],
                "thu": "09-20",
                "fry": [],
                "exclude_holidays": ["not-a-date", {"subdiv": "PA"}],
            }
        )
    paths = [problem.path for problem in caught.value.problems]
    expected = [
        "$.fry",
        "$.mon[1]",
        "$.tue[0]",
        "$.wed[0]",
        "$.thu",
        "$.exclude_holidays[0]",
        "$.exclude_holidays[1].country",
    ]
    assert sorted(expected) == sorted(paths)


def test_unknown_holiday_country_is_a_problem() -> None:
    """A country the holidays package does not know is reported, not ignored."""
    with pytest.raises(DefinitionError, match="QQ"):
        ContactHours.from_dict({"mon": [], "exclude_holidays": {"country": "QQ"}})


def test_empty_week_warns_instead_of_failing() -> None:
    """A week with no hours at all loads, with a RecoveryKitWarning."""
    with pytest.warns(RecoveryKitWarning, match="no time"):
        hours = ContactHours.from_dict({})
    assert hours.earliest(utc(2026, 1, 1), ("UTC",)) is None


def test_constructor_refuses_overlap() -> None:
    """Overlapping intervals built in code are refused with both named."""
    with pytest.raises(InvalidInputError, match="09:00-12:00 and 11:00-13:00"):
        ContactHours(week=[[(9 * 3600, 12 * 3600), (11 * 3600, 13 * 3600)]] + [[]] * 6)


def test_presets_and_unknown_preset() -> None:
    """``polite`` is 09-20 and ``us-federal`` 08-21; an unknown name lists the choices."""
    assert ContactHours.every_day(9, 20) == ContactHours.preset("polite")
    assert ContactHours.every_day(8, 21) == ContactHours.preset("us-federal")
    with pytest.raises(ValueError, match="'polite', 'us-federal'"):
        ContactHours.preset("night-owl")


def test_statute_list_must_be_known() -> None:
    """A statutory day list is named from a closed set."""
    with pytest.raises(InvalidInputError, match="US-PA"):
        StatuteDays("US-XX")


# ----------------------------------------------------------------------------- answers


def test_naive_instants_are_refused() -> None:
    """Every instant must carry a zone."""
    hours = ContactHours.preset("polite")
    with pytest.raises(NaiveDatetimeError):
        hours.allows(datetime(2026, 1, 1, 12), NY)
    with pytest.raises(NaiveDatetimeError):
        hours.earliest(datetime(2026, 1, 1, 12), NY)


def test_unknown_zone_is_refused() -> None:
    """A zone name that does not load raises UnknownTimeZone."""
    with pytest.raises(UnknownTimeZone):
        ContactHours.preset("polite").allows(utc(2026, 1, 1), ("Mars/Olympus",))


def test_no_zones_means_nothing_can_be_scheduled() -> None:
    """Without a zone nothing is allowed and there is no earliest instant."""
    hours = ContactHours.every_day(0, 24)
    assert not hours.allows(utc(2026, 1, 1, 12), ())
    assert hours.earliest(utc(2026, 1, 1, 12), ()) is None


def test_allowed_instant_comes_back_unchanged_in_utc() -> None:
    """An allowed instant is its own earliest, microseconds kept, in UTC."""
    instant = datetime(2026, 1, 15, 12, 0, 0, 250_000, tzinfo=UTC)
    result = ContactHours.preset("polite").earliest(instant, ("Europe/Warsaw",))
    assert instant == result
    assert result is not None
    assert result.utcoffset() == timedelta(0)


def test_every_zone_must_allow() -> None:
    """An instant allowed in Warsaw but not in New York is not allowed for both."""
    hours = ContactHours.preset("polite")
    instant = utc(2026, 1, 15, 10)  # 11:00 Warsaw, 05:00 New York
    assert hours.allows(instant, ("Europe/Warsaw",))
    assert not hours.allows(instant, ("Europe/Warsaw", *NY))
    assert utc(2026, 1, 15, 14) == hours.earliest(instant, ("Europe/Warsaw", *NY))


def test_window_start_in_spring_gap_opens_at_first_real_instant() -> None:
    """02:30 does not exist in New York on 2026-03-08; the window opens at 03:00 EDT."""
    hours = ContactHours.every_day(2.5, 20)
    assert utc(2026, 3, 8, 7) == hours.earliest(utc(2026, 3, 8, 5), NY)
    assert not hours.allows(utc(2026, 3, 8, 6, 59, 59), NY)


def test_autumn_fold_judges_each_instant_by_its_real_local_time() -> None:
    """01:00-01:59 happens twice on 2026-11-01 in New York; each is judged on its own."""
    hours = ContactHours.every_day(1.5, 24)
    assert hours.allows(utc(2026, 11, 1, 5, 30), NY)  # 01:30 EDT
    assert not hours.allows(utc(2026, 11, 1, 6, 0), NY)  # 01:00 EST
    assert utc(2026, 11, 1, 6, 30) == hours.earliest(utc(2026, 11, 1, 6, 0), NY)


def test_window_ending_in_fold_reopens_for_the_repeated_hour() -> None:
    """A window ending at 01:30 is allowed again when 01:00 comes round a second time."""
    hours = ContactHours.every_day(0, 1.5)
    assert not hours.allows(utc(2026, 11, 1, 5, 45), NY)  # 01:45 EDT
    assert hours.allows(utc(2026, 11, 1, 6, 15), NY)  # 01:15 EST
    assert utc(2026, 11, 1, 6) == hours.earliest(utc(2026, 11, 1, 5, 45), NY)


@pytest.mark.parametrize(
    ("zone", "instant", "expected"),
    [
        ("Asia/Kathmandu", utc(2026, 1, 15, 0), utc(2026, 1, 15, 3, 15)),
        ("Pacific/Chatham", utc(2026, 1, 15, 8), utc(2026, 1, 15, 19, 15)),
        ("Australia/Lord_Howe", utc(2026, 7, 1, 10), utc(2026, 7, 1, 22, 30)),
        ("Australia/Lord_Howe", utc(2026, 1, 15, 10), utc(2026, 1, 15, 22, 0)),
    ],
)
def test_odd_offsets_work_like_any_other(zone: str, instant: datetime, expected: datetime) -> None:
    """Half-hour and 45-minute offsets (and a 30-minute DST shift) open at 09:00 local."""
    assert expected == ContactHours.preset("polite").earliest(instant, (zone,))


def test_day_rules_use_each_zones_own_date() -> None:
    """Guam and Pago Pago are on different dates; a no-Sunday rule checks both."""
    weekdays_only = ContactHours(week=[[(0, 86_400)]] * 6 + [[]])
    # 2026-01-17 22:00 UTC: Sunday 08:00 in Guam, Saturday 11:00 in Pago Pago.
    instant = utc(2026, 1, 17, 22)
    assert weekdays_only.allows(instant, ("Pacific/Pago_Pago",))
    assert not weekdays_only.allows(instant, ("Pacific/Guam", "Pacific/Pago_Pago"))


def test_horizon_bounds_the_search() -> None:
    """An answer later than the horizon is None; the horizon end itself counts."""
    sundays = ContactHours(week=[[]] * 6 + [[(12 * 3600, 13 * 3600)]])
    monday = utc(2026, 3, 2, 12)
    assert sundays.earliest(monday, ("UTC",), horizon=timedelta(days=5)) is None
    assert utc(2026, 3, 8, 12) == sundays.earliest(monday, ("UTC",), horizon=timedelta(days=6))


# ----------------------------------------------------------------------------- rules.md §6.2


WINTER = date(2025, 1, 15)
SUMMER = date(2025, 7, 15)


@pytest.mark.parametrize(
    ("number", "winter", "summer"),
    [
        ("+12125551234", "00:00-02:00 13:00-24:00", "00:00-01:00 12:00-24:00"),
        ("+12085551234", "00:00-04:00 16:00-24:00", "00:00-03:00 15:00-24:00"),
        ("+19075551234", "00:00-06:00 18:00-24:00", "00:00-05:00 17:00-24:00"),
        ("+18005551234", "00:00-00:30 22:00-24:00", "22:00-23:30"),
        # Cleaned zones (SEAMS 13): Kaliningrad is itself, so summer is as safe as winter.
        ("+79161234567", "06:00-09:00", "06:00-09:00"),
        ("+74012123456", "06:00-19:00", "06:00-19:00"),
        # Kazakh mobiles keep only Kazakh zones, all UTC+5 since 2024-03-01.
        ("+77012345678", "03:00-16:00", "03:00-16:00"),
        ("+77172123456", "03:00-16:00", "03:00-16:00"),
        ("+447911123456", "08:00-21:00", "07:00-20:00"),
        ("+61412345678", "01:30-10:00", "01:30-10:30"),
        ("+48601234567", "07:00-20:00", "06:00-19:00"),
    ],
)  # fmt: skip
def test_reference_windows_for_the_federal_window(number: str, winter: str, summer: str) -> None:
    """The 08:00-21:00 intersections of rules.md §6.2, recomputed from cleaned zones."""
    zones = PhoneNumber.parse(number).time_zones
    hours = ContactHours.preset("us-federal")
    assert winter == spans(hours, zones, WINTER)
    assert summer == spans(hours, zones, SUMMER)


def test_toll_free_has_no_polite_window_in_july() -> None:
    """42 NANP zones never share a 09:00-20:00 moment in July: no answer within 14 days."""
    zones = PhoneNumber.parse("+18005551234").time_zones
    assert ContactHours.preset("polite").earliest(utc(2025, 7, 15), zones) is None

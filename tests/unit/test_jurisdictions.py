"""Jurisdiction rules: the table's integrity and how ``rules_for`` combines rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from recoverykit.jurisdictions import RULES, US_AREA_CODES, rule, rules_for
from recoverykit.policies.caps import DEFAULT_RECOVERY_CAPS, FrequencyCap
from recoverykit.policies.hours import ContactHours
from recoverykit.values.model import Channel
from recoverykit.values.phone import PhoneNumber
from recoverykit.values.zones import get_zone

AUTHORITY_TAGS = frozenset("LRIPSD")
ALL_DAY = ContactHours.every_day(0, 24)


def local(zone: str, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A local wall-clock time in ``zone`` (never ambiguous in these tests)."""
    return datetime(year, month, day, hour, minute, tzinfo=get_zone(zone))


def test_every_rule_has_id_source_and_authority() -> None:
    """Rules are data: unique ids, a source, a known authority tag, caps named after the rule."""
    ids = [item.id for item in RULES]
    assert len(ids) == len(set(ids))
    for item in RULES:
        assert item.source.strip()
        assert item.ref.strip()
        assert set(item.authority.replace("/", "")) <= AUTHORITY_TAGS
        assert all(cap.rule_id == item.id for cap in item.caps)
        assert item.countries or item.us_states


def test_area_codes_belong_to_one_state() -> None:
    """No area code is listed under two states."""
    codes = [code for state_codes in US_AREA_CODES.values() for code in state_codes]
    assert len(codes) == len(set(codes))


def test_unknown_rule_id_lists_the_known_ones() -> None:
    """Looking up a missing id names the choices."""
    with pytest.raises(KeyError, match="US-FL"):
        rule("US-ZZ")


def test_florida_number_gets_state_hours_and_caps() -> None:
    """A Florida area code adds the TCPA and Florida rules, and Florida's 3-per-24 h cap."""
    number = PhoneNumber.parse("+13055551234")
    combined = rules_for(number, number.time_zones)
    expected = ("polite", "US-TCPA", "US-FL")
    assert expected == combined.applied
    assert ContactHours.preset("polite") == combined.hours
    florida_cap = FrequencyCap(
        3, timedelta(hours=24), channels=rule("US-FL").caps[0].channels, rule_id="US-FL"
    )
    expected_caps = (*DEFAULT_RECOVERY_CAPS, florida_cap)
    assert expected_caps == combined.caps
    assert Channel.EMAIL not in (rule("US-FL").caps[0].channels or ())


def test_florida_window_is_eight_to_eight_under_a_wide_base() -> None:
    """With an all-day base, Florida's 08:00-20:00 is what remains."""
    number = PhoneNumber.parse("+13055551234")
    combined = rules_for(number, number.time_zones, base=ALL_DAY)
    expected = ("policy", "US-TCPA", "US-FL")
    assert expected == combined.applied
    assert ContactHours.every_day(8, 20) == combined.hours


def test_texas_sunday_starts_at_noon() -> None:
    """Texas allows Sundays only from 12:00 local; weekdays from 09:00."""
    number = PhoneNumber.parse("+12145551234")
    combined = rules_for(number, number.time_zones, base=ALL_DAY)
    zone = "America/Chicago"
    assert "US-TX" in combined.applied
    assert not combined.hours.allows(local(zone, 2026, 3, 1, 11, 59), (zone,))  # Sunday
    assert combined.hours.allows(local(zone, 2026, 3, 1, 12, 0), (zone,))
    assert combined.hours.allows(local(zone, 2026, 3, 2, 9, 0), (zone,))  # Monday
    assert combined.hours.allows(local(zone, 2026, 3, 2, 20, 59), (zone,))
    assert not combined.hours.allows(local(zone, 2026, 3, 2, 21, 0), (zone,))


def test_alabama_has_no_sundays_and_no_holidays() -> None:
    """Alabama: no Sunday sends and none on its public holidays."""
    number = PhoneNumber.parse("+12055551234")
    combined = rules_for(number, number.time_zones)
    zone = "America/Chicago"
    assert not combined.hours.allows(local(zone, 2026, 3, 1, 12), (zone,))  # Sunday
    assert not combined.hours.allows(local(zone, 2026, 12, 25, 12), (zone,))  # Christmas, Fri
    assert combined.hours.allows(local(zone, 2026, 12, 22, 12), (zone,))


def test_pennsylvania_uses_its_own_holiday_list() -> None:
    """PA's statute list wins: Good Friday, Flag Day, Election Day yes; Juneteenth no."""
    number = PhoneNumber.parse("+12155551234")
    combined = rules_for(number, number.time_zones)
    zone = "America/New_York"
    assert "US-PA" in combined.applied
    for month, day in ((4, 3), (6, 14), (11, 3), (11, 26)):
        assert not combined.hours.allows(local(zone, 2026, month, day, 12), (zone,))
    assert combined.hours.allows(local(zone, 2026, 6, 19, 12), (zone,))  # Juneteenth


def test_canadian_number_is_not_american() -> None:
    """+1 with a Canadian region gets the CRTC rule, not the TCPA."""
    number = PhoneNumber.parse("+14165551234")
    combined = rules_for(number, number.time_zones, base=ALL_DAY)
    expected = ("policy", "CA-CRTC")
    assert expected == combined.applied
    zone = "America/Toronto"
    assert combined.hours.allows(local(zone, 2026, 3, 2, 21, 15), (zone,))  # Monday
    assert not combined.hours.allows(local(zone, 2026, 3, 7, 18, 30), (zone,))  # Saturday


@pytest.mark.parametrize(
    ("charter", "applied", "sunday", "late_weekday"),
    [
        ("strictest", ("policy", "FR-AF2M-2024", "FR-AF2M-2026", "UK-EU-PLATFORM"), False, False),
        ("2024", ("policy", "FR-AF2M-2024", "UK-EU-PLATFORM"), False, False),
        ("2026", ("policy", "FR-AF2M-2026", "UK-EU-PLATFORM"), True, False),
    ],
)
def test_france_charters_are_separate_versions(
    charter: str, applied: tuple[str, ...], sunday: bool, late_weekday: bool
) -> None:
    """The 2024 charter bars Sundays and holidays, the 2026 one ends at 21:30; default both."""
    number = PhoneNumber.parse("+33612345678")
    combined = rules_for(number, number.time_zones, base=ALL_DAY, france_charter=charter)  # type: ignore[arg-type]
    zone = "Europe/Paris"
    assert applied == combined.applied
    assert sunday == combined.hours.allows(local(zone, 2026, 3, 1, 12), (zone,))
    assert late_weekday == combined.hours.allows(local(zone, 2026, 3, 2, 21, 45), (zone,))
    assert combined.hours.allows(local(zone, 2026, 3, 2, 8, 0), (zone,))


def test_france_2024_excludes_public_holidays() -> None:
    """Bastille Day (a Tuesday in 2026) is closed under the stricter default."""
    number = PhoneNumber.parse("+33612345678")
    combined = rules_for(number, number.time_zones)
    zone = "Europe/Paris"
    assert not combined.hours.allows(local(zone, 2026, 7, 14, 12), (zone,))
    assert combined.hours.allows(local(zone, 2026, 7, 15, 12), (zone,))


def test_kazakhstan_weekdays_only_without_holidays() -> None:
    """Kazakh recipients: weekdays 09:00-21:00 local, public holidays excluded."""
    number = PhoneNumber.parse("+77012345678")
    combined = rules_for(number, number.time_zones, base=ALL_DAY)
    expected = ("policy", "KZ-OPERATORS")
    assert expected == combined.applied
    zones = number.time_zones
    assert combined.hours.allows(datetime(2026, 3, 2, 4, tzinfo=UTC), zones)  # Mon 09:00 +05
    assert not combined.hours.allows(datetime(2026, 3, 2, 3, 59, tzinfo=UTC), zones)
    assert not combined.hours.allows(datetime(2026, 3, 7, 6, tzinfo=UTC), zones)  # Saturday
    assert not combined.hours.allows(datetime(2026, 1, 1, 6, tzinfo=UTC), zones)  # New Year


def test_toll_free_spans_every_nanp_jurisdiction() -> None:
    """A toll-free number's 42 zones reach the US and Canada: both rules apply."""
    number = PhoneNumber.parse("+18005551234")
    combined = rules_for(number, number.time_zones)
    assert {"US-TCPA", "CA-CRTC"} <= set(combined.applied)


def test_zones_and_residence_add_their_countries() -> None:
    """Without a phone, candidate zones and the presumed country decide."""
    combined = rules_for(None, ("Europe/Paris",), country="kz")
    assert {"FR-AF2M-2024", "FR-AF2M-2026", "UK-EU-PLATFORM", "KZ-OPERATORS"} <= set(
        combined.applied
    )


def test_nothing_known_keeps_the_base() -> None:
    """No phone, no zones, no country: only the base window and the store's caps."""
    combined = rules_for(None, ())
    expected = ("polite",)
    assert expected == combined.applied
    assert ContactHours.preset("polite") == combined.hours
    expected_caps = DEFAULT_RECOVERY_CAPS
    assert expected_caps == combined.caps


def test_result_allows_exactly_what_every_part_allows() -> None:
    """The combined window is the intersection of its parts, hour by hour for a week."""
    number = PhoneNumber.parse("+12055551234")
    combined = rules_for(number, number.time_zones)
    zones = number.time_zones
    start = datetime(2026, 12, 20, tzinfo=UTC)
    for hour in range(7 * 24):
        moment = start + timedelta(hours=hour, minutes=17)
        expected = all(hours.allows(moment, zones) for _, hours in combined.parts)
        assert expected == combined.hours.allows(moment, zones)

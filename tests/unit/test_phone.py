"""Phone numbers: verified at the boundary, with cleaned candidate time zones."""

from __future__ import annotations

import pytest

from recoverykit import PhoneNumber
from recoverykit.errors import InvalidPhoneNumber


def test_parses_to_e164_with_region_and_line_type() -> None:
    """A national number with its region becomes E.164 with what we need to know."""
    number = PhoneNumber.parse("601 234 567", region="PL")
    assert "+48601234567" == number.e164
    assert "PL" == number.region
    assert "mobile" == number.line_type
    assert number.can_receive_sms
    assert ("Europe/Warsaw",) == number.time_zones
    assert "48601234567" == number.digits


def test_russian_mobile_keeps_only_russian_zones() -> None:
    """A +7 mobile lists Russian and Kazakh zones together; only Russia's remain (TZ-7)."""
    zones = PhoneNumber.parse("+79161234567").time_zones
    assert "Asia/Almaty" not in zones
    assert "Asia/Aqtobe" not in zones
    assert "Europe/Bucharest" not in zones
    assert "Europe/Moscow" in zones
    assert "Asia/Vladivostok" in zones


def test_kazakh_mobile_keeps_only_kazakh_zones() -> None:
    """A Kazakh +7 mobile keeps the Kazakh zones of the shared list only."""
    assert ("Asia/Almaty", "Asia/Aqtobe") == PhoneNumber.parse("+77012345678").time_zones


def test_kaliningrad_is_not_bucharest() -> None:
    """Kaliningrad landlines map to Europe/Kaliningrad, not the CLDR stand-in (TZ-8)."""
    assert ("Europe/Kaliningrad",) == PhoneNumber.parse("+74012123456").time_zones


def test_toll_free_lists_every_nanp_zone() -> None:
    """A US toll-free number could be anywhere in the plan: all 42 zones (TZ-6)."""
    number = PhoneNumber.parse("+18005551234")
    assert 42 == len(number.time_zones)
    assert not number.can_receive_sms


@pytest.mark.parametrize(
    ("raw", "region"),
    [("+1 555", "US"), ("12345", None), ("", None), ("+1 555 555 5555", None), ("x" * 100, None)],
)
def test_invalid_numbers_raise_naming_input(raw: str, region: str | None) -> None:
    """Invalid or unassigned numbers raise InvalidPhoneNumber naming the input and region."""
    with pytest.raises(InvalidPhoneNumber, match="Invalid phone number") as info:
        PhoneNumber.parse(raw, region)
    assert f"region={region!r}" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_parsing_is_cached() -> None:
    """Parsing the same number twice returns the very same value (a dictionary look-up)."""
    assert PhoneNumber.parse("+48601234567") is PhoneNumber.parse("+48601234567")

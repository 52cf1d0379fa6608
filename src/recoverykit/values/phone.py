"""Phone numbers at the boundary: E.164, region, line type and candidate time zones.

A number is parsed once (``phonenumbers`` is slow) and the result cached, so the
engine can ask about the same customer thousands of times for the price of a
dictionary look-up.
"""

from __future__ import annotations

import functools
from typing import Final

import attrs
import phonenumbers
from phonenumbers import PhoneNumberType
from phonenumbers import timezone as pn_timezone

from ..errors import InvalidPhoneNumber
from .zones import country_zones, is_zone

__all__ = ["PhoneNumber"]

_LINE_TYPES: Final[dict[int, str]] = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
    PhoneNumberType.UNKNOWN: "unknown",
}

#: Line types a text message can reach. Landlines and toll-free numbers are
#: excluded: a cart reminder sent there is lost or read aloud by a robot.
_SMS_CAPABLE: Final = frozenset({"mobile", "fixed_line_or_mobile"})

#: CLDR metazone stand-ins that ``phonenumbers`` returns for a country whose own
#: zone has different rules (rules.md TZ-8): Kaliningrad never observes DST.
_ZONE_FIXUPS: Final[dict[tuple[str, str], str]] = {
    ("RU", "Europe/Bucharest"): "Europe/Kaliningrad",
}

#: Calling codes shared by countries whose number-level zone list mixes them
#: (rules.md TZ-7: +7 mobiles list Russian and Kazakh zones together).
_SPLIT_BY_COUNTRY: Final = frozenset({7})


@attrs.frozen
class PhoneNumber:
    """A verified phone number with what recoverykit needs to know about it.

    Build it with :meth:`parse`; the constructor trusts its arguments.
    """

    #: The number in E.164 form, e.g. ``+48601234567``.
    e164: str
    #: ISO 3166 region the number belongs to, e.g. ``PL`` (``US`` for +1 toll-free).
    region: str
    #: Country calling code, e.g. ``48``.
    country_code: int
    #: ``mobile``, ``fixed_line``, ``fixed_line_or_mobile``, ``toll_free``, ``voip``, ...
    line_type: str
    #: Candidate IANA zones of the recipient, cleaned (see :meth:`parse`).
    time_zones: tuple[str, ...]

    @property
    def can_receive_sms(self) -> bool:
        """True for mobile (or possibly mobile) lines."""
        return self.line_type in _SMS_CAPABLE

    @property
    def digits(self) -> str:
        """The E.164 number without its ``+``, as WhatsApp's API wants it."""
        return self.e164[1:]

    @classmethod
    def parse(cls, raw: str, region: str | None = None) -> PhoneNumber:
        """Parse and verify ``raw``; ``region`` is the default for national formats.

        Raises ``InvalidPhoneNumber`` (a ``ValueError``) for anything that is not a
        valid, assigned number. Results are cached per ``(raw, region)``.

        Candidate zones are cleaned: ``Etc/Unknown`` is dropped; a Russian number's
        ``Europe/Bucharest`` (a CLDR stand-in) becomes ``Europe/Kaliningrad``; a +7
        number keeps only zones of its own country (Russia or Kazakhstan).
        """
        if not isinstance(raw, str):
            # Checked before the cache: a list or dict is not even hashable.
            shown = f"{type(raw).__name__} {raw!r:.40}"
            raise InvalidPhoneNumber(shown, region=None, reason="expected a string")
        if region is not None and not isinstance(region, str):
            shown = f"{type(region).__name__} {region!r:.40}"
            raise InvalidPhoneNumber(
                raw[:64], region=None, reason=f"region must be a string ({shown})"
            )
        return _parse(raw, region.upper() if isinstance(region, str) else region)

    def __str__(self) -> str:
        return self.e164


@functools.lru_cache(maxsize=65536)
def _parse(raw: str, region: str | None) -> PhoneNumber:
    if not isinstance(raw, str):
        raise InvalidPhoneNumber(repr(raw), region=region, reason="expected a string")
    if len(raw) > 64:
        raise InvalidPhoneNumber(raw[:64] + "...", region=region, reason="far too long")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        reason = str(exc).split(") ", 1)[-1] or "cannot be parsed"
        if region is None and not raw.strip().startswith("+"):
            reason += "; give a region or the international form starting with '+'"
        raise InvalidPhoneNumber(raw, region=region, reason=reason) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(
            raw, region=region, reason="not an assigned number in its country's numbering plan"
        )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    number_region = phonenumbers.region_code_for_number(number) or "ZZ"
    country_code = int(number.country_code or 0)
    line_type = _LINE_TYPES.get(phonenumbers.number_type(number), "unknown")
    zones = _clean_zones(country_code, number_region, pn_timezone.time_zones_for_number(number))
    return PhoneNumber(
        e164=e164,
        region=number_region,
        country_code=country_code,
        line_type=line_type,
        time_zones=zones,
    )


def _clean_zones(country_code: int, region: str, raw_zones: tuple[str, ...]) -> tuple[str, ...]:
    zones: list[str] = []
    for zone in raw_zones:
        if zone == "Etc/Unknown":
            continue
        fixed = _ZONE_FIXUPS.get((region, zone), zone)
        if fixed not in zones and is_zone(fixed):
            zones.append(fixed)
    if country_code in _SPLIT_BY_COUNTRY:
        own = set(country_zones(region))
        if own:
            zones = [zone for zone in zones if zone in own]
    return tuple(sorted(zones))

"""Contact-hours and frequency rules by jurisdiction, kept as data with their sources.

Each :class:`Rule` carries the id of its row in the project's rules reference,
the source it was taken from and an authority tag (``L`` statute, ``R``
regulator, ``I`` industry code, ``P`` platform, ``S`` secondary; ``L/S`` and
the like where the sources are mixed). :func:`rules_for` picks every rule that
may apply to a recipient and combines them into one window and one set of caps,
always the strictest. Where sources disagree the table already holds the
stricter reading.

This is not legal advice; the table says where each number came from so that a
store can check it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Final, Literal

import attrs

from .policies.caps import DEFAULT_RECOVERY_CAPS, FrequencyCap
from .policies.hours import ContactHours, HolidayCalendar, StatuteDays
from .policies.schedule import ContactRules
from .values.model import Channel
from .values.phone import PhoneNumber
from .values.zones import zone_table

__all__ = [
    "RULES",
    "US_AREA_CODES",
    "ContactRules",
    "FranceCharter",
    "Rule",
    "rule",
    "rules_for",
]

FranceCharter = Literal["2024", "2026", "strictest"]

#: Channels that reach the phone number itself, where phone-solicitation caps apply.
_PHONE_CHANNELS: Final = frozenset({Channel.SMS, Channel.WHATSAPP, Channel.TELEGRAM, Channel.VIBER})

#: EU member states plus the United Kingdom, for the platform default (rules.md UK-3).
_UK_EU: Final = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "GB",
})  # fmt: skip


@attrs.frozen
class Rule:
    """One jurisdiction's contact rule: its window, caps and whom it applies to."""

    #: Stable id used in notes and ``ContactRules.applied``, e.g. ``"US-FL"``.
    id: str
    #: A short human name.
    name: str
    #: Where the numbers come from (statute, regulator page, charter).
    source: str
    #: Authority tag from the rules reference: L, R, I, P, S or a mix such as ``L/S``.
    authority: str
    #: Row id(s) in ``reference/rules.md`` the rule was taken from.
    ref: str
    #: The window the rule allows, in the recipient's local time.
    hours: ContactHours
    #: Caps the rule sets (``rule_id`` equals this rule's id).
    caps: tuple[FrequencyCap, ...] = ()
    #: ISO 3166 countries whose residents it protects.
    countries: frozenset[str] = frozenset()
    #: US states (from the phone's area code) whose residents it protects.
    us_states: frozenset[str] = frozenset()
    #: For versioned rules (France's charters): the version name.
    version: str | None = None


def _window(
    weekdays: tuple[float, float] | None,
    saturday: tuple[float, float] | None,
    sunday: tuple[float, float] | None,
    *,
    excluded: Sequence[HolidayCalendar | StatuteDays] = (),
) -> ContactHours:
    def day(pair: tuple[float, float] | None) -> list[tuple[int, int]]:
        return [] if pair is None else [(round(pair[0] * 3600), round(pair[1] * 3600))]

    week = [day(weekdays)] * 5 + [day(saturday), day(sunday)]
    return ContactHours(week=week, excluded=excluded)


def _daily(
    start: float, end: float, **kwargs: Sequence[HolidayCalendar | StatuteDays]
) -> ContactHours:
    return _window((start, end), (start, end), (start, end), **kwargs)


def _three_a_day(rule_id: str) -> tuple[FrequencyCap, ...]:
    return (FrequencyCap(3, timedelta(hours=24), channels=_PHONE_CHANNELS, rule_id=rule_id),)


_TEXTING_SOURCES: Final = (
    "https://www.dropcowboy.com/state-compliance ; https://usestello.com/compliance"
)

RULES: Final[tuple[Rule, ...]] = (
    Rule(
        id="US-TCPA",
        name="US federal telephone solicitation hours",
        source="47 CFR 64.1200(c)(1); https://www.ecfr.gov/current/title-47/section-64.1200",
        authority="L",
        ref="US-1",
        hours=_daily(8, 21),
        countries=frozenset({"US"}),
    ),
    Rule(
        id="US-FL",
        name="Florida Telephone Solicitation Act",
        source="Fla. Stat. 501.616(6)(a)-(b), 501.059",
        authority="L",
        ref="rules.md 1.2 Florida",
        hours=_daily(8, 20),
        caps=_three_a_day("US-FL"),
        us_states=frozenset({"FL"}),
    ),
    Rule(
        id="US-OK",
        name="Oklahoma Telephone Solicitation Act of 2022",
        source="15 O.S. 775C.1 et seq.",
        authority="L/S",
        ref="rules.md 1.2 Oklahoma",
        hours=_daily(8, 20),
        caps=_three_a_day("US-OK"),
        us_states=frozenset({"OK"}),
    ),
    Rule(
        id="US-MD",
        name="Maryland Stop the Spam Calls Act of 2023",
        source="Md. Code Com. Law 14-4501 et seq.",
        authority="L/S",
        ref="rules.md 1.2 Maryland",
        hours=_daily(8, 20),
        caps=_three_a_day("US-MD"),
        us_states=frozenset({"MD"}),
    ),
    Rule(
        id="US-WA",
        name="Washington commercial telephone solicitation hours",
        source="RCW 19.158.040(2)",
        authority="L",
        ref="rules.md 1.2 Washington",
        hours=_daily(8, 20),
        us_states=frozenset({"WA"}),
    ),
    Rule(
        id="US-TX",
        name="Texas telephone solicitation hours (SB 140)",
        source="Tex. Bus. & Com. Code ch. 302, 304, 305 as amended by SB 140 (2025)",
        authority="L/S",
        ref="rules.md 1.2 Texas",
        hours=_window((9, 21), (9, 21), (12, 21)),
        us_states=frozenset({"TX"}),
    ),
    Rule(
        id="US-CT",
        name="Connecticut telephone solicitation hours",
        source="Conn. Gen. Stat. 42-288a (SB 1058, 2023)",
        authority="S",
        ref="rules.md 1.2 Connecticut",
        hours=_daily(9, 20),
        us_states=frozenset({"CT"}),
    ),
    Rule(
        id="US-AL",
        name="Alabama telephone solicitation hours",
        source=_TEXTING_SOURCES,
        authority="S",
        ref="rules.md 1.2 Alabama",
        hours=_window((8, 20), (8, 20), None, excluded=(HolidayCalendar("US", "AL"),)),
        us_states=frozenset({"AL"}),
    ),
    Rule(
        id="US-LA",
        name="Louisiana telephone solicitation hours",
        source="La. R.S. 45:844.31; " + _TEXTING_SOURCES,
        authority="S",
        ref="rules.md 1.2 Louisiana",
        hours=_window((8, 20), (8, 20), None, excluded=(HolidayCalendar("US", "LA"),)),
        us_states=frozenset({"LA"}),
    ),
    Rule(
        id="US-MS",
        name="Mississippi telephone solicitation hours",
        source=_TEXTING_SOURCES,
        authority="S",
        ref="rules.md 1.2 Mississippi",
        hours=_window((8, 20), (8, 20), None),
        us_states=frozenset({"MS"}),
    ),
    Rule(
        id="US-PA",
        name="Pennsylvania telemarketing hours and legal holidays",
        source=(
            "PA Attorney General, https://www.attorneygeneral.gov/protect-yourself/"
            "consumer-advisories/telemarketing-information-you-need-to-know/"
        ),
        authority="R/S",
        ref="rules.md 1.2 Pennsylvania",
        hours=_daily(8, 21, excluded=(StatuteDays("US-PA"),)),
        us_states=frozenset({"PA"}),
    ),
    Rule(
        id="CA-CRTC",
        name="CRTC Unsolicited Telecommunications Rules, telemarketing hours",
        source="https://crtc.gc.ca/eng/phone/telemarketing/tobligations/rules-regles.htm",
        authority="R",
        ref="CA-1",
        hours=_window((9, 21.5), (10, 18), (10, 18)),
        countries=frozenset({"CA"}),
    ),
    Rule(
        id="FR-AF2M-2024",
        name="AF2M Business Messaging charter, 2024",
        source=(
            "https://payservices.orange.com/fr/actualites/business-messaging-actualites/"
            "laf2m-devoie-sa-nouvelle-charte-du-business-messaging.html"
        ),
        authority="I",
        ref="FR-2",
        hours=_window((8, 22), (8, 22), None, excluded=(HolidayCalendar("FR"),)),
        countries=frozenset({"FR"}),
        version="2024",
    ),
    Rule(
        id="FR-AF2M-2026",
        name="AF2M Business Messaging charter, 2026",
        source=(
            "https://www.ecranmobile.fr/Business-Messaging-l-af2m-harmonise-sa-charte-"
            "pour-mieux-proteger-les-consommateurs_a78664.amp.html"
        ),
        authority="I/S",
        ref="FR-3",
        hours=_daily(8, 21.5),
        countries=frozenset({"FR"}),
        version="2026",
    ),
    Rule(
        id="UK-EU-PLATFORM",
        name="UK and EU platform default quiet hours",
        source="https://help.klaviyo.com/hc/en-us/articles/4408737146651",
        authority="P",
        ref="UK-3",
        hours=_daily(8, 21),
        countries=_UK_EU,
    ),
    Rule(
        id="RU-AGGREGATOR",
        name="Russian aggregator sending hours",
        source="https://smscentre.com/faq/165/pochemu+chast+soobschenii+iz+rassylki+pereneslas+na+utro/",
        authority="P",
        ref="RU-5",
        hours=_daily(9, 22),
        countries=frozenset({"RU"}),
    ),
    Rule(
        id="KZ-OPERATORS",
        name="Kazakh operators' rules for notification and promotional SMS",
        source="https://rules.revicom.ltd/rules-for-the-transmission-of-messages-to-foreign-operators",
        authority="I/S",
        ref="KZ-1, KZ-2",
        hours=_window((9, 21), None, None, excluded=(HolidayCalendar("KZ"),)),
        countries=frozenset({"KZ"}),
    ),
)

_BY_ID: Final[Mapping[str, Rule]] = {item.id: item for item in RULES}


def rule(rule_id: str) -> Rule:
    """The rule with id ``rule_id``; ``KeyError`` naming the known ids otherwise."""
    try:
        return _BY_ID[rule_id]
    except KeyError:
        choices = ", ".join(_BY_ID)
        msg = f"Unknown rule id {rule_id!r}; known ids: {choices}"
        raise KeyError(msg) from None


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: US area codes of the states whose rules are encoded, from the NANPA area code
#: map (https://nationalnanpa.com/area_codes/ ; "Area Codes by State"), overlays
#: included. Several states presume a caller to one of their area codes reaches
#: a resident (Florida, Oklahoma), so the area code decides, not the time zone.
US_AREA_CODES: Final[Mapping[str, frozenset[str]]] = {
    "FL": _codes(
        "239 305 321 324 352 386 407 448 561 645 656 689 727 728 754 772 786 813 850 863 904 "
        "941 954"
    ),
    "OK": _codes("405 539 572 580 918"),
    "MD": _codes("227 240 301 410 443 667"),
    "WA": _codes("206 253 360 425 509 564"),
    "TX": _codes(
        "210 214 254 281 325 346 361 409 430 432 469 512 682 713 726 737 806 817 830 832 "
        "903 915 936 940 945 956 972 979"
    ),
    "CT": _codes("203 475 860 959"),
    "AL": _codes("205 251 256 334 483 659 938"),
    "LA": _codes("225 318 337 504 985"),
    "MS": _codes("228 601 662 769"),
    "PA": _codes("215 223 267 272 412 445 484 570 582 610 717 724 814 835 878"),
}  # fmt: skip

_STATE_BY_AREA: Final[Mapping[str, str]] = {
    code: state for state, codes in US_AREA_CODES.items() for code in codes
}


@functools.cache
def _zone_countries() -> Mapping[str, str]:
    """Zone -> the country ``zone.tab`` lists it under (one country per zone)."""
    return {zone: country for country, zones in zone_table().items() for zone in zones}


def _country_of_zone(zone: str) -> str | None:
    return _zone_countries().get(zone)


def rules_for(
    phone_number: PhoneNumber | None,
    zones: Sequence[str],
    country: str | None = None,
    *,
    base: ContactHours | None = None,
    caps: Sequence[FrequencyCap] = DEFAULT_RECOVERY_CAPS,
    france_charter: FranceCharter = "strictest",
    base_id: str | None = None,
) -> ContactRules:
    """Combine every rule that may apply to the recipient, always the strictest.

    A rule applies when the recipient may live where it protects: the phone
    number's country, the presumed country of residence ``country``, the country
    of any candidate zone, or (for US numbers) the state of the area code.
    ``base`` is the store's own window (default: the ``polite`` preset); the
    result allows only what ``base`` and every applicable rule allow.
    ``france_charter`` picks the AF2M charter version; ``strictest`` applies both.
    """
    hours = base if base is not None else _POLITE
    first = base_id or ("polite" if base is None else "policy")
    return _combine(
        hours,
        first,
        countries=_countries(phone_number, zones, country),
        state=_us_state(phone_number),
        caps=tuple(caps),
        france_charter=france_charter,
    )


_POLITE: Final = ContactHours.preset("polite")


@functools.lru_cache(maxsize=4096)
def _combine(
    base: ContactHours,
    first: str,
    *,
    countries: frozenset[str],
    state: str | None,
    caps: tuple[FrequencyCap, ...],
    france_charter: FranceCharter,
) -> ContactRules:
    """Cached so that repeated questions about alike recipients share warm hours caches."""
    hours = base
    applied = [first]
    parts = [(first, base)]
    combined_caps = list(caps)
    for item in RULES:
        if not _applies(item, countries, state, france_charter):
            continue
        applied.append(item.id)
        parts.append((item.id, item.hours))
        hours = hours.intersect(item.hours)
        combined_caps.extend(cap for cap in item.caps if cap not in combined_caps)
    return ContactRules(
        hours=hours, caps=tuple(combined_caps), applied=tuple(applied), parts=tuple(parts)
    )


def _countries(
    phone_number: PhoneNumber | None, zones: Sequence[str], country: str | None
) -> frozenset[str]:
    found: set[str] = set()
    if phone_number is not None and phone_number.region != "ZZ":
        found.add(phone_number.region)
    if country is not None:
        found.add(country.upper())
    for zone in zones:
        owner = _country_of_zone(zone)
        if owner is not None:
            found.add(owner)
    return frozenset(found)


def _us_state(phone_number: PhoneNumber | None) -> str | None:
    if phone_number is None or phone_number.region != "US":
        return None
    return _STATE_BY_AREA.get(phone_number.e164[2:5])


def _applies(
    item: Rule, countries: frozenset[str], state: str | None, france_charter: FranceCharter
) -> bool:
    if item.version is not None and france_charter not in {"strictest", item.version}:
        return False
    if item.countries & countries:
        return True
    return state is not None and state in item.us_states

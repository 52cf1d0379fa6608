"""Which time zones a customer may be in, and how recoverykit knows."""

from __future__ import annotations

import enum

import attrs

from ..values.model import Customer
from ..values.zones import country_zones, get_zone

__all__ = ["ZoneResolution", "ZoneSource", "resolve_zones"]


class ZoneSource(enum.StrEnum):
    """Where the candidate zones came from, strongest first."""

    #: The store knew the zone (browser, shipping address).
    EXPLICIT = "explicit"
    #: The customer's country has a single zone.
    COUNTRY = "country"
    #: Guessed from the phone number; possibly several zones.
    PHONE = "phone"
    #: Nothing to go on; nothing may be scheduled by local time.
    UNKNOWN = "unknown"


@attrs.frozen
class ZoneResolution:
    """The candidate zones of one customer and where they came from."""

    zones: tuple[str, ...]
    source: ZoneSource

    @property
    def certain(self) -> bool:
        return len(self.zones) == 1


def resolve_zones(customer: Customer) -> ZoneResolution:
    """Candidate zones: explicit zone > a single-zone country > the phone's candidates.

    A multi-zone country with a phone number narrows to the phone's candidates
    inside that country when they overlap. A US number always keeps its area
    code's zones besides the store's: US and state rules protect whoever answers
    that area code (Florida presumes it), so a +1 305 number is judged in Miami
    time even when the store says Europe/London. The store's zone stays first.
    """
    resolution = _resolve(customer)
    phone = customer.phone_number
    if resolution.source is ZoneSource.PHONE or phone is None or phone.region != "US":
        return resolution
    home = country_zones("US")
    if not all(zone in home for zone in phone.time_zones):
        return resolution  # not a geographic area code (toll-free, personal): no state to keep
    extra = tuple(zone for zone in phone.time_zones if zone not in resolution.zones)
    if not extra:
        return resolution
    return ZoneResolution((*resolution.zones, *extra), resolution.source)


def _resolve(customer: Customer) -> ZoneResolution:
    if customer.timezone is not None:
        get_zone(customer.timezone)
        return ZoneResolution((customer.timezone,), ZoneSource.EXPLICIT)
    in_country: tuple[str, ...] = ()
    if customer.country is not None:
        in_country = country_zones(customer.country)
        if len(in_country) == 1:
            return ZoneResolution(in_country, ZoneSource.COUNTRY)
    phone = customer.phone_number
    if phone is not None and phone.time_zones:
        zones = phone.time_zones
        if in_country:
            narrowed = tuple(zone for zone in zones if zone in in_country)
            zones = narrowed or zones
        return ZoneResolution(zones, ZoneSource.PHONE)
    if in_country:
        return ZoneResolution(tuple(sorted(in_country)), ZoneSource.COUNTRY)
    return ZoneResolution((), ZoneSource.UNKNOWN)

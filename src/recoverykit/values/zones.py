"""One cached resolver for IANA zones, loaded from the pinned ``tzdata`` package.

System zone files may predate rule changes (Kazakhstan moved to UTC+5 in 2024),
so zones are read from ``tzdata`` first and from the system only as a fallback.
"""

from __future__ import annotations

import functools
import importlib.resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import UnknownTimeZone

__all__ = ["country_zones", "get_zone", "is_zone", "zone_table"]

_cache: dict[str, ZoneInfo] = {}


def get_zone(name: str) -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA name; ``UnknownTimeZone`` if there is none."""
    zone = _cache.get(name)
    if zone is not None:
        return zone
    zone = _load(name)
    _cache[name] = zone
    return zone


def is_zone(name: str) -> bool:
    """True if ``name`` loads as an IANA zone."""
    try:
        get_zone(name)
    except UnknownTimeZone:
        return False
    return True


def _load(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name or name.startswith(("/", ".")) or ".." in name:
        raise UnknownTimeZone(str(name))
    try:
        resource = importlib.resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
        with resource.open("rb") as handle:
            return ZoneInfo.from_file(handle, key=name)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, ValueError, OSError):
        pass
    except ModuleNotFoundError:  # pragma: no cover - tzdata is a hard dependency
        pass
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UnknownTimeZone(name) from None


@functools.cache
def zone_table() -> dict[str, tuple[str, ...]]:
    """Country (ISO 3166 alpha-2) -> its zones, from ``tzdata``'s own ``zone.tab``."""
    table: dict[str, list[str]] = {}
    text = importlib.resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text("utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        table.setdefault(parts[0], []).append(parts[2])
    return {country: tuple(zones) for country, zones in table.items()}


def country_zones(country: str) -> tuple[str, ...]:
    """The zones in use in a country (``()`` for a code the database does not know)."""
    return zone_table().get(country.upper(), ())

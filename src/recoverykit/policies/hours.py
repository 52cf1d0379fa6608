"""Contact hours: the local wall-clock times at which a customer may be messaged.

A window is a list of intervals per weekday, judged in each candidate zone of the
recipient on that zone's own local date, so a day-of-week or holiday rule holds
even when the candidate zones straddle the date line. An instant is allowed only
if it is allowed in every zone.

Answers are exact to the second and DST-proof. For each zone and each UTC day the
allowed intervals are computed once, in UTC, from the zone's real offsets (a
window start inside a spring-forward gap opens at the first real instant after
it; in an autumn fold each instant is judged by its real local time), then cached
on the value. ``allows`` is a bisect into that cache; ``earliest`` bisects into the
intersection of the zones' intervals, kept per set of zones and UTC day as well.
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any, Final
from zoneinfo import ZoneInfo

import attrs
import holidays

from ..errors import InvalidInputError, RecoveryKitWarning
from ..values.loading import Problems, expect_list, expect_mapping, unknown_keys
from ..values.time import require_aware
from ..values.zones import get_zone

__all__ = [
    "ContactHours",
    "DateList",
    "DaySource",
    "HolidayCalendar",
    "StatuteDays",
]

DAY: Final = 86_400
#: Weekday keys of the JSON shape, Monday first (``date.weekday()`` order).
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
#: Cached (zone, day) entries per ContactHours value before the cache starts afresh.
_CACHE_LIMIT: Final = 200_000

#: tzinfo types that always give an offset, so the awareness check can skip a call.
_FIXED_TZ_TYPES: Final = frozenset({timezone, ZoneInfo})

Interval = tuple[int, int]
Week = tuple[tuple[Interval, ...], ...]
#: One UTC day's allowed intervals as parallel (starts, ends) tuples, for bisecting.
_Day = tuple[tuple[int, ...], tuple[int, ...]]


# --------------------------------------------------------------------------- excluded days


def _upper(value: str) -> str:
    return value.upper()


def _sources(value: Any) -> tuple[DaySource, ...]:
    return tuple(value)


@functools.lru_cache(maxsize=1024)
def _calendar_dates(country: str, subdiv: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdiv, years=year).keys())


@attrs.frozen
class HolidayCalendar:
    """Public holidays of a country (and subdivision) from the ``holidays`` package."""

    country: str = attrs.field(converter=_upper)
    subdiv: str | None = None

    def __attrs_post_init__(self) -> None:
        try:
            holidays.country_holidays(self.country, subdiv=self.subdiv, years=2026)
        except NotImplementedError:
            msg = (
                f"No holiday calendar for country={self.country!r} subdiv={self.subdiv!r}; "
                "use an ISO 3166 code the 'holidays' package supports, or list the dates"
            )
            raise InvalidInputError(msg) from None

    def contains(self, day: date) -> bool:
        return day in _calendar_dates(self.country, self.subdiv, day.year)

    def to_json(self) -> Any:
        out: dict[str, Any] = {"country": self.country}
        if self.subdiv is not None:
            out["subdiv"] = self.subdiv
        return out


@attrs.frozen
class DateList:
    """Explicit dates (a store's own closing days, say)."""

    dates: frozenset[date]

    def contains(self, day: date) -> bool:
        return day in self.dates

    def to_json(self) -> Any:
        return [day.isoformat() for day in sorted(self.dates)]


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Gregorian computus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _election_day(year: int) -> date:
    """The Tuesday after the first Monday of November."""
    first = date(year, 11, 1)
    first_monday = first + timedelta(days=(0 - first.weekday()) % 7)
    return first_monday + timedelta(days=1)


#: Pennsylvania's list of legal holidays on which telephone solicitation is barred
#: (rules.md §1.2, PA Attorney General). Federal days come from the ``holidays``
#: package by name, observed days included; the statute adds three of its own.
_PA_FEDERAL_NAMES: Final = (
    "New Year's Day",
    "Martin Luther King Jr. Day",
    "Washington's Birthday",
    "Presidents' Day",
    "Memorial Day",
    "Independence Day",
    "Labor Day",
    "Columbus Day",
    "Veterans Day",
    "Thanksgiving Day",
    "Christmas Day",
)


@functools.lru_cache(maxsize=256)
def _us_pa_dates(year: int) -> frozenset[date]:
    federal = holidays.country_holidays("US", years=year)
    days = {
        day
        for day, name in federal.items()
        if any(name.startswith(wanted) for wanted in _PA_FEDERAL_NAMES)
    }
    days.add(_easter(year) - timedelta(days=2))  # Good Friday
    days.add(date(year, 6, 14))  # Flag Day
    days.add(_election_day(year))
    return frozenset(days)


_NAMED_LISTS: Final = {"US-PA": _us_pa_dates}


@attrs.frozen
class StatuteDays:
    """A day list a statute names itself, where it differs from the public calendar.

    SEAMS 14: the rule's own list wins over the package's calendar.
    """

    name: str = attrs.field()

    @name.validator
    def _known(self, _attribute: attrs.Attribute[str], value: str) -> None:
        if value not in _NAMED_LISTS:
            choices = ", ".join(sorted(_NAMED_LISTS))
            msg = f"Unknown statutory day list {value!r}; known lists: {choices}"
            raise InvalidInputError(msg)

    def contains(self, day: date) -> bool:
        return day in _NAMED_LISTS[self.name](day.year)

    def to_json(self) -> Any:
        return {"list": self.name}


DaySource = HolidayCalendar | DateList | StatuteDays


# --------------------------------------------------------------------------- intervals


def _normalise_day(intervals: Sequence[Interval]) -> tuple[Interval, ...]:
    ordered = sorted((int(s), int(e)) for s, e in intervals)
    merged: list[Interval] = []
    for start, end in ordered:
        if not 0 <= start < end <= DAY:
            msg = (
                f"Contact-hours interval {_clock(start)}-{_clock(end)} must lie inside "
                "00:00-24:00 and end after it starts"
            )
            raise InvalidInputError(msg)
        if merged and start <= merged[-1][1]:
            if start < merged[-1][1]:
                msg = (
                    f"Contact-hours intervals overlap: {_clock(merged[-1][0])}-"
                    f"{_clock(merged[-1][1])} and {_clock(start)}-{_clock(end)}; merge them"
                )
                raise InvalidInputError(msg)
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


def _week(value: Sequence[Sequence[Interval]]) -> Week:
    days = tuple(value)
    if len(days) != 7:
        msg = f"Contact hours need 7 weekdays (Monday first), got {len(days)}"
        raise InvalidInputError(msg)
    return tuple(_normalise_day(day) for day in days)


def _intersect_day(left: Sequence[Interval], right: Sequence[Interval]) -> tuple[Interval, ...]:
    out: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i][0], right[j][0])
        end = min(left[i][1], right[j][1])
        if start < end:
            out.append((start, end))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def _parse_clock(value: Any) -> int:
    if not isinstance(value, str):
        msg = f"expected a time of day like '09:00', got {value!r:.40}"
        raise TypeError(msg)
    if value in {"24:00", "24:00:00"}:
        return DAY
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        msg = f"not a time of day: {value!r} (use 'HH:MM', e.g. '09:00'; '24:00' ends a day)"
        raise ValueError(msg) from None
    if parsed.tzinfo is not None or parsed.microsecond:
        msg = f"a contact-hours time is local wall-clock time without offset: {value!r}"
        raise ValueError(msg)
    return parsed.hour * 3600 + parsed.minute * 60 + parsed.second


def _hm(hours: float) -> int:
    return round(hours * 3600)


# --------------------------------------------------------------------------- zone offsets


@functools.lru_cache(maxsize=65_536)
def _pieces(zone: str, day_index: int) -> tuple[tuple[int, int, int], ...]:
    """The UTC day ``day_index`` cut at offset changes: ``(start, end, offset)`` seconds.

    Offsets are read at both ends of the day; a change inside is located by bisection
    to the second (tzdata transitions fall on whole seconds). Two changes inside one
    UTC day have not happened since the 1940s and are not looked for.
    """
    tz = get_zone(zone)
    start = day_index * DAY
    end = start + DAY
    first = _offset(tz, start)
    last = _offset(tz, end - 1)
    if first == last:
        return ((start, end, first),)
    low, high = start, end - 1  # offset(low) == first, offset(high) == last
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(tz, middle) == first:
            low = middle
        else:
            high = middle
    return ((start, high, first), (high, end, last))


def _offset(tz: Any, seconds: int) -> int:
    moment = datetime.fromtimestamp(seconds, tz=tz)
    offset = moment.utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _seconds(instant: datetime) -> int:
    """Whole UTC epoch seconds of an aware instant (floor); naive input is refused."""
    tz = getattr(instant, "tzinfo", None)
    if type(tz) not in _FIXED_TZ_TYPES and (tz is None or instant.utcoffset() is None):
        require_aware(instant, "instant")
    stamp = instant.timestamp()
    return int(stamp) if stamp >= 0 else math.floor(stamp)


def _from_seconds(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


# --------------------------------------------------------------------------- the value


@attrs.frozen
class ContactHours:
    """Allowed local wall-clock intervals per weekday, minus excluded dates.

    ``week`` holds seven tuples (Monday first) of ``(start, end)`` seconds after
    local midnight, half-open, ``end`` up to 86 400 (24:00). Build it with
    :meth:`from_dict` or :meth:`preset`; the constructor sorts and merges
    touching intervals and refuses overlapping ones.
    """

    week: Week = attrs.field(converter=_week)
    excluded: tuple[DaySource, ...] = attrs.field(default=(), converter=_sources)
    _cache: dict[tuple[str, int], _Day] = attrs.field(
        init=False, factory=dict, eq=False, repr=False, hash=False
    )
    #: The intervals every zone of a candidate set allows, per (zones, UTC day).
    _common: dict[tuple[tuple[str, ...], int], _Day] = attrs.field(
        init=False, factory=dict, eq=False, repr=False, hash=False
    )

    # ----------------------------------------------------------------- building

    @classmethod
    def every_day(cls, start: float, end: float, **kwargs: Any) -> ContactHours:
        """The same ``start``-``end`` window (hours, fractions allowed) on all seven days."""
        return cls(week=[[(_hm(start), _hm(end))]] * 7, **kwargs)

    @classmethod
    def preset(cls, name: str) -> ContactHours:
        """A named window: ``polite`` (09-20 every day, the default), ``us-federal`` (08-21)."""
        factory = _PRESETS.get(name)
        if factory is None:
            choices = ", ".join(repr(key) for key in _PRESETS)
            msg = f"Unknown contact-hours preset {name!r}; choose one of {choices}"
            raise ValueError(msg)
        return factory()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContactHours:
        """Load ``{"mon": [["09:00", "20:00"]], ..., "sun": []}``.

        A weekday left out has no allowed hours. ``exclude_holidays`` is
        ``{"country": "US", "subdiv": "PA"}``, ``{"list": "US-PA"}``, a list of ISO
        dates, or a list mixing those. Every problem is reported at once in one
        ``DefinitionError``; a week with no hours at all only warns.
        """
        problems = Problems()
        root = expect_mapping(data, "$", problems)
        week: list[list[Interval]] = [[] for _ in WEEKDAYS]
        excluded: list[DaySource] = []
        if root is not None:
            unknown_keys(root, frozenset({*WEEKDAYS, "exclude_holidays"}), "$", problems)
            for index, key in enumerate(WEEKDAYS):
                if key in root:
                    week[index] = _load_day(root[key], f"$.{key}", problems)
            if "exclude_holidays" in root:
                excluded = _load_excluded(root["exclude_holidays"], problems)
        problems.raise_if_any("Invalid contact hours")
        hours = cls(week=week, excluded=excluded)
        if not any(hours.week):
            warnings.warn(
                "Contact hours allow no time on any day: nothing will ever be sent; "
                "give at least one weekday an interval such as ['09:00', '20:00']",
                RecoveryKitWarning,
                stacklevel=2,
            )
        return hours

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape :meth:`from_dict` reads; every weekday is written out."""
        out: dict[str, Any] = {
            key: [[_clock(start), _clock(end)] for start, end in day]
            for key, day in zip(WEEKDAYS, self.week, strict=True)
        }
        if self.excluded:
            parts = [source.to_json() for source in self.excluded]
            if len(parts) == 1 and isinstance(parts[0], dict):
                out["exclude_holidays"] = parts[0]
            else:
                flat: list[Any] = []
                for part in parts:
                    flat.extend(part if isinstance(part, list) else [part])
                out["exclude_holidays"] = flat
        return out

    def intersect(self, other: ContactHours) -> ContactHours:
        """Allowed only where both allow: intervals intersected, excluded days joined."""
        week = [_intersect_day(a, b) for a, b in zip(self.week, other.week, strict=True)]
        excluded = list(self.excluded)
        excluded.extend(source for source in other.excluded if source not in excluded)
        return ContactHours(week=week, excluded=excluded)

    def is_excluded(self, day: date) -> bool:
        return any(source.contains(day) for source in self.excluded)

    # ----------------------------------------------------------------- questions

    def allows(self, instant: datetime, zones: Sequence[str]) -> bool:
        """True only if ``instant`` is inside the window in every one of ``zones``."""
        seconds = _seconds(instant)
        if not zones:
            return False
        day = seconds // DAY
        cache = self._cache
        for zone in zones:
            found = cache.get((zone, day))
            starts, ends = found if found is not None else self._day(zone, day)
            index = bisect_right(ends, seconds)
            if index == len(ends) or starts[index] > seconds:
                return False
        return True

    def earliest(
        self,
        instant: datetime,
        zones: Sequence[str],
        *,
        horizon: timedelta = timedelta(days=14),
    ) -> datetime | None:
        """The first instant at or after ``instant`` allowed in every zone, in UTC.

        ``None`` when there is none within ``horizon`` (or ``zones`` is empty).
        An allowed ``instant`` comes back unchanged (in UTC); any other answer is a
        whole second at which some zone's window opens.
        """
        seconds = _seconds(instant)
        if not zones:
            return None
        limit = math.floor((instant + horizon).timestamp())
        found = self._earliest_seconds(seconds, zones, limit)
        if found is None:
            return None
        return instant.astimezone(UTC) if found == seconds else _from_seconds(found)

    def _earliest_seconds(self, seconds: int, zones: Sequence[str], limit: int) -> int | None:
        if len(zones) == 1:
            return self._next_in_zone(zones[0], seconds, limit)
        try:
            return self._next_in_all(tuple(zones), seconds, limit)
        except Exception:  # the walk below decides what fails, as it always did
            # The walk looks at fewer (zone, day) pairs than the intersection does, so
            # only it can say whether an unknown zone or a day at the calendar's edge
            # fails or is never reached.
            return self._walk(seconds, zones, limit)

    def _next_in_all(self, zones: tuple[str, ...], seconds: int, limit: int) -> int | None:
        """The first second at or after ``seconds`` (and not after ``limit``) that every
        zone allows: the first point of the intersection of their intervals, day by day.

        The same answer as ``_walk``: the walk only ever moves to the next instant some
        zone allows, so it never passes a point they all allow, and it stops at the
        first such point.
        """
        return _next_open(functools.partial(self._common_day, zones), seconds, limit)

    def _common_day(self, zones: tuple[str, ...], day: int) -> _Day:
        key = (zones, day)
        cached = self._common.get(key)
        if cached is not None:
            return cached
        starts, ends = self._day(zones[0], day)
        for zone in zones[1:]:
            starts, ends = _intersect_sorted(starts, ends, *self._day(zone, day))
        return _keep(self._common, key, (starts, ends))

    def _walk(self, seconds: int, zones: Sequence[str], limit: int) -> int | None:
        """Move a candidate from zone to zone until every zone allows it."""
        candidate = seconds
        while candidate <= limit:
            moved = False
            for zone in zones:
                following = self._next_in_zone(zone, candidate, limit)
                if following is None:
                    return None
                if following != candidate:
                    candidate = following
                    moved = True
            if not moved:
                return candidate
        return None

    def _next_in_zone(self, zone: str, seconds: int, limit: int) -> int | None:
        return _next_open(functools.partial(self._day, zone), seconds, limit)

    def _day(self, zone: str, day: int) -> _Day:
        key = (zone, day)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        intervals = self._utc_intervals(zone, day)
        return _keep(
            self._cache, key, (tuple(s for s, _ in intervals), tuple(e for _, e in intervals))
        )

    def _utc_intervals(self, zone: str, day: int) -> list[Interval]:
        """Allowed UTC intervals inside UTC day ``day`` for one zone, merged."""
        found: list[Interval] = []
        for start, end, offset in _pieces(zone, day):
            first_local = (start + offset) // DAY
            last_local = (end - 1 + offset) // DAY
            for local_day in range(first_local, last_local + 1):
                local_date = date.fromordinal(_EPOCH_ORDINAL + local_day)
                if self.excluded and self.is_excluded(local_date):
                    continue
                base = local_day * DAY - offset
                for open_, close in self.week[local_date.weekday()]:
                    low = max(base + open_, start)
                    high = min(base + close, end)
                    if low < high:
                        found.append((low, high))
        found.sort()
        merged: list[Interval] = []
        for low, high in found:
            if merged and low <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
            else:
                merged.append((low, high))
        return merged


def _keep(cache: dict[Any, _Day], key: Any, day: _Day) -> _Day:
    """Store ``day`` under ``key``; a full cache starts afresh rather than grow."""
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = day
    return day


def _next_open(day_of: Callable[[int], _Day], seconds: int, limit: int) -> int | None:
    """The first allowed second at or after ``seconds`` and not after ``limit``, reading
    each UTC day's intervals from ``day_of``."""
    day = seconds // DAY
    while day * DAY <= limit:
        starts, ends = day_of(day)
        index = bisect_right(ends, seconds)
        if index < len(ends):
            found = max(starts[index], seconds)
            return found if found <= limit else None
        day += 1
        seconds = day * DAY
    return None


def _intersect_sorted(
    starts_a: tuple[int, ...],
    ends_a: tuple[int, ...],
    starts_b: tuple[int, ...],
    ends_b: tuple[int, ...],
) -> _Day:
    """Where two sorted lists of disjoint half-open intervals overlap."""
    starts: list[int] = []
    ends: list[int] = []
    i = j = 0
    while i < len(ends_a) and j < len(ends_b):
        low = max(starts_a[i], starts_b[j])
        high = min(ends_a[i], ends_b[j])
        if low < high:
            starts.append(low)
            ends.append(high)
        if ends_a[i] < ends_b[j]:
            i += 1
        else:
            j += 1
    return tuple(starts), tuple(ends)


def _load_day(raw: Any, path: str, problems: Problems) -> list[Interval]:
    items = expect_list(raw, path, problems)
    if items is None:
        return []
    intervals: list[tuple[int, int, str]] = []
    for index, item in enumerate(items):
        here = f"{path}[{index}]"
        pair = expect_list(item, here, problems)
        if pair is None:
            continue
        if len(pair) != 2:
            problems.add(here, f"expected [start, end] like ['09:00', '20:00'], got {item!r:.60}")
            continue
        try:
            start, end = _parse_clock(pair[0]), _parse_clock(pair[1])
        except (TypeError, ValueError) as exc:
            problems.add(here, str(exc))
            continue
        if start >= DAY or start >= end:
            problems.add(
                here, f"interval {pair[0]}-{pair[1]} must end after it starts, inside 00:00-24:00"
            )
            continue
        intervals.append((start, end, here))
    intervals.sort()
    for (s1, e1, _), (s2, e2, here) in itertools.pairwise(intervals):
        if s2 < e1:
            problems.add(
                here,
                f"interval {_clock(s2)}-{_clock(e2)} overlaps "
                f"{_clock(s1)}-{_clock(e1)}; merge them",
            )
    return [(start, end) for start, end, _ in intervals]


def _load_excluded(raw: Any, problems: Problems) -> list[DaySource]:
    path = "$.exclude_holidays"
    if isinstance(raw, Mapping):
        source = _load_source(raw, path, problems)
        return [source] if source is not None else []
    items = expect_list(raw, path, problems)
    if items is None:
        return []
    sources: list[DaySource] = []
    dates: set[date] = set()
    for index, item in enumerate(items):
        here = f"{path}[{index}]"
        if isinstance(item, Mapping):
            source = _load_source(item, here, problems)
            if source is not None:
                sources.append(source)
        elif isinstance(item, str):
            try:
                dates.add(date.fromisoformat(item))
            except ValueError:
                problems.add(here, f"not an ISO date: {item!r} (use e.g. '2026-12-24')")
        else:
            problems.add(here, f"expected an ISO date or a calendar object, got {item!r:.60}")
    if dates:
        sources.append(DateList(frozenset(dates)))
    return sources


def _load_source(raw: Mapping[str, Any], path: str, problems: Problems) -> DaySource | None:
    unknown_keys(raw, frozenset({"country", "subdiv", "list"}), path, problems)
    try:
        if "list" in raw:
            name = raw["list"]
            if not isinstance(name, str):
                problems.add(f"{path}.list", f"expected a list name like 'US-PA', got {name!r:.40}")
                return None
            return StatuteDays(name)
        country, subdiv = raw.get("country"), raw.get("subdiv")
        if not isinstance(country, str):
            problems.add(f"{path}.country", "is required: an ISO 3166 code such as 'US'")
            return None
        if subdiv is not None and not isinstance(subdiv, str):
            problems.add(f"{path}.subdiv", f"expected a subdivision code like 'PA', got {subdiv!r}")
            return None
        return HolidayCalendar(country, subdiv)
    except InvalidInputError as exc:
        problems.add(path, str(exc))
        return None


_PRESETS: Final = {
    "polite": lambda: ContactHours.every_day(9, 20),
    "us-federal": lambda: ContactHours.every_day(8, 21),
}

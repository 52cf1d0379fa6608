"""``ContactHours.earliest`` and ``earliest_send`` answer exactly as before their speed-up.

For several zones, ``earliest`` now intersects the zones' intervals for each UTC day
(cached per zone set) instead of moving a candidate from zone to zone until they
agree; ``earliest_send`` stops as soon as no cap moved the time, without a last round
that could move nothing. ``_walk_reference`` and ``earliest_send_reference`` below are
the code as it stood before, copied verbatim and kept frozen; they use only helpers
the change left as they were (``_next_in_zone``, ``_blame``, ``FrequencyCap``). Do not
edit them to follow the live code: a different answer is a behaviour change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recoverykit.errors import UnknownTimeZone
from recoverykit.jurisdictions import ContactRules, rules_for
from recoverykit.policies.caps import (
    DEFAULT_RECOVERY_CAPS,
    ContactHistory,
    ContactRecord,
    FrequencyCap,
    SendKind,
)
from recoverykit.policies.hours import ContactHours
from recoverykit.policies.schedule import Moved, SendTime, _blame, earliest_send
from recoverykit.testing.strategies import contact_hours, instants_near_dst, zone_names
from recoverykit.values.model import Channel
from recoverykit.values.phone import PhoneNumber
from recoverykit.values.time import to_utc

ZONE_SETS = st.lists(zone_names(all_zones=True), min_size=2, max_size=6)
TRICKY_SETS = st.lists(zone_names(), min_size=2, max_size=4)
HORIZONS = st.sampled_from(
    [timedelta(days=14), timedelta(days=2), timedelta(hours=5), timedelta(0)]
)


# -- frozen reference: the walk before the intersection replaced it -----------------------
def _walk_reference(
    hours: ContactHours, seconds: int, zones: Sequence[str], limit: int
) -> int | None:
    candidate = seconds
    while candidate <= limit:
        moved = False
        for zone in zones:
            following = hours._next_in_zone(zone, candidate, limit)
            if following is None:
                return None
            if following != candidate:
                candidate = following
                moved = True
        if not moved:
            return candidate
    return None


def earliest_reference(
    hours: ContactHours, instant: datetime, zones: Sequence[str], horizon: timedelta
) -> datetime | None:
    stamp = instant.timestamp()
    seconds = int(stamp) if stamp >= 0 else math.floor(stamp)
    if not zones:
        return None
    limit = math.floor((instant + horizon).timestamp())
    found = _walk_reference(hours, seconds, zones, limit)
    if found is None:
        return None
    return instant.astimezone(UTC) if found == seconds else datetime.fromtimestamp(found, tz=UTC)


def earliest_send_reference(
    instant: datetime,
    zones: Sequence[str],
    rules: ContactRules,
    history: ContactHistory,
    *,
    channel: Channel | None = None,
    horizon: timedelta = timedelta(days=14),
) -> SendTime:
    moment = to_utc(instant, "instant")
    deadline = moment + horizon
    caps = [cap for cap in rules.caps if cap.covers(channel)]
    moves: list[Moved] = []
    for _ in range(1_000):
        opened = rules.hours.earliest(moment, zones, horizon=deadline - moment)
        if opened is None:
            return SendTime(None, tuple(moves))
        changed = opened != moment
        if changed:
            moves.append(Moved("contact_hours", _blame(rules, moment, zones), moment, opened))
            moment = opened
        for cap in caps:
            allowed = cap.earliest(moment, history)
            if allowed != moment:
                moves.append(Moved("cap", cap.rule_id, moment, allowed))
                moment, changed = allowed, True
        if moment > deadline:
            return SendTime(None, tuple(moves))
        if not changed:
            return SendTime(moment, tuple(moves))
    return SendTime(None, tuple(moves))


# -- the comparison ---------------------------------------------------------------------
@st.composite
def cases(draw: st.DrawFn) -> tuple[ContactHours, list[str], datetime, timedelta]:
    zones = draw(st.one_of(ZONE_SETS, TRICKY_SETS))
    instant = draw(instants_near_dst(st.sampled_from(zones)))
    hours = draw(contact_hours(holidays=draw(st.booleans())))
    return hours, zones, instant, draw(HORIZONS)


@given(cases())
def test_earliest_matches_the_walk(
    case: tuple[ContactHours, list[str], datetime, timedelta],
) -> None:
    """Same answer for several zones, near DST changes, with and without holidays."""
    hours, zones, instant, horizon = case
    expected = earliest_reference(hours, instant, zones, horizon)
    assert hours.earliest(instant, zones, horizon=horizon) == expected
    # A second question is answered from the intersection cache: still the same.
    assert hours.earliest(instant, zones, horizon=horizon) == expected


@given(cases(), st.lists(st.integers(-3 * 86_400, 20 * 86_400), min_size=1, max_size=8))
def test_many_questions_share_the_cache_and_still_match(
    case: tuple[ContactHours, list[str], datetime, timedelta], offsets: list[int]
) -> None:
    """Questions at other instants, for the same zones, reuse cached days correctly."""
    hours, zones, instant, horizon = case
    for offset in offsets:
        moment = instant + timedelta(seconds=offset)
        assert hours.earliest(moment, zones, horizon=horizon) == earliest_reference(
            hours, moment, zones, horizon
        )


@given(cases())
def test_a_horizon_ending_on_the_answer_matches(
    case: tuple[ContactHours, list[str], datetime, timedelta],
) -> None:
    """A horizon that ends exactly at the opening second, or one second before it."""
    hours, zones, instant, _ = case
    found = earliest_reference(hours, instant, zones, timedelta(days=14))
    if found is None or found == instant:
        return
    for horizon in (found - instant, found - instant - timedelta(seconds=1)):
        assert hours.earliest(instant, zones, horizon=horizon) == earliest_reference(
            hours, instant, zones, horizon
        )


def test_an_unknown_zone_fails_or_not_exactly_as_the_walk_did() -> None:
    """The walk never reaches a zone after one that allows nothing: no error then."""
    closed = ContactHours(week=[[]] * 7)
    at = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    assert closed.earliest(at, ["Europe/Warsaw", "Not/AZone"]) is None
    assert (
        earliest_reference(closed, at, ["Europe/Warsaw", "Not/AZone"], timedelta(days=14)) is None
    )
    open_hours = ContactHours.every_day(9, 20)
    with pytest.raises(UnknownTimeZone):
        open_hours.earliest(at, ["Europe/Warsaw", "Not/AZone"])


CAP_SETS = st.sampled_from(
    [
        DEFAULT_RECOVERY_CAPS,
        (),
        (FrequencyCap(2, timedelta(hours=30)),),
        (
            FrequencyCap(1, timedelta(hours=5), channels={Channel.SMS}),
            FrequencyCap(3, timedelta(days=2)),
        ),
    ]
)


@st.composite
def histories_before(draw: st.DrawFn, instant: datetime) -> ContactHistory:
    """Touches and replies in the two days around ``instant``, so caps bite."""
    records = draw(
        st.lists(
            st.builds(
                ContactRecord,
                at=st.integers(-20 * 3600, 2 * 3600).map(
                    lambda offset: instant + timedelta(seconds=offset)
                ),
                channel=st.sampled_from(Channel),
                checkout_id=st.sampled_from(["chk-1", "chk-2"]),
                kind=st.sampled_from([SendKind.TOUCH, SendKind.TOUCH, SendKind.REPLY]),
            ),
            min_size=1,
            max_size=6,
        )
    )
    return ContactHistory(tuple(records))


@settings(max_examples=150)
@given(
    cases(),
    st.data(),
    CAP_SETS,
    st.none() | st.sampled_from(list(Channel)),
    st.sampled_from([None, "+48601234567", "+12085551234", "+79161234567"]),
)
def test_earliest_send_matches_the_reference(
    case: tuple[ContactHours, list[str], datetime, timedelta],
    data: st.DataObject,
    caps: tuple[FrequencyCap, ...],
    channel: Channel | None,
    phone: str | None,
) -> None:
    """Same time and the same moves (rule, from, to) with hours, jurisdictions and caps."""
    hours, zones, instant, horizon = case
    history = data.draw(histories_before(instant))
    number = None if phone is None else PhoneNumber.parse(phone)
    for rules in (
        ContactRules(hours=hours, caps=caps, applied=("policy",)),
        rules_for(number, zones, None, base=hours, caps=caps),
    ):
        assert earliest_send(
            instant, zones, rules, history, channel=channel, horizon=horizon
        ) == earliest_send_reference(
            instant, zones, rules, history, channel=channel, horizon=horizon
        )

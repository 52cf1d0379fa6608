"""Properties of frequency caps, alone and combined with contact hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from recoverykit.jurisdictions import ContactRules
from recoverykit.policies.caps import ContactHistory, ContactRecord, FrequencyCap, SendKind
from recoverykit.policies.hours import ContactHours
from recoverykit.policies.schedule import earliest_send
from recoverykit.testing.strategies import contact_histories, contact_hours, zone_names
from recoverykit.values.model import Channel

START = datetime(2026, 3, 1, tzinfo=UTC)

caps_strategy = st.builds(
    FrequencyCap,
    limit=st.integers(1, 4),
    per=st.integers(60, 2 * 86_400).map(lambda seconds: timedelta(seconds=seconds)),
    channels=st.one_of(st.none(), st.frozensets(st.sampled_from(Channel), min_size=1)),
)
offsets = st.lists(st.integers(0, 5 * 86_400), min_size=1, max_size=15)


def worst_window(cap: FrequencyCap, history: ContactHistory) -> int:
    """The most counted touches in any window ``[x, x + per)``, by brute force."""
    times = history.touches(cap.channels)
    return max(
        (sum(1 for t in times if start <= t < start + cap.per) for start in times), default=0
    )


def violates(cap: FrequencyCap, history: ContactHistory, at: datetime) -> bool:
    record = ContactRecord(
        at=at, channel=next(iter(cap.channels or {Channel.SMS})), checkout_id="x"
    )
    return worst_window(cap, history.add(record)) > cap.limit


@given(caps_strategy, contact_histories(max_records=6), offsets)
def test_sending_at_the_answer_never_exceeds_the_cap(
    cap: FrequencyCap, start: ContactHistory, asks: list[int]
) -> None:
    """Touches placed at the cap's answers keep every sliding window within the limit."""
    history = ContactHistory(
        tuple(record for record in start.records if record.kind is SendKind.REPLY)
    )
    channel = next(iter(cap.channels or {Channel.SMS}))
    for offset in asks:
        asked = START + timedelta(seconds=offset)
        at = cap.earliest(asked, history)
        assert at >= asked
        assert at == cap.earliest(at, history)
        history = history.add(ContactRecord(at=at, channel=channel, checkout_id="chk"))
        assert worst_window(cap, history) <= cap.limit


@given(caps_strategy, contact_histories(), st.integers(0, 4 * 86_400))
def test_answer_is_the_first_instant_that_fits(
    cap: FrequencyCap, history: ContactHistory, offset: int
) -> None:
    """On any history that keeps the cap, the answer fits and a second earlier does not."""
    if worst_window(cap, history) > cap.limit:
        return
    asked = START + timedelta(seconds=offset)
    at = cap.earliest(asked, history)
    assert not violates(cap, history, at)
    if at != asked:
        assert violates(cap, history, at - timedelta(seconds=1))


@given(
    contact_hours(),
    st.lists(caps_strategy, max_size=3),
    contact_histories(),
    st.lists(zone_names(), min_size=1, max_size=3, unique=True),
    st.integers(0, 4 * 86_400),
    st.sampled_from(Channel),
)
def test_combined_answer_satisfies_hours_and_caps(
    hours: ContactHours,
    caps: list[FrequencyCap],
    history: ContactHistory,
    zones: list[str],
    offset: int,
    channel: Channel,
) -> None:
    """``earliest_send`` answers an instant that the window and every cap allow."""
    rules = ContactRules(hours=hours, caps=tuple(caps), applied=("test",))
    asked = START + timedelta(seconds=offset)
    result = earliest_send(asked, zones, rules, history, channel=channel)
    if result.at is None:
        return
    assert result.at >= asked
    assert hours.allows(result.at, zones)
    for cap in caps:
        if cap.covers(channel):
            assert result.at == cap.earliest(result.at, history)
    moment = asked
    for move in result.moves:
        assert moment == move.from_
        assert move.to > move.from_
        moment = move.to
    assert moment == result.at

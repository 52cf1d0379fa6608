"""Frequency caps and contact histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from recoverykit.errors import DefinitionError, InvalidInputError, NaiveDatetimeError
from recoverykit.policies.caps import (
    DEFAULT_RECOVERY_CAPS,
    ContactHistory,
    ContactRecord,
    FrequencyCap,
    SendKind,
    caps_earliest,
    channel_gap_caps,
)
from recoverykit.values.model import Channel

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)


def touch(
    at: datetime, channel: Channel = Channel.SMS, kind: SendKind = SendKind.TOUCH
) -> ContactRecord:
    return ContactRecord(at=at, channel=channel, checkout_id="chk-1", kind=kind)


def history(*records: ContactRecord) -> ContactHistory:
    return ContactHistory(records)


def test_one_per_twelve_hours_waits_for_the_window_to_pass() -> None:
    """After a touch at 10:00, the next may go at 22:00."""
    cap = FrequencyCap(1, 12 * HOUR)
    assert cap.earliest(T0 + 2 * HOUR, history(touch(T0))) == T0 + 12 * HOUR


def test_an_instant_outside_every_window_is_kept() -> None:
    """With room in the cap, the asked instant is the answer (in UTC)."""
    cap = FrequencyCap(1, 12 * HOUR)
    assert cap.earliest(T0 + 13 * HOUR, history(touch(T0))) == T0 + 13 * HOUR
    assert cap.earliest(T0, ContactHistory()) == T0


def test_replies_never_count() -> None:
    """An opt-out confirmation or HELP answer does not use up the cap (SEAMS 1)."""
    cap = FrequencyCap(1, 12 * HOUR)
    replies = history(touch(T0, kind=SendKind.REPLY), touch(T0 + HOUR, kind=SendKind.REPLY))
    assert cap.earliest(T0 + 2 * HOUR, replies) == T0 + 2 * HOUR


def test_three_a_day_counts_the_oldest_of_the_last_three() -> None:
    """With three touches in 24 h the fourth waits until the first leaves the window."""
    cap = FrequencyCap(3, 24 * HOUR, rule_id="US-FL")
    sent = history(touch(T0), touch(T0 + HOUR), touch(T0 + 5 * HOUR))
    assert cap.earliest(T0 + 6 * HOUR, sent) == T0 + 24 * HOUR


def test_channels_are_counted_only_where_the_cap_says() -> None:
    """The default caps count personal channels together and e-mail on its own."""
    personal, daily, email = DEFAULT_RECOVERY_CAPS
    sent = history(touch(T0, Channel.WHATSAPP))
    assert personal.earliest(T0 + HOUR, sent) == T0 + 6 * HOUR
    assert email.earliest(T0 + HOUR, sent) == T0 + HOUR
    mailed = history(touch(T0, Channel.EMAIL))
    assert personal.earliest(T0 + HOUR, mailed) == T0 + HOUR
    assert daily.earliest(T0 + HOUR, mailed) == T0 + HOUR
    assert email.earliest(T0 + HOUR, mailed) == T0 + 12 * HOUR


def test_default_caps_allow_a_second_personal_touch_six_hours_later() -> None:
    """SEAMS 10 revised: the Polish practice's second touch 6-12 h after the first goes out;
    sooner is deferred, and a third personal touch within the day waits for the window."""
    sent = history(touch(T0, Channel.SMS))
    assert caps_earliest(DEFAULT_RECOVERY_CAPS, T0 + 6 * HOUR, sent)[0] == T0 + 6 * HOUR
    assert caps_earliest(DEFAULT_RECOVERY_CAPS, T0 + 2 * HOUR, sent)[0] == T0 + 6 * HOUR
    twice = history(touch(T0, Channel.SMS), touch(T0 + 6 * HOUR, Channel.WHATSAPP))
    assert caps_earliest(DEFAULT_RECOVERY_CAPS, T0 + 12 * HOUR, twice)[0] == T0 + 24 * HOUR


def test_the_channel_gap_keeps_texts_and_e_mail_apart_both_ways() -> None:
    """A text waits 12 h after an e-mail and an e-mail 12 h after a text; touches on the
    same side are left to the ordinary caps."""
    to_personal, to_email = channel_gap_caps(12 * HOUR)
    mailed = history(touch(T0, Channel.EMAIL))
    assert to_personal.covers(Channel.SMS)
    assert not to_personal.covers(Channel.EMAIL)
    assert to_personal.earliest(T0 + 5 * 60 * SECOND, mailed) == T0 + 12 * HOUR
    assert to_email.earliest(T0 + HOUR, mailed) == T0 + HOUR
    texted = history(touch(T0, Channel.VIBER))
    assert to_email.earliest(T0 + HOUR, texted) == T0 + 12 * HOUR
    assert to_personal.earliest(T0 + HOUR, texted) == T0 + HOUR
    assert to_personal.counts(Channel.EMAIL)
    assert not to_personal.counts(Channel.SMS)


def test_a_cap_that_applies_to_no_channel_is_refused() -> None:
    """``applies_to`` must name at least one channel."""
    with pytest.raises(InvalidInputError, match="applies_to"):
        FrequencyCap(1, HOUR, applies_to=frozenset())


def test_a_later_touch_in_the_history_also_blocks() -> None:
    """A touch already recorded after the asked instant keeps its window free too."""
    cap = FrequencyCap(1, 12 * HOUR)
    assert cap.earliest(T0, history(touch(T0 + HOUR))) == T0 + 13 * HOUR


def test_several_caps_are_satisfied_together() -> None:
    """``caps_earliest`` moves until every cap holds and names the last mover."""
    hourly = FrequencyCap(1, HOUR, rule_id="hourly")
    daily = FrequencyCap(2, 24 * HOUR, rule_id="daily")
    sent = history(touch(T0), touch(T0 + 2 * HOUR))
    moment, mover = caps_earliest((hourly, daily), T0 + 2 * HOUR, sent)
    assert moment == T0 + 24 * HOUR
    assert mover is daily


def test_cap_values_are_checked() -> None:
    """A cap needs a positive whole limit and a positive period."""
    with pytest.raises(InvalidInputError, match="limit"):
        FrequencyCap(0, HOUR)
    with pytest.raises(InvalidInputError, match="per"):
        FrequencyCap(1, timedelta(0))


def test_naive_instants_are_refused() -> None:
    """Records and questions need aware instants."""
    with pytest.raises(NaiveDatetimeError):
        touch(datetime(2026, 3, 2, 10))
    with pytest.raises(NaiveDatetimeError):
        FrequencyCap(1, HOUR).earliest(datetime(2026, 3, 2, 10), ContactHistory())


def test_history_keeps_records_in_time_order() -> None:
    """``add`` places a record by its time; times are stored in UTC."""
    late, early = touch(T0 + HOUR), touch(T0)
    added = ContactHistory().add(late).add(early)
    assert (early, late) == added.records
    assert timedelta(0) == added.records[0].at.utcoffset()


def test_history_round_trips_through_dicts() -> None:
    """``from_dict(to_dict())`` gives the same history back."""
    sent = history(touch(T0), touch(T0 + HOUR, Channel.EMAIL, SendKind.REPLY))
    assert sent == ContactHistory.from_dict(sent.to_dict())


def test_history_loading_reports_paths() -> None:
    """Every bad record field is reported with its path."""
    with pytest.raises(DefinitionError) as caught:
        ContactHistory.from_dict(
            {
                "records": [
                    {"at": "2026-03-02T10:00:00", "channel": "sms", "checkout_id": "a"},
                    {"at": "2026-03-02T10:00:00Z", "channel": "fax", "checkout_id": "a"},
                    {"at": "2026-03-02T10:00:00Z", "channel": "sms", "kind": "nudge"},
                ]
            }
        )
    paths = sorted(problem.path for problem in caught.value.problems)
    expected = [
        "$.records[0].at",
        "$.records[1].channel",
        "$.records[2].checkout_id",
        "$.records[2].kind",
    ]
    assert expected == paths

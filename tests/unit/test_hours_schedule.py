"""``earliest_send``: contact hours and caps combined, with the reasons for each move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from recoverykit.errors import NaiveDatetimeError
from recoverykit.jurisdictions import rules_for
from recoverykit.policies.caps import ContactHistory, ContactRecord
from recoverykit.policies.hours import ContactHours
from recoverykit.policies.schedule import Moved, SendTime, earliest_send
from recoverykit.values.model import Channel
from recoverykit.values.phone import PhoneNumber

NY = ("America/New_York",)
HOUR = timedelta(hours=1)


def sms(at: datetime) -> ContactHistory:
    return ContactHistory((ContactRecord(at=at, channel=Channel.SMS, checkout_id="chk-1"),))


def test_allowed_instant_goes_out_unmoved() -> None:
    """Inside the window with room in the caps: the instant itself, no notes."""
    rules = rules_for(None, NY)
    instant = datetime(2026, 3, 2, 15, tzinfo=UTC)  # 10:00 New York
    assert SendTime(instant, ()) == earliest_send(instant, NY, rules, ContactHistory())


def test_late_evening_moves_to_the_morning_with_the_rule_named() -> None:
    """22:00 local moves to 09:00 local, blamed on the polite window."""
    rules = rules_for(None, NY)
    instant = datetime(2026, 3, 3, 3, tzinfo=UTC)  # 22:00 New York, 2 March
    opens = datetime(2026, 3, 3, 14, tzinfo=UTC)  # 09:00 New York, 3 March
    expected = SendTime(opens, (Moved("contact_hours", "polite", instant, opens),))
    assert expected == earliest_send(instant, NY, rules, ContactHistory())


def test_the_binding_rule_is_the_one_named() -> None:
    """With a wide store window, Florida's 20:00 close is what moves a 20:30 send."""
    number = PhoneNumber.parse("+13055551234")
    rules = rules_for(number, number.time_zones, base=ContactHours.every_day(7, 23))
    instant = datetime(2026, 3, 3, 1, 30, tzinfo=UTC)  # 20:30 Miami
    result = earliest_send(instant, number.time_zones, rules, ContactHistory())
    opens = datetime(2026, 3, 3, 13, tzinfo=UTC)  # 08:00 Miami
    assert SendTime(opens, (Moved("contact_hours", "US-FL", instant, opens),)) == result


def test_cap_then_hours() -> None:
    """A cap pushes a 19:30 send to 01:00, then the window pushes it to 09:00."""
    rules = rules_for(None, NY)
    sent_at = datetime(2026, 3, 3, 0, tzinfo=UTC)  # 19:00 New York
    instant = sent_at + HOUR / 2
    capped = sent_at + 6 * HOUR  # 01:00 New York
    opens = datetime(2026, 3, 3, 14, tzinfo=UTC)
    expected = SendTime(
        opens,
        (
            Moved("cap", "recovery-cap", instant, capped),
            Moved("contact_hours", "polite", capped, opens),
        ),
    )
    assert expected == earliest_send(instant, NY, rules, sms(sent_at), channel=Channel.SMS)


def test_only_caps_for_the_channel_apply() -> None:
    """An SMS touch does not hold back an e-mail."""
    rules = rules_for(None, NY)
    sent_at = datetime(2026, 3, 2, 15, tzinfo=UTC)
    instant = sent_at + HOUR
    result = earliest_send(instant, NY, rules, sms(sent_at), channel=Channel.EMAIL)
    assert SendTime(instant, ()) == result


def test_no_window_within_the_horizon() -> None:
    """A toll-free number in July has no polite window: no instant, None."""
    number = PhoneNumber.parse("+18005551234")
    rules = rules_for(number, number.time_zones)
    result = earliest_send(
        datetime(2025, 7, 15, tzinfo=UTC), number.time_zones, rules, ContactHistory()
    )
    assert result.at is None


def test_naive_instant_is_refused() -> None:
    """The instant must be aware."""
    rules = rules_for(None, NY)
    try:
        earliest_send(datetime(2026, 3, 2, 12), NY, rules, ContactHistory())
    except NaiveDatetimeError:
        return
    raise AssertionError("a naive instant was accepted")

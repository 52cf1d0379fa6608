"""The engine's behaviour, story by story (DOMAIN.md's sequence, stop rules and replies)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from recoverykit import Channel
from recoverykit.engine.commands import (
    Finish,
    FinishReason,
    HandOff,
    MessageKind,
    RecordConsent,
    ScheduleWakeup,
    SendMessage,
)
from recoverykit.engine.events import (
    CartEmptied,
    CheckoutAbandoned,
    LinkClicked,
    MessageDelivered,
    MessageFailed,
    MessageRead,
    OrderPlaced,
    RecoveryResumed,
    ReplyReceived,
    WakeupDue,
)
from recoverykit.engine.machine import decide, explain
from recoverykit.engine.notes import Deferred, Ignored, IgnoreReason
from recoverykit.engine.policy import Context, RecoveryPolicy
from recoverykit.engine.state import RecoveryState, RecoveryStatus
from recoverykit.policies.caps import ContactHistory, ContactRecord, SendKind
from recoverykit.policies.consent import ConsentAction, ConsentLedger, Purpose
from recoverykit.policies.replies import classify_reply
from recoverykit.policies.sequence import DelayWindow, RecoverySequence, Touch
from recoverykit.testing import EngineDriver
from tests.engine_helpers import T0, checkout, customer, grant

POLICY = RecoveryPolicy(store_name="Sklep Ola")


def started(policy: RecoveryPolicy = POLICY) -> tuple[EngineDriver, str]:
    who = customer()
    driver = EngineDriver(policy, consent=[grant(who, Channel.SMS), grant(who, Channel.EMAIL)])
    driver.feed(CheckoutAbandoned(checkout(who), T0))
    return driver, "chk-1"


def test_start_schedules_touch_one_inside_its_window() -> None:
    """Touch 1 is planned 30–60 minutes after abandonment, on the consented primary channel."""
    driver, cid = started()
    state = driver.states[cid]
    assert RecoveryStatus.ACTIVE == state.status
    assert Channel.SMS == state.channel
    assert state.wakeup_at is not None
    assert timedelta(minutes=30) <= state.wakeup_at - T0 <= timedelta(minutes=60)


def test_no_consent_finishes_without_sending() -> None:
    """With no consented channel the recovery ends at once with no_consent, nothing sent."""
    decision = decide(
        None,
        CheckoutAbandoned(checkout(), T0),
        now=T0,
        policy=POLICY,
        context=Context(),
    )
    assert RecoveryStatus.FINISHED == decision.state.status
    assert [Finish("chk-1", FinishReason.NO_CONSENT)] == [
        c for c in decision.commands if isinstance(c, Finish)
    ]
    assert not [c for c in decision.commands if isinstance(c, SendMessage)]


def test_three_touches_then_stop() -> None:
    """Without replies the sequence sends its three touches and finishes (sequence_done)."""
    driver, cid = started()
    driver.run_until(T0 + timedelta(days=6))
    touches = driver.touches(cid)
    assert [1, 2, 3] == [sent.message.touch for sent in touches]
    assert all("Sklep Ola" in sent.message.text for sent in touches)
    state = driver.states[cid]
    assert FinishReason.SEQUENCE_DONE == state.finish_reason


def test_late_night_abandonment_waits_for_morning() -> None:
    """A 23:40 abandonment in Warsaw gets touch 1 the next morning, with a note saying why."""
    late = datetime(2026, 3, 2, 22, 40, tzinfo=UTC)  # 23:40 in Warsaw
    who = customer()
    driver = EngineDriver(POLICY, consent=[grant(who, Channel.SMS)])
    driver.feed(CheckoutAbandoned(checkout(who, at=late), late))
    driver.run_until(late + timedelta(hours=12))
    first = driver.touches("chk-1")[0]
    assert datetime(2026, 3, 3, 8, 0, tzinfo=UTC) == first.at  # 09:00 local
    notes = [n for n in driver.states["chk-1"].notes if isinstance(n, Deferred)]
    assert notes
    assert "contact hours" in explain(driver.states["chk-1"])[0]


def test_order_between_touches_stops_everything() -> None:
    """An order placed after touch 1 cancels the remaining touches at once."""
    driver, cid = started()
    driver.run_until(T0 + timedelta(hours=2))
    assert 1 == len(driver.touches(cid))
    driver.feed(OrderPlaced(cid, T0 + timedelta(hours=3), customer_id="c1"))
    driver.run_until(T0 + timedelta(days=7))
    assert 1 == len(driver.touches(cid))
    assert FinishReason.ORDERED == driver.states[cid].finish_reason


def test_order_of_another_checkout_stops_this_one() -> None:
    """OrderPlaced for any checkout of the customer ends every open recovery (invariant 4)."""
    who = customer()
    driver = EngineDriver(POLICY, consent=[grant(who, Channel.SMS)])
    driver.feed(CheckoutAbandoned(checkout(who, cid="a"), T0))
    driver.feed(
        CheckoutAbandoned(
            checkout(who, cid="b", at=T0 + timedelta(minutes=5)), T0 + timedelta(minutes=5)
        )
    )
    driver.feed(OrderPlaced("b", T0 + timedelta(minutes=10), customer_id="c1"))
    assert FinishReason.ORDERED == driver.states["a"].finish_reason
    assert FinishReason.ORDERED == driver.states["b"].finish_reason


@pytest.mark.parametrize(("text", "locale"), [("STOP", "en"), ("СТОП", "ru"), ("stop", "pl")])
def test_opt_out_revokes_confirms_once_and_finishes(text: str, locale: str) -> None:
    """STOP: the revocation is recorded, one confirmation goes out, nothing else ever after."""
    driver, cid = started()
    driver.run_until(T0 + timedelta(hours=2))
    at = T0 + timedelta(hours=2, minutes=5)
    decisions = driver.feed(
        ReplyReceived("c1", Channel.SMS, classify_reply(text, locale=locale), at)
    )
    commands = decisions[0].commands
    revocations = [c for c in commands if isinstance(c, RecordConsent)]
    assert 1 == len(revocations)
    assert ConsentAction.REVOKED == revocations[0].event.action
    confirmations = [c for c in commands if isinstance(c, SendMessage)]
    assert ["optout_confirm"] == [c.key for c in confirmations]
    assert MessageKind.REPLY == confirmations[0].kind
    driver.run_until(T0 + timedelta(days=7))
    assert 1 == len(driver.touches(cid))
    assert FinishReason.OPTED_OUT == driver.states[cid].finish_reason


def test_late_stop_after_finish_still_gets_its_confirmation() -> None:
    """A STOP after the recovery ended is still recorded and confirmed, once."""
    driver, cid = started()
    driver.run_until(T0 + timedelta(days=7))
    at = T0 + timedelta(days=8)
    driver.feed(ReplyReceived("c1", Channel.SMS, classify_reply("STOP"), at))
    assert 1 == len(driver.replies(cid))
    assert driver.ledger.opted_out("c1", Channel.SMS, at)


def test_start_after_stop_regrants_on_the_finished_recovery() -> None:
    """SEAMS 8: the STOP finished the recovery; the START routed to it still records a
    recovery grant on that channel and address, and sends nothing."""
    driver, cid = started()
    driver.run_until(T0 + timedelta(hours=2))
    stop_at = T0 + timedelta(hours=3)
    driver.feed(ReplyReceived("c1", Channel.SMS, classify_reply("STOP"), stop_at))
    assert RecoveryStatus.FINISHED == driver.states[cid].status
    start_at = stop_at + timedelta(hours=1)
    decisions = driver.feed(ReplyReceived("c1", Channel.SMS, classify_reply("START"), start_at))
    grants = [c.event for c in decisions[0].commands if isinstance(c, RecordConsent)]
    assert [(ConsentAction.GRANTED, Channel.SMS, "+48601234567")] == [
        (g.action, g.channel, g.address) for g in grants
    ]
    assert not [c for c in decisions[0].commands if isinstance(c, SendMessage)]
    assert driver.ledger.allows("c1", Channel.SMS, Purpose.RECOVERY, start_at)


def test_touch_skipped_for_its_channel_keeps_the_next_touch_delay() -> None:
    """A touch skipped because its fixed channel has no consent does not pull the next
    touch forward: touch 2 still waits for its own 18-24 h delay."""
    window = DelayWindow(timedelta(minutes=30), timedelta(hours=1))
    later = DelayWindow(timedelta(hours=18), timedelta(hours=24))
    sequence = RecoverySequence(
        "email-first",
        (Touch(window, "remind", "remind", Channel.EMAIL), Touch(later, "help", "help")),
    )
    who = customer()
    driver = EngineDriver(
        attrs.evolve(POLICY, sequence=sequence), consent=[grant(who, Channel.SMS)]
    )
    driver.feed(CheckoutAbandoned(checkout(who), T0))
    driver.run_until(T0 + timedelta(days=3))
    [sent] = driver.touches("chk-1")
    assert (2, Channel.SMS) == (sent.message.touch, sent.message.channel)
    assert T0 + timedelta(hours=18) <= sent.at <= T0 + timedelta(hours=24)


def test_double_opt_in_request_waits_for_the_cap_and_the_hours() -> None:
    """SEAMS 1 (revised): the request is capped like a touch. A text from another checkout
    an hour ago holds it 6 h (the default cap), which lands at 20:00 in New York, when
    the hours have closed, so it waits for 09:00 the next morning; the wake-up is set."""
    who = customer(phone="+12125551234", email=None, locale="en")
    policy = attrs.evolve(POLICY, request_double_optin=True)
    at = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)  # 15:00 in New York
    earlier = ContactRecord(at - timedelta(hours=1), Channel.SMS, "other", SendKind.TOUCH)
    context = Context(
        consent=ConsentLedger((grant(who, Channel.SMS),)), history=ContactHistory((earlier,))
    )
    decision = decide(
        None,
        CheckoutAbandoned(checkout(who, currency="USD", at=at), at),
        now=at,
        policy=policy,
        context=context,
    )
    assert not [c for c in decision.commands if isinstance(c, SendMessage)]
    morning = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # 09:00 in New York
    assert morning == decision.state.optin_due
    assert decision.state.wakeup_at is not None
    assert decision.state.wakeup_at <= morning
    assert RecoveryStatus.ACTIVE == decision.state.status
    assert any("recovery-cap" in line for line in explain(decision))


def test_paused_recovery_does_not_wake_for_a_waiting_double_opt_in_request() -> None:
    """A person has the conversation: the request that waited for the morning does not go,
    and (with no hand-off timeout) the recovery sleeps until its retention ends instead of
    waking at every tick."""
    who = customer(phone="+12125551234", email=None, locale="en")
    policy = attrs.evolve(POLICY, request_double_optin=True, handoff_timeout=None)
    driver = EngineDriver(policy, consent=[grant(who, Channel.SMS)])
    driver.feed(CheckoutAbandoned(checkout(who, currency="USD"), T0))  # 05:00 in New York
    assert driver.states["chk-1"].optin_due is not None
    question = T0 + timedelta(minutes=10)
    driver.feed(ReplyReceived("c1", Channel.SMS, classify_reply("HELP"), question))
    state = driver.states["chk-1"]
    assert RecoveryStatus.PAUSED == state.status
    assert T0 + policy.retention == state.wakeup_at
    driver.run_until(T0 + timedelta(days=2))
    assert [] == [s for s in driver.sent if s.message.key == "double_optin"]
    assert T0 + policy.retention == driver.states["chk-1"].wakeup_at


def test_duplicate_and_finished_events_are_ignored() -> None:
    """A replayed webhook and an event for a finished recovery are Ignored notes, not errors.

    The runtime drops a replay at the store (its id was seen); ``decide`` itself also
    ignores an event it already applied, for callers without a store.
    """
    driver, cid = started()
    event = LinkClicked(cid, T0 + timedelta(minutes=3))
    driver.feed(event)
    assert [] == driver.feed(event)
    state = driver.states[cid]
    again = decide(state, event, now=event.at, policy=POLICY, context=driver.context("c1"))
    assert [Ignored(IgnoreReason.DUPLICATE, "LinkClicked", "already applied")] == list(again.notes)
    driver.feed(CartEmptied(cid, T0 + timedelta(minutes=4)))
    after = driver.feed(LinkClicked(cid, T0 + timedelta(minutes=5), id="other"))[0]
    assert IgnoreReason.FINISHED == after.notes[0].reason  # type: ignore[union-attr]


def test_help_hands_off_and_pauses_until_resumed() -> None:
    """HELP gets the help reply and a hand-off; touches pause until a person resumes."""
    driver, cid = started()
    driver.run_until(T0 + timedelta(hours=2))
    decision = driver.feed(
        ReplyReceived("c1", Channel.SMS, classify_reply("HELP"), T0 + timedelta(hours=2))
    )[0]
    assert any(isinstance(c, HandOff) for c in decision.commands)
    assert ["help_reply"] == [c.key for c in decision.commands if isinstance(c, SendMessage)]
    assert RecoveryStatus.PAUSED == driver.states[cid].status
    driver.run_until(T0 + timedelta(hours=20))  # the 24 h hand-off timeout has not passed
    assert 1 == len(driver.touches(cid))
    driver.feed(RecoveryResumed(cid, T0 + timedelta(hours=20)))
    driver.run_until(T0 + timedelta(days=6))
    assert 3 == len(driver.touches(cid))


def test_already_bought_thanks_and_finishes() -> None:
    """'Already bought' is thanked once and ends the recovery as refused."""
    driver, cid = started()
    driver.run_until(T0 + timedelta(hours=2))
    driver.feed(
        ReplyReceived(
            "c1",
            Channel.SMS,
            classify_reply("already bought it", locale="en"),
            T0 + timedelta(hours=2),
        )
    )
    assert ["thanks"] == [s.message.key for s in driver.replies(cid)]
    assert FinishReason.REFUSED == driver.states[cid].finish_reason


def test_whatsapp_menu_choice_gets_matching_help() -> None:
    """The shipping-cost surprise answered with '1' on WhatsApp gets the shipping answer."""
    who = customer()
    policy = attrs.evolve(POLICY, channels=(Channel.WHATSAPP, Channel.SMS))
    driver = EngineDriver(policy, consent=[grant(who, Channel.WHATSAPP)])
    driver.feed(CheckoutAbandoned(checkout(who), T0))
    driver.run_until(T0 + timedelta(hours=2))
    first = driver.touches("chk-1")[0].message
    assert Channel.WHATSAPP == first.channel
    assert first.whatsapp_payload is not None  # outside the window: an approved template
    driver.feed(ReplyReceived("c1", Channel.WHATSAPP, classify_reply("1"), T0 + timedelta(hours=2)))
    assert ["menu.shipping"] == [s.message.key for s in driver.replies("chk-1")]


def test_us_number_never_gets_whatsapp() -> None:
    """WhatsApp cart templates are paused for US numbers (WA-10): SMS is chosen instead."""
    who = customer(phone="+12125551234", locale="en")
    policy = attrs.evolve(POLICY, channels=(Channel.WHATSAPP, Channel.SMS))
    # US cart-reminder texts need a grant confirmed by double opt-in (CP-2).
    confirmed = attrs.evolve(grant(who, Channel.SMS), action=ConsentAction.CONFIRMED)
    driver = EngineDriver(policy, consent=[grant(who, Channel.WHATSAPP), confirmed])
    driver.feed(CheckoutAbandoned(checkout(who, currency="USD"), T0))
    assert Channel.SMS == driver.states["chk-1"].channel


def test_permanent_failure_falls_back_to_next_channel() -> None:
    """A permanent SMS failure moves the recovery to e-mail; never both at once."""
    driver, cid = started()
    driver.run_until(T0 + timedelta(hours=2))
    sent_at = driver.touches(cid)[0].at
    driver.feed(MessageFailed(cid, 1, Channel.SMS, sent_at + timedelta(seconds=5), permanent=True))
    driver.run_until(sent_at + timedelta(minutes=1))
    channels = [s.message.channel for s in driver.touches(cid)]
    assert [Channel.SMS, Channel.EMAIL] == channels
    assert Channel.EMAIL == driver.states[cid].channel
    keys = [s.message.idempotency_key for s in driver.touches(cid)]
    assert len(keys) == len(set(keys))


def test_transient_failure_retries_with_backoff() -> None:
    """A transient failure is retried after the policy's backoff, with a new attempt key."""
    driver, cid = started()
    driver.run_until(T0 + timedelta(hours=2))
    sent_at = driver.touches(cid)[0].at
    driver.feed(MessageFailed(cid, 1, Channel.SMS, sent_at + timedelta(seconds=5)))
    driver.run_until(sent_at + timedelta(hours=1))
    keys = [s.message.idempotency_key for s in driver.touches(cid)]
    assert ["chk-1:touch1:0", "chk-1:touch1:1"] == keys


def test_help_first_skips_sms_when_email_was_opened() -> None:
    """help-first sends the 4 h SMS only if the first e-mail was not opened."""
    from recoverykit import presets

    policy = attrs.evolve(POLICY, sequence=presets.get("help-first"))
    who = customer()
    driver = EngineDriver(policy, consent=[grant(who, Channel.SMS), grant(who, Channel.EMAIL)])
    driver.feed(CheckoutAbandoned(checkout(who), T0))
    driver.run_until(T0 + timedelta(hours=2))
    driver.feed(MessageRead("chk-1", 1, Channel.EMAIL, T0 + timedelta(hours=2)))
    driver.run_until(T0 + timedelta(days=5))
    assert [Channel.EMAIL, Channel.EMAIL, Channel.EMAIL] == [
        s.message.channel for s in driver.touches("chk-1")
    ]


def test_holdout_is_tracked_but_never_messaged() -> None:
    """A holdout checkout gets no message at all but still records its order."""
    policy = attrs.evolve(POLICY, holdout=1.0)
    driver, cid = started(policy)
    assert RecoveryStatus.HOLDOUT == driver.states[cid].status
    driver.run_until(T0 + timedelta(days=3))
    driver.feed(OrderPlaced(cid, T0 + timedelta(days=3), customer_id="c1"))
    assert [] == driver.sent
    assert FinishReason.ORDERED == driver.states[cid].finish_reason


def test_retention_expiry_drops_personal_data() -> None:
    """After retention the recovery finishes as expired and forgets the checkout's details
    and the conversation."""
    policy = attrs.evolve(POLICY, retention=timedelta(days=5), handoff_timeout=None)
    driver, cid = started(policy)
    driver.feed(
        ReplyReceived(
            "c1",
            Channel.SMS,
            classify_reply("Is delivery free?", locale="en"),
            T0 + timedelta(hours=1),
        )
    )
    driver.run_until(T0 + timedelta(days=6))
    state = driver.states[cid]
    assert FinishReason.EXPIRED == state.finish_reason
    assert state.checkout is None
    assert () == state.conversation


def test_delivery_receipts_update_and_duplicates_are_ignored() -> None:
    """Delivered and read receipts mark the touch; a repeated receipt is ignored."""
    driver, cid = started()
    driver.run_until(T0 + timedelta(hours=2))
    at = T0 + timedelta(hours=2)
    driver.feed(MessageDelivered(cid, 1, Channel.SMS, at))
    repeat = driver.feed(MessageDelivered(cid, 1, Channel.SMS, at, id="again"))[0]
    assert IgnoreReason.DUPLICATE == repeat.notes[0].reason  # type: ignore[union-attr]
    assert driver.states[cid].sent[0].delivered


def test_state_round_trips_through_dict() -> None:
    """A state with sends, notes and a channel survives to_dict/from_dict unchanged (inv. 7)."""
    driver, cid = started()
    driver.run_until(T0 + timedelta(days=2))
    state = driver.states[cid]
    assert state == RecoveryState.from_dict(state.to_dict())


def test_wakeups_are_never_in_the_past() -> None:
    """Every ScheduleWakeup is at or after the decision's now."""
    driver, _ = started()
    driver.run_until(T0 + timedelta(days=7))
    for at, _event, decision in driver.decisions:
        for command in decision.commands:
            if isinstance(command, ScheduleWakeup):
                assert command.at >= at


def test_naive_now_is_refused() -> None:
    """decide refuses a naive 'now' rather than guessing a zone."""
    from recoverykit.errors import NaiveDatetimeError

    with pytest.raises(NaiveDatetimeError):
        decide(
            None,
            WakeupDue("x", T0),
            now=datetime(2026, 1, 1),
            policy=POLICY,
            context=Context(),
        )


def test_unexpected_first_event_is_ignored() -> None:
    """An event for a recovery that never started is an Ignored note, not a crash."""
    decision = decide(None, WakeupDue("ghost", T0), now=T0, policy=POLICY, context=Context())
    assert RecoveryStatus.NEW == decision.state.status
    assert IgnoreReason.UNKNOWN == decision.notes[0].reason  # type: ignore[union-attr]


def test_now_is_utc_aware_in_sends() -> None:
    """Sends carry the recipient's address and the brand in the first line."""
    driver, cid = started()
    driver.run_until(T0 + timedelta(hours=2))
    message = driver.touches(cid)[0].message
    assert "+48601234567" == message.to
    assert "Sklep Ola" in message.text.splitlines()[0]
    assert message.segments is not None
    assert message.segments.segments <= 2
    assert UTC is not None


def test_fast_evolve_matches_attrs_evolve() -> None:
    """The engine's copy of a state equals what attrs.evolve builds (no validators skipped)."""
    from recoverykit.engine.machine import _evolve

    driver, cid = started()
    state = driver.states[cid]
    changes: dict[str, object] = {"next_touch": 2, "attempt": 1, "clicked": True}
    assert attrs.evolve(state, next_touch=2, attempt=1, clicked=True) == _evolve(state, changes)
    assert [] == [f.name for f in attrs.fields(RecoveryState) if f.validator or f.converter]


def test_russian_mobile_waits_for_a_window_open_in_every_zone() -> None:
    """A +7 9xx mobile may be anywhere from Kaliningrad to Kamchatka: a touch goes out only
    when 09–20 holds in all of them, and the note names the zone it was judged in."""
    from recoverykit.jurisdictions import rules_for

    who = customer(phone="+79161234567", locale="ru")
    driver = EngineDriver(POLICY, consent=[grant(who, Channel.SMS)])
    driver.feed(CheckoutAbandoned(checkout(who, currency="RUB", amount="2500"), T0))
    driver.run_until(T0 + timedelta(days=6))
    state = driver.states["chk-1"]
    assert len(state.zones) > 10
    rules = rules_for(who.phone_number, state.zones, None, base=POLICY.contact_hours)
    touches = driver.touches("chk-1")
    assert touches
    for sent in touches:
        assert rules.hours.allows(sent.at, state.zones)
        assert 7 == sent.at.hour  # 09:00 in Kaliningrad (UTC+2) to 20:00 in Anadyr (UTC+12)

"""Carrier and platform programs, told as the five stories of issue 9."""

from __future__ import annotations

from datetime import timedelta

import attrs

from recoverykit import Channel, presets
from recoverykit.engine.commands import FinishReason, MessageKind
from recoverykit.engine.events import CheckoutAbandoned, MessageFailed, ReplyReceived
from recoverykit.engine.machine import explain
from recoverykit.engine.notes import DeferReason, Deferred, Info, Skipped
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.policies.replies import classify_reply
from recoverykit.testing import EngineDriver
from recoverykit.values.model import Customer
from tests.engine_helpers import T0, checkout, customer, grant

NEW_YORK = "+12125551234"
TORONTO = "+14165551234"
SMS_POLICY = RecoveryPolicy(store_name="Sklep Ola", sequence=presets.get("sms-three-touch"))


def confirmed(who: Customer, channel: Channel = Channel.SMS) -> ConsentEvent:
    return attrs.evolve(grant(who, channel), action=ConsentAction.CONFIRMED)


def run(policy: RecoveryPolicy, who: Customer, consent: list[ConsentEvent]) -> EngineDriver:
    driver = EngineDriver(policy, consent=consent)
    driver.feed(CheckoutAbandoned(checkout(who, currency="USD"), T0))
    driver.run_until(T0 + timedelta(days=40))
    return driver


def test_us_customer_with_sms_and_email_gets_one_text_then_emails() -> None:
    """CP-1: one text per abandonment, within 48 h; later touches move to e-mail."""
    who = customer(phone=NEW_YORK, locale="en")
    driver = run(SMS_POLICY, who, [confirmed(who), grant(who, Channel.EMAIL)])
    channels = [(s.message.touch, s.message.channel) for s in driver.touches()]
    assert [(1, Channel.SMS), (2, Channel.EMAIL), (3, Channel.EMAIL)] == channels
    assert driver.touches()[0].at <= T0 + timedelta(hours=48)
    lines = explain(driver.states["chk-1"])
    assert any("touch 2 moves from sms to email: CP-1" in line for line in lines)
    assert FinishReason.SEQUENCE_DONE == driver.states["chk-1"].finish_reason


def test_us_customer_with_sms_only_gets_one_text_and_finishes() -> None:
    """With no other channel, the recovery ends with ``program_limit`` after the one text."""
    who = customer(phone=NEW_YORK, email=None, locale="en")
    driver = run(SMS_POLICY, who, [confirmed(who)])
    assert [1] == [s.message.touch for s in driver.touches()]
    state = driver.states["chk-1"]
    assert FinishReason.PROGRAM_LIMIT == state.finish_reason
    skipped = [n for n in state.notes if isinstance(n, Skipped)]
    assert [(2, "program")] == [(n.touch, n.reason) for n in skipped]
    assert skipped[0].detail.startswith("CP-1")


def test_unconfirmed_us_opt_in_gets_nothing_and_the_note_names_cp2() -> None:
    """CP-2: a grant without its double opt-in, or a marketing grant, sends no text."""
    who = customer(phone=NEW_YORK, email=None, locale="en")
    marketing = grant(who, Channel.SMS, purpose=Purpose.MARKETING)
    for consent in ([grant(who, Channel.SMS)], [marketing]):
        driver = run(SMS_POLICY, who, consent)
        state = driver.states["chk-1"]
        assert [] == driver.sent
        assert FinishReason.NO_CONSENT == state.finish_reason
        skipped = [n for n in state.notes if isinstance(n, Skipped)]
        assert ["program"] == [n.reason for n in skipped]
        assert "CP-2" in skipped[0].detail


def test_double_opt_in_request_and_yes_confirm_then_the_text_goes() -> None:
    """With ``request_double_optin`` the request goes at the first allowed hour (it is no
    reply: 05:00 in New York waits for 09:00); "YES" records ``confirmed`` and the touch
    that waited for it goes out by text once hours and caps allow."""
    who = customer(phone=NEW_YORK, email=None, locale="en")
    policy = attrs.evolve(SMS_POLICY, request_double_optin=True)
    driver = EngineDriver(policy, consent=[grant(who, Channel.SMS)])
    driver.feed(CheckoutAbandoned(checkout(who, currency="USD"), T0))  # 05:00 in New York
    assert [] == driver.sent
    driver.run_until(T0 + timedelta(hours=5))
    [request] = driver.sent
    assert ("double_optin", MessageKind.REQUEST, None) == (
        request.message.key,
        request.message.kind,
        request.message.touch,
    )
    assert T0 + timedelta(hours=4) == request.at  # 09:00 in New York
    answered = request.at + timedelta(minutes=5)
    yes = ReplyReceived("c1", Channel.SMS, classify_reply("YES", region="US"), answered)
    driver.feed(yes)
    confirmations = [e for e in driver.ledger.events if e.action is ConsentAction.CONFIRMED]
    assert [("double_optin_reply", "YES")] == [(e.source, e.text) for e in confirmations]
    driver.run_until(T0 + timedelta(days=40))
    # The request counts against the caps like a touch: one personal touch per 6 h
    # holds the touch until 15:00 in New York.
    touches = [(s.message.touch, s.message.channel, s.at) for s in driver.touches()]
    assert [(1, Channel.SMS, request.at + timedelta(hours=6))] == touches


def test_canadian_number_keeps_the_whole_sequence_unless_the_store_says_us() -> None:
    """A +1 number from Canada is not a US number; ``programs_treat_as_us`` makes it one."""
    who = customer(phone=TORONTO, email=None, locale="en")
    driver = run(SMS_POLICY, who, [grant(who, Channel.SMS)])
    assert [1, 2, 3] == [s.message.touch for s in driver.touches()]
    strict = attrs.evolve(SMS_POLICY, programs_treat_as_us=True)
    driver = run(strict, who, [confirmed(who)])
    assert [1] == [s.message.touch for s in driver.touches()]
    assert FinishReason.PROGRAM_LIMIT == driver.states["chk-1"].finish_reason


def test_whatsapp_platform_limit_then_fallback() -> None:
    """131049 (CP-7) never marks the number failed: the touch waits 24 h, or moves on."""
    who = customer(phone="+48601234567", locale="pl")
    policy = RecoveryPolicy(store_name="Sklep Ola", channels=(Channel.WHATSAPP, Channel.EMAIL))
    # WhatsApp only: the touch waits at least a day on WhatsApp.
    alone = EngineDriver(policy, consent=[grant(who, Channel.WHATSAPP)])
    alone.feed(CheckoutAbandoned(checkout(who), T0))
    alone.run_until(T0 + timedelta(hours=2))
    first = alone.touches()[0]
    failed_at = first.at + timedelta(minutes=1)
    alone.feed(MessageFailed("chk-1", 1, Channel.WHATSAPP, failed_at, code="131049"))
    state = alone.states["chk-1"]
    deferred = [n for n in state.notes if isinstance(n, Deferred)]
    assert (DeferReason.PLATFORM_LIMIT, "CP-7") == (deferred[-1].reason, deferred[-1].rule)
    assert deferred[-1].to - deferred[-1].from_ >= timedelta(hours=24)
    assert frozenset() == state.failed_channels
    # WhatsApp and e-mail: the touch moves to e-mail at once.
    both = EngineDriver(policy, consent=[grant(who, Channel.WHATSAPP), grant(who, Channel.EMAIL)])
    both.feed(CheckoutAbandoned(checkout(who), T0))
    both.run_until(T0 + timedelta(hours=2))
    both.feed(MessageFailed("chk-1", 1, Channel.WHATSAPP, failed_at, code="131049"))
    both.run_until(failed_at + timedelta(hours=1))
    touches = [(s.message.touch, s.message.channel) for s in both.touches()]
    assert [(1, Channel.WHATSAPP), (1, Channel.EMAIL)] == touches
    infos = [n.detail for n in both.states["chk-1"].notes if isinstance(n, Info)]
    assert any("CP-7" in detail for detail in infos)


def test_stop_promotions_button_revokes_whatsapp() -> None:
    """CP-6: the "Stop promotions" quick reply is an opt-out of the WhatsApp channel."""
    who = customer(phone="+48601234567", locale="pl")
    policy = RecoveryPolicy(store_name="Sklep Ola", channels=(Channel.WHATSAPP,))
    driver = EngineDriver(policy, consent=[grant(who, Channel.WHATSAPP)])
    driver.feed(CheckoutAbandoned(checkout(who), T0))
    driver.run_until(T0 + timedelta(hours=2))
    tap = classify_reply("Zatrzymaj promocje", locale="pl", channel=Channel.WHATSAPP)
    driver.feed(ReplyReceived("c1", Channel.WHATSAPP, tap, T0 + timedelta(hours=3)))
    assert driver.ledger.opted_out("c1", Channel.WHATSAPP, T0 + timedelta(hours=4))
    assert FinishReason.OPTED_OUT == driver.states["chk-1"].finish_reason

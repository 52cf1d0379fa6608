"""Hand-offs: what pauses a recovery, what the person receives, and how it resumes."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from recoverykit import Channel
from recoverykit.engine.commands import Finish, HandOff, HandOffReason, SendMessage
from recoverykit.engine.conversation import (
    CONVERSATION_LIMIT,
    LINE_CHARS,
    ConversationLine,
    Direction,
    remember,
)
from recoverykit.engine.events import CheckoutAbandoned, RecoveryResumed, ReplyReceived
from recoverykit.engine.machine import Decision
from recoverykit.engine.notes import Info
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.engine.state import RecoveryState, RecoveryStatus
from recoverykit.errors import InvalidPolicy
from recoverykit.policies.keywords import Intent
from recoverykit.policies.replies import classify_reply
from recoverykit.testing import EngineDriver
from tests.engine_helpers import T0, checkout, customer, grant

POLICY = RecoveryPolicy(store_name="Sklep Ola")
HOUR = timedelta(hours=1)


def started(policy: RecoveryPolicy = POLICY) -> EngineDriver:
    who = customer()
    driver = EngineDriver(policy, consent=[grant(who, Channel.SMS), grant(who, Channel.EMAIL)])
    driver.feed(CheckoutAbandoned(checkout(who), T0))
    driver.run_until(T0 + 2 * HOUR)  # touch 1 is out
    return driver


def say(driver: EngineDriver, text: str, at: timedelta, locale: str = "pl") -> Decision:
    reply = classify_reply(text, locale=locale)
    return driver.feed(ReplyReceived("c1", Channel.SMS, reply, T0 + at))[0]


def handoffs(decision: Decision) -> list[HandOff]:
    return [command for command in decision.commands if isinstance(command, HandOff)]


def test_an_unknown_reply_pauses_and_the_hand_off_is_self_sufficient() -> None:
    """Words the classifier does not know pause the recovery; the hand-off carries the
    text, the reason, the intent, the address, the cart and the conversation."""
    driver = started()
    decision = say(driver, "zielony, rozmiar M", 3 * HOUR)
    (handoff,) = handoffs(decision)
    assert RecoveryStatus.PAUSED == driver.states["chk-1"].status
    assert (HandOffReason.UNKNOWN, Intent.UNKNOWN, True) == (
        handoff.reason, handoff.intent, handoff.paused,
    )  # fmt: skip
    assert "+48601234567" == handoff.to
    assert T0 + 3 * HOUR == handoff.at
    assert handoff.checkout is not None
    assert handoff.items == handoff.checkout.items
    assert (handoff.total, handoff.link) == (handoff.checkout.total, handoff.checkout.link)
    lines = handoff.conversation
    assert [(Direction.OUT, "remind", 1), (Direction.IN, None, None)] == [
        (line.direction, line.key, line.touch) for line in lines
    ]
    assert "zielony, rozmiar M" == lines[-1].text
    assert driver.touches("chk-1")[0].message.text == lines[0].text
    summary = handoff.summary()
    assert "unknown: 'zielony, rozmiar M' on sms" in summary
    assert handoff.checkout.link in summary


def test_a_menu_digit_pauses_after_its_help() -> None:
    """A menu answer pauses after its canned help (``menu.<label>``; the built-in packs
    write it for WhatsApp, so on SMS a note says none went); a digit off the menu only
    pauses."""
    driver = started()
    decision = say(driver, "2", 3 * HOUR)
    assert [] == [c for c in decision.commands if isinstance(c, SendMessage)]
    assert any("no menu.payment sent" in n.detail for n in decision.notes if isinstance(n, Info))
    assert [HandOffReason.MENU] == [h.reason for h in handoffs(decision)]
    assert RecoveryStatus.PAUSED == driver.states["chk-1"].status
    other = started()
    decision = say(other, "7", 3 * HOUR)
    assert [] == [c for c in decision.commands if isinstance(c, SendMessage)]
    assert [HandOffReason.MENU] == [h.reason for h in handoffs(decision)]
    assert RecoveryStatus.PAUSED == other.states["chk-1"].status


def test_while_paused_every_reply_goes_to_the_person_and_nothing_is_answered() -> None:
    """A "yes" or a menu digit while a person has the conversation is theirs to answer;
    the timeout counts again from the customer's latest reply."""
    driver = started()
    say(driver, "Czy wysyłacie do Czech?", 3 * HOUR)
    for text in ("tak", "1", "00-950"):
        decision = say(driver, text, 4 * HOUR)
        assert [] == [c for c in decision.commands if isinstance(c, SendMessage)]
        assert [HandOffReason.FOLLOW_UP] == [h.reason for h in handoffs(decision)]
    state = driver.states["chk-1"]
    assert T0 + 4 * HOUR == state.paused_at
    assert T0 + 28 * HOUR == state.wakeup_at
    assert CONVERSATION_LIMIT == len(state.conversation)


def test_help_while_paused_still_gets_the_help_text() -> None:
    """Carriers require an answer to HELP every time: it goes out, and the person hears."""
    driver = started()
    say(driver, "Czy wysyłacie do Czech?", 3 * HOUR)
    decision = say(driver, "HELP", 4 * HOUR)
    assert ["help_reply"] == [c.key for c in decision.commands if isinstance(c, SendMessage)]
    assert [HandOffReason.FOLLOW_UP] == [h.reason for h in handoffs(decision)]
    assert RecoveryStatus.PAUSED == driver.states["chk-1"].status


def test_a_refusal_while_paused_thanks_finishes_and_tells_the_person() -> None:
    """ "Already bought it" ends a paused recovery as refused, with thanks."""
    driver = started()
    say(driver, "Czy wysyłacie do Czech?", 3 * HOUR)
    decision = say(driver, "już kupiłam gdzie indziej", 4 * HOUR)
    assert ["thanks"] == [c.key for c in decision.commands if isinstance(c, SendMessage)]
    assert [HandOffReason.FOLLOW_UP] == [h.reason for h in handoffs(decision)]
    assert any(isinstance(c, Finish) for c in decision.commands)


def test_a_plain_word_stop_opts_out_and_asks_a_person_to_read_it() -> None:
    """ "Больше не беспокойте" opts out now (confirmation, finish) and is handed off for
    review, without pausing anything (the recovery is over)."""
    driver = started()
    decision = say(driver, "Больше не беспокойте", 3 * HOUR, locale="ru")
    assert ["optout_confirm"] == [c.key for c in decision.commands if isinstance(c, SendMessage)]
    (handoff,) = handoffs(decision)
    assert (HandOffReason.NEEDS_REVIEW, False) == (handoff.reason, handoff.paused)
    assert RecoveryStatus.FINISHED == driver.states["chk-1"].status


def test_a_holdout_reply_is_handed_off_without_pausing() -> None:
    """A holdout customer's question reaches a person; the holdout stays a holdout."""
    who = customer()
    driver = EngineDriver(attrs.evolve(POLICY, holdout=1.0), consent=[grant(who, Channel.SMS)])
    driver.feed(CheckoutAbandoned(checkout(who), T0))
    decision = say(driver, "Gdzie jest mój koszyk?", HOUR)
    assert [(HandOffReason.QUESTION, False)] == [(h.reason, h.paused) for h in handoffs(decision)]
    assert RecoveryStatus.HOLDOUT == driver.states["chk-1"].status


def test_the_timeout_resumes_with_a_note_and_the_next_touch_keeps_its_spacing() -> None:
    """After ``handoff_timeout`` without ``RecoveryResumed`` the plan resumes, saying so;
    the next touch comes one gap after the resume, not at once."""
    driver = started(attrs.evolve(POLICY, handoff_timeout=timedelta(hours=6)))
    say(driver, "zielony, rozmiar M", 3 * HOUR)
    assert T0 + 9 * HOUR == driver.states["chk-1"].wakeup_at
    driver.run_until(T0 + 9 * HOUR)
    state = driver.states["chk-1"]
    assert RecoveryStatus.ACTIVE == state.status
    assert state.paused_at is None
    notes = [n for n in state.notes if isinstance(n, Info) and n.what == "resumed"]
    assert "resumed after 6 h without an answer from the store" in notes[0].detail
    assert state.checkout is not None
    scale = POLICY.timing.factor(state.checkout.total) if POLICY.timing else 1.0
    first, second = (POLICY.sequence.planned_at(i, T0, "chk-1", scale) for i in (0, 1))
    assert T0 + 9 * HOUR + (second - first) == state.wakeup_at
    assert 1 == len(driver.touches("chk-1"))


def test_without_a_timeout_only_the_store_resumes() -> None:
    """``handoff_timeout=None`` waits for ``RecoveryResumed`` until the retention ends."""
    policy = attrs.evolve(POLICY, handoff_timeout=None)
    driver = started(policy)
    say(driver, "zielony, rozmiar M", 3 * HOUR)
    driver.run_until(T0 + timedelta(days=3))
    assert RecoveryStatus.PAUSED == driver.states["chk-1"].status
    assert T0 + policy.retention == driver.states["chk-1"].wakeup_at
    driver.feed(RecoveryResumed("chk-1", T0 + timedelta(days=3)))
    driver.run_until(T0 + timedelta(days=7))
    assert [1, 2, 3] == [s.message.touch for s in driver.touches("chk-1")]


def test_a_resume_of_an_active_recovery_is_ignored() -> None:
    """``RecoveryResumed`` means nothing to a recovery that is not paused."""
    driver = started()
    decision = driver.feed(RecoveryResumed("chk-1", T0 + 3 * HOUR))[0]
    assert () == decision.commands
    assert RecoveryStatus.ACTIVE == decision.state.status


def test_handoff_timeout_must_be_positive() -> None:
    """A zero or negative timeout is refused, naming the field."""
    with pytest.raises(InvalidPolicy, match="handoff_timeout"):
        RecoveryPolicy(store_name="Shop", handoff_timeout=timedelta(0))


def test_hand_off_is_still_built_the_old_way() -> None:
    """The five positional fields still build a ``HandOff``; the reason is a closed list."""
    handoff = HandOff("chk-1", "c1", Channel.SMS, "Is it in stock?", "question")
    assert HandOffReason.QUESTION is handoff.reason
    assert (None, (), ()) == (handoff.checkout, handoff.conversation, handoff.items)
    with pytest.raises(ValueError, match="'because'"):
        HandOff("chk-1", "c1", Channel.SMS, "?", "because")


def test_the_conversation_is_bounded_and_survives_a_round_trip() -> None:
    """Only the newest lines are kept, each cut to ``LINE_CHARS``; a state with them comes
    back equal from ``to_dict``, and a state stored before they existed still loads."""
    lines: tuple[ConversationLine, ...] = ()
    for minute in range(CONVERSATION_LIMIT + 3):
        line = ConversationLine(T0 + timedelta(minutes=minute), Channel.SMS, Direction.IN, "x")
        lines = remember(lines, line)
    assert CONVERSATION_LIMIT == len(lines)
    assert T0 + timedelta(minutes=CONVERSATION_LIMIT + 2) == lines[-1].at
    long = remember((), ConversationLine(T0, Channel.EMAIL, Direction.OUT, "a" * 5000, "help"))
    assert LINE_CHARS == len(long[0].text)
    state = RecoveryState("chk-1", "c1", conversation=long + lines, paused_at=T0)
    assert state == RecoveryState.from_dict(state.to_dict())
    old = state.to_dict()
    del old["conversation"], old["paused_at"]
    assert () == RecoveryState.from_dict(old).conversation

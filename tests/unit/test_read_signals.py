"""A touch that waits for "not read" goes only after a channel whose reads would arrive."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from recoverykit import Channel
from recoverykit.engine.events import CheckoutAbandoned, MessageRead
from recoverykit.engine.notes import Skipped
from recoverykit.engine.policy import DEFAULT_READ_SIGNALS, RecoveryPolicy
from recoverykit.policies.sequence import Condition, DelayWindow, RecoverySequence, Touch
from recoverykit.testing import EngineDriver
from recoverykit.values.model import READ_SIGNALS, ReadSignal
from tests.engine_helpers import T0, checkout, customer, grant

H = timedelta(hours=1)


def chat_then_text(first: Channel) -> RecoverySequence:
    """A chat at 1 h, then a text 7 h later only if the chat was not read."""
    return RecoverySequence(
        "chat-then-text",
        (
            Touch(DelayWindow(H, H), "remind", "remind", first),
            Touch(DelayWindow(8 * H, 8 * H), "remind", "nudge", Channel.SMS,
                  condition=Condition.PREVIOUS_UNREAD),
        ),
    )  # fmt: skip


def play(first: Channel, *, read: bool) -> EngineDriver:
    who = attrs.evolve(
        customer(timezone="Europe/Warsaw"), telegram_chat_id="4242", viber_id="vb-01234567"
    )
    policy = RecoveryPolicy(store_name="Sklep Ola", sequence=chat_then_text(first))
    driver = EngineDriver(policy, consent=[grant(who, first), grant(who, Channel.SMS)])
    driver.feed(CheckoutAbandoned(checkout(who), T0))
    driver.run_until(T0 + 2 * H)
    if read:
        driver.feed(MessageRead("chk-1", 1, first, T0 + 3 * H))
    driver.run_until(T0 + timedelta(days=2))
    return driver


def test_the_channel_kinds_say_what_they_can_report() -> None:
    """Texts and Telegram bots never learn of a read; WhatsApp and Viber report one;
    e-mail opens only where tracked. The default policy trusts the reporting ones."""
    assert {c for c, s in READ_SIGNALS.items() if s is ReadSignal.NONE} == {
        Channel.SMS,
        Channel.TELEGRAM,
    }
    assert Channel.EMAIL.read_signal is ReadSignal.TRACKED
    assert frozenset({Channel.WHATSAPP, Channel.VIBER}) == DEFAULT_READ_SIGNALS


@pytest.mark.parametrize("first", [Channel.WHATSAPP, Channel.VIBER])
def test_after_a_reporting_channel_an_unread_message_gets_its_text(first: Channel) -> None:
    driver = play(first, read=False)
    assert [(1, first), (2, Channel.SMS)] == [
        (s.message.touch, s.message.channel) for s in driver.touches()
    ]


def test_after_a_reporting_channel_a_read_message_gets_no_text() -> None:
    driver = play(Channel.WHATSAPP, read=True)
    assert [1] == [s.message.touch for s in driver.touches()]
    [skipped] = [n for n in driver.states["chk-1"].notes if isinstance(n, Skipped)]
    assert "touch 1 was read" == skipped.detail


def test_after_a_channel_that_never_reports_reads_the_text_is_skipped() -> None:
    """Telegram never says a message was read: silence says nothing, so no second channel."""
    driver = play(Channel.TELEGRAM, read=False)
    assert [(1, Channel.TELEGRAM)] == [
        (s.message.touch, s.message.channel) for s in driver.touches()
    ]
    [skipped] = [n for n in driver.states["chk-1"].notes if isinstance(n, Skipped)]
    assert (2, "condition") == (skipped.touch, skipped.reason)
    assert "telegram cannot tell whether touch 1 was read" in skipped.detail

"""Whom a provider's fault concerns, and how long it asks to be left alone (issue 23).

Each adapter is driven through a loopback server with the error bodies the providers
publish for these faults; the scope (message, recipient, channel) and the pause
(``retry_after``) must reach the ``ChannelError`` the runner acts on.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from recoverykit.channels.errors import WHATSAPP_ERRORS, retry_after_header, whatsapp_error
from recoverykit.channels.telegram import TelegramBot
from recoverykit.channels.twilio import TwilioSMS
from recoverykit.channels.whatsapp import WhatsAppCloud
from recoverykit.engine.commands import MessageKind, SendMessage
from recoverykit.engine.events import MessageFailed
from recoverykit.errors import ChannelError, FaultScope, InvalidInputError
from recoverykit.testing.channel_contract import LoopbackServer, Reply
from recoverykit.values.model import Channel

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SID = "AC" + "0" * 32
TG_TOKEN = "123456:" + "A" * 35


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


def message(channel: Channel, to: str) -> SendMessage:
    return SendMessage(
        idempotency_key="chk-1:touch1:0",
        checkout_id="chk-1",
        customer_id="c1",
        channel=channel,
        to=to,
        kind=MessageKind.TOUCH,
        key="remind",
        text="Northwind: your cart is waiting. Reply STOP to opt out.",
        locale="en",
        touch=1,
    )


def twilio_fails(server: LoopbackServer, reply: Reply) -> ChannelError:
    server.answer(reply)
    with (
        TwilioSMS(SID, "secret", from_number="+15005550006", base_url=server.url) as sms,
        pytest.raises(ChannelError) as failed,
    ):
        sms.send(message(Channel.SMS, "+48601234567"))
    return failed.value


def whatsapp_fails(server: LoopbackServer, reply: Reply) -> ChannelError:
    server.answer(reply)
    with (
        WhatsAppCloud("EAAG-token", "106540352242922", base_url=server.url) as wa,
        pytest.raises(ChannelError) as failed,
    ):
        wa.send(message(Channel.WHATSAPP, "+48601234567"))
    return failed.value


def meta_error(status: int, code: int, text: str, **extra: object) -> Reply:
    """A Graph API error body as Meta publishes it."""
    error: dict[str, object] = {
        "message": text,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AqW3v8pL1mXz",
        **extra,
    }
    return Reply(status, {"error": error})


def test_expired_twilio_credentials_are_a_channel_fault(server: LoopbackServer) -> None:
    """Twilio 20003 (its 401 "Authenticate" body) concerns every send on the account:
    transient, not the recipient's, scope channel."""
    error = twilio_fails(
        server,
        Reply(
            401,
            {
                "code": 20003,
                "message": "Authenticate",
                "more_info": "https://www.twilio.com/docs/errors/20003",
                "status": 401,
            },
        ),
    )
    assert ("20003", False, False, FaultScope.CHANNEL) == (
        error.code,
        error.permanent,
        error.revoked,
        error.scope,
    )


def test_twilio_stop_is_the_recipients(server: LoopbackServer) -> None:
    """21610 stays a revocation, and it concerns the recipient only."""
    error = twilio_fails(server, Reply(400, {"code": 21610, "message": "unsubscribed"}))
    assert error.revoked
    assert FaultScope.RECIPIENT is error.scope


@pytest.mark.parametrize(
    ("status", "code", "text", "extra"),
    [
        (
            401,
            190,
            "Error validating access token: Session has expired on Tuesday, 03-Mar-26.",
            {"error_subcode": 463},
        ),
        (400, 131031, "Business Account locked", {}),
        (400, 131048, "Spam rate limit hit", {}),
        (400, 130429, "Rate limit hit", {}),
    ],
)
def test_meta_account_and_rate_faults_concern_the_channel(
    server: LoopbackServer, status: int, code: int, text: str, extra: dict[str, object]
) -> None:
    """A revoked token (190), a locked account (131031), the spam (131048) and throughput
    (130429) limits fail every WhatsApp send alike: transient, scope channel."""
    error = whatsapp_fails(server, meta_error(status, code, f"({code}) {text}", **extra))
    assert (str(code), False, False, FaultScope.CHANNEL) == (
        error.code,
        error.permanent,
        error.revoked,
        error.scope,
    )


def test_marketing_limit_holds_the_recipient_a_day(server: LoopbackServer) -> None:
    """131049 concerns one recipient and asks for the table's 24-hour hold (CP-7)."""
    error = whatsapp_fails(
        server,
        meta_error(
            400,
            131049,
            "This message was not delivered to maintain healthy ecosystem engagement.",
            error_data={"messaging_product": "whatsapp", "details": "healthy ecosystem"},
        ),
    )
    assert FaultScope.RECIPIENT is error.scope
    assert timedelta(hours=24) == error.retry_after


def test_a_short_header_never_cuts_the_tables_hold(server: LoopbackServer) -> None:
    """The longer of the header's pause and the table's hold wins."""
    reply = meta_error(429, 131049, "held back")
    error = whatsapp_fails(server, Reply(reply.status, reply.body, headers={"Retry-After": "30"}))
    assert timedelta(hours=24) == error.retry_after
    longer = whatsapp_error("131049").error("WhatsApp", retry_after=timedelta(hours=30))
    assert timedelta(hours=30) == longer.retry_after


def test_pair_rate_limit_keeps_the_header_pause(server: LoopbackServer) -> None:
    """131056 (too many to one number) answered with 429 and Retry-After: the recipient's
    fault, with the header's pause."""
    reply = meta_error(429, 131056, "(#131056) (Business Account, Consumer Account) pair rate")
    error = whatsapp_fails(server, Reply(429, reply.body, headers={"Retry-After": "120"}))
    assert ("131056", FaultScope.RECIPIENT) == (error.code, error.scope)
    assert timedelta(seconds=120) == error.retry_after


def test_unmapped_429_is_a_channel_pause(server: LoopbackServer) -> None:
    """A 429 whose body names no code still pauses the channel for the header's time."""
    error = whatsapp_fails(server, Reply(429, {"detail": "slow"}, headers={"Retry-After": "9"}))
    assert FaultScope.CHANNEL is error.scope
    assert timedelta(seconds=9) == error.retry_after
    assert not error.permanent


def test_telegram_blocked_bot_is_the_recipients(server: LoopbackServer) -> None:
    """A blocked bot is one person's opt-out, not a fault of the bot."""
    server.answer(
        Reply(
            403,
            {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            },
        )
    )
    with TelegramBot(TG_TOKEN, base_url=server.url) as bot, pytest.raises(ChannelError) as failed:
        bot.send(message(Channel.TELEGRAM, "123456789"))
    assert (True, FaultScope.RECIPIENT) == (failed.value.revoked, failed.value.scope)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", timedelta(seconds=120)),
        (" 0 ", timedelta(0)),
        ("Mon, 02 Mar 2026 09:01:30 GMT", timedelta(seconds=90)),
        ("Mon, 02 Mar 2026 08:00:00 GMT", timedelta(0)),
        ("soon", None),
        ("-5", None),
        (None, None),
    ],
)
def test_retry_after_header_reads_seconds_and_dates(
    value: str | None, expected: timedelta | None
) -> None:
    """Both forms HTTP allows are read; anything else leaves the runner's own backoff."""
    assert expected == retry_after_header(value, now=T0)


def test_every_table_row_names_a_scope_and_account_faults_are_never_permanent() -> None:
    """A channel-scope fault is never a permanent failure of an address."""
    for meaning in WHATSAPP_ERRORS.values():
        assert isinstance(meaning.scope, FaultScope)
        if meaning.scope is FaultScope.CHANNEL:
            assert not meaning.permanent
            assert not meaning.revoked


def test_channel_error_refuses_a_negative_pause() -> None:
    """retry_after is a pause: a negative one is refused with its value named."""
    with pytest.raises(InvalidInputError, match="retry_after"):
        ChannelError("x", permanent=False, retry_after=timedelta(seconds=-1))


def test_message_failed_carries_scope_and_pause() -> None:
    """The engine's failure event keeps what the adapter said (scope, pause)."""
    failed = MessageFailed(
        "chk-1",
        1,
        Channel.WHATSAPP,
        T0,
        code="131049",
        scope="recipient",
        retry_after=timedelta(hours=24),
    )
    assert FaultScope.RECIPIENT is failed.scope
    assert timedelta(hours=24) == failed.retry_after


def test_runner_holds_the_channel_for_a_flood_controlled_send(server: LoopbackServer) -> None:
    """Through the runner, Telegram's flood control (429, ``retry_after`` 17) holds the
    whole channel: one ``channel_down`` record with the next probe 17 s later, and the
    touch waits in the outbox instead of failing."""
    from tests.unit.test_channel_telegram import FLOOD, run_until_requests

    server.answer(FLOOD)
    store, _runner, _clock, bot = run_until_requests(server, 1)
    with bot:
        [down] = [r for r in store.events() if r.kind == "channel_down"]
        settled = [r.data for r in store.events() if r.kind == "outbox"]
    assert [] == settled
    assert down.data["channel"] == "telegram"
    assert down.data["next_probe_at"] == (down.at + timedelta(seconds=17)).isoformat()
    [waiting] = store.outbox()
    assert waiting.attempted_at is None

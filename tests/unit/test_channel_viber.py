"""Viber REST bot API adapter and callback parser (rules.md §3.2, PW-7; SEAMS 4)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from recoverykit.channels.viber import MAX_TEXT, VIBER_ERRORS, ViberBot
from recoverykit.engine.commands import MessageKind, SendMessage
from recoverykit.errors import ChannelError, InvalidInputError
from recoverykit.testing.channel_contract import (
    ChannelContract,
    LoopbackServer,
    Recorded,
    Reply,
    loopback_server,
)
from recoverykit.values.model import Channel
from recoverykit.webhooks import (
    ChatStarted,
    DeliveryStatus,
    InboundMessage,
    MalformedWebhook,
    SignatureMismatch,
    StartLinks,
    StatusUpdate,
    UnsubscribeRequest,
    ViberWebhooks,
    WebhookRequest,
)
from recoverykit.webhooks.viber import viber_signature

AUTH = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"
USER = "01234567890A="
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
MS = int(datetime(2026, 3, 2, 11, 0, tzinfo=UTC).timestamp() * 1000)
MENU = "Northwind\nNeed a hand? Reply 1 for delivery, 2 for payment help.\nhttps://shop.example/c/1"


def accepted(token: int = 5741311803571721087) -> Reply:
    return Reply(200, {"status": 0, "status_message": "ok", "message_token": token})


def message(text: str = "Your cart: https://shop.example/r/1", **changes: Any) -> SendMessage:
    base = SendMessage(
        idempotency_key="chk-1:touch1:0",
        checkout_id="chk-1",
        customer_id="cus-1",
        channel=Channel.VIBER,
        to=USER,
        kind=MessageKind.TOUCH,
        key="remind",
        text=text,
        locale="en",
        touch=1,
    )
    return attrs.evolve(base, **changes)


class TestViberContract(ChannelContract):
    channel = Channel.VIBER
    error_table = VIBER_ERRORS
    address = USER

    def make_adapter(self, base_url: str, *, timeout: float) -> ViberBot:
        return ViberBot(AUTH, sender_name="Northwind", base_url=base_url, timeout=timeout)

    def accepted(self, provider_id: str) -> Reply:
        return Reply(200, {"status": 0, "status_message": "ok", "message_token": provider_id})

    def refused(self, code: str) -> Reply:
        return Reply(200, {"status": int(code), "status_message": f"error {code}"})

    def key_sent(self, request: Recorded) -> str | None:
        return request.json().get("tracking_data")  # type: ignore[no-any-return]


def test_request_carries_token_sender_text_and_keyboard(loopback_server: LoopbackServer) -> None:
    """send_message gets the token header, the brand as sender, the text and a keyboard
    whose buttons send the menu digits back."""
    loopback_server.answer(accepted(42))
    with ViberBot(AUTH, sender_name="Northwind", base_url=loopback_server.url) as bot:
        receipt = bot.send(message(MENU))
    assert "42" == receipt.provider_id
    [request] = loopback_server.requests
    assert "/send_message" == request.path
    assert AUTH == request.header("X-Viber-Auth-Token")
    body = request.json()
    assert (USER, "text", MENU, {"name": "Northwind"}) == (
        body["receiver"],
        body["type"],
        body["text"],
        body["sender"],
    )
    buttons = body["keyboard"]["Buttons"]
    assert [("1", "reply"), ("2", "reply")] == [(b["ActionBody"], b["ActionType"]) for b in buttons]


def test_plain_text_has_no_keyboard() -> None:
    """No menu in the text, no keyboard."""
    bot = ViberBot(AUTH, sender_name="Northwind")
    assert "keyboard" not in bot.payload(message())
    bot.close()


def test_unsubscribed_receiver_is_a_revocation(loopback_server: LoopbackServer) -> None:
    """Status 6 (receiverNotSubscribed): permanent, and the person opted out."""
    loopback_server.answer(Reply(200, {"status": 6, "status_message": "notSubscribed"}))
    with (
        ViberBot(AUTH, sender_name="Northwind", base_url=loopback_server.url) as bot,
        pytest.raises(ChannelError) as caught,
    ):
        bot.send(message())
    assert (True, True, "6") == (caught.value.permanent, caught.value.revoked, caught.value.code)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"channel": Channel.SMS}, "Viber only"),
        ({"to": "has space"}, "Viber user id"),
        ({"text": "x" * (MAX_TEXT + 1)}, "characters"),
    ],
)
def test_impossible_messages_fail_permanently_without_a_request(
    loopback_server: LoopbackServer, changes: dict[str, Any], reason: str
) -> None:
    """A message Viber could never take is refused before any request."""
    with (
        ViberBot(AUTH, sender_name="Northwind", base_url=loopback_server.url) as bot,
        pytest.raises(ChannelError, match=reason) as caught,
    ):
        bot.send(message(**changes))
    assert caught.value.permanent
    assert [] == loopback_server.requests


def test_bad_configuration_is_refused() -> None:
    """A missing token or an impossible sender name is refused when built."""
    with pytest.raises(InvalidInputError, match="auth_token"):
        ViberBot("", sender_name="Northwind")
    with pytest.raises(InvalidInputError, match="sender_name"):
        ViberBot(AUTH, sender_name="x" * 29)


# -- callbacks ---------------------------------------------------------------------------------
__all__ = ["loopback_server"]  # the fixture, imported for pytest

STARTS = StartLinks({"v": b"viber-start-secret-0123456789"})
PARSER = ViberWebhooks(auth_token=AUTH, start_links=STARTS)


def callback(payload: Any, *, token: str = AUTH) -> WebhookRequest:
    body = json.dumps(payload).encode()
    signature = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    return WebhookRequest(
        "POST", "https://shop.example/hooks/viber", {"X-Viber-Content-Signature": signature}, body
    )


def test_signature_follows_the_written_rule() -> None:
    """X-Viber-Content-Signature is hex(HMAC-SHA256(auth token, raw body))."""
    # printf "{}" | openssl dgst -sha256 -hmac hush
    assert "505c20ac604f662945b662a1f13a9ca2f03bf0b1986f505d5aef48e10da8c918" == viber_signature(
        "hush", b"{}"
    )


def test_forged_and_altered_callbacks_are_refused() -> None:
    """Nothing is read unless the signature verifies."""
    good = callback({"event": "webhook", "timestamp": MS})
    for request in (
        callback({"event": "webhook", "timestamp": MS}, token="other-token-0000"),
        attrs.evolve(good, body=good.body + b" "),
        attrs.evolve(good, headers={}),
    ):
        with pytest.raises(SignatureMismatch):
            PARSER.parse(request, now=NOW)
    assert [] == PARSER.parse(good, now=NOW)


def test_message_becomes_inbound_message() -> None:
    """A text message is the person's reply, from their Viber user id."""
    [inbound] = PARSER.parse(
        callback(
            {
                "event": "message",
                "timestamp": MS,
                "message_token": 4912661846655238145,
                "sender": {"id": USER, "name": "Anna", "language": "pl", "api_version": 1},
                "message": {"type": "text", "text": "STOP", "tracking_data": "chk-1:touch1:0"},
            }
        ),
        now=NOW,
    )
    assert (
        InboundMessage(
            Channel.VIBER, USER, "STOP", "4912661846655238145", datetime(2026, 3, 2, 11, tzinfo=UTC)
        )
        == inbound
    )


def test_conversation_started_with_a_signed_context_binds_the_customer() -> None:
    """Opening the chat through the store's signed link is the opt-in (rules.md §3.2)."""
    payload = {
        "event": "conversation_started",
        "timestamp": MS,
        "message_token": 4912661846655238146,
        "type": "open",
        "context": STARTS.payload("cus-42", now=NOW),
        "user": {"id": USER, "name": "Anna"},
        "subscribed": False,
    }
    [started] = PARSER.parse(callback(payload), now=NOW)
    assert isinstance(started, ChatStarted)
    assert (USER, "cus-42") == (started.address, started.customer_id)
    forged = {**payload, "context": "cus-42"}
    assert [] == PARSER.parse(callback(forged), now=NOW)
    expired = STARTS.payload("cus-42", now=NOW - timedelta(days=31))
    assert [] == PARSER.parse(callback({**payload, "context": expired}), now=NOW)
    assert [] == ViberWebhooks(auth_token=AUTH).parse(callback(payload), now=NOW)


def test_unsubscribed_is_an_opt_out() -> None:
    """Unsubscribing from the bot withdraws consent for that Viber user."""
    [request] = PARSER.parse(
        callback({"event": "unsubscribed", "timestamp": MS, "user_id": USER, "message_token": 7}),
        now=NOW,
    )
    assert isinstance(request, UnsubscribeRequest)
    assert (Channel.VIBER, USER, "unsubscribed") == (
        request.channel,
        request.address,
        request.source,
    )


@pytest.mark.parametrize(
    ("event", "status"),
    [
        ("delivered", DeliveryStatus.DELIVERED),
        ("seen", DeliveryStatus.READ),
        ("failed", DeliveryStatus.FAILED),
    ],
)
def test_receipts_become_status_updates(event: str, status: DeliveryStatus) -> None:
    """delivered, seen and failed name the message by its token."""
    payload = {"event": event, "timestamp": MS, "message_token": 42, "user_id": USER}
    if event == "failed":
        payload["desc"] = "failure description"
    [update] = PARSER.parse(callback(payload), now=NOW)
    assert isinstance(update, StatusUpdate)
    assert ("42", status) == (update.provider_message_id, update.status)


@pytest.mark.parametrize(
    "payload",
    [
        {"event": "message", "timestamp": "soon"},
        {"event": "message", "timestamp": MS, "message_token": 1, "sender": {}},
        {"event": 3},
        [],
    ],
)
def test_malformed_callbacks_are_400(payload: Any) -> None:
    """A verified body that is not a Viber callback is malformed, never a crash."""
    with pytest.raises(MalformedWebhook):
        PARSER.parse(callback(payload), now=NOW)


def test_subscribed_and_webhook_events_change_nothing() -> None:
    """subscribed names no customer; webhook is Viber's set-up check."""
    for event in ("subscribed", "webhook", "client_status"):
        payload = {"event": event, "timestamp": MS, "user": {"id": USER}, "message_token": 1}
        assert [] == PARSER.parse(callback(payload), now=NOW)

"""Telegram webhooks and signed start links (rules.md §10 PW-4, §3.2).

The secret token is compared as Telegram sends it; start payloads are checked
against Telegram's limits (64 characters from ``A-Za-z0-9_-``) and their layout is
rebuilt here with ``hmac``/``hashlib`` to show what is signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from recoverykit.errors import InvalidInputError, LinkExpired, LinkInvalid
from recoverykit.links import ResumeLinks
from recoverykit.values.model import Channel
from recoverykit.webhooks import (
    ChatStarted,
    InboundMessage,
    MalformedWebhook,
    SignatureMismatch,
    StartLinks,
    TelegramWebhooks,
    UnsubscribeRequest,
    WebhookRequest,
)

TOKEN = "bot-secret_token-0123"
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
SENT = NOW - timedelta(seconds=30)
KEY = b"start-link-secret-0123456789"
STARTS = StartLinks({"a": KEY}, ttl=timedelta(days=7))
PARSER = TelegramWebhooks(secret_token=TOKEN, start_links=STARTS)
URL = "https://shop.example/hooks/telegram"
ALPHABET = re.compile(r"[A-Za-z0-9_-]{1,64}")


def request(update: Any, token: str | None = TOKEN) -> WebhookRequest:
    headers = {} if token is None else {"X-Telegram-Bot-Api-Secret-Token": token}
    return WebhookRequest("POST", URL, headers, json.dumps(update).encode())


def message(words: str, chat: dict[str, Any] | None = None, update_id: int = 900) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 12,
            "from": {"id": 777, "is_bot": False, "first_name": "Ada"},
            "chat": chat or {"id": 777, "type": "private"},
            "date": int(SENT.timestamp()),
            "text": words,
        },
    }


# -- updates ---------------------------------------------------------------------------------
def test_a_private_message_becomes_an_inbound_message() -> None:
    """A text in a private chat is an InboundMessage from the chat id, its provider id the
    update id (Telegram repeats it on retries)."""
    (found,) = PARSER.parse(request(message("stop")), now=NOW)
    assert InboundMessage(Channel.TELEGRAM, "777", "stop", "900", SENT) == found


def test_group_chats_are_not_customer_replies() -> None:
    """A message in a group is nobody's reply to the store: nothing."""
    group = message("stop", chat={"id": -100123, "type": "group", "title": "friends"})
    assert PARSER.parse(request(group), now=NOW) == []


def test_a_tapped_inline_button_reads_like_its_data_typed() -> None:
    """A callback query is an InboundMessage whose button is the callback data ("1"), its
    text the button's label when the message still shows it."""
    update = {
        "update_id": 901,
        "callback_query": {
            "id": "4382bfdwdsb323b2d9",
            "from": {"id": 777, "is_bot": False, "first_name": "Ada"},
            "chat_instance": "-1",
            "data": "1",
            "message": {
                "message_id": 11,
                "date": int(SENT.timestamp()),
                "chat": {"id": 777, "type": "private"},
                "text": "Need help?",
                "reply_markup": {
                    "inline_keyboard": [
                        [{"text": "Shipping", "callback_data": "1"}],
                        [{"text": "Payment", "callback_data": "2"}],
                    ]
                },
            },
        },
    }
    (found,) = PARSER.parse(request(update), now=NOW)
    assert (
        InboundMessage(
            Channel.TELEGRAM,
            "777",
            "Shipping",
            "901",
            NOW,
            button="1",
            callback_id="4382bfdwdsb323b2d9",
        )
        == found
    )


def test_blocking_the_bot_is_an_unsubscribe_request() -> None:
    """my_chat_member turning 'kicked' (the person blocked the bot) asks for no more
    messages on Telegram; other membership changes say nothing."""
    change: dict[str, Any] = {
        "update_id": 902,
        "my_chat_member": {
            "chat": {"id": 777, "type": "private"},
            "from": {"id": 777, "is_bot": False, "first_name": "Ada"},
            "date": int(SENT.timestamp()),
            "old_chat_member": {"status": "member", "user": {"id": 1, "is_bot": True}},
            "new_chat_member": {"status": "kicked", "user": {"id": 1, "is_bot": True}},
        },
    }
    (found,) = PARSER.parse(request(change), now=NOW)
    assert UnsubscribeRequest(Channel.TELEGRAM, "777", "902", SENT, source="blocked") == found
    change["my_chat_member"]["new_chat_member"]["status"] = "member"
    assert PARSER.parse(request(change), now=NOW) == []


def test_updates_of_other_kinds_give_nothing() -> None:
    """Edits, channel posts and the like are not replies."""
    assert PARSER.parse(request({"update_id": 903, "edited_message": {}}), now=NOW) == []


# -- /start and start links ------------------------------------------------------------------
def test_start_with_a_genuine_payload_binds_the_chat() -> None:
    """/start <payload> with a payload made for cus-42 is ChatStarted for cus-42."""
    payload = STARTS.payload("cus-42", now=NOW - timedelta(days=1))
    (found,) = PARSER.parse(request(message(f"/start {payload}")), now=NOW)
    assert ChatStarted(Channel.TELEGRAM, "777", "cus-42", "900", SENT) == found


@pytest.mark.parametrize(
    "words",
    [
        "/start",
        "/start not-a-payload",
        f"/start {STARTS.payload('cus-42', now=NOW - timedelta(days=8))}",  # expired
        "/start " + StartLinks({"a": b"another-secret-0123456789"}).payload("cus-42", now=NOW),
        "/help " + STARTS.payload("cus-42", now=NOW),
    ],
)
def test_start_without_a_genuine_payload_binds_nothing(words: str) -> None:
    """A bare, forged, expired or foreign payload (or another command) is only a message:
    no customer is named by anything but a payload this store signed."""
    (found,) = PARSER.parse(request(message(words)), now=NOW)
    assert isinstance(found, InboundMessage)
    assert found.text == words


def test_without_start_links_a_start_is_a_message() -> None:
    """A parser given no StartLinks binds nothing."""
    plain = TelegramWebhooks(secret_token=TOKEN)
    payload = STARTS.payload("cus-42", now=NOW)
    (found,) = plain.parse(request(message(f"/start {payload}")), now=NOW)
    assert isinstance(found, InboundMessage)


def test_a_payload_is_a_resume_token_layout_under_its_own_domain() -> None:
    """The payload is version 1 | expiry | key id | customer id | HMAC-SHA256 (16 bytes)
    over the start-link domain label, in 64 characters or fewer of Telegram's alphabet."""
    payload = STARTS.payload("cus-42", now=NOW)
    assert ALPHABET.fullmatch(payload)
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    body, mac = raw[:-16], raw[-16:]
    assert body[0] == 0x11
    assert int.from_bytes(body[1:5], "big") == int((NOW + timedelta(days=7)).timestamp())
    assert body[5:6] == b"a"
    assert body[6:] == b"cus-42"
    domain = b"recoverykit/telegram-start\x00"
    assert hmac.new(KEY, domain + body, hashlib.sha256).digest()[:16] == mac


def test_the_longest_customer_id_fits_telegrams_limit() -> None:
    """With a one-character key id a 26-byte customer id fits in 64 characters; one byte
    more is refused, naming the limit."""
    assert STARTS.max_customer_id_bytes == 26
    longest = STARTS.payload("c" * 26, now=NOW)
    assert len(longest) <= 64
    assert ALPHABET.fullmatch(longest)
    assert STARTS.verify(longest, now=NOW) == "c" * 26
    with pytest.raises(InvalidInputError, match="the limit is 26"):
        STARTS.payload("c" * 27, now=NOW)


def test_a_resume_token_is_not_a_start_payload() -> None:
    """Same key, same layout, another domain: a resume token never verifies as a start."""
    resume = ResumeLinks({"a": KEY}, "https://shp.io/r/", timedelta(days=7)).token("c1", now=NOW)
    with pytest.raises(LinkInvalid, match="signature"):
        STARTS.verify(resume, now=NOW)


def test_keys_rotate() -> None:
    """The first key signs; an older key still verifies until it is dropped."""
    old = StartLinks({"a": KEY})
    rotated = StartLinks({"b": b"newer-secret-0123456789", "a": KEY})
    assert rotated.verify(old.payload("cus-1", now=NOW), now=NOW) == "cus-1"
    assert rotated.payload("cus-1", now=NOW)[:8] != old.payload("cus-1", now=NOW)[:8]
    with pytest.raises(LinkInvalid, match="key id 'b'"):
        old.verify(rotated.payload("cus-1", now=NOW), now=NOW)


def test_expiry_is_exact_to_the_second() -> None:
    """A payload works until its expiry second and is expired from it on."""
    payload = STARTS.payload("cus-1", now=NOW)
    assert STARTS.verify(payload, now=NOW + timedelta(days=7, seconds=-1)) == "cus-1"
    with pytest.raises(LinkExpired, match="cus-1"):
        STARTS.verify(payload, now=NOW + timedelta(days=7))


def test_the_deep_link_names_the_bot() -> None:
    """url() is t.me/<bot>?start=<payload>; a leading @ is dropped; a bad name is refused."""
    link = STARTS.url("@ShopHelpBot", "cus-42", now=NOW)
    assert link == "https://t.me/ShopHelpBot?start=" + STARTS.payload("cus-42", now=NOW)
    for bad in ("", "ab", "shop bot", "x" * 40):
        with pytest.raises(InvalidInputError, match="bot_username"):
            STARTS.url(bad, "cus-42", now=NOW)


# -- refused requests ------------------------------------------------------------------------
@pytest.mark.parametrize("token", [None, "", "bot-secret_token-0124", TOKEN + "x", TOKEN.upper()])
def test_a_wrong_or_missing_secret_token_is_a_signature_mismatch(token: str | None) -> None:
    """Only the exact secret token set with setWebhook is accepted (403 otherwise)."""
    with pytest.raises(SignatureMismatch) as caught:
        PARSER.parse(request(message("stop"), token=token), now=NOW)
    assert caught.value.status == 403


@pytest.mark.parametrize(
    ("update", "fragment"),
    [
        ({"message": {}}, r"\$\.update_id is missing"),
        ({"update_id": "9 9", "message": {}}, r"\$\.update_id"),
        ({"update_id": 9, "message": []}, r"\$\.message must be an object"),
        ({"update_id": 9, "message": {"date": 1, "text": "x"}}, r"\$\.message\.chat is missing"),
        (
            {"update_id": 9, "message": {"chat": {"id": 1, "type": "private"}, "text": "x"}},
            r"\$\.message\.date is missing",
        ),
        ("just a string", r"\$ must be an object"),
    ],
)
def test_a_verified_body_that_is_not_an_update_is_malformed(update: Any, fragment: str) -> None:
    """Token right, body wrong: MalformedWebhook naming the path of the problem."""
    with pytest.raises(MalformedWebhook, match=fragment):
        PARSER.parse(request(update), now=NOW)


@pytest.mark.parametrize("token", ["", "has space", "é", "x" * 257])
def test_a_secret_token_telegram_would_refuse_is_refused(token: str) -> None:
    """setWebhook accepts 1-256 characters of A-Za-z0-9_- only, and so does the parser."""
    with pytest.raises(InvalidInputError, match="secret_token"):
        TelegramWebhooks(secret_token=token)
    assert TOKEN not in repr(PARSER)

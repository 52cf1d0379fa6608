"""Webhook parsers under fuzzing: only WebhookError, ever, and signatures that mean something.

Three kinds of input: anything at all (unsigned: refused, never a crash); bodies
signed correctly but shaped at random from the providers' own vocabulary (read or
refused as malformed, never a crash, never a signature error); and correctly signed
requests with one byte changed (always a signature error). Signatures are computed
here with ``hmac``/``hashlib``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recoverykit.errors import LinkError
from recoverykit.webhooks import (
    ChatStarted,
    InboundMessage,
    MalformedWebhook,
    MetaWebhooks,
    SignatureMismatch,
    StartLinks,
    StatusUpdate,
    TelegramWebhooks,
    TwilioWebhooks,
    UnsubscribeRequest,
    WebhookError,
    WebhookRequest,
)

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
TWILIO_TOKEN = "twilio-token-fuzz"
META_SECRET = "meta-secret-fuzz"
TG_TOKEN = "tg-token-fuzz"
STARTS = StartLinks({"k": b"start-secret-for-fuzzing-0123"})
TWILIO = TwilioWebhooks(auth_token=TWILIO_TOKEN)
META = MetaWebhooks(app_secret=META_SECRET, verify_token="verify")
TELEGRAM = TelegramWebhooks(secret_token=TG_TOKEN, start_links=STARTS)
PARSERS: dict[str, TwilioWebhooks | MetaWebhooks | TelegramWebhooks] = {
    "twilio": TWILIO,
    "meta": META,
    "telegram": TELEGRAM,
}
RESULTS = (InboundMessage, StatusUpdate, ChatStarted, UnsubscribeRequest)
URL = "https://shop.example/hook?tenant=1"

# Text without lone surrogates: what a real request can carry once decoded.
texts = st.text(st.characters(codec="utf-8"), max_size=40)
header_names = st.sampled_from(
    ["X-Twilio-Signature", "X-Hub-Signature-256", "X-Telegram-Bot-Api-Secret-Token", "Content-Type"]
)
requests = st.builds(
    WebhookRequest,
    method=st.sampled_from(["POST", "GET", "post", "PUT", ""]) | texts,
    url=st.sampled_from([URL, "https://shop.example:443/hook", "http://[::1", ""]) | texts,
    headers=st.dictionaries(header_names | texts, texts, max_size=4),
    body=st.binary(max_size=300),
)

# JSON built from the words the providers use, so random documents reach deep paths.
KEYS = [
    "object", "entry", "id", "changes", "field", "value", "messages", "statuses", "from",
    "timestamp", "type", "text", "body", "button", "payload", "interactive", "button_reply",
    "list_reply", "title", "errors", "code", "status", "recipient_id", "image", "caption",
    "update_id", "message", "chat", "date", "callback_query", "data", "my_chat_member",
    "new_chat_member", "reply_markup", "inline_keyboard", "callback_data", "system",
]  # fmt: skip
WORDS = [
    "whatsapp_business_account", "messages", "text", "button", "interactive", "button_reply",
    "list_reply", "image", "system", "sent", "delivered", "read", "failed", "private", "group",
    "kicked", "member", "48601234567", "1773136800", "/start", "131049", "wamid.1",
]  # fmt: skip
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False)
    | st.sampled_from(WORDS)
    | texts
)
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | texts, inner, max_size=6)
    ),
    max_leaves=30,
)


def _only_results(found: object) -> None:
    assert isinstance(found, list)
    assert all(isinstance(item, RESULTS) for item in found)


def twilio_signed(params: dict[str, str], url: str = URL) -> WebhookRequest:
    data = url + "".join(name + value for name, value in sorted(params.items()))
    digest = hmac.new(TWILIO_TOKEN.encode(), data.encode(), hashlib.sha1).digest()
    headers = {"X-Twilio-Signature": base64.b64encode(digest).decode()}
    return WebhookRequest("POST", url, headers, urlencode(params).encode())


def meta_signed(body: bytes) -> WebhookRequest:
    digest = hmac.new(META_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return WebhookRequest("POST", URL, {"X-Hub-Signature-256": f"sha256={digest}"}, body)


def telegram_signed(body: bytes) -> WebhookRequest:
    return WebhookRequest("POST", URL, {"X-Telegram-Bot-Api-Secret-Token": TG_TOKEN}, body)


# -- anything at all -------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(PARSERS))
@given(request=requests)
def test_any_request_is_refused_or_read_never_crashes(name: str, request: WebhookRequest) -> None:
    """Whatever the method, URL, headers and bytes, a parser returns results or raises a
    WebhookError; nothing else escapes."""
    outcome: object
    try:
        outcome = PARSERS[name].parse(request, now=NOW)
    except WebhookError as err:
        outcome = err
    if isinstance(outcome, WebhookError):
        assert outcome.status in (400, 403)
    else:
        _only_results(outcome)


@given(
    query=st.dictionaries(
        st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge"]) | texts,
        texts | st.lists(texts, max_size=2) | st.integers(),
        max_size=4,
    )
)
def test_any_handshake_query_is_answered_or_forbidden(query: dict[str, Any]) -> None:
    """The handshake echoes a plain challenge only for the right token, else SignatureMismatch."""
    try:
        answer = META.handshake(query)
    except SignatureMismatch:
        return
    assert query["hub.verify_token"] in ("verify", ["verify"])
    assert answer.isascii()
    assert answer.replace(".", "").replace("_", "").replace("-", "").replace("~", "").isalnum()


# -- signed, shaped at random ----------------------------------------------------------------
@given(document=documents)
def test_a_signed_meta_body_of_any_shape_is_read_or_malformed(document: Any) -> None:
    """A body Meta signed is never a signature error; any shape is read or MalformedWebhook."""
    try:
        found = META.parse(meta_signed(json.dumps(document).encode()), now=NOW)
    except MalformedWebhook:
        return
    _only_results(found)


@given(
    values=st.lists(
        st.fixed_dictionaries(
            {
                "messages": st.lists(documents, max_size=2),
                "statuses": st.lists(documents, max_size=2),
            }
        ),
        min_size=1,
        max_size=2,
    )
)
def test_a_signed_meta_payload_with_random_items_is_read_or_malformed(
    values: list[dict[str, Any]],
) -> None:
    """Deep inside a well-formed envelope, random messages and statuses are read or named
    as malformed."""
    envelope = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": v} for v in values]}],
    }
    try:
        found = META.parse(meta_signed(json.dumps(envelope).encode()), now=NOW)
    except MalformedWebhook:
        return
    _only_results(found)


@given(document=documents, update_id=st.integers(0, 2**40))
def test_a_telegram_update_of_any_shape_is_read_or_malformed(document: Any, update_id: int) -> None:
    """With the right secret token any body is read or MalformedWebhook."""
    for body in (document, {"update_id": update_id, "message": document}):
        try:
            found = TELEGRAM.parse(telegram_signed(json.dumps(body).encode()), now=NOW)
        except MalformedWebhook:
            continue
        _only_results(found)


@given(
    params=st.dictionaries(texts, texts, max_size=8),
    extra=st.sampled_from(
        [
            {},
            {"MessageSid": "SM1"},
            {"MessageSid": "SM1", "Body": "STOP", "From": "+48601234567"},
            {
                "MessageSid": "SM1",
                "MessageStatus": "failed",
                "ErrorCode": "21610",
                "To": "whatsapp:+1",
            },
        ]
    ),
)
def test_a_correctly_signed_twilio_form_always_verifies(
    params: dict[str, str], extra: dict[str, str]
) -> None:
    """Any form Twilio signs by its rule verifies (never SignatureMismatch), whatever the
    names and values, and is then read or refused as malformed."""
    try:
        found = TWILIO.parse(twilio_signed({**params, **extra}), now=NOW)
    except MalformedWebhook:
        return
    _only_results(found)


@given(document=documents)
def test_a_twilio_json_body_with_its_hash_is_read_or_malformed(document: Any) -> None:
    """The bodySHA256 variant: a matching hash and URL signature verify; any JSON is then
    read or malformed."""
    body = json.dumps(document).encode()
    url = f"https://shop.example/hook?bodySHA256={hashlib.sha256(body).hexdigest()}"
    request = twilio_signed({}, url=url)
    try:
        found = TWILIO.parse(WebhookRequest("POST", url, request.headers, body), now=NOW)
    except MalformedWebhook:
        return
    _only_results(found)


# -- one byte changed --------------------------------------------------------------------------
@given(data=st.data(), body=st.binary(min_size=1, max_size=200))
def test_one_changed_byte_of_a_signed_meta_body_is_a_mismatch(
    data: st.DataObject, body: bytes
) -> None:
    """Changing any byte of a body Meta signed makes it a SignatureMismatch."""
    signed = meta_signed(body)
    index = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    changed = bytearray(body)
    changed[index] ^= flip
    with pytest.raises(SignatureMismatch):
        META.parse(WebhookRequest("POST", URL, signed.headers, bytes(changed)), now=NOW)


@given(data=st.data(), params=st.dictionaries(texts.filter(bool), texts, min_size=1, max_size=5))
def test_one_changed_value_of_a_signed_twilio_form_is_a_mismatch(
    data: st.DataObject, params: dict[str, str]
) -> None:
    """Changing any one form value after Twilio signed it makes it a SignatureMismatch."""
    signed = twilio_signed(params)
    name = data.draw(st.sampled_from(sorted(params)))
    changed = {**params, name: params[name] + data.draw(texts.filter(bool))}
    forged = WebhookRequest("POST", URL, signed.headers, urlencode(changed).encode())
    with pytest.raises(SignatureMismatch):
        TWILIO.parse(forged, now=NOW)


# -- start links -------------------------------------------------------------------------------
@given(payload=st.text(max_size=80) | st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True))
def test_any_start_payload_is_verified_or_refused_as_a_link_error(payload: str) -> None:
    """verify() on anything at all returns a customer id or raises LinkError."""
    with contextlib.suppress(LinkError):
        assert STARTS.verify(payload, now=NOW)


@given(
    customer_id=st.text(st.characters(codec="utf-8"), min_size=1, max_size=26).filter(
        lambda s: len(s.encode()) <= 26
    ),
    age=st.integers(0, 29 * 86_400),
)
def test_start_payloads_round_trip_and_fit_telegram(customer_id: str, age: int) -> None:
    """Every id that fits comes back unchanged within the ttl, from a payload of at most 64
    characters of Telegram's alphabet."""
    made = NOW - timedelta(seconds=age)
    payload = STARTS.payload(customer_id, now=made)
    assert len(payload) <= 64
    assert set(payload) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert STARTS.verify(payload, now=NOW) == customer_id

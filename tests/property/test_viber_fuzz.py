"""The Viber callback parser under fuzzing: only WebhookError, ever (PW-7)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from recoverykit.webhooks import (
    ChatStarted,
    InboundMessage,
    MalformedWebhook,
    SignatureMismatch,
    StartLinks,
    StatusUpdate,
    UnsubscribeRequest,
    ViberWebhooks,
    WebhookError,
    WebhookRequest,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
AUTH = "viber-auth-token-for-fuzzing"
PARSER = ViberWebhooks(auth_token=AUTH, start_links=StartLinks({"v": b"viber-fuzz-secret-0123"}))
KEYS = st.sampled_from(
    ["event", "timestamp", "message_token", "sender", "user", "user_id", "id", "message",
     "text", "type", "context", "desc", "subscribed"]
)  # fmt: skip
EVENTS = st.sampled_from(
    ["message", "conversation_started", "subscribed", "unsubscribed", "delivered", "seen",
     "failed", "webhook"]
)  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**16), 10**16) | st.text(max_size=20) | EVENTS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=12,
)


def _signed(payload: Any) -> WebhookRequest:
    body = json.dumps(payload).encode()
    signature = hmac.new(AUTH.encode(), body, hashlib.sha256).hexdigest()
    return WebhookRequest(
        "POST", "https://s.example/v", {"X-Viber-Content-Signature": signature}, body
    )


@given(EVENTS, st.dictionaries(KEYS, JSON, max_size=6))
def test_signed_random_callbacks_read_or_refused_as_malformed(
    event: str, rest: dict[str, Any]
) -> None:
    """A verified body gives facts or MalformedWebhook, never a crash or a signature error."""
    try:
        facts = PARSER.parse(_signed({**rest, "event": event}), now=NOW)
    except MalformedWebhook:
        return
    except SignatureMismatch as exc:  # pragma: no cover - a failure, with its reason
        raise AssertionError(str(exc)) from exc
    for fact in facts:
        assert isinstance(fact, InboundMessage | StatusUpdate | ChatStarted | UnsubscribeRequest)


@given(st.binary(max_size=120), st.dictionaries(st.text(max_size=30), st.text(max_size=70)))
def test_anything_unsigned_is_refused(body: bytes, headers: dict[str, str]) -> None:
    """Without this bot's signature, only WebhookError comes back."""
    try:
        PARSER.parse(WebhookRequest("POST", "https://s.example/v", headers, body), now=NOW)
    except WebhookError:
        return
    raise AssertionError("an unsigned request was read")

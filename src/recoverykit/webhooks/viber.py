"""Viber bot callbacks (rules.md PW-7).

Viber signs every callback with ``X-Viber-Content-Signature``: the hex HMAC-SHA256
of the raw body under the bot's auth token. The parser compares it in constant
time before reading a byte of the body.

What a verified callback becomes:

* ``message`` → ``InboundMessage`` (``address`` is the sender's Viber user id; a tapped
  keyboard button arrives as the text of its reply, so it reads like a typed one);
* ``conversation_started`` whose ``context`` is a genuine, unexpired ``StartLinks``
  payload → ``ChatStarted``: the person opened the chat through the store's link,
  which is the opt-in (rules.md §3.2). Without ``start_links``, or with a context
  that does not verify, it is nothing: nothing says who the person is;
* ``unsubscribed`` → ``UnsubscribeRequest(source="unsubscribed")``: an opt-out;
* ``delivered``, ``seen``, ``failed`` → ``StatusUpdate`` (``delivered``, ``read``,
  ``failed``) for the message Viber knows by that ``message_token``;
* ``subscribed``, ``webhook`` (the set-up check) and anything else → nothing.
  ``subscribed`` names no customer; the consent comes from the signed start link.

Viber's timestamps are milliseconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import attrs

from ..errors import InvalidInputError, LinkError
from ..values.model import Channel
from ..values.time import require_aware
from ._reading import (
    MAX_BODY_BYTES,
    body_of,
    identifier,
    load_json,
    need,
    obj,
    optional_text,
    positive_size,
    require_method,
    text,
)
from ._signing import check_secret, hmac_digest, require_header, same
from .telegram import StartLinks
from .types import (
    ChatStarted,
    DeliveryStatus,
    Inbound,
    InboundMessage,
    MalformedWebhook,
    SignatureMismatch,
    StatusUpdate,
    UnsubscribeRequest,
    WebhookRequest,
)

__all__ = ["SIGNATURE_HEADER", "ViberWebhooks", "viber_signature"]

#: The header carrying the body's signature.
SIGNATURE_HEADER: Final = "X-Viber-Content-Signature"
_STATUSES: Final = {
    "delivered": DeliveryStatus.DELIVERED,
    "seen": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
}
_HINT: Final = "pass the bot's auth token from the Viber admin panel"


def viber_signature(auth_token: str, body: bytes) -> str:
    """The ``X-Viber-Content-Signature`` Viber sends for ``body``: hex HMAC-SHA256."""
    return hmac_digest(auth_token, body).hex()


def _millis(value: object, path: str, *, now: datetime) -> datetime:
    """Milliseconds since the epoch as an aware datetime, never after ``now``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**15:
        msg = f"{path} must be a time in milliseconds (got {str(value)[:40]!r})"
        raise MalformedWebhook(msg)
    return min(datetime.fromtimestamp(value / 1000, UTC), now)


@attrs.frozen
class ViberWebhooks:
    """Verifies and reads a Viber bot's callbacks.

    ``auth_token`` is the bot's token (Viber signs with it); ``start_links`` verifies
    the ``context`` of the store's chat links (see ``StartLinks``; keep Viber's
    limits in mind when naming customers).
    """

    auth_token: str = attrs.field(repr=False)
    start_links: StartLinks | None = None
    max_body_bytes: int = attrs.field(default=MAX_BODY_BYTES, kw_only=True, validator=positive_size)

    @auth_token.validator
    def _check(self, _attribute: attrs.Attribute[str], value: str) -> None:
        check_secret(value, "auth_token", hint=_HINT)

    def parse(self, request: WebhookRequest, *, now: datetime) -> list[Inbound]:
        """Verify one callback ``request`` and return what it reports (empty or one item).

        Raises ``SignatureMismatch`` (403) unless the body is signed with this bot's
        token, and ``MalformedWebhook`` (400) for a body that is too large, not a
        POST, or not a Viber callback. Never raises anything else.
        """
        require_aware(now, "now")
        body = body_of(request, self.max_body_bytes)
        require_method(request, "POST", "Viber posts every callback")
        given = require_header(request, SIGNATURE_HEADER, "Viber").lower()
        if not same(viber_signature(self.auth_token, body), given):
            msg = (
                f"{SIGNATURE_HEADER} does not match the body under this bot's auth token; the "
                "request was forged, altered, or meant for another bot"
            )
            raise SignatureMismatch(msg)
        callback = obj(load_json(body, "Viber"), "$")
        event = need(callback, "event", "$", text)
        if event == "message":
            return [_message(callback, now)]
        if event == "conversation_started":
            return self._started(callback, now)
        if event == "unsubscribed":
            user = need(callback, "user_id", "$", identifier)
            at = need(callback, "timestamp", "$", lambda v, p: _millis(v, p, now=now))
            token = _token(callback)
            return [UnsubscribeRequest(Channel.VIBER, user, f"unsubscribed:{user}:{token}", at,
                                       source="unsubscribed")]  # fmt: skip
        if event in _STATUSES:
            return [_status(callback, _STATUSES[event], now)]
        return []

    def _started(self, callback: Mapping[str, Any], now: datetime) -> list[Inbound]:
        context = optional_text(callback, "context", "$")
        if self.start_links is None or not context:
            return []
        try:
            customer_id = self.start_links.verify(context.strip(), now=now)
        except (LinkError, InvalidInputError):
            return []
        user = need(need(callback, "user", "$", obj), "id", "$.user", identifier)
        at = need(callback, "timestamp", "$", lambda v, p: _millis(v, p, now=now))
        return [ChatStarted(Channel.VIBER, user, customer_id, f"started:{_token(callback)}", at)]


def _token(callback: Mapping[str, Any]) -> str:
    token = callback.get("message_token")
    return "" if token is None else identifier(token, "$.message_token")


def _message(callback: Mapping[str, Any], now: datetime) -> InboundMessage:
    sender = need(callback, "sender", "$", obj)
    user = need(sender, "id", "$.sender", identifier)
    message = need(callback, "message", "$", obj)
    words = optional_text(message, "text", "$.message") or ""
    at = need(callback, "timestamp", "$", lambda v, p: _millis(v, p, now=now))
    token = need(callback, "message_token", "$", identifier)
    return InboundMessage(Channel.VIBER, user, words, token, at)


def _status(callback: Mapping[str, Any], status: DeliveryStatus, now: datetime) -> StatusUpdate:
    token = need(callback, "message_token", "$", identifier)
    at = need(callback, "timestamp", "$", lambda v, p: _millis(v, p, now=now))
    desc = optional_text(callback, "desc", "$")
    return StatusUpdate(
        Channel.VIBER,
        token,
        status,
        at,
        code=None if desc is None else desc[:100],
        provider_id=f"{token}:{status.value}",
    )

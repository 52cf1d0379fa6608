"""WhatsApp Cloud API webhooks from Meta: the verify handshake and signed events (PW-3).

Meta signs each event request in ``X-Hub-Signature-256`` as ``sha256=`` followed by
the hex HMAC-SHA256 of the raw body under the app secret. Before it sends any, it
checks the endpoint with a GET carrying ``hub.mode=subscribe``, the verify token
the app was configured with, and a ``hub.challenge`` to echo back: ``handshake``
answers it.

One request may batch many entries, each with many changes; every message and
status in all of them is returned, in order. What they become:

* ``messages[]`` of type ``text`` → ``InboundMessage``; ``button`` (a template's
  quick reply) and ``interactive`` (``button_reply``, ``list_reply``) →
  ``InboundMessage`` with ``button`` set to the payload or reply id and ``text`` to
  the label; media keep their caption as the text, other kinds arrive with empty
  text (a customer message all the same: it opens the service window, WA-2);
  ``system`` notices are not from the customer and are left out;
* ``statuses[]`` → ``StatusUpdate``; a ``failed`` one carries its first error code,
  read through the shared table: 131047 (outside the 24-hour window, WA-2), 131049
  (per-user marketing limit: transient, wait, CP-7), 131050 (the person stopped
  marketing messages: revoking, CP-6), 131026 (undeliverable, PW-3);
* a ``user_preferences`` change of category ``marketing_messages`` →
  ``MarketingPreference`` (``stop`` or ``resume``, with Meta's own words as the
  evidence): a stop made in WhatsApp's settings, where no message is ever written.

Changes of other fields (template reviews, account updates) and payloads for
other products are not about recoveries and give no result.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any, Final

import attrs

from ..channels.errors import whatsapp_error
from ..channels.keys import KEY_FIELD, KEY_FIELD_MAX
from ..values.model import Channel
from ..values.time import require_aware
from ._reading import (
    MAX_BODY_BYTES,
    array,
    body_of,
    identifier,
    instant,
    items,
    load_json,
    need,
    obj,
    optional_text,
    positive_size,
    require_method,
    text,
)
from ._signing import check_secret, hmac_digest, require_header, same
from .types import (
    DeliveryStatus,
    Inbound,
    InboundMessage,
    MalformedWebhook,
    MarketingPreference,
    SignatureMismatch,
    StatusUpdate,
    WebhookRequest,
)

__all__ = ["MetaWebhooks"]

_SIGNATURE: Final = "X-Hub-Signature-256"
_SIGNATURE_VALUE: Final = re.compile(r"sha256=([0-9a-fA-F]{64})")
_PRODUCT: Final = "whatsapp_business_account"
#: What Meta's challenge looks like (digits today); anything else is never echoed back.
_CHALLENGE: Final = re.compile(r"[A-Za-z0-9._~-]{1,128}")
_WA_ID: Final = re.compile(r"\d{4,20}")
_STATUSES: Final = {status.value: status for status in DeliveryStatus}
_MEDIA: Final = frozenset({"image", "video", "document"})
_REPLIES: Final = frozenset({"button_reply", "list_reply"})
#: ``user_preferences`` values and whether each one stops marketing.
_PREFERENCES: Final = {"stop": True, "resume": False}


def _check_secret(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    hint = {
        "app_secret": "pass the Meta app's secret (App settings → Basic)",
        "verify_token": "pass the verify token entered when the webhook was configured",
    }[attribute.name]
    check_secret(value, attribute.name, hint=hint)


@attrs.frozen
class MetaWebhooks:
    """Verifies and reads WhatsApp Cloud API webhooks for one Meta app.

    >>> meta = MetaWebhooks(app_secret="app-secret", verify_token="verify-me")
    >>> meta.handshake({"hub.mode": "subscribe", "hub.verify_token": "verify-me",
    ...                 "hub.challenge": "1158201444"})
    '1158201444'
    """

    #: The app secret that signs event requests (never shown in ``repr``).
    app_secret: str = attrs.field(validator=_check_secret, repr=False)
    #: The token Meta sends back in the verify handshake (never shown in ``repr``).
    verify_token: str = attrs.field(validator=_check_secret, repr=False)
    #: Bodies larger than this are refused before anything is hashed.
    max_body_bytes: int = attrs.field(default=MAX_BODY_BYTES, kw_only=True, validator=positive_size)

    def handshake(self, query: Mapping[str, str]) -> str:
        """The ``hub.challenge`` to answer Meta's verify GET with (HTTP 200, as text).

        Raises ``SignatureMismatch`` (403) unless ``hub.mode`` is ``subscribe`` and
        ``hub.verify_token`` is this parser's token; a challenge that is not a short
        run of URL-safe characters is refused too, so nothing odd is ever echoed.
        """
        values = query if isinstance(query, Mapping) else {}
        mode, token, challenge = (
            _query_value(values, name) for name in ("hub.mode", "hub.verify_token", "hub.challenge")
        )
        if not same(self.verify_token, token):
            msg = "hub.verify_token does not match the verify token configured for this webhook"
            raise SignatureMismatch(msg)
        if mode != "subscribe":
            msg = f"hub.mode must be 'subscribe' (got {mode[:40]!r})"
            raise SignatureMismatch(msg)
        if not _CHALLENGE.fullmatch(challenge):
            msg = f"hub.challenge is not a plausible challenge: {challenge[:40]!r}"
            raise SignatureMismatch(msg)
        return challenge

    def parse(self, request: WebhookRequest, *, now: datetime) -> list[Inbound]:
        """Verify an event ``request`` and return every message and status it carries.

        Raises ``SignatureMismatch`` (403) unless the app secret signed exactly this
        body, and ``MalformedWebhook`` (400) for a body that is too large, a method
        other than POST, or a verified body that is not a WhatsApp webhook payload.
        Never raises anything else.
        """
        require_aware(now, "now")
        body = body_of(request, self.max_body_bytes)
        require_method(request, "POST", "Meta's verify GET goes to handshake()")
        header = require_header(request, _SIGNATURE, "Meta")
        found = _SIGNATURE_VALUE.fullmatch(header)
        given = found.group(1).lower() if found is not None else ""
        if not same(hmac_digest(self.app_secret, body).hex(), given):
            msg = (
                f"{_SIGNATURE} does not match the body; check the app secret and that the "
                "body is passed exactly as received"
            )
            raise SignatureMismatch(msg)
        return _read(load_json(body, "Meta"), now)


def _query_value(query: Mapping[str, Any], name: str) -> str:
    value = query.get(name)
    if isinstance(value, list | tuple):  # frameworks that give every value as a list
        value = value[-1] if value else None
    return value if isinstance(value, str) else ""


# -- reading -----------------------------------------------------------------------------------
def _read(document: Any, now: datetime) -> list[Inbound]:
    root = obj(document, "$")
    if root.get("object") != _PRODUCT:
        return []
    need(root, "entry", "$", array)
    found: list[Inbound] = []
    for path, entry in items(root, "entry", "$"):
        need(obj(entry, path), "changes", path, array)
        for here, item in items(entry, "changes", path):
            change = obj(item, here)
            field = change.get("field")
            if field == "messages":
                value = need(change, "value", here, obj)
                found += _messages(value, f"{here}.value", now)
                found += _statuses(value, f"{here}.value", now)
            elif field == "user_preferences":
                value = need(change, "value", here, obj)
                found += _preferences(value, f"{here}.value", now)
    return found


def _preferences(value: Mapping[str, Any], path: str, now: datetime) -> list[Inbound]:
    """Marketing stops and resumes; other categories and values are not about consent."""
    found: list[Inbound] = []
    for here, item in items(value, "user_preferences", path):
        preference = obj(item, here)
        if preference.get("category") != "marketing_messages":
            continue
        raw = need(preference, "value", here, text)
        stopped = _PREFERENCES.get(raw)
        if stopped is None:
            continue  # a value this release does not know: changes nothing
        address = need(preference, "wa_id", here, _wa_address)
        at = need(preference, "timestamp", here, partial(instant, now=now))
        detail = optional_text(preference, "detail", here) or ""
        evidence = f"user_preferences marketing_messages={raw}"
        found.append(
            MarketingPreference(
                channel=Channel.WHATSAPP,
                address=address,
                stopped=stopped,
                # Meta gives these no id: who, what and Meta's own stamp make one.
                provider_id=f"{address}:{raw}:{preference.get('timestamp')}",
                at=at,
                text=f"{evidence} ({detail})" if detail else evidence,
                source="whatsapp_user_preferences",
            )
        )
    return found


def _wa_address(value: object, path: str) -> str:
    """A WhatsApp id (the number's digits) as the E.164 address stores keep."""
    digits = text(value, path)
    if not _WA_ID.fullmatch(digits):
        msg = f"{path} is not a WhatsApp number: {digits[:40]!r}"
        raise MalformedWebhook(msg)
    return "+" + digits


def _messages(value: Mapping[str, Any], path: str, now: datetime) -> list[Inbound]:
    found: list[Inbound] = []
    for here, item in items(value, "messages", path):
        message = obj(item, here)
        kind = need(message, "type", here, text)
        if kind == "system":
            continue
        words, button = _content(message, kind, here)
        found.append(
            InboundMessage(
                channel=Channel.WHATSAPP,
                address=need(message, "from", here, _wa_address),
                text=words,
                provider_id=need(message, "id", here, identifier),
                at=need(message, "timestamp", here, partial(instant, now=now)),
                button=button,
            )
        )
    return found


def _content(message: Mapping[str, Any], kind: str, path: str) -> tuple[str, str | None]:
    """The text of a message and the payload of the button it tapped, if any."""
    if kind == "text":
        return need(need(message, "text", path, obj), "body", f"{path}.text", text), None
    if kind == "button":
        button = need(message, "button", path, obj)
        label = optional_text(button, "text", f"{path}.button") or ""
        payload = optional_text(button, "payload", f"{path}.button")
        return label, payload or label
    if kind == "interactive":
        interactive = need(message, "interactive", path, obj)
        reply_kind = interactive.get("type")
        if not isinstance(reply_kind, str) or reply_kind not in _REPLIES:
            return "", None  # a Flows answer or a newer kind: a message without a choice
        here = f"{path}.interactive"
        reply = need(interactive, reply_kind, here, obj)
        title = optional_text(reply, "title", f"{here}.{reply_kind}") or ""
        return title, need(reply, "id", f"{here}.{reply_kind}", identifier)
    if kind in _MEDIA:
        media = message.get(kind)
        caption = media.get("caption") if isinstance(media, Mapping) else None
        return (caption if isinstance(caption, str) else ""), None
    return "", None


def _statuses(value: Mapping[str, Any], path: str, now: datetime) -> list[Inbound]:
    found: list[Inbound] = []
    for here, item in items(value, "statuses", path):
        report = obj(item, here)
        raw = need(report, "status", here, text)
        status = _STATUSES.get(raw)
        if status is None:
            continue  # a status this release does not know: nothing to apply
        message_id = need(report, "id", here, identifier)
        extra: dict[str, Any] = {}
        if status is DeliveryStatus.FAILED:
            extra = _failure(report, here)
        key = report.get(KEY_FIELD)
        if isinstance(key, str) and key and len(key) <= KEY_FIELD_MAX:
            extra["idempotency_key"] = key
        found.append(
            StatusUpdate(
                channel=Channel.WHATSAPP,
                provider_message_id=message_id,
                status=status,
                at=need(report, "timestamp", here, partial(instant, now=now)),
                provider_id=f"{message_id}:{raw}",
                **extra,
            )
        )
    return found


def _failure(report: Mapping[str, Any], path: str) -> dict[str, Any]:
    for here, error in items(report, "errors", path):
        meaning = whatsapp_error(need(obj(error, here), "code", here, identifier))
        return {"code": meaning.code, "permanent": meaning.permanent, "revoked": meaning.revoked}
    return {}

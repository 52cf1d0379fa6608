"""Twilio webhooks: inbound SMS and message status callbacks, signature first (PW-1).

Twilio signs each request in ``X-Twilio-Signature``: base64 of HMAC-SHA1 under the
account's auth token, over the URL it called (query string included) followed by
every POST parameter, sorted by name, as name and value with nothing between. A
request with a JSON body carries ``bodySHA256`` (hex SHA-256 of the raw body) in its
query string instead; the URL alone is then signed, and the body must hash to that
value. Twilio's own helpers accept the URL with or without the default port (its
signer is not consistent about it), and so does this parser.

What a verified request becomes:

* an inbound message (it has ``Body``) → ``InboundMessage`` on SMS, or on WhatsApp
  when the sender is ``whatsapp:+…``; a quick-reply tap's ``ButtonPayload`` is the
  ``button``; an ``OptOutType`` of ``STOP``, ``START`` or ``HELP`` (sent when the
  Messaging Service has Advanced Opt-Out on) marks it ``answered_by_provider``:
  Twilio has confirmed it already;
* a status callback (``MessageStatus``) → ``StatusUpdate``: ``sent``, ``delivered``,
  ``read``, and ``failed``/``undelivered`` with the ``ErrorCode`` read through the
  shared error table (21610 is the recipient's STOP: ``revoked``). Interim statuses
  (``queued``, ``sending``, ``accepted``, ...) say nothing new and give no result.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import attrs

from ..channels.errors import twilio_error
from ..channels.keys import KEY_PARAMETER
from ..values.model import Channel
from ..values.time import require_aware
from ._reading import MAX_BODY_BYTES, body_of, identifier, load_json, obj, positive_size
from ._signing import check_secret, hmac_digest, require_header, same, same_any
from .types import (
    DeliveryStatus,
    Inbound,
    InboundMessage,
    MalformedWebhook,
    SignatureMismatch,
    StatusUpdate,
    WebhookRequest,
)

__all__ = ["TwilioWebhooks"]

_SIGNATURE: Final = "X-Twilio-Signature"
_BODY_HASH: Final = "bodySHA256"
_WHATSAPP_PREFIX: Final = "whatsapp:"
#: ``OptOutType`` values: Twilio's Advanced Opt-Out matched a keyword and sent its own
#: confirmation (it sends the field only then).
_ANSWERED: Final = frozenset({"STOP", "START", "HELP"})
#: Form fields read at most; Twilio sends a few dozen.
_MAX_FIELDS: Final = 500
_STATUSES: Final = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
    "undelivered": DeliveryStatus.FAILED,
}
_DEFAULT_PORTS: Final = {"https": 443, "http": 80}


def _check_token(_inst: object, _attribute: attrs.Attribute[str], value: str) -> None:
    check_secret(value, "auth_token", hint="pass the Twilio account's auth token")


@attrs.frozen
class TwilioWebhooks:
    """Verifies and reads Twilio's messaging webhooks for one account.

    >>> twilio = TwilioWebhooks(auth_token="your-auth-token")
    >>> twilio
    TwilioWebhooks(max_body_bytes=1048576)

    ``parse`` returns a list (empty or one item) so every parser has the same shape.
    """

    #: The account's auth token (never shown in ``repr``).
    auth_token: str = attrs.field(validator=_check_token, repr=False)
    #: Bodies larger than this are refused before anything is hashed.
    max_body_bytes: int = attrs.field(default=MAX_BODY_BYTES, kw_only=True, validator=positive_size)

    def parse(self, request: WebhookRequest, *, now: datetime) -> list[Inbound]:
        """Verify ``request`` and return what it reports.

        Raises ``SignatureMismatch`` (403) unless Twilio signed exactly this URL and
        body, and ``MalformedWebhook`` (400) for a body that is too large or verified
        but is not a Twilio messaging webhook. Never raises anything else.
        """
        require_aware(now, "now")
        body = body_of(request, self.max_body_bytes)
        fields = self._verified_fields(request, body)
        return _read(fields, now, key=_key_in(request.url))

    # -- verification --------------------------------------------------------------------------
    def _verified_fields(self, request: WebhookRequest, body: bytes) -> Mapping[str, str]:
        signature = require_header(request, _SIGNATURE, "Twilio")
        url = request.url if isinstance(request.url, str) else ""
        try:
            query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
        except ValueError:
            query = []
        body_hash = next((value for name, value in query if name == _BODY_HASH), None)
        if body_hash is not None:
            if not same(hashlib.sha256(body).hexdigest(), body_hash.lower()):
                msg = f"The body does not hash to the {_BODY_HASH} value Twilio signed in the URL"
                raise SignatureMismatch(msg)
            self._check(url, [], signature)
            return _json_fields(body)
        method = request.method.upper() if isinstance(request.method, str) else ""
        pairs = query if method == "GET" else _form(body)
        self._check(url, [] if method == "GET" else pairs, signature)
        return dict(pairs)

    def _check(self, url: str, params: list[tuple[str, str]], signature: str) -> None:
        tail = "".join(name + value for name, value in sorted(params))
        expected = [
            base64.b64encode(
                hmac_digest(self.auth_token, (variant + tail).encode("utf-8"), hashlib.sha1)
            )
            for variant in _url_variants(url)
        ]
        if not same_any(expected, signature):
            msg = (
                f"{_SIGNATURE} does not match this URL and body; the URL must be exactly "
                "the one configured at Twilio (behind a proxy, rebuild it from the public "
                "address) and the auth token that account's"
            )
            raise SignatureMismatch(msg)


def _url_variants(url: str) -> list[str]:
    """``url`` as given, without its default port and with it (Twilio signs either)."""
    variants = [url]
    try:
        parts = urlsplit(url)
        port = parts.port
        default = _DEFAULT_PORTS.get(parts.scheme.lower())
        host = parts.netloc.rpartition("@")[2]
    except ValueError:
        return variants
    if default is None or not host:
        return variants
    if port is None:
        netloc = f"{parts.netloc}:{default}"
    elif port == default:
        netloc = parts.netloc[: parts.netloc.rfind(":")]
    else:
        return variants
    variants.append(urlunsplit(parts._replace(netloc=netloc)))
    return variants


def _form(body: bytes) -> list[tuple[str, str]]:
    """The form fields of a POST body; a body Twilio could not have signed is refused."""
    try:
        return parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=_MAX_FIELDS,
        )
    except UnicodeDecodeError:
        msg = "The body is not a UTF-8 form, so Twilio did not sign it"
        raise SignatureMismatch(msg) from None
    except ValueError:
        msg = f"The form has more than {_MAX_FIELDS} fields"
        raise MalformedWebhook(msg) from None


def _json_fields(body: bytes) -> Mapping[str, str]:
    """The top-level scalar fields of a verified JSON body, as strings."""
    document = obj(load_json(body, "Twilio"), "$")
    fields: dict[str, str] = {}
    for name, value in document.items():
        if isinstance(value, str):
            fields[name] = value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            fields[name] = str(value)
    return fields


# -- reading -----------------------------------------------------------------------------------
def _key_in(url: object) -> str | None:
    """The idempotency key the adapter put in the (signed) status-callback URL."""
    if not isinstance(url, str):
        return None
    try:
        query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    except ValueError:
        return None
    key = next((value for name, value in query if name == KEY_PARAMETER), None)
    return key or None


def _read(fields: Mapping[str, str], now: datetime, *, key: str | None = None) -> list[Inbound]:
    sid = fields.get("MessageSid") or fields.get("SmsSid")
    if sid is None:
        msg = "The webhook has no MessageSid; it is not a Twilio messaging webhook"
        raise MalformedWebhook(msg)
    sid = identifier(sid, "MessageSid")
    if "Body" in fields:
        return [_inbound(fields, sid, now)]
    status = fields.get("MessageStatus") or fields.get("SmsStatus")
    if status is None:
        msg = "The webhook has neither Body (an inbound message) nor MessageStatus (a status)"
        raise MalformedWebhook(msg)
    return _status(fields, sid, status.strip().lower(), now, key=key)


def _channel_and_address(value: str | None, field: str) -> tuple[Channel, str]:
    if value is None or not value.strip():
        msg = f"The webhook has no {field}"
        raise MalformedWebhook(msg)
    address = value.strip()
    if address.lower().startswith(_WHATSAPP_PREFIX):
        return Channel.WHATSAPP, address[len(_WHATSAPP_PREFIX) :].strip()
    return Channel.SMS, address


def _inbound(fields: Mapping[str, str], sid: str, now: datetime) -> InboundMessage:
    channel, address = _channel_and_address(fields.get("From"), "From")
    payload = fields.get("ButtonPayload") or None
    text = fields.get("ButtonText") if payload is not None else None
    return InboundMessage(
        channel=channel,
        address=address,
        text=text or fields.get("Body", ""),
        provider_id=sid,
        at=now,
        button=payload,
        answered_by_provider=fields.get("OptOutType", "").strip().upper() in _ANSWERED,
    )


def _status(
    fields: Mapping[str, str], sid: str, raw: str, now: datetime, *, key: str | None
) -> list[Inbound]:
    status = _STATUSES.get(raw)
    if status is None:
        return []  # queued, sending, accepted, scheduled, ...: nothing new
    # Twilio always names the recipient; without it the message went out as SMS.
    channel = _channel_and_address(fields.get("To") or "+", "To")[0]
    extra: dict[str, Any] = {}
    code = (fields.get("ErrorCode") or "").strip()
    if status is DeliveryStatus.FAILED and code:
        meaning = twilio_error(code)
        extra = {"code": meaning.code, "permanent": meaning.permanent, "revoked": meaning.revoked}
    return [
        StatusUpdate(
            channel=channel,
            provider_message_id=sid,
            status=status,
            at=now,
            provider_id=f"{sid}:{raw}",
            idempotency_key=key,
            **extra,
        )
    ]

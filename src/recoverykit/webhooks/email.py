"""The one-click unsubscribe endpoint (RFC 8058): the POST a mail provider sends, read.

``SMTPEmail`` puts a signed ``UnsubscribeLinks`` URL in every e-mail's
``List-Unsubscribe`` header; when the reader clicks "Unsubscribe", the mail provider
POSTs ``List-Unsubscribe=One-Click`` to it. ``OneClickUnsubscribe`` checks the token
first, like every parser here checks a signature, then the form, and gives the
runner an ``UnsubscribeRequest``. Why an expired link is still honoured is told in
``recoverykit.channels.email``.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Final
from urllib.parse import parse_qsl, urlsplit

import attrs

from ..channels.email import UnsubscribeLinks
from ..errors import LinkInvalid
from ..values.model import Channel
from ..values.time import require_aware
from .types import MalformedWebhook, SignatureMismatch, UnsubscribeRequest, WebhookRequest

__all__ = ["OneClickUnsubscribe"]

#: The one-click POST body is a few dozen bytes; anything far larger is not one.
_MAX_BODY: Final = 8 * 1024


@attrs.frozen
class OneClickUnsubscribe:
    """Reads the RFC 8058 POST a mail provider sends when someone clicks "Unsubscribe".

    ``parse`` checks the token in the URL before anything else (a forged or altered
    one raises ``SignatureMismatch``), then wants a POST whose form body holds
    ``List-Unsubscribe=One-Click``, url-encoded or ``multipart/form-data`` (anything
    else raises ``MalformedWebhook``). It never raises anything else, whatever
    arrives. Answer 200 with an empty body on success, ``err.status`` on a
    ``WebhookError``, and never a redirect.

    A GET on the same URL (a person who clicked the link in the body, or a scanner
    that fetches every link) must not unsubscribe: serve a page with a button that
    POSTs the same form instead.
    """

    links: UnsubscribeLinks

    def parse(self, request: WebhookRequest, *, now: datetime) -> list[UnsubscribeRequest]:
        """The unsubscribe request the POST stands for (always one, as a list)."""
        require_aware(now, "now")
        token = self._token(request.url)
        try:
            _expiry, customer_id, address = self.links.read(token)
        except LinkInvalid as exc:
            raise SignatureMismatch(str(exc)) from None
        if not isinstance(request.method, str) or request.method.upper() != "POST":
            msg = (
                f"One-click unsubscribe takes POST, not {request.method!r}; a GET (a reader "
                "or a link scanner) should get a page with a button that POSTs instead"
            )
            raise MalformedWebhook(msg)
        _check_one_click_body(request)
        # One event per link and day: a provider's retry is a duplicate, while a click
        # on an old e-mail after signing up again still counts.
        day = now.astimezone(UTC).date().isoformat()
        digest = hashlib.sha256(f"{token}|{day}".encode("ascii")).hexdigest()[:32]
        return [
            UnsubscribeRequest(
                channel=Channel.EMAIL,
                address=address,
                provider_id=f"one-click:{digest}",
                at=now,
                customer_id=customer_id,
                source="one-click",
            )
        ]

    def _token(self, url: object) -> str:
        """The token: what follows the base URL's path in the request's path."""
        base_path = urlsplit(self.links.base_url).path
        try:
            path = urlsplit(url).path if isinstance(url, str) else None
        except ValueError:
            path = None
        if path is None or not path.startswith(base_path):
            msg = f"Request URL {str(url)[:120]!r} does not lie under {base_path!r}: no token"
            raise SignatureMismatch(msg)
        token = path[len(base_path) :].removesuffix("/")
        if not token or "/" in token:
            raise SignatureMismatch("Request URL carries no unsubscribe token")
        return token


def _check_one_click_body(request: WebhookRequest) -> None:
    body = request.body
    if not isinstance(body, bytes) or len(body) > _MAX_BODY:
        msg = f"One-click unsubscribe body must be bytes of at most {_MAX_BODY} bytes"
        raise MalformedWebhook(msg)
    mime, params = _content_type(request.header("content-type") or "")
    if mime == "multipart/form-data":
        fields = _multipart_fields(body, params.get("boundary", ""))
    elif mime in {"", "application/x-www-form-urlencoded"}:
        fields = _form_fields(body)
    else:
        msg = (
            f"One-click unsubscribe body has content type {mime!r}; expected "
            "application/x-www-form-urlencoded or multipart/form-data"
        )
        raise MalformedWebhook(msg)
    values = [value.strip().lower() for name, value in fields if name.lower() == "list-unsubscribe"]
    if "one-click" not in values:
        raise MalformedWebhook("One-click unsubscribe body lacks List-Unsubscribe=One-Click")


def _content_type(header: str) -> tuple[str, dict[str, str]]:
    """The media type (lower case) and its parameters, from a Content-Type value."""
    mime, *rest = header.split(";")
    params: dict[str, str] = {}
    for piece in rest:
        name, sep, value = piece.partition("=")
        if sep:
            params[name.strip().lower()] = value.strip().strip('"')
    return mime.strip().lower(), params


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        msg = f"One-click unsubscribe {what} is not UTF-8"
        raise MalformedWebhook(msg) from None


def _form_fields(body: bytes) -> list[tuple[str, str]]:
    text = _text(body, "body")
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=32)
    except ValueError:
        raise MalformedWebhook("One-click unsubscribe body has too many fields") from None


_DISPOSITION_NAME: Final = re.compile(r'(?i)\bname\s*=\s*"([^"]*)"|\bname\s*=\s*([^;\s]+)')


def _multipart_fields(body: bytes, boundary: str) -> list[tuple[str, str]]:
    """The simple (non-file) fields of a ``multipart/form-data`` body (RFC 7578)."""
    if not 0 < len(boundary) <= 70 or not boundary.isascii():
        raise MalformedWebhook("multipart/form-data without a usable boundary")
    parts = body.split(b"--" + boundary.encode("ascii"))
    if len(parts) < 3 or not parts[-1].startswith(b"--"):
        raise MalformedWebhook("multipart/form-data body is not closed by its boundary")
    fields: list[tuple[str, str]] = []
    for part in parts[1:-1]:
        head, sep, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise MalformedWebhook("multipart/form-data part has no blank line after its headers")
        name = None
        for line in _text(head, "part header").split("\r\n"):
            field, _, value = line.partition(":")
            if field.strip().lower() == "content-disposition":
                found = _DISPOSITION_NAME.search(value)
                if found:
                    name = found.group(1) if found.group(1) is not None else found.group(2)
        if name is not None:
            fields.append((name, _text(content.removesuffix(b"\r\n"), "field")))
    return fields

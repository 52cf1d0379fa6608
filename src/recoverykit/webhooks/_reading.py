"""Reading a webhook's body after its signature verified: bounded, strict, with paths.

A provider's payload is read field by field through these helpers, each of which
raises ``MalformedWebhook`` naming the JSON path of the first thing that is not
what the provider sends (``$.entry[0].changes[1].value.messages[2].from``). Nothing
here raises anything else, whatever the bytes: that is what lets a parser promise
to raise only ``WebhookError``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from ..errors import InvalidInputError
from ..values.text import replace_surrogates
from .types import MalformedWebhook, WebhookRequest

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_ID_CHARS",
    "array",
    "body_of",
    "identifier",
    "instant",
    "items",
    "load_json",
    "need",
    "obj",
    "optional_text",
    "positive_size",
    "require_method",
    "text",
]

#: The largest body a parser reads by default (1 MiB); providers send far less.
MAX_BODY_BYTES: Final = 1 << 20
#: Provider ids (message ids, chat ids, update ids) longer than this are refused.
MAX_ID_CHARS: Final = 256

_PRINTABLE_ID: Final = re.compile(r"[\x21-\x7e]+")

T = TypeVar("T")


def positive_size(_inst: object, attribute: Any, value: int) -> None:
    """An attrs validator: ``value`` is a positive number of bytes."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = f"{attribute.name} must be a positive number of bytes (got {value!r})"
        raise InvalidInputError(msg)


def body_of(request: object, limit: int) -> bytes:
    """The raw body of ``request``, refused (``MalformedWebhook``) when too large.

    The size is checked before the signature, so a huge body costs no hashing.
    """
    if not isinstance(request, WebhookRequest):
        msg = (
            f"Expected a WebhookRequest (got {type(request).__name__}); build one from the request"
        )
        raise MalformedWebhook(msg)
    body = request.body
    if isinstance(body, bytearray | memoryview):
        body = bytes(body)
    if not isinstance(body, bytes):
        msg = (
            f"WebhookRequest.body must be the raw bytes (got {type(body).__name__}); a "
            "signature covers bytes, so pass the body exactly as received"
        )
        raise MalformedWebhook(msg)
    if len(body) > limit:
        msg = f"The body is {len(body)} bytes; this endpoint accepts at most {limit}"
        raise MalformedWebhook(msg)
    return body


def require_method(request: WebhookRequest, expected: str, hint: str) -> None:
    """Refuse a request whose HTTP method is not ``expected``."""
    method = request.method if isinstance(request.method, str) else ""
    if method.upper() != expected:
        msg = f"Expected a {expected} request (got {request.method!r}); {hint}"
        raise MalformedWebhook(msg)


def load_json(body: bytes, provider: str) -> Any:
    """The JSON document in ``body``; ``MalformedWebhook`` for anything unparsable.

    JSON may spell a lone surrogate (``"\\ud800"``), which no store or provider can
    encode; every such character in a key or a string becomes U+FFFD here, so a
    reply with one bad character is still read (a STOP is still a STOP).
    """
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        msg = f"The {provider} body is not valid JSON: {exc}"
        raise MalformedWebhook(msg[:300]) from None
    return _valid_unicode(document)


def _valid_unicode(document: Any) -> Any:
    """``document`` with every lone surrogate replaced; iterative, so depth costs no stack."""
    if isinstance(document, str):
        return replace_surrogates(document)
    root: list[Any] = [document]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        parent, key = stack.pop()
        value = parent[key]
        if isinstance(value, str):
            parent[key] = replace_surrogates(value)
        elif isinstance(value, list):
            stack.extend((value, index) for index in range(len(value)))
        elif isinstance(value, dict):
            cleaned = {replace_surrogates(name): item for name, item in value.items()}
            parent[key] = cleaned
            stack.extend((cleaned, name) for name in cleaned)
    return root[0]


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def obj(value: object, path: str) -> Mapping[str, Any]:
    """``value`` as a JSON object."""
    if not isinstance(value, Mapping):
        msg = f"{path} must be an object (got {_kind(value)})"
        raise MalformedWebhook(msg)
    return value


def array(value: object, path: str) -> list[Any]:
    """``value`` as a JSON array."""
    if not isinstance(value, list):
        msg = f"{path} must be an array (got {_kind(value)})"
        raise MalformedWebhook(msg)
    return value


def _as_is(value: Any, _path: str) -> Any:
    return value


def need(
    mapping: Mapping[str, Any], key: str, path: str, read: Callable[[Any, str], T] = _as_is
) -> T:
    """``mapping[key]`` read by ``read`` at ``path.key``; missing is ``MalformedWebhook``."""
    if key not in mapping:
        msg = f"{path}.{key} is missing"
        raise MalformedWebhook(msg)
    return read(mapping[key], f"{path}.{key}")


def items(container: Mapping[str, Any], key: str, path: str) -> Iterator[tuple[str, Any]]:
    """Each element of the array ``container[key]`` (absent: none) with its own path."""
    for index, item in enumerate(array(container.get(key, []), f"{path}.{key}")):
        yield f"{path}.{key}[{index}]", item


def text(value: object, path: str) -> str:
    """``value`` as a string (any length; the body size bounds it)."""
    if not isinstance(value, str):
        msg = f"{path} must be a string (got {_kind(value)})"
        raise MalformedWebhook(msg)
    return value


def optional_text(mapping: Mapping[str, Any], key: str, path: str) -> str | None:
    """``mapping[key]`` as a string, ``None`` when absent or null."""
    value = mapping.get(key)
    return None if value is None else text(value, f"{path}.{key}")


def identifier(value: object, path: str) -> str:
    """A provider id: a string or an integer, printable ASCII, at most ``MAX_ID_CHARS``."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        msg = f"{path} must be an id (a string or an integer; got {_kind(value)})"
        raise MalformedWebhook(msg)
    if len(value) > MAX_ID_CHARS or not _PRINTABLE_ID.fullmatch(value):
        msg = (
            f"{path} is not a plausible id: {value[:60]!r} (printable ASCII without spaces, "
            f"at most {MAX_ID_CHARS} characters)"
        )
        raise MalformedWebhook(msg)
    return value


def instant(value: object, path: str, *, now: datetime) -> datetime:
    """A Unix time (seconds, as a number or digits) as an aware datetime, never after ``now``.

    A provider's clock can run ahead of ours; an event stamped in the future would
    otherwise take effect late (a STOP that counts only from tomorrow), so it is
    taken as happening ``now``.
    """
    seconds: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        seconds = int(value)
    if seconds is None or seconds < 0:
        msg = f"{path} must be a Unix time in seconds (got {str(value)[:40]!r})"
        raise MalformedWebhook(msg)
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        msg = f"{path} is out of range: {seconds}"
        raise MalformedWebhook(msg) from None
    return min(moment, now)

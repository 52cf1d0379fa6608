"""Signed, expiring, URL-safe tokens: the machinery behind every link recoverykit signs.

Resume links (``recoverykit.links``), one-click unsubscribe links
(``recoverykit.channels.email``) and Telegram start links
(``recoverykit.webhooks.telegram``) share one token layout, described in the
``recoverykit.links`` module docstring, and one key format; each kind signs under
its own domain label, so a token of one kind never verifies as another even
under the same key. Names here are for the package's own modules.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import types
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import urlsplit

import attrs

from ..errors import InvalidInputError, LinkExpired, LinkInvalid

#: The format version written in the header's high nibble.
VERSION: Final = 1
#: Bytes of HMAC-SHA256 kept in a token (128 bits).
MAC_BYTES: Final = 16
#: Shortest secret accepted, in bytes.
MIN_SECRET_BYTES: Final = 16
#: Longest key id (it must fit the header's low nibble).
MAX_KEY_ID: Final = 15
#: Longest checkout id, in UTF-8 bytes; keeps tokens (and work on garbage) bounded.
MAX_CHECKOUT_ID_BYTES: Final = 256

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
SECOND: Final = timedelta(seconds=1)
EXPIRY_BYTES: Final = 4
MAX_EXPIRY: Final = 2**32 - 1
KEY_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,15}")
B64URL: Final = re.compile(r"[A-Za-z0-9_-]+")
MIN_PAYLOAD: Final = 1 + EXPIRY_BYTES + 1 + 1 + MAC_BYTES
MAX_TOKEN_CHARS: Final = (
    1 + EXPIRY_BYTES + MAX_KEY_ID + MAX_CHECKOUT_ID_BYTES + MAC_BYTES
) * 4 // 3 + 4
LOCAL_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})


def secret_bytes(kid: object, secret: object) -> bytes:
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not isinstance(secret, bytes):
        msg = f"Secret for key id {kid!r} must be bytes or str (got {type(secret).__name__})"
        raise InvalidInputError(msg)
    if len(secret) < MIN_SECRET_BYTES:
        msg = (
            f"Secret for key id {kid!r} is {len(secret)} bytes; use at least "
            f"{MIN_SECRET_BYTES} random bytes, e.g. secrets.token_bytes(32)"
        )
        raise InvalidInputError(msg)
    return secret


def convert_keys(value: Mapping[str, bytes | str]) -> Mapping[str, bytes]:
    if not isinstance(value, Mapping):
        msg = f"keys must be a mapping of key id to secret (got {type(value).__name__})"
        raise InvalidInputError(msg)
    if not value:
        msg = "keys is empty; give at least one key, e.g. {'a': secrets.token_bytes(32)}"
        raise InvalidInputError(msg)
    converted: dict[str, bytes] = {}
    for kid, secret in value.items():
        if not isinstance(kid, str) or not KEY_ID.fullmatch(kid):
            msg = (
                f"Key id {kid!r} is not URL-safe; use 1 to {MAX_KEY_ID} characters "
                "from A-Z, a-z, 0-9, '-' and '_'"
            )
            raise InvalidInputError(msg)
        converted[kid] = secret_bytes(kid, secret)
    return types.MappingProxyType(converted)


def check_base_url(_inst: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        msg = f"base_url must be a string (got {type(value).__name__})"
        raise InvalidInputError(msg)
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError as exc:
        msg = f"base_url {value!r} is not a URL: {exc}"
        raise InvalidInputError(msg) from None
    if parts.scheme == "http" and host in LOCAL_HOSTS:
        pass
    elif parts.scheme != "https" or not host:
        msg = (
            f"base_url {value!r} must be an https URL with a host "
            "(plain http is accepted for localhost only)"
        )
        raise InvalidInputError(msg)
    if parts.query or parts.fragment or not value.endswith("/"):
        msg = (
            f"base_url {value!r} must end with '/' and carry no query or fragment; "
            "the token is appended to it, e.g. 'https://shp.io/r/'"
        )
        raise InvalidInputError(msg)


def check_ttl(_inst: object, _attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    if not isinstance(value, timedelta) or value < timedelta(seconds=1):
        msg = f"ttl must be a timedelta of at least one second (got {value!r})"
        raise InvalidInputError(msg)


def keys_repr(value: Mapping[str, bytes]) -> str:
    return "<" + ", ".join(repr(kid) for kid in value) + ">"


def b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64decode(
    token: object, *, label: str = "Resume token", max_chars: int = MAX_TOKEN_CHARS
) -> bytes:
    """Strictly decode canonical unpadded base64url; anything else is `LinkInvalid`.

    ``label`` names the kind of token in messages and ``max_chars`` bounds the work
    done on garbage; other signed tokens (unsubscribe links) pass their own.
    """
    if not isinstance(token, str) or not 0 < len(token) <= max_chars:
        raise LinkInvalid(f"{label} is not a string of plausible length")
    if not token.isascii() or not B64URL.fullmatch(token) or len(token) % 4 == 1:
        raise LinkInvalid(f"{label} is not URL-safe base64")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise LinkInvalid(f"{label} is not URL-safe base64") from None
    if b64encode(raw) != token:
        raise LinkInvalid(f"{label} is not in canonical form")
    return raw


def utf8_id(value: object, name: str, limit: int) -> bytes:
    """``value`` in UTF-8; refused unless a non-empty string of at most ``limit`` bytes."""
    if not isinstance(value, str) or not value:
        msg = f"{name} must be a non-empty string (got {value!r})"
        raise InvalidInputError(msg)
    try:
        raw = value.encode("utf-8")
    except UnicodeEncodeError:
        msg = f"{name} {value!r} cannot be encoded as UTF-8"
        raise InvalidInputError(msg) from None
    if len(raw) > limit:
        msg = f"{name} is {len(raw)} bytes in UTF-8; the limit is {limit}"
        raise InvalidInputError(msg)
    return raw


def expiry_after(now: datetime, ttl: timedelta) -> int:
    """``now + ttl`` as whole Unix seconds, rounded down, checked to fit four bytes."""
    # Elapsed time, not wall-clock arithmetic: a DST change inside ttl moves nothing.
    expiry = (now - EPOCH + ttl) // SECOND
    if not 0 <= expiry <= MAX_EXPIRY:
        msg = f"now ({now.isoformat()}) plus ttl falls outside the years 1970 to 2106"
        raise InvalidInputError(msg)
    return expiry


def expired(now: datetime, expiry: int) -> bool:
    """True once ``now`` reaches ``expiry`` (Unix seconds)."""
    return now - EPOCH >= expiry * SECOND


def sign(secret: bytes, domain: bytes, body: bytes) -> bytes:
    """The truncated HMAC-SHA256 over ``domain`` and ``body``.

    Each kind of token has its own ``domain`` label, so a token of one kind never
    verifies as another even under the same key.
    """
    return hmac.new(secret, domain + body, hashlib.sha256).digest()[:MAC_BYTES]


def seal(keys: Mapping[str, bytes], expiry: int, payload: bytes, *, domain: bytes) -> str:
    """A version-1 token (layout in the module doc) for ``payload``, signed by the first key."""
    kid = next(iter(keys))
    body = (
        bytes([(VERSION << 4) | len(kid)])
        + expiry.to_bytes(EXPIRY_BYTES, "big")
        + kid.encode("ascii")
        + payload
    )
    return b64encode(body + sign(keys[kid], domain, body))


def unseal(
    keys: Mapping[str, bytes],
    token: object,
    *,
    domain: bytes,
    label: str = "Resume token",
    payload_name: str = "checkout id",
    max_chars: int = MAX_TOKEN_CHARS,
) -> tuple[int, bytes]:
    """The expiry and payload of a genuine version-1 token; `LinkInvalid` otherwise.

    Checks the format and the signature only: the caller reads the payload and
    decides what the expiry means.
    """
    raw = b64decode(token, label=label, max_chars=max_chars)
    if len(raw) < MIN_PAYLOAD:
        raise LinkInvalid(f"{label} is too short")
    header = raw[0]
    version, kid_len = header >> 4, header & 0x0F
    if version != VERSION:
        msg = f"{label} has format version {version}; this library reads {VERSION}"
        raise LinkInvalid(msg)
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    kid_start = 1 + EXPIRY_BYTES
    if kid_len == 0 or len(body) <= kid_start + kid_len:
        raise LinkInvalid(f"{label} has a malformed key id or no {payload_name}")
    kid_raw = body[kid_start : kid_start + kid_len]
    kid = kid_raw.decode("ascii", errors="replace")
    secret = keys.get(kid)
    if secret is None:
        msg = f"{label} is signed with key id {kid!r}, which is not configured"
        raise LinkInvalid(msg)
    if not hmac.compare_digest(mac, sign(secret, domain, body)):
        raise LinkInvalid(f"{label} signature does not match")
    return int.from_bytes(body[1:kid_start], "big"), body[kid_start + kid_len :]


def open_text(
    keys: Mapping[str, bytes],
    token: object,
    *,
    now: datetime,
    domain: bytes,
    label: str,
    payload_name: str,
    expired_name: str,
    max_chars: int = MAX_TOKEN_CHARS,
) -> str:
    """The UTF-8 payload of a genuine, unexpired token.

    ``LinkInvalid`` for anything malformed, tampered with or signed by an unknown
    key; ``LinkExpired`` (naming ``expired_name`` and the payload) once ``now``
    reaches the expiry.
    """
    expiry, raw = unseal(
        keys, token, domain=domain, label=label, payload_name=payload_name, max_chars=max_chars
    )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LinkInvalid(f"{label} carries a {payload_name} that is not UTF-8") from None
    if expired(now, expiry):
        msg = f"{expired_name} {text!r} expired at {expiry} (Unix time)"
        raise LinkExpired(msg)
    return text

"""Signed resume links: a short token that reopens one cart, and never an account.

**The contract.** A resume token names one checkout and a deadline, signed by the
store. A store's handler that receives it may restore that cart and prefill what the
customer typed into the checkout form (the address, the chosen delivery). It must
never sign anyone in, reveal saved cards or order history, or act as proof of who
opened it: text messages are forwarded, phones are shared, and link previews fetch
URLs on their own. Anyone holding the link sees the cart and nothing more.

**Token format (version 1).** The token is URL-safe base64, without padding, of::

    header (1 byte)   high nibble: format version (1); low nibble: key-id length (1-15)
    expiry (4 bytes)  big-endian unsigned integer seconds since 1970-01-01 UTC
    key id            ASCII, the length given in the header
    checkout id       UTF-8, the rest of the payload up to the MAC
    mac (16 bytes)    HMAC-SHA256 over a domain label and every byte above, truncated

Why so compact: SEAMS 12 keeps SMS links under 60 characters. The MAC is cut to
16 bytes (128 bits), the length NIST SP 800-107 allows for truncated HMAC and far
beyond online guessing. The expiry is whole seconds in four bytes (good until 2106)
and is rounded down, so a link never outlives its ``ttl``. With a base URL such as
``https://shp.io/r/`` and a one-character key id, a checkout id of up to 9 ASCII
characters keeps the whole link at 59 characters or fewer; longer ids still work
but cost about 4 characters per 3 bytes. Only the canonical encoding is accepted,
so no two different strings verify as the same token.

**Keys rotate.** ``keys`` maps key ids to secrets. The first key signs; every key
verifies. To rotate, put the new key first and keep the old one until the longest
``ttl`` has passed, then drop it.

**Lint codes** returned by `lint_link` for a link the store supplies:

- ``LINK001`` (error): the link is not an absolute ``http(s)`` URL with a host.
- ``LINK002`` (error): plain ``http`` to a host other than localhost.
- ``LINK003`` (error): user name or password inside the URL (``user:pass@host``).
- ``LINK004`` (error): a query or fragment parameter named like a session or
  credential (``session``, ``sid``, ``auth``, ``password``, ``access_token``, ...).
- ``LINK005`` (warning): a ``token`` parameter; recoverykit's own token lives in the
  path, so this one was made by someone else and may log the opener in.
- ``LINK006`` (error): an e-mail address in the query or fragment (``email=`` or a
  value that looks like one).
- ``LINK007`` (error): a phone number in the query or fragment.
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
from typing import Final, Literal
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

import attrs

from ._model import Channel
from ._time import require_aware
from .errors import InvalidInputError, LinkExpired, LinkInvalid

__all__ = ["LinkProblem", "ResumeLinks", "lint_link", "utm_tags", "with_query"]

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

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND: Final = timedelta(seconds=1)
_EXPIRY_BYTES: Final = 4
_MAX_EXPIRY: Final = 2**32 - 1
_DOMAIN: Final = b"recoverykit/resume-link\x00"
_KEY_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,15}")
_B64URL: Final = re.compile(r"[A-Za-z0-9_-]+")
_MIN_PAYLOAD: Final = 1 + _EXPIRY_BYTES + 1 + 1 + MAC_BYTES
_MAX_TOKEN_CHARS: Final = (
    1 + _EXPIRY_BYTES + MAX_KEY_ID + MAX_CHECKOUT_ID_BYTES + MAC_BYTES
) * 4 // 3 + 4
_LOCAL_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})


def _secret_bytes(kid: object, secret: object) -> bytes:
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


def _convert_keys(value: Mapping[str, bytes | str]) -> Mapping[str, bytes]:
    if not isinstance(value, Mapping):
        msg = f"keys must be a mapping of key id to secret (got {type(value).__name__})"
        raise InvalidInputError(msg)
    if not value:
        msg = "keys is empty; give at least one key, e.g. {'a': secrets.token_bytes(32)}"
        raise InvalidInputError(msg)
    converted: dict[str, bytes] = {}
    for kid, secret in value.items():
        if not isinstance(kid, str) or not _KEY_ID.fullmatch(kid):
            msg = (
                f"Key id {kid!r} is not URL-safe; use 1 to {MAX_KEY_ID} characters "
                "from A-Z, a-z, 0-9, '-' and '_'"
            )
            raise InvalidInputError(msg)
        converted[kid] = _secret_bytes(kid, secret)
    return types.MappingProxyType(converted)


def _check_base_url(_inst: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        msg = f"base_url must be a string (got {type(value).__name__})"
        raise InvalidInputError(msg)
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError as exc:
        msg = f"base_url {value!r} is not a URL: {exc}"
        raise InvalidInputError(msg) from None
    if parts.scheme == "http" and host in _LOCAL_HOSTS:
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


def _check_ttl(_inst: object, _attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    if not isinstance(value, timedelta) or value < timedelta(seconds=1):
        msg = f"ttl must be a timedelta of at least one second (got {value!r})"
        raise InvalidInputError(msg)


def _keys_repr(value: Mapping[str, bytes]) -> str:
    return "<" + ", ".join(repr(kid) for kid in value) + ">"


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(
    token: object, *, label: str = "Resume token", max_chars: int = _MAX_TOKEN_CHARS
) -> bytes:
    """Strictly decode canonical unpadded base64url; anything else is `LinkInvalid`.

    ``label`` names the kind of token in messages and ``max_chars`` bounds the work
    done on garbage; other signed tokens (unsubscribe links) pass their own.
    """
    if not isinstance(token, str) or not 0 < len(token) <= max_chars:
        raise LinkInvalid(f"{label} is not a string of plausible length")
    if not token.isascii() or not _B64URL.fullmatch(token) or len(token) % 4 == 1:
        raise LinkInvalid(f"{label} is not URL-safe base64")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise LinkInvalid(f"{label} is not URL-safe base64") from None
    if _b64encode(raw) != token:
        raise LinkInvalid(f"{label} is not in canonical form")
    return raw


def _utf8_id(value: object, name: str, limit: int) -> bytes:
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


def _expiry_after(now: datetime, ttl: timedelta) -> int:
    """``now + ttl`` as whole Unix seconds, rounded down, checked to fit four bytes."""
    # Elapsed time, not wall-clock arithmetic: a DST change inside ttl moves nothing.
    expiry = (now - _EPOCH + ttl) // _SECOND
    if not 0 <= expiry <= _MAX_EXPIRY:
        msg = f"now ({now.isoformat()}) plus ttl falls outside the years 1970 to 2106"
        raise InvalidInputError(msg)
    return expiry


def _expired(now: datetime, expiry: int) -> bool:
    """True once ``now`` reaches ``expiry`` (Unix seconds)."""
    return now - _EPOCH >= expiry * _SECOND


def _sign(secret: bytes, domain: bytes, body: bytes) -> bytes:
    """The truncated HMAC-SHA256 over ``domain`` and ``body``.

    Each kind of token has its own ``domain`` label, so a token of one kind never
    verifies as another even under the same key.
    """
    return hmac.new(secret, domain + body, hashlib.sha256).digest()[:MAC_BYTES]


def _seal(keys: Mapping[str, bytes], expiry: int, payload: bytes, *, domain: bytes) -> str:
    """A version-1 token (layout in the module doc) for ``payload``, signed by the first key."""
    kid = next(iter(keys))
    body = (
        bytes([(VERSION << 4) | len(kid)])
        + expiry.to_bytes(_EXPIRY_BYTES, "big")
        + kid.encode("ascii")
        + payload
    )
    return _b64encode(body + _sign(keys[kid], domain, body))


def _unseal(
    keys: Mapping[str, bytes],
    token: object,
    *,
    domain: bytes,
    label: str = "Resume token",
    payload_name: str = "checkout id",
    max_chars: int = _MAX_TOKEN_CHARS,
) -> tuple[int, bytes]:
    """The expiry and payload of a genuine version-1 token; `LinkInvalid` otherwise.

    Checks the format and the signature only: the caller reads the payload and
    decides what the expiry means.
    """
    raw = _b64decode(token, label=label, max_chars=max_chars)
    if len(raw) < _MIN_PAYLOAD:
        raise LinkInvalid(f"{label} is too short")
    header = raw[0]
    version, kid_len = header >> 4, header & 0x0F
    if version != VERSION:
        msg = f"{label} has format version {version}; this library reads {VERSION}"
        raise LinkInvalid(msg)
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    kid_start = 1 + _EXPIRY_BYTES
    if kid_len == 0 or len(body) <= kid_start + kid_len:
        raise LinkInvalid(f"{label} has a malformed key id or no {payload_name}")
    kid_raw = body[kid_start : kid_start + kid_len]
    kid = kid_raw.decode("ascii", errors="replace")
    secret = keys.get(kid)
    if secret is None:
        msg = f"{label} is signed with key id {kid!r}, which is not configured"
        raise LinkInvalid(msg)
    if not hmac.compare_digest(mac, _sign(secret, domain, body)):
        raise LinkInvalid(f"{label} signature does not match")
    return int.from_bytes(body[1:kid_start], "big"), body[kid_start + kid_len :]


@attrs.frozen
class ResumeLinks:
    """Makes and checks signed resume links for one store.

    ``keys`` maps key ids to secrets (the first signs, all verify); ``base_url`` is
    where the store's resume handler lives (https, ending in ``/``); ``ttl`` is how
    long a link stays good. Example::

        links = ResumeLinks({"b": new_secret, "a": old_secret}, "https://shp.io/r/",
                            timedelta(days=7))
        sms_link = links.url("c1042", now=now)
        checkout_id = links.verify(token_from_path, now=now)
    """

    #: Key id to secret, in order; the first signs. Secrets never appear in ``repr``.
    keys: Mapping[str, bytes] = attrs.field(converter=_convert_keys, repr=_keys_repr, hash=False)
    #: The resume handler's URL; a token is appended to it.
    base_url: str = attrs.field(validator=_check_base_url)
    #: How long a link stays good after it is made.
    ttl: timedelta = attrs.field(validator=_check_ttl)

    @property
    def signing_key_id(self) -> str:
        """The id of the key that signs new tokens (the first in ``keys``)."""
        return next(iter(self.keys))

    def token(self, checkout_id: str, *, now: datetime) -> str:
        """A token for ``checkout_id`` good until ``now + ttl`` (rounded down to a second)."""
        require_aware(now, "now")
        cid = _utf8_id(checkout_id, "checkout_id", MAX_CHECKOUT_ID_BYTES)
        return _seal(self.keys, _expiry_after(now, self.ttl), cid, domain=_DOMAIN)

    def url(self, checkout_id: str, *, now: datetime, utm: Mapping[str, str] | None = None) -> str:
        """The full resume link; ``utm`` (see `utm_tags`) goes into the query string.

        Leave ``utm`` out for SMS, where the link must stay short (SEAMS 12).
        """
        link = self.base_url + self.token(checkout_id, now=now)
        if utm:
            link += "?" + urlencode(dict(utm))
        return link

    def verify(self, token: str, *, now: datetime) -> str:
        """The checkout id inside a genuine, unexpired ``token``.

        Raises `LinkInvalid` for anything malformed, tampered with or signed by an
        unknown key, and `LinkExpired` once ``now`` reaches the expiry.
        """
        require_aware(now, "now")
        expiry, payload = _unseal(self.keys, token, domain=_DOMAIN)
        try:
            checkout_id = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise LinkInvalid("Resume token carries a checkout id that is not UTF-8") from None
        if _expired(now, expiry):
            msg = f"Resume link for checkout {checkout_id!r} expired at {expiry} (Unix time)"
            raise LinkExpired(msg)
        return checkout_id


def utm_tags(touch: int, channel: str, *, campaign: str = "checkout-recovery") -> dict[str, str]:
    """UTM tags that tell the store's analytics which touch brought the visit.

    Example: ``utm_tags(2, "email")`` gives ``utm_source=recoverykit``,
    ``utm_medium=email``, ``utm_campaign=checkout-recovery``, ``utm_content=touch-2``.
    """
    if isinstance(touch, bool) or not isinstance(touch, int) or touch < 1:
        msg = f"touch must be a positive integer, the first touch being 1 (got {touch!r})"
        raise InvalidInputError(msg)
    try:
        medium = Channel(channel)
    except ValueError:
        names = ", ".join(c.value for c in Channel)
        msg = f"Unknown channel {channel!r}; use one of {names}"
        raise InvalidInputError(msg) from None
    if not isinstance(campaign, str) or not campaign.strip():
        msg = f"campaign must be a non-empty string (got {campaign!r})"
        raise InvalidInputError(msg)
    return {
        "utm_source": "recoverykit",
        "utm_medium": medium.value,
        "utm_campaign": campaign,
        "utm_content": f"touch-{touch}",
    }


def with_query(url: str, params: Mapping[str, str]) -> str:
    """``url`` with ``params`` added to its query; parameters already there are kept
    and win over the added ones (a store's own tags are never overwritten)."""
    parts = urlsplit(url)
    present = {pair.split("=", 1)[0] for pair in parts.query.split("&") if pair}
    extra = urlencode({name: value for name, value in params.items() if name not in present})
    if not extra:
        return url
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


@attrs.frozen
class LinkProblem:
    """One thing wrong with a link a store supplied (codes are listed in the module doc)."""

    #: Stable code, ``LINK001`` to ``LINK007``.
    code: str
    #: ``error`` means the link must not be sent as it is; ``warning`` asks for a look.
    level: Literal["error", "warning"]
    #: What was found and how to fix it.
    message: str


#: Parameter names (compared lower-cased, with '-' read as '_') that carry a login.
_CREDENTIAL_NAMES: Final = frozenset(
    {
        "session", "sessionid", "session_id", "sid", "phpsessid", "jsessionid", "asp.net_sessionid",
        "auth", "authorization", "auth_token", "authtoken", "access_token", "id_token",
        "refresh_token", "bearer", "jwt", "password", "passwd", "pwd", "pass", "secret",
        "api_key", "apikey", "login_token", "magic_link", "otp", "sso", "ticket",
    }
)  # fmt: skip
_EMAIL_NAMES: Final = frozenset({"email", "e_mail", "mail", "email_address"})
_PHONE_NAMES: Final = frozenset({"phone", "tel", "telephone", "mobile", "msisdn", "phone_number"})
_EMAIL_VALUE: Final = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
# International form only: a bare run of digits is as likely an order number.
_PHONE_VALUE: Final = re.compile(r"(?:\+|00)\d[\d\s().-]{5,20}")


def _looks_like_phone(value: str) -> bool:
    digits = sum(ch.isdigit() for ch in value)
    return bool(_PHONE_VALUE.fullmatch(value.strip())) and 8 <= digits <= 17


def _parameters(text: str) -> list[tuple[str, str]]:
    """Name/value pairs of a query or fragment, percent-decoded but keeping a literal '+'."""
    pairs: list[tuple[str, str]] = []
    for piece in text.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return pairs


def lint_link(url: str) -> list[LinkProblem]:
    """Problems with a store-supplied link, in the order found; empty when it looks safe.

    Example: ``lint_link("http://shop.example/cart?sid=9f2c")`` reports ``LINK002``
    (plain http) and ``LINK004`` (a session id in the query).
    """
    problems: list[LinkProblem] = []
    try:
        parts = urlsplit(url)
        host = parts.hostname
        has_userinfo = parts.username is not None or parts.password is not None
        scheme = parts.scheme.lower()
    except (ValueError, TypeError, AttributeError):
        host = None
    if host is None or scheme not in {"http", "https"}:
        return [
            LinkProblem(
                "LINK001",
                "error",
                f"Link {url!r} is not an absolute http(s) URL; give the full https address",
            )
        ]
    if scheme == "http" and host not in _LOCAL_HOSTS:
        problems.append(
            LinkProblem(
                "LINK002", "error", f"Link to {host!r} uses plain http; serve it over https"
            )
        )
    if has_userinfo:
        problems.append(
            LinkProblem(
                "LINK003",
                "error",
                f"Link to {host!r} carries a user name or password before the host; remove it",
            )
        )
    pairs = _parameters(parts.query) + _parameters(parts.fragment)
    for name, value in pairs:
        key = name.strip().lower().replace("-", "_")
        if key in _CREDENTIAL_NAMES:
            problems.append(
                LinkProblem(
                    "LINK004",
                    "error",
                    f"Parameter {name!r} looks like a session or credential; a resume link "
                    "must open the cart, never an account",
                )
            )
        elif "token" in key:
            problems.append(
                LinkProblem(
                    "LINK005",
                    "warning",
                    f"Parameter {name!r} is a token recoverykit did not make; check it cannot "
                    "sign anyone in",
                )
            )
        elif key in _EMAIL_NAMES or _EMAIL_VALUE.fullmatch(value.strip()):
            problems.append(
                LinkProblem(
                    "LINK006",
                    "error",
                    f"Parameter {name!r} carries an e-mail address; links get forwarded and "
                    "logged, so leave it out",
                )
            )
        elif key in _PHONE_NAMES or _looks_like_phone(value):
            problems.append(
                LinkProblem(
                    "LINK007",
                    "error",
                    f"Parameter {name!r} carries a phone number; links get forwarded and "
                    "logged, so leave it out",
                )
            )
    return problems

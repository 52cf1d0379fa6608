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

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final, Literal
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

import attrs

from .errors import InvalidInputError
from .messages.tokens import (
    LOCAL_HOSTS,
    MAX_CHECKOUT_ID_BYTES,
    check_base_url,
    check_ttl,
    convert_keys,
    expiry_after,
    keys_repr,
    open_text,
    seal,
    utf8_id,
)
from .values.model import Channel
from .values.time import require_aware

__all__ = ["LinkProblem", "ResumeLinks", "lint_link", "utm_tags", "with_query"]

_DOMAIN: Final = b"recoverykit/resume-link\x00"


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
    keys: Mapping[str, bytes] = attrs.field(converter=convert_keys, repr=keys_repr, hash=False)
    #: The resume handler's URL; a token is appended to it.
    base_url: str = attrs.field(validator=check_base_url)
    #: How long a link stays good after it is made.
    ttl: timedelta = attrs.field(validator=check_ttl)

    @property
    def signing_key_id(self) -> str:
        """The id of the key that signs new tokens (the first in ``keys``)."""
        return next(iter(self.keys))

    def token(self, checkout_id: str, *, now: datetime) -> str:
        """A token for ``checkout_id`` good until ``now + ttl`` (rounded down to a second)."""
        require_aware(now, "now")
        cid = utf8_id(checkout_id, "checkout_id", MAX_CHECKOUT_ID_BYTES)
        return seal(self.keys, expiry_after(now, self.ttl), cid, domain=_DOMAIN)

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
        return open_text(
            self.keys,
            token,
            now=now,
            domain=_DOMAIN,
            label="Resume token",
            payload_name="checkout id",
            expired_name="Resume link for checkout",
        )


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
    if scheme == "http" and host not in LOCAL_HOSTS:
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

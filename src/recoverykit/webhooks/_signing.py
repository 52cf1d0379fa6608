"""Secrets and signature checks shared by the webhook parsers.

Every comparison of a signature or a shared token goes through ``same``, which
compares in constant time (``hmac.compare_digest``) on bytes, so neither the
length of a matching prefix nor a non-ASCII header value can leak through timing
or raise a ``TypeError``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from typing import Any, Final

from ..errors import InvalidInputError
from .types import SignatureMismatch, WebhookRequest

__all__ = ["check_secret", "hmac_digest", "require_header", "same", "same_any"]

#: A secret longer than this is certainly a mistake (a whole file pasted in).
_MAX_SECRET_CHARS: Final = 4096

Digest = Callable[..., Any]


def check_secret(value: object, what: str, *, hint: str) -> str:
    """``value`` if it is a non-empty string of sane length; ``InvalidInputError`` if not.

    Parsers refuse to start without their secret: an empty one would make every
    forged request "verify" against an empty key.
    """
    if not isinstance(value, str) or not value.strip():
        msg = f"{what} must be a non-empty string (got {type(value).__name__}); {hint}"
        raise InvalidInputError(msg)
    if len(value) > _MAX_SECRET_CHARS:
        msg = f"{what} is {len(value)} characters long; {hint}"
        raise InvalidInputError(msg)
    return value


def hmac_digest(secret: str, data: bytes, digest: Digest = hashlib.sha256) -> bytes:
    """HMAC of ``data`` under ``secret`` (UTF-8), with ``digest`` (SHA-256 by default)."""
    return hmac.new(secret.encode("utf-8"), data, digest).digest()


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def same(expected: str | bytes, given: str | bytes) -> bool:
    """Whether two secrets or signatures are equal, compared in constant time."""
    return hmac.compare_digest(_bytes(expected), _bytes(given))


def same_any(candidates: Iterable[str | bytes], given: str | bytes) -> bool:
    """Whether ``given`` equals any candidate; every candidate is compared, always."""
    found = False
    for candidate in candidates:
        found |= same(candidate, given)
    return found


def require_header(request: WebhookRequest, name: str, provider: str) -> str:
    """The value of a signature header, or ``SignatureMismatch`` naming the missing header."""
    value = request.header(name)
    if value is None or not value.strip():
        msg = (
            f"The request has no {name} header, so it cannot be from {provider}; "
            "check that the endpoint is configured with the secret this parser holds"
        )
        raise SignatureMismatch(msg)
    return value.strip()

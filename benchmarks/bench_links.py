"""How fast resume tokens are made and checked (token + verify per second).

CPU time, each figure beside its floor measured in the same run: the HMAC-SHA256 of a
token's payload and its base64 text for tokens, ``urllib.parse.urlsplit`` for the
link lint.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from benchmarks._timing import rate
from recoverykit.errors import LinkInvalid
from recoverykit.links import ResumeLinks, lint_link

ROUNDS = 50_000


def _hmac_floor(ids: list[str]) -> float:
    """CPU seconds per token for the least a signed token needs: one HMAC and base64."""
    key = b"new-secret-0123456789abcdef"
    started = time.process_time()
    for checkout_id in ids:
        digest = hmac.new(key, f"{checkout_id}.1772366400".encode(), hashlib.sha256).digest()
        base64.urlsafe_b64encode(digest[:16])
    return (time.process_time() - started) / len(ids)


def _flip(token: str, index: int) -> str:
    replacement = "A" if token[index] != "A" else "B"
    return token[:index] + replacement + token[index + 1 :]


def main() -> None:
    """Print tokens made, tokens verified and links linted per second."""
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    links = ResumeLinks(
        {"b": b"new-secret-0123456789abcdef", "a": b"old-secret-0123456789abcdef"},
        "https://shp.io/r/",
        timedelta(days=7),
    )
    ids = [f"c{i:08d}" for i in range(ROUNDS)]

    floor = ("HMAC-SHA256 + base64", _hmac_floor(ids))
    start = time.process_time()
    tokens = [links.token(checkout_id, now=now) for checkout_id in ids]
    rate("token()", ROUNDS, time.process_time() - start, floor)

    start = time.process_time()
    for token in tokens:
        links.verify(token, now=now)
    rate("verify() genuine", ROUNDS, time.process_time() - start, floor)

    # Change a middle character so each refusal goes through the signature check.
    tampered = [_flip(token, len(token) // 2) for token in tokens]
    start = time.process_time()
    for token in tampered:
        with contextlib.suppress(LinkInvalid):
            links.verify(token, now=now)
    rate("verify() tampered (refused)", ROUNDS, time.process_time() - start, floor)

    url = "https://shop.example/cart/c1042?lang=pl&utm_source=x&order=123456789"
    start = time.process_time()
    for _ in range(ROUNDS):
        urlsplit(url)
    split = (time.process_time() - start) / ROUNDS
    start = time.process_time()
    for _ in range(ROUNDS):
        lint_link(url)
    rate("lint_link()", ROUNDS, time.process_time() - start, ("urlsplit", split))


if __name__ == "__main__":
    main()

"""How fast resume tokens are made and checked (token + verify per second)."""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime, timedelta

from recoverykit.errors import LinkInvalid
from recoverykit.links import ResumeLinks, lint_link

ROUNDS = 50_000


def _rate(label: str, count: int, seconds: float) -> None:
    print(f"{label:<34} {count / seconds:>12,.0f} /s   ({seconds * 1e6 / count:.2f} µs each)")


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

    start = time.perf_counter()
    tokens = [links.token(checkout_id, now=now) for checkout_id in ids]
    _rate("token()", ROUNDS, time.perf_counter() - start)

    start = time.perf_counter()
    for token in tokens:
        links.verify(token, now=now)
    _rate("verify() genuine", ROUNDS, time.perf_counter() - start)

    # Change a middle character so each refusal goes through the signature check.
    tampered = [_flip(token, len(token) // 2) for token in tokens]
    start = time.perf_counter()
    for token in tampered:
        with contextlib.suppress(LinkInvalid):
            links.verify(token, now=now)
    _rate("verify() tampered (refused)", ROUNDS, time.perf_counter() - start)

    url = "https://shop.example/cart/c1042?lang=pl&utm_source=x&order=123456789"
    start = time.perf_counter()
    for _ in range(ROUNDS):
        lint_link(url)
    _rate("lint_link()", ROUNDS, time.perf_counter() - start)


if __name__ == "__main__":
    main()

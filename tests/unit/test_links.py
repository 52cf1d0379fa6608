"""Resume links: signing, verifying, rotation, expiry, configuration, UTM tags and link lint."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from recoverykit.errors import InvalidInputError, LinkExpired, LinkInvalid, NaiveDatetimeError
from recoverykit.links import LinkProblem, ResumeLinks, lint_link, utm_tags
from recoverykit.values.zones import get_zone

NOW = datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)
OLD_SECRET = b"old-secret-0123456789abcdef"
NEW_SECRET = b"new-secret-fedcba9876543210"
WEEK = timedelta(days=7)


def make(keys: dict[str, bytes | str] | None = None, ttl: timedelta = WEEK) -> ResumeLinks:
    return ResumeLinks(keys or {"a": OLD_SECRET}, "https://shp.io/r/", ttl)


def decode(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def test_round_trip() -> None:
    """verify returns exactly the checkout id the token was made for."""
    links = make()
    assert links.verify(links.token("c1042", now=NOW), now=NOW) == "c1042"


def test_sms_link_stays_under_sixty_characters() -> None:
    """A 9-character checkout id, a 1-character key id and a short base fit in 59 characters."""
    link = make().url("c10420001", now=NOW)
    assert link.startswith("https://shp.io/r/")
    assert len(link) <= 59


def test_token_layout() -> None:
    """The header holds version 1 and the key-id length; key id and checkout id follow expiry."""
    raw = decode(make().token("c7", now=NOW))
    assert raw[0] == 0x11
    expected_expiry = int((NOW + WEEK).timestamp())
    assert expected_expiry == int.from_bytes(raw[1:5], "big")
    assert raw[5:6] == b"a"
    assert raw[6:-16] == b"c7"
    assert len(raw) == 1 + 4 + 1 + 2 + 16


def test_token_is_urlsafe_and_unpadded() -> None:
    """Tokens use only the URL-safe base64 alphabet, with no '=' padding."""
    token = make().token("ÿ/+?#&=", now=NOW)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_expiry_boundary_is_exact() -> None:
    """The link works up to the expiry second (rounded down) and is expired from it on."""
    links = make()
    token = links.token("c1", now=NOW)
    deadline = datetime(2026, 3, 8, 12, 0, 0, tzinfo=UTC)
    assert links.verify(token, now=deadline - timedelta(microseconds=1)) == "c1"
    with pytest.raises(LinkExpired, match="c1"):
        links.verify(token, now=deadline)


def test_expiry_counts_elapsed_time_across_dst() -> None:
    """A week's ttl across the spring DST change ends 168 hours later, not at the same wall time."""
    warsaw = get_zone("Europe/Warsaw")
    now = datetime(2026, 3, 25, 12, 0, tzinfo=warsaw)
    links = make()
    token = links.token("c1", now=now)
    deadline = (now.astimezone(UTC) + WEEK).astimezone(warsaw)
    assert deadline.hour == 13
    assert links.verify(token, now=deadline - timedelta(seconds=1)) == "c1"
    with pytest.raises(LinkExpired):
        links.verify(token, now=deadline)


def test_verify_accepts_now_in_any_zone() -> None:
    """The same instant written in another zone gives the same answer."""
    links = make()
    token = links.token("c1", now=NOW)
    later = (NOW + WEEK - timedelta(seconds=2)).astimezone(ZoneInfo("Asia/Tokyo"))
    assert links.verify(token, now=later) == "c1"


def test_rotation_old_key_verifies_new_key_signs() -> None:
    """After rotation the new key signs, and links made with the old key still verify."""
    before = make({"a": OLD_SECRET})
    after = make({"b": NEW_SECRET, "a": OLD_SECRET})
    old_token = before.token("c1", now=NOW)
    new_token = after.token("c2", now=NOW)
    assert after.signing_key_id == "b"
    assert decode(new_token)[5:6] == b"b"
    assert after.verify(old_token, now=NOW) == "c1"
    assert after.verify(new_token, now=NOW) == "c2"


def test_retired_key_is_refused() -> None:
    """Once the old key is dropped, its links are refused as signed by an unknown key."""
    token = make({"a": OLD_SECRET}).token("c1", now=NOW)
    with pytest.raises(LinkInvalid, match="key id 'a'"):
        make({"b": NEW_SECRET}).verify(token, now=NOW)


def test_wrong_secret_under_same_key_id_is_refused() -> None:
    """A token signed with another secret under the same key id fails the signature check."""
    token = make({"a": NEW_SECRET}).token("c1", now=NOW)
    with pytest.raises(LinkInvalid, match="signature"):
        make({"a": OLD_SECRET}).verify(token, now=NOW)


def test_string_secret_equals_its_utf8_bytes() -> None:
    """A str secret signs exactly as its UTF-8 bytes do."""
    text = "sekret-ąę-0123456789"
    token = make({"a": text}).token("c1", now=NOW)
    assert make({"a": text.encode()}).verify(token, now=NOW) == "c1"


def test_other_version_is_refused() -> None:
    """A header with an unknown format version is refused before any key is looked up."""
    raw = bytearray(decode(make().token("c1", now=NOW)))
    raw[0] = 0x21
    token = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(LinkInvalid, match="version 2"):
        make().verify(token, now=NOW)


@pytest.mark.parametrize(
    "garbage",
    ["", "=", "abc=", "a", "ab cd", "zażółć", "…", "A" * 5000, "EWle84Bh==", "AAAAAAAAAAAA"],
)
def test_garbage_is_invalid(garbage: str) -> None:
    """Empty, padded, non-ASCII, oversized or too-short input is refused as LinkInvalid."""
    with pytest.raises(LinkInvalid):
        make().verify(garbage, now=NOW)


@pytest.mark.parametrize("garbage", [None, 42, b"bytes"])
def test_non_string_is_invalid(garbage: object) -> None:
    """A token that is not even a string is refused as LinkInvalid, not a TypeError."""
    with pytest.raises(LinkInvalid):
        make().verify(garbage, now=NOW)  # type: ignore[arg-type]


def test_naive_now_is_refused() -> None:
    """Both token and verify refuse a naive now."""
    links = make()
    naive = datetime(2026, 3, 1, 12, 0)
    with pytest.raises(NaiveDatetimeError):
        links.token("c1", now=naive)
    with pytest.raises(NaiveDatetimeError):
        links.verify(links.token("c1", now=NOW), now=naive)


@pytest.mark.parametrize(
    ("checkout_id", "fragment"),
    [("", "non-empty"), ("x" * 257, "257 bytes"), ("\ud800", "UTF-8")],
)
def test_bad_checkout_id(checkout_id: str, fragment: str) -> None:
    """Empty, oversized and unencodable checkout ids are refused when signing."""
    with pytest.raises(InvalidInputError, match=fragment):
        make().token(checkout_id, now=NOW)


def test_expiry_outside_four_bytes_is_refused() -> None:
    """An expiry past 2106 cannot be written in four bytes and is refused."""
    with pytest.raises(InvalidInputError, match="1970 to 2106"):
        make().token("c1", now=datetime(2106, 12, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("keys", "base_url", "ttl", "fragment"),
    [
        ({}, "https://shp.io/r/", WEEK, "keys is empty"),
        ({"a": b"short"}, "https://shp.io/r/", WEEK, "5 bytes"),
        ({"a b": OLD_SECRET}, "https://shp.io/r/", WEEK, "not URL-safe"),
        ({"k" * 16: OLD_SECRET}, "https://shp.io/r/", WEEK, "not URL-safe"),
        ({"a": 12345}, "https://shp.io/r/", WEEK, "bytes or str"),
        ({"a": OLD_SECRET}, "http://shop.example/r/", WEEK, "must be an https URL"),
        ({"a": OLD_SECRET}, "ftp://shop.example/r/", WEEK, "must be an https URL"),
        ({"a": OLD_SECRET}, "https:///r/", WEEK, "must be an https URL"),
        ({"a": OLD_SECRET}, "https://shp.io/r", WEEK, "must end with '/'"),
        ({"a": OLD_SECRET}, "https://shp.io/r/?x=1", WEEK, "no query"),
        ({"a": OLD_SECRET}, "https://shp.io/r/", timedelta(0), "at least one second"),
        ({"a": OLD_SECRET}, "https://shp.io/r/", timedelta(days=-1), "at least one second"),
    ],
)
def test_configuration_is_validated(
    keys: dict[str, bytes], base_url: str, ttl: timedelta, fragment: str
) -> None:
    """Keys, base URL and ttl are checked when the object is made, with a message naming the fix."""
    with pytest.raises(InvalidInputError, match=fragment):
        ResumeLinks(keys, base_url, ttl)


def test_plain_http_is_allowed_for_localhost() -> None:
    """Local development may use http://localhost."""
    links = ResumeLinks({"a": OLD_SECRET}, "http://localhost:8000/r/", WEEK)
    assert links.url("c1", now=NOW).startswith("http://localhost:8000/r/")


def test_repr_hides_secrets() -> None:
    """repr shows key ids only, never a secret."""
    text = repr(make({"b": NEW_SECRET, "a": OLD_SECRET}))
    assert "<'b', 'a'>" in text
    assert "secret" not in text


def test_url_with_utm_tags() -> None:
    """UTM tags go into the query string after the token, which still verifies."""
    links = make()
    link = links.url("c1", now=NOW, utm=utm_tags(2, "email"))
    path, _, query = link.partition("?")
    expected_query = (
        "utm_source=recoverykit&utm_medium=email&utm_campaign=checkout-recovery&utm_content=touch-2"
    )
    assert expected_query == query
    assert links.verify(path.removeprefix("https://shp.io/r/"), now=NOW) == "c1"


def test_utm_tags_values() -> None:
    """Each touch and channel gets its own tags; the campaign can be set."""
    expected = {
        "utm_source": "recoverykit",
        "utm_medium": "whatsapp",
        "utm_campaign": "spring",
        "utm_content": "touch-3",
    }
    assert expected == utm_tags(3, "whatsapp", campaign="spring")


@pytest.mark.parametrize(
    ("touch", "channel", "campaign", "fragment"),
    [
        (0, "sms", "c", "positive integer"),
        (True, "sms", "c", "positive integer"),
        (1, "fax", "c", "Unknown channel 'fax'"),
        (1, "sms", " ", "campaign must be"),
    ],
)
def test_utm_tags_refuse_bad_input(touch: int, channel: str, campaign: str, fragment: str) -> None:
    """A touch below 1, an unknown channel or an empty campaign is refused."""
    with pytest.raises(InvalidInputError, match=fragment):
        utm_tags(touch, channel, campaign=campaign)


def codes(url: str) -> list[str]:
    return [problem.code for problem in lint_link(url)]


def test_lint_clean_link() -> None:
    """A plain https cart link with harmless parameters has no problems."""
    assert lint_link("https://shop.example/cart/c1042?lang=pl&order=123456789") == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("shop.example/cart", ["LINK001"]),
        ("mailto:someone@example.com", ["LINK001"]),
        ("http://shop.example/cart", ["LINK002"]),
        ("http://localhost:8000/cart", []),
        ("https://user:pw@shop.example/cart", ["LINK003"]),
        ("https://shop.example/cart?session=abc", ["LINK004"]),
        ("https://shop.example/cart?SID=abc", ["LINK004"]),
        ("https://shop.example/cart?auth=1", ["LINK004"]),
        ("https://shop.example/cart?password=hunter2", ["LINK004"]),
        ("https://shop.example/cart#access-token=xyz", ["LINK004"]),
        ("https://shop.example/cart?token=xyz", ["LINK005"]),
        ("https://shop.example/cart?reset_token=xyz", ["LINK005"]),
        ("https://shop.example/cart?email=", ["LINK006"]),
        ("https://shop.example/cart?who=ann%40example.com", ["LINK006"]),
        ("https://shop.example/cart?phone=1", ["LINK007"]),
        ("https://shop.example/cart?to=+48601234567", ["LINK007"]),
        ("https://shop.example/cart?to=%2B48%20601%20234%20567", ["LINK007"]),
        ("http://shop.example/cart?sid=9f2c&email=a@b.co", ["LINK002", "LINK004", "LINK006"]),
    ],
)
def test_lint_codes(url: str, expected: list[str]) -> None:
    """Each kind of unsafe link gets its code, in the order found."""
    assert expected == codes(url)


def test_lint_problem_shape() -> None:
    """A problem has a code, a level and a message naming the parameter."""
    expected = LinkProblem(
        "LINK005",
        "warning",
        "Parameter 'token' is a token recoverykit did not make; check it cannot sign anyone in",
    )
    assert [expected] == lint_link("https://shop.example/cart?token=1")


def test_lint_non_string_is_link001() -> None:
    """Input that is not a URL string at all is reported, not raised."""
    assert codes(None) == ["LINK001"]  # type: ignore[arg-type]

"""One-click unsubscribe: signed links (round trip, tampering, expiry) and the RFC 8058 POST."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recoverykit.channels.email import (
    MIN_UNSUBSCRIBE_TTL,
    UnsubscribeLinks,
)
from recoverykit.errors import InvalidInputError, LinkError, LinkExpired, LinkInvalid
from recoverykit.links import ResumeLinks
from recoverykit.values.model import Channel
from recoverykit.webhooks import (
    MalformedWebhook,
    OneClickUnsubscribe,
    SignatureMismatch,
    UnsubscribeRequest,
    WebhookError,
    WebhookRequest,
)

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
OLD = b"old-unsubscribe-secret-0123456789"
NEW = b"new-unsubscribe-secret-9876543210"
BASE = "https://shop.example/unsubscribe/"
LINKS = UnsubscribeLinks({"a": OLD}, BASE)
ENDPOINT = OneClickUnsubscribe(LINKS)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
MULTIPART = {"Content-Type": "multipart/form-data; boundary=XyZ"}
ONE_CLICK = b"List-Unsubscribe=One-Click"


def token_of(url: str) -> str:
    assert url.startswith(BASE)
    return url[len(BASE) :]


def post(
    url: str, body: bytes = ONE_CLICK, headers: dict[str, str] | None = None
) -> WebhookRequest:
    return WebhookRequest("POST", url, FORM if headers is None else headers, body)


def decode(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# -- the links -----------------------------------------------------------------------------
def test_round_trip() -> None:
    """verify returns exactly the customer id and address the link was made for."""
    url = LINKS.url("cust-42", "Ann.Lee@example.com", now=NOW)
    assert LINKS.verify(token_of(url), now=NOW) == ("cust-42", "Ann.Lee@example.com")


@given(
    customer_id=st.text(min_size=1, max_size=60).filter(
        lambda text: (
            len(text.encode("utf-8", "surrogatepass")) <= 255
            and text.encode("utf-8", "ignore").decode("utf-8") == text
        )
    ),
    local=st.from_regex(r"[A-Za-z0-9._%+-]{1,30}", fullmatch=True),
    domain=st.from_regex(r"[a-z0-9-]{1,20}\.[a-z]{2,6}", fullmatch=True),
)
def test_round_trip_for_any_customer_id(customer_id: str, local: str, domain: str) -> None:
    """Any UTF-8 customer id and plain address come back unchanged."""
    address = f"{local}@{domain}"
    token = LINKS.token(customer_id, address, now=NOW)
    assert LINKS.verify(token, now=NOW) == (customer_id, address)


def test_every_flipped_bit_is_refused() -> None:
    """Changing any bit of the token makes it invalid (never another valid identity)."""
    raw = decode(LINKS.token("cust-42", "ann@example.com", now=NOW))
    for index in range(len(raw)):
        for bit in range(8):
            tampered = bytearray(raw)
            tampered[index] ^= 1 << bit
            with pytest.raises(LinkInvalid):
                LINKS.verify(encode(bytes(tampered)), now=NOW)


def test_swapping_the_address_is_refused() -> None:
    """Someone who edits the address inside a token cannot unsubscribe another person."""
    raw = decode(LINKS.token("cust-42", "ann@example.com", now=NOW))
    forged = raw.replace(b"ann@example.com", b"bob@example.com")
    assert forged != raw
    with pytest.raises(LinkInvalid, match="signature"):
        LINKS.verify(encode(forged), now=NOW)


def test_expiry_boundary_is_exact() -> None:
    """verify works up to now + ttl (rounded down to a second) and refuses it from then on."""
    token = LINKS.token("cust-42", "ann@example.com", now=NOW)
    deadline = NOW + LINKS.ttl
    assert LINKS.verify(token, now=deadline - timedelta(microseconds=1))
    with pytest.raises(LinkExpired, match="cust-42"):
        LINKS.verify(token, now=deadline)


def test_keys_rotate() -> None:
    """The first key signs, every key verifies; a dropped key's tokens stop verifying."""
    old_token = LINKS.token("cust-1", "ann@example.com", now=NOW)
    rotated = UnsubscribeLinks({"b": NEW, "a": OLD}, BASE)
    new_token = rotated.token("cust-1", "ann@example.com", now=NOW)
    assert rotated.verify(old_token, now=NOW) == ("cust-1", "ann@example.com")
    assert rotated.verify(new_token, now=NOW) == ("cust-1", "ann@example.com")
    with pytest.raises(LinkInvalid, match="key id 'b'"):
        LINKS.verify(new_token, now=NOW)
    with pytest.raises(LinkInvalid, match="key id 'a'"):
        UnsubscribeLinks({"b": NEW}, BASE).verify(old_token, now=NOW)


def test_resume_and_unsubscribe_tokens_never_cross() -> None:
    """Under the same key, a resume token is no unsubscribe token, and the other way round."""
    resume = ResumeLinks({"a": OLD}, BASE, timedelta(days=7))
    with pytest.raises(LinkInvalid):
        LINKS.verify(resume.token("cust-42", now=NOW), now=NOW)
    with pytest.raises(LinkInvalid):
        resume.verify(LINKS.token("cust-42", "ann@example.com", now=NOW), now=NOW)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("", "ann@example.com"), "customer_id"),
        (("c" * 256, "ann@example.com"), "255"),
        (("cust-1", "ann"), "plain e-mail address"),
        (("cust-1", "ann@example.com\r\nBcc: x@example.com"), "plain e-mail address"),
        (("cust-1", "a" * 250 + "@example.com"), "longer than 254"),
    ],
)
def test_bad_input_is_named(args: tuple[str, str], fragment: str) -> None:
    """A link cannot be made for an empty or huge id or something that is not an address."""
    with pytest.raises(InvalidInputError, match=fragment):
        LINKS.token(*args, now=NOW)


def test_ttl_has_a_legal_floor_and_a_year_by_default() -> None:
    """ttl defaults to a year and may not be shorter than 60 days (CASL, rules.md §2.4)."""
    assert LINKS.ttl == timedelta(days=365)
    assert UnsubscribeLinks({"a": OLD}, BASE, MIN_UNSUBSCRIBE_TTL).ttl == timedelta(days=60)
    with pytest.raises(InvalidInputError, match="60 days"):
        UnsubscribeLinks({"a": OLD}, BASE, timedelta(days=30))


def test_configuration_is_checked_like_resume_links() -> None:
    """Keys and base URL follow the resume links' rules (shared code, same messages)."""
    with pytest.raises(InvalidInputError, match="at least 16"):
        UnsubscribeLinks({"a": b"short"}, BASE)
    with pytest.raises(InvalidInputError, match="https"):
        UnsubscribeLinks({"a": OLD}, "http://shop.example/u/")
    assert OLD.decode() not in repr(LINKS)


# -- the one-click POST ----------------------------------------------------------------------
def test_one_click_post_becomes_an_unsubscribe_request() -> None:
    """A form-encoded List-Unsubscribe=One-Click POST to a genuine link withdraws e-mail
    consent for that address, naming the customer (PW-5)."""
    url = LINKS.url("cust-42", "ann@example.com", now=NOW)
    [request] = ENDPOINT.parse(post(url), now=NOW + timedelta(days=3))
    assert request == UnsubscribeRequest(
        channel=Channel.EMAIL,
        address="ann@example.com",
        provider_id=request.provider_id,
        at=NOW + timedelta(days=3),
        customer_id="cust-42",
        source="one-click",
    )
    assert request.provider_id.startswith("one-click:")


def test_multipart_form_data_is_accepted() -> None:
    """RFC 8058 prefers multipart/form-data; it is read as well as the url-encoded form."""
    url = LINKS.url("cust-42", "ann@example.com", now=NOW)
    body = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="List-Unsubscribe"\r\n'
        b"\r\n"
        b"One-Click\r\n"
        b"--XyZ--\r\n"
    )
    headers = {"Content-Type": 'multipart/form-data; boundary="XyZ"'}
    [request] = ENDPOINT.parse(post(url, body, headers), now=NOW)
    assert request.customer_id == "cust-42"


def test_expired_but_genuine_link_still_unsubscribes() -> None:
    """Stopping mail is always safe to grant: a genuine token past its ttl still works
    for the one-click POST (only verify, for landing pages, enforces the ttl)."""
    url = LINKS.url("cust-42", "ann@example.com", now=NOW)
    much_later = NOW + timedelta(days=800)
    [request] = ENDPOINT.parse(post(url), now=much_later)
    assert request.address == "ann@example.com"


def test_provider_retry_is_the_same_event_but_a_later_click_is_new() -> None:
    """The same link on the same day gives the same provider id (a retry is a duplicate);
    on another day it is a new request (after re-subscribing, an old link still works)."""
    url = LINKS.url("cust-42", "ann@example.com", now=NOW)
    first = ENDPOINT.parse(post(url), now=NOW)[0].provider_id
    retry = ENDPOINT.parse(post(url), now=NOW + timedelta(minutes=5))[0].provider_id
    later = ENDPOINT.parse(post(url), now=NOW + timedelta(days=40))[0].provider_id
    assert first == retry != later


def test_tampered_or_missing_token_is_a_signature_mismatch() -> None:
    """A forged, altered or absent token raises SignatureMismatch (403), before the body
    is read."""
    url = LINKS.url("cust-42", "ann@example.com", now=NOW)
    foreign = UnsubscribeLinks({"a": NEW}, BASE).url("cust-42", "ann@example.com", now=NOW)
    for bad in (
        url[:-2] + ("AA" if not url.endswith("AA") else "BB"),
        foreign,
        BASE,
        "https://shop.example/elsewhere/" + token_of(url),
        "http://[::1/unsubscribe/x",
    ):
        with pytest.raises(SignatureMismatch) as refused:
            ENDPOINT.parse(post(bad, b"garbage"), now=NOW)
        assert refused.value.status == 403


@pytest.mark.parametrize(
    ("method", "body", "headers", "fragment"),
    [
        ("GET", b"", {}, "POST"),
        ("POST", b"", FORM, "lacks"),
        ("POST", b"List-Unsubscribe=Yes-Please", FORM, "lacks"),
        ("POST", ONE_CLICK, {"Content-Type": "application/json"}, "content type"),
        ("POST", b"\xff\xfe", FORM, "UTF-8"),
        ("POST", b"a=1&" * 40 + ONE_CLICK, FORM, "too many"),
        ("POST", ONE_CLICK + b"&x=" + b"y" * 9000, FORM, "at most"),
        ("POST", b"--XyZ\r\nno blank line--XyZ--", MULTIPART, "blank line"),
        ("POST", ONE_CLICK, {"Content-Type": "multipart/form-data"}, "boundary"),
        ("POST", b"--XyZ\r\n\r\nOne-Click", MULTIPART, "closed"),
    ],
)  # fmt: skip
def test_wrong_method_or_body_is_malformed(
    method: str, body: bytes, headers: dict[str, str], fragment: str
) -> None:
    """With a genuine token, anything but a one-click form POST raises MalformedWebhook (400),
    naming what was wrong; a GET (a link scanner) never unsubscribes."""
    url = LINKS.url("cust-42", "ann@example.com", now=NOW)
    with pytest.raises(MalformedWebhook, match=fragment) as refused:
        ENDPOINT.parse(WebhookRequest(method, url, headers, body), now=NOW)
    assert refused.value.status == 400


@given(
    method=st.sampled_from(["POST", "GET", "post", "PUT", ""]) | st.text(max_size=8),
    path=st.text(max_size=120),
    content_type=st.sampled_from(
        ["", "application/x-www-form-urlencoded", "multipart/form-data; boundary=b", "text/plain"]
    )
    | st.text(max_size=60),
    body=st.binary(max_size=300)
    | st.builds(
        lambda head, tail: head + ONE_CLICK + tail, st.binary(max_size=40), st.binary(max_size=40)
    )
    | st.builds(
        lambda part, tail: b"--b\r\n" + part + b"\r\n--b" + tail,
        st.sampled_from(
            [b'Content-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n']
        ).flatmap(lambda head: st.binary(max_size=30).map(lambda value: head + value))
        | st.binary(max_size=80),
        st.sampled_from([b"--\r\n", b"--", b"", b"\r\n"]),
    ),
    genuine=st.booleans(),
)
def test_parse_never_raises_anything_but_webhook_errors(
    method: str, path: str, content_type: str, body: bytes, genuine: bool
) -> None:
    """Whatever arrives, parse returns requests or raises a WebhookError (fuzzed), and a
    request only ever names the identity a genuine token carried."""
    url = LINKS.url("cust-42", "ann@example.com", now=NOW) if genuine else BASE + path
    request = WebhookRequest(method, url, {"Content-Type": content_type}, body)
    try:
        results = ENDPOINT.parse(request, now=NOW)
    except WebhookError:
        return
    assert genuine
    assert [(r.customer_id, r.address) for r in results] == [("cust-42", "ann@example.com")]


@given(st.text(max_size=400) | st.binary(max_size=300).map(encode))
def test_verify_refuses_garbage_with_link_errors_only(token: str) -> None:
    """Any string is either a genuine token or refused with a LinkError."""
    try:
        LINKS.verify(token, now=NOW)
    except LinkError:
        return
    raise AssertionError(f"garbage verified: {token!r}")

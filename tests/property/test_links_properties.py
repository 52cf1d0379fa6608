"""Properties of resume tokens: round trip, tamper refusal, key rotation, expiry, garbage."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recoverykit.errors import LinkExpired, LinkInvalid
from recoverykit.links import ResumeLinks
from recoverykit.testing.strategies import aware_datetimes

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
BASE = "https://shp.io/r/"

checkout_ids = st.text(min_size=1, max_size=40).filter(lambda s: len(s.encode()) <= 256)
secrets = st.binary(min_size=16, max_size=64)
key_ids = st.from_regex(r"[A-Za-z0-9_-]{1,15}", fullmatch=True)
ttls = st.integers(min_value=1, max_value=90 * 86_400).map(lambda s: timedelta(seconds=s))
instants = aware_datetimes()


def encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


@given(checkout_ids, key_ids, secrets, ttls, instants)
def test_round_trip_for_any_checkout_id(
    checkout_id: str, kid: str, secret: bytes, ttl: timedelta, now: datetime
) -> None:
    """Any text checkout id comes back unchanged from a token made at the same moment."""
    links = ResumeLinks({kid: secret}, BASE, ttl)
    assert checkout_id == links.verify(links.token(checkout_id, now=now), now=now)


@given(checkout_ids, secrets, instants, st.data())
def test_every_character_substitution_is_refused(
    checkout_id: str, secret: bytes, now: datetime, data: st.DataObject
) -> None:
    """Replacing any one character of a token with another alphabet character is LinkInvalid."""
    links = ResumeLinks({"k": secret}, BASE, timedelta(days=7))
    token = links.token(checkout_id, now=now)
    for index, original in enumerate(token):
        replacement = data.draw(st.sampled_from(ALPHABET.replace(original, "")))
        tampered = token[:index] + replacement + token[index + 1 :]
        with pytest.raises(LinkInvalid):
            links.verify(tampered, now=now)


@given(checkout_ids, secrets, instants, st.data())
def test_every_byte_change_is_refused(
    checkout_id: str, secret: bytes, now: datetime, data: st.DataObject
) -> None:
    """Changing any one byte of the decoded token and re-encoding it is LinkInvalid."""
    links = ResumeLinks({"k": secret}, BASE, timedelta(days=7))
    raw = decode(links.token(checkout_id, now=now))
    for index in range(len(raw)):
        delta = data.draw(st.integers(min_value=1, max_value=255))
        tampered = bytearray(raw)
        tampered[index] ^= delta
        with pytest.raises(LinkInvalid):
            links.verify(encode(bytes(tampered)), now=now)


@given(checkout_ids, secrets, instants, st.integers(min_value=0, max_value=60), st.text(ALPHABET))
def test_truncation_and_extension_are_refused(
    checkout_id: str, secret: bytes, now: datetime, cut: int, extra: str
) -> None:
    """Dropping characters from the end or appending any is refused."""
    links = ResumeLinks({"k": secret}, BASE, timedelta(days=7))
    token = links.token(checkout_id, now=now)
    shortened = token[: max(0, len(token) - 1 - cut)]
    with pytest.raises(LinkInvalid):
        links.verify(shortened, now=now)
    if extra:
        with pytest.raises(LinkInvalid):
            links.verify(token + extra, now=now)


@given(checkout_ids, secrets, secrets, instants)
def test_wrong_key_is_refused(checkout_id: str, good: bytes, bad: bytes, now: datetime) -> None:
    """A token verified with a different secret under the same key id is LinkInvalid."""
    signer = ResumeLinks({"k": bad}, BASE, timedelta(days=1))
    checker = ResumeLinks({"k": good}, BASE, timedelta(days=1))
    token = signer.token(checkout_id, now=now)
    if good == bad:
        assert checkout_id == checker.verify(token, now=now)
    else:
        with pytest.raises(LinkInvalid):
            checker.verify(token, now=now)


@given(checkout_ids, checkout_ids, secrets, secrets, instants)
def test_rotation(
    old_id: str, new_id: str, old_secret: bytes, new_secret: bytes, now: datetime
) -> None:
    """With the new key first, new tokens carry it and both old and new tokens verify."""
    before = ResumeLinks({"old": old_secret}, BASE, timedelta(days=7))
    after = ResumeLinks({"new": new_secret, "old": old_secret}, BASE, timedelta(days=7))
    old_token = before.token(old_id, now=now)
    new_token = after.token(new_id, now=now)
    assert decode(new_token)[5:8] == b"new"
    assert old_id == after.verify(old_token, now=now)
    assert new_id == after.verify(new_token, now=now)


@given(checkout_ids, ttls, instants)
def test_expiry_boundary(checkout_id: str, ttl: timedelta, now: datetime) -> None:
    """Good one microsecond before the whole second at or before now + ttl, expired at it."""
    links = ResumeLinks({"k": b"0123456789abcdef"}, BASE, ttl)
    token = links.token(checkout_id, now=now)
    end = now.astimezone(UTC) + ttl
    deadline = end.replace(microsecond=0)
    assert now <= deadline - timedelta(microseconds=1)
    assert checkout_id == links.verify(token, now=deadline - timedelta(microseconds=1))
    with pytest.raises(LinkExpired):
        links.verify(token, now=deadline)
    with pytest.raises(LinkExpired):
        links.verify(token, now=end + timedelta(days=1))


garbage = st.one_of(
    st.text(),
    st.text(ALPHABET + "=+/ .%", min_size=20, max_size=80),
    st.binary(min_size=0, max_size=80).map(encode),
    st.binary(min_size=22, max_size=60).map(lambda b: encode(bytes([0x11]) + b)),
    st.binary(min_size=22, max_size=60).map(lambda b: encode(bytes([0x11]) + b"\0\0\0\0k" + b)),
)


@given(garbage, instants)
def test_garbage_only_ever_raises_link_invalid(token: str, now: datetime) -> None:
    """Arbitrary input, structured or not, is refused with LinkInvalid and nothing else."""
    links = ResumeLinks({"k": b"0123456789abcdef"}, BASE, timedelta(days=7))
    with pytest.raises(LinkInvalid):
        links.verify(token, now=now)

"""The optimised segment count gives exactly what the pre-optimisation copy gave.

``_sms_reference`` is ``sms_segments`` as it stood when every UCS-2 text with an
emoji or a combining mark was split into grapheme clusters from end to end. The live
count reads clusters only next to a segment boundary and works out ``forced_ucs2``
on first read; each test requires the same ``SegmentInfo`` (every field) for texts
built to put joining characters, escape pairs and surrogate pairs where segments end.
"""

from __future__ import annotations

import pickle
from typing import Final

import attrs
from hypothesis import example, given
from hypothesis import strategies as st

from recoverykit.messages.sms import SegmentInfo, is_gsm7, sms_segments
from tests.property import _sms_reference as reference

#: Pieces that meet at segment boundaries in every awkward way the count knows.
_PIECES: Final = (
    "a", "ж", "é", "ç", "€", "{", "\r\n", "\r", "\n", "\f", " ", "\x01", "`",
    "😀", "👍🏽", "👩\u200d💻", "👨\u200d👩\u200d👧\u200d👦", "🇮🇹", "🇵🇱", "\U0001f1e6",
    "e\u0301", "\u0301", "\u200d", "\ufe0f", "a\u0308\u0301", "\u1100\u1161\u11a8",
    "\u1100", "\u1161", "\uac00", "\u0915\u094d\u0937", "\u0600", "\u0600a", "\u0903",
    "\U000e0067\U000e0062", "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
    "\ud800", "\udc00", "日本", "\U00020000", "ё", "«", "—", "🏿", "🏺", "👍🏿", "\U000e007f",
)  # fmt: skip


@st.composite
def awkward_texts(draw: st.DrawFn) -> str:
    """Runs of one filler padded to near a segment's end, then awkward pieces."""
    chunks = []
    for _ in range(draw(st.integers(1, 6))):
        filler = draw(st.sampled_from(["a", "ж", "€", "😀", "é", "\u0301"]))
        chunks.append(filler * draw(st.integers(0, 80)))
        chunks.extend(draw(st.lists(st.sampled_from(_PIECES), max_size=6)))
    return "".join(chunks)


@st.composite
def texts_cut_at_a_piece(draw: st.DrawFn) -> str:
    """A piece placed a few units either side of where the first segment is full."""
    filler = draw(st.sampled_from(["ж", "😀", "a", "é"]))
    width = 2 if filler == "😀" else 1
    before = 67 + draw(st.integers(-4, 3))
    head = filler * (before // width) + "ж" * (before % width)
    tail = draw(st.sampled_from(["ж", "😀", "a"])) * draw(st.integers(0, 140))
    return head + draw(st.sampled_from(_PIECES)) + tail


def _same(text: str) -> None:
    expected = reference.sms_segments(text)
    actual = sms_segments(text)
    assert expected == actual
    assert attrs.astuple(expected) == attrs.astuple(actual)
    assert repr(expected) == repr(actual)


@given(awkward_texts() | texts_cut_at_a_piece())
@example("ж" * 66 + "🇮🇹" + "ж" * 64)
@example("ж" * 66 + "e\u0301" + "ж" * 66)  # the character after the cut joins
@example("ж" * 65 + "👍🏿" + "ж" * 65)  # the one after the cut is a wide joining one
@example("a" * 152 + "€" + "a" * 152)
@example("😀" + "\u0301" * 200)
@example("\U0001f1e6" * 101)
@example("ж" * 66 + "\r\n" + "ж" * 66)
def test_awkward_texts_count_as_before(text: str) -> None:
    """Same encoding, segments, units, room, forced characters and text, field by field."""
    _same(text)


@given(st.text(st.characters(codec=None, exclude_categories=()), max_size=400))
def test_any_text_counts_as_before(text: str) -> None:
    """The same on arbitrary code points, lone surrogates included."""
    _same(text)


@st.composite
def gsm7_texts(draw: st.DrawFn) -> str:
    """Runs of plain septets and escape pairs, so pairs land on every side of a cut."""
    chunks = []
    for _ in range(draw(st.integers(1, 5))):
        chunks.append(draw(st.sampled_from(["a", "€", "é"])) * draw(st.integers(0, 160)))
        chunks.append(draw(st.text(st.sampled_from("abc €{}[]~|^\\\fé@£Ç\n\r"), max_size=6)))
    return "".join(chunks)


@given(gsm7_texts() | st.text(st.sampled_from("abc €{}[]~|^\\\fé@£Ç\n\r"), max_size=500))
@example("a" * 151 + "€€" + "a" * 150)
def test_gsm7_texts_with_escapes_count_as_before(text: str) -> None:
    """Escape pairs never split, found by counting escapes per slice."""
    _same(text)
    assert is_gsm7(text) == (reference.sms_segments(text).encoding == "GSM-7")


@given(awkward_texts(), st.booleans())
def test_forced_characters_are_the_same_however_the_value_is_used(
    text: str, read_first: bool
) -> None:
    """``forced_ucs2`` worked out late equals, hashes, copies and pickles as the eager one."""
    expected = reference.sms_segments(text)
    actual = sms_segments(text)
    if read_first:
        assert expected.forced_ucs2 == actual.forced_ucs2
    assert hash(expected) == hash(actual)
    assert expected == pickle.loads(pickle.dumps(actual))
    assert expected == attrs.evolve(actual)
    assert attrs.asdict(expected) == attrs.asdict(actual)


def test_a_missing_attribute_is_still_missing() -> None:
    """Only ``forced_ucs2`` is worked out late; any other name raises as usual."""
    info = sms_segments("ж")
    try:
        info.nothing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError:
        pass
    else:
        raise AssertionError("an unknown attribute was answered")
    assert SegmentInfo("UCS-2", 1, 1, 70, ("ж",), "ж") == info

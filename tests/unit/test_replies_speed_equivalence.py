"""The optimised reply classifier answers exactly as the pre-optimisation copy did.

``_replies_reference`` is the classifier as it stood before its hot path was rewritten
for speed. Every test here feeds both the same text and arguments and requires the same
``Reply`` (or the same exception type, for arguments of the wrong type), so a speed-up
can never quietly change what a customer's reply means.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from itertools import pairwise
from typing import Final

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recoverykit.policies.keywords import KEYWORDS, Intent
from recoverykit.policies.replies import (
    MAX_REPLY_CHARS,
    MatchMode,
    Reply,
    _new_reply,
    classify_reply,
    normalize_reply,
)
from recoverykit.policies.text import _fold_char
from recoverykit.values.model import Channel
from tests.unit import _replies_reference as reference

#: Every language the tables know, region-tagged spellings, and ones they do not know.
LOCALES: Final = (
    None, "", "en", "en-US", "EN_gb", "pl", "PL-pl", "ru", "ru_KZ", "uk", "kk", "fr", "fr-CA",
    "es", "de", "xx", "*", "_ru", "-",
)  # fmt: skip
MODES: Final[tuple[MatchMode | None, ...]] = (None, "exact", "contains")
REGIONS: Final = (None, "US", "us", "PL", "")
PHRASES: Final = tuple(dict.fromkeys(entry.phrase for entry in KEYWORDS))

_COMBINING: Final = ("\u0301", "\u0300", "\u0302", "\u0306", "\u0308", "\u0327", "\u20e3")
_INVISIBLE: Final = ("\u200b", "\u200d", "\ufe0f", "\u00ad", "\u2060")
_APOSTROPHES: Final = ("'", "’", "ʼ", "‘", "`", "´")
_GLUE: Final = (
    " ", "  ", "", "-", " - ", "\t", "\n", ", ", "!", "?", "？", "¿", "...", "…", " 🙏 ", "👍",
    "\u3000", "\u00a0", "\n> ", ">", "/", "_", "1", "２",
)  # fmt: skip
_FILLER: Final = (
    "please", "thanks", "ok", "yes", "no", "1", "12", "123", "٣", "３", "3️⃣", "①", "²", "x42",
    "спасибо", "proszę", "merci", "ﬁn", "ǅ", "İ", "ß", "Ω", "ﷺ", "¨", "ﹰ", "ё", "й", "ł", "œ",
    "ħ", "ı", "ŀ", "ø", "đ", "æ", "नमस्ते", "สวัสดี", "日本", "😀", "🛑", "\x00", "\ud800",
)  # fmt: skip


def _fullwidth(char: str) -> str:
    return chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char


@st.composite
def _respelled(draw: st.DrawFn, phrase: str) -> str:
    """A table phrase as a person might type it: case, accents, width, marks, apostrophes."""
    out: list[str] = []
    for char in phrase:
        style = draw(st.integers(0, 9))
        if style == 0:
            out.append(char.upper())
        elif style == 1:
            out.append(_fullwidth(char))
        elif style == 2:
            out.append(char + draw(st.sampled_from(_COMBINING)))
        elif style == 3:
            out.append(unicodedata.normalize("NFD", char))
        elif style == 4:
            out.append(char + draw(st.sampled_from(_INVISIBLE)))
        elif style == 5 and char == " ":
            out.append(draw(st.sampled_from(_GLUE)))
        elif style == 6 and char in "'’":
            out.append(draw(st.sampled_from(_APOSTROPHES)))
        elif style == 7:
            out.append(char + draw(st.sampled_from([" ", "-", ".", "\n"])))  # "s top", "st-op"
        else:
            out.append(char)
    return "".join(out)


_PIECE: Final = st.one_of(
    st.sampled_from(PHRASES).flatmap(_respelled),
    st.sampled_from(_FILLER),
    st.text(max_size=8),
)
#: Replies built from the tables' own words, respelled, among filler and junk.
TEXTS: Final = st.one_of(
    st.lists(st.tuples(_PIECE, st.sampled_from(_GLUE)), max_size=7).map(
        lambda parts: "".join(piece + glue for piece, glue in parts)
    ),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=80),
    st.text(alphabet=st.characters(categories=["Nd", "Mn", "Zs", "Cc", "Cf"]), max_size=12),
)
ARGUMENTS: Final = st.tuples(
    st.sampled_from(LOCALES) | st.text(max_size=4),
    st.sampled_from(Channel),
    st.sampled_from(MODES),
    st.sampled_from(REGIONS),
)


def _both(
    text: str,
    locale: str | None = None,
    channel: Channel = Channel.SMS,
    mode: MatchMode | None = None,
    region: str | None = None,
) -> None:
    new = classify_reply(text, locale=locale, channel=channel, mode=mode, region=region)
    old = reference.classify_reply(text, locale=locale, channel=channel, mode=mode, region=region)
    assert old == new, (text, locale, channel, mode, region)


@given(TEXTS, ARGUMENTS)
def test_same_reply_as_reference(
    text: str, arguments: tuple[str | None, Channel, MatchMode | None, str | None]
) -> None:
    """For any text and arguments the optimised classifier gives the reference's Reply."""
    assert reference.normalize_reply(text) == normalize_reply(text)
    _both(text, *arguments)


@given(TEXTS, st.sampled_from(LOCALES))
def test_same_reply_in_every_mode_and_region(text: str, locale: str | None) -> None:
    """One text, every mode, with and without a region: never a different answer."""
    for mode in MODES:
        for region in (None, "US", "PL"):
            _both(text, locale, Channel.SMS, mode, region)


@given(
    st.lists(st.sampled_from(PHRASES).flatmap(_respelled), min_size=1, max_size=3),
    st.integers(0, 60),
    st.sampled_from(Channel),
    st.sampled_from(MODES),
)
def test_same_reply_for_long_and_bounded_text(
    words: list[str], offset: int, channel: Channel, mode: MatchMode | None
) -> None:
    """Past the memo length and around the read limit, answers still agree."""
    filler = "Hi! I was looking at the shoes again, "
    body = filler * ((MAX_REPLY_CHARS - offset) // len(filler)) + "x" * (offset % 7)
    for text in (" ".join(words) + " " + filler * 2, body + " ".join(words), body + "?"):
        _both(text, "en", channel, mode, "US")
        _both(text, None, channel, mode, None)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_table_phrase_agrees(locale: str | None) -> None:
    """Each table phrase, alone, broken in two, or inside a sentence, agrees with the reference."""
    for phrase in PHRASES:
        half = len(phrase) // 2
        broken = f"{phrase[:half]} {phrase[half:]}"  # "st op" is "stop" once glued
        for text in (phrase, phrase.upper() + "!", broken, f"ok {phrase} please", f"{phrase}?"):
            for mode in MODES:
                _both(text, locale, Channel.SMS, mode, None)
            _both(text, locale, Channel.SMS, None, "US")


#: Every character up to U+3000 (Latin, Greek, Cyrillic, combining marks, Indic, spaces,
#: punctuation), the surrogates, and a sample of wide and astral ones.
CHARACTERS: Final = (
    *map(chr, range(0x3000)),
    *map(chr, range(0xD800, 0xE000, 97)),
    *"ＳＴＯＰ１２？ﬁﬀﷺﹰ㈱㎏①⑴⒈🛑👍🏽3️⃣日本語",
)


def test_every_character_folds_as_before() -> None:
    """Alone, inside a word and after a space, each character folds exactly as before."""
    for char in CHARACTERS:
        for text in (char, f"st{char}op", f"stop {char}", f"{char}{char.upper()} 1"):
            assert reference.normalize_reply(text) == normalize_reply(text), ascii(text)


def test_split_characters_fold_to_spaces() -> None:
    """Folding word by word is sound: every character str.split cuts at folds to a space."""
    cuts = [chr(code) for code in range(0x110000) if chr(code).isspace()]
    assert cuts
    assert {" "} == {_fold_char(char) for char in cuts}


@given(
    st.text(max_size=8),
    st.sampled_from(Intent),
    st.none() | st.integers(0, 99),
    st.booleans(),
    st.none() | st.text(max_size=8),
    st.none() | st.sampled_from(["en", "pl"]),
)
def test_slot_filled_reply_is_a_reply(
    text: str,
    intent: Intent,
    choice: int | None,
    review: bool,
    matched: str | None,
    locale: str | None,
) -> None:
    """The fast constructor gives a Reply equal to Reply(...) in value, repr and hash."""
    assert _new_reply is not Reply, "Reply changed shape: update _reply_maker() to match"
    made = _new_reply(text, intent, choice, review, matched, locale)
    plain = Reply(text, intent, choice, review, matched, locale)
    assert (plain, repr(plain), hash(plain)) == (made, repr(made), hash(made))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.text = "changed"  # type: ignore[misc]


def _tied_pairs() -> list[tuple[str, str, str | None]]:
    """Pairs of entries that rank the same (one intent, one folded length), and a locale."""
    groups: dict[tuple[str, int], list[tuple[str, str]]] = {}
    for entry in KEYWORDS:
        key = (entry.intent.value, len(normalize_reply(entry.phrase)))
        groups.setdefault(key, []).append((entry.phrase, entry.locale))
    pairs = []
    for members in groups.values():
        for (first, locale), (second, _) in pairwise(members):
            if first != second:
                pairs.append((first, second, None if locale == "*" else locale))
    return pairs


@pytest.mark.parametrize(("first", "second", "locale"), _tied_pairs())
def test_equal_ranks_resolve_as_before(first: str, second: str, locale: str | None) -> None:
    """Of two entries that rank the same, the one read first still decides, in either order."""
    for text in (f"{first} {second}", f"{second} {first}", f"ok {first}, {second}"):
        for language in (None, locale):
            for mode in MODES:
                _both(text, language, Channel.SMS, mode, None)


@pytest.mark.parametrize(
    ("text", "arguments"),
    [
        ("stop", {"locale": 7}),
        ("", {"locale": 7}),
        ("stop", {"locale": ["en"]}),
        ("stop " * 20, {"locale": ["en"]}),
        ("stop", {"region": 1}),
        ("stop", {"mode": "CONTAINS", "region": "US"}),
        ("stop", {"channel": "email"}),
        ("hi\n> stop", {"channel": Channel.EMAIL, "mode": "contains"}),
    ],
)
def test_odd_arguments_behave_as_before(text: str, arguments: dict[str, object]) -> None:
    """Arguments of the wrong type give the same Reply or the same exception as before."""

    def outcome(classify: Callable[..., Reply]) -> Reply | type[Exception]:
        try:
            return classify(text, **arguments)
        except Exception as error:  # the exception's type is what is compared
            return type(error)

    assert outcome(reference.classify_reply) == outcome(classify_reply)

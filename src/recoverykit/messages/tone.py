"""Tone rules that read the text as written: the opt-out line, loud punctuation, emoji, capitals.

The phrase checks in ``lint`` compare folded text, which drops punctuation, emoji and
case; the rules here need exactly what folding throws away, so they read the raw
text. They are pure functions of one string, shared by ``lint`` (template literals)
and ``guard`` (the rendered message).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

import regex  # type: ignore[import-untyped]

from ..policies.text import fold

__all__ = ["LETTERS_ONLY", "emoji_run", "exclamation_run", "has_optout_word", "loud_word"]

#: Two or more exclamation marks in a row read as shouting ("!!", "!!!", "!!1").
EXCLAMATION_RUN: Final = 2
#: Three or more emoji side by side (spaces between allowed) read as a sales banner.
EMOJI_RUN: Final = 3
#: A single word in capitals this long or longer reads as shouting ("HURRY", "MAINTENANT");
#: four-letter words in capitals are mostly names and acronyms (BLIK, VISA, IKEA).
LOUD_WORD_LETTERS: Final = 5

_EXCLAIM: Final = re.compile(f"[!\u00a1\uff01]{{{EXCLAMATION_RUN},}}")
# One emoji: a pictograph with its modifiers, and any ZWJ-joined pictographs, as one.
_ONE_EMOJI: Final = (
    r"\p{Extended_Pictographic}[\uFE0F\U0001F3FB-\U0001F3FF]*"
    r"(?:\u200D\p{Extended_Pictographic}[\uFE0F\U0001F3FB-\U0001F3FF]*)*"
)
_EMOJI: Final = regex.compile(rf"(?:{_ONE_EMOJI}[ \t]*){{{EMOJI_RUN},}}")
_FLAGS: Final = regex.compile(rf"(?:[\U0001F1E6-\U0001F1FF]{{2}}[ \t]*){{{EMOJI_RUN},}}")
# A hyphen or slash inside a word joins it: "non-stop" is one word, not "non" and "stop".
_JOINED: Final = regex.compile(r"(?<=\w)[-\u2010\u2011/](?=\w)")


class _LettersOnly(dict[int, int | None]):
    """A ``str.translate`` table that keeps letters (``str.isalpha``) and drops the rest.

    Filled one code point at a time on first sight: whether a character is a letter
    never changes, so an entry is never wrong, only absent. Bounded all the same.
    """

    def __missing__(self, code: int) -> int | None:
        if len(self) >= _LETTERS_LIMIT:
            self.clear()
        kept = code if chr(code).isalpha() else None
        self[code] = kept
        return kept


_LETTERS_LIMIT: Final = 8192
#: ``word.translate(LETTERS_ONLY)`` is the word's letters, in order, and nothing else.
LETTERS_ONLY: Final = _LettersOnly()


def exclamation_run(text: str) -> str | None:
    """The first run of exclamation marks long enough to shout, or ``None``."""
    found = _EXCLAIM.search(text)
    return found.group() if found else None


def emoji_run(text: str) -> str | None:
    """The first row of emoji (three or more, spaces allowed) in ``text``, or ``None``."""
    found = _EMOJI.search(text) or _FLAGS.search(text)
    return found.group().strip() if found else None


def loud_word(text: str, keywords: Iterable[str]) -> str | None:
    """The first word of five letters or more written in capitals ("TODAY", "MAINTENANT").

    ``keywords`` (STOP, START, HELP and the like) pass: the carriers want them in capitals.
    Shorter words pass as names and acronyms (VAT, PLN, BLIK).
    """
    allowed = frozenset(keywords)
    for word in text.split():
        letters = word.translate(LETTERS_ONLY)
        if len(letters) >= LOUD_WORD_LETTERS and letters.isupper() and letters not in allowed:
            return word
    return None


def has_optout_word(text: str, words: Iterable[str]) -> bool:
    """Whether ``text`` holds one of the opt-out ``words`` (folded) as whole words.

    "Reply STOP" and "arrêt" count; "non-stop deals", "stopwatch" and "nonstop" do not.
    """
    folded = f" {fold(_JOINED.sub('', text))} "
    return any(f" {word} " in folded for word in words)

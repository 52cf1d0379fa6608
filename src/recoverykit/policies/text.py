"""Folding text for matching: one way, for replies and for the guard alike.

A customer's "STOP!!", "Stop", "ＳＴＯＰ" and a template's "stop" must meet, and so
must "don't" and "dont", "arrêt" and "arret", "ещё" and "еще". Folding turns text
into plain words: NFKC, Unicode case folding, accents off Latin letters (and a few
letters whose accent is not a combining mark, such as ``ł``), ``ё`` written ``е``,
apostrophes gone, digits as ASCII, punctuation and emoji out, spaces collapsed.
``classify_reply`` reads replies this way and the message guard looks for its phrases
this way, so a phrase list needs each phrase once, however it is spelled.

Pure-ASCII text is folded by one ``bytes.translate`` pass; other text is normalised
and case-folded in C, then folded word by word through a memo of words seen before.
"""

from __future__ import annotations

import unicodedata
from itertools import chain
from typing import Final

__all__ = ["fold", "fold_words"]

#: Letters whose accent is not a combining mark, folded by hand; ``ё`` is written
#: ``е`` by most Russian speakers, so both spellings must match.
_SPECIAL_FOLDS: Final = {
    "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe", "ŀ": "l",
    "ё": "е",
}  # fmt: skip

#: Apostrophes vanish so that "don't" and "dont" are one token.
_APOSTROPHES: Final = frozenset("'’ʼ‘`´")

_LATIN_LIMIT: Final = 0x250  # decomposed base letters below this are Latin

_MEMO_LIMIT: Final = 65_536

#: The word memo holds this many words of at most ``_MEMO_WORD_CHARS`` characters.
_WORD_MEMO_LIMIT: Final = 16_384
_MEMO_WORD_CHARS: Final = 40


def _fold_char(char: str) -> str:
    if char in _APOSTROPHES:
        return ""
    category = unicodedata.category(char)
    if category[0] == "L":
        special = _SPECIAL_FOLDS.get(char)
        if special is not None:
            return special
        decomposed = unicodedata.normalize("NFKD", char)
        if ord(decomposed[0]) < _LATIN_LIMIT:
            return "".join(c for c in decomposed if not unicodedata.combining(c))
        return char
    if category == "Nd":
        return str(unicodedata.decimal(char))
    if category in {"Mn", "Me", "Cf"}:
        return ""  # accents left over, keycap and variation marks, zero-width joiners
    if category == "Mc":
        return char  # spacing vowel signs belong to their word (Devanagari, Thai, ...)
    return " "


class _FoldTable(dict[int, str]):
    """A ``str.translate`` table that fills itself in as new characters appear."""

    def __missing__(self, codepoint: int) -> str:
        folded = _fold_char(chr(codepoint))
        if len(self) < _MEMO_LIMIT:
            self[codepoint] = folded
        return folded


_FOLD: Final = _FoldTable()


class _WordTable(dict[str, tuple[str, ...]]):
    """Folded tokens of one whitespace-free run of casefolded text, kept as words recur.

    Every character ``str.split`` cuts at folds to a space, so folding a text word by
    word gives the same tokens as folding it whole, at one lookup per word instead of
    one per character.
    """

    def __missing__(self, word: str) -> tuple[str, ...]:
        folded = tuple(word.translate(_FOLD).split())
        if len(word) <= _MEMO_WORD_CHARS:
            if len(self) >= _WORD_MEMO_LIMIT:
                self.clear()  # start again rather than keep a vocabulary gone stale
            self[word] = folded
        return folded


_WORDS: Final = _WordTable()


def _ascii_table() -> tuple[bytes, bytes]:
    """``_fold_char`` after ``lower()`` for every ASCII byte, as ``bytes.translate`` arguments."""
    table = bytearray(range(256))
    deleted = bytearray()
    for code in range(128):
        folded = _fold_char(chr(code).lower())
        if folded:
            table[code] = ord(folded)  # one ASCII character: a letter, a digit or a space
        else:
            deleted.append(code)
    return bytes(table), bytes(deleted)


_ASCII_TABLE, _ASCII_DELETED = _ascii_table()


def fold_words(text: str) -> list[str]:
    """``text`` as the folded words it is matched by: ``"Opt  OUT!!"`` gives
    ``["opt", "out"]``; ``"Arrêt, s'il vous plaît"`` gives ``["arret", "sil", "vous",
    "plait"]``."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).casefold()
        if not text.isascii():
            return list(chain.from_iterable(map(_WORDS.__getitem__, text.split())))
    return text.encode().translate(_ASCII_TABLE, _ASCII_DELETED).decode().split()


def fold(text: str) -> str:
    """``text`` folded to one line of plain words, as it is matched.

    >>> fold("ＡＲＲÊＴ, s'il vous plaît 🙏")
    'arret sil vous plait'
    """
    return " ".join(fold_words(text))

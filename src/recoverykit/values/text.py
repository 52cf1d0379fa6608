"""Text that comes from outside: valid Unicode, and personal fields safe to put in a message.

A store hands recoverykit strings it got from shoppers (a first name, a cart's item
names) and providers hand it strings they got from phones (a reply). Three promises
hold for every one of them:

* **valid Unicode**: a lone surrogate (``"\\ud800"``) cannot be encoded as UTF-8, so
  it would crash a database or a provider call long after it was accepted. Loaders
  refuse it; webhook parsers replace it with U+FFFD, because a reply must never be
  lost for one bad character (a STOP is still a STOP).
* **a first name says only a name**: letters, combining marks, spaces, hyphens and
  apostrophes, of a plausible length. Anything else (a URL, a phone number, a line
  break, a bidi override, a zero-width character) could turn the store's own sender
  into a phishing tool ("hi Ann\\nverify at https://..."), so such a name is never
  inserted: the message takes its no-name wording instead.
* **text in a header is one line**: control characters and line separators become
  spaces, so no header can be split or injected.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = [
    "MAX_FIRST_NAME",
    "first_name_problem",
    "item_name_problem",
    "lone_surrogate_at",
    "replace_surrogates",
    "single_line",
    "strip_controls",
    "usable_first_name",
]

#: The longest first name put into a message (characters, after trimming).
MAX_FIRST_NAME: Final = 40

_SURROGATE: Final = re.compile("[\ud800-\udfff]")
#: Bidirectional overrides, embeddings and isolates: they reorder what a reader sees.
_BIDI: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
#: Characters that take no room on screen and can hide or glue words (and the BOM).
_INVISIBLE: Final = frozenset("\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e")
_NAME_PUNCTUATION: Final = frozenset(" -'\u2019\u2010")
_URL_LIKE: Final = re.compile(
    r"[a-z][a-z0-9+.-]*://|\bwww\.|[^\s@]+@[^\s@]+\.[^\s@]+|"
    r"\b[a-z0-9-]+\.(?:com|net|org|info|biz|io|co|ru|pl|de|fr|uk|us|me|ly|to|app|xyz|link|click)\b",
    re.IGNORECASE,
)


def lone_surrogate_at(text: str) -> int | None:
    """The index of the first lone surrogate in ``text``, ``None`` when it is valid Unicode.

    A Python ``str`` never holds a valid surrogate pair (``"\\ud83d\\ude00"`` decoded
    from JSON is already one character), so any surrogate code point is a lone one.
    """
    found = _SURROGATE.search(text)
    return None if found is None else found.start()


def replace_surrogates(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (the replacement character)."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def _hidden(char: str) -> bool:
    """A character a reader cannot see, or one that changes how the rest is read."""
    return char in _BIDI or char in _INVISIBLE or unicodedata.category(char) in {"Cc", "Cf"}


def strip_controls(text: str) -> str:
    """``text`` without control, format, bidi and zero-width characters; runs of
    whitespace (line breaks included) become one space, and the ends are trimmed."""
    kept = "".join(
        " " if char.isspace() else char for char in text if char.isspace() or not _hidden(char)
    )
    return " ".join(kept.split())


def single_line(text: str) -> str:
    """``text`` made safe for a header: one line, no control or invisible characters.

    >>> single_line("Shop: hi Ann\\r\\nBcc: all@example.com")
    'Shop: hi Ann Bcc: all@example.com'
    """
    return strip_controls(replace_surrogates(text))


def first_name_problem(name: object) -> str | None:
    """Why ``name`` cannot be put into a message, or ``None`` when it can.

    A usable first name is letters and combining marks, with single spaces, hyphens
    and apostrophes between them, at most ``MAX_FIRST_NAME`` characters. Everything
    else a name field can hold (digits, URLs, e-mail addresses, line breaks,
    control, bidi or zero-width characters) is refused with the reason.
    """
    if not isinstance(name, str):
        return f"not a string ({type(name).__name__})"
    # Only plain spaces are trimmed: a trailing line break or tab is refused, not hidden.
    text = unicodedata.normalize("NFC", replace_surrogates(name)).strip(" ")
    if not text:
        return "empty"
    if _URL_LIKE.search(text):
        return "looks like a link or an e-mail address"
    for char in text:
        if char.isalpha() or unicodedata.category(char).startswith("M"):
            continue
        if char in _NAME_PUNCTUATION:
            continue
        return f"holds {_describe(char)}"
    if len(text) > MAX_FIRST_NAME:
        return f"longer than {MAX_FIRST_NAME} characters"
    if not text[0].isalpha() or "  " in text:
        return "does not start with a letter, or has runs of spaces"
    return None


def usable_first_name(name: str | None) -> str | None:
    """The first name as a message may say it (NFC, trimmed), ``None`` when unusable.

    Remembered per name (bounded): every message to a customer asks again, and the
    answer is a function of the text alone.
    """
    if name is None:
        return None
    found = _USABLE_NAMES.get(name, _UNSEEN)
    if found is not _UNSEEN:
        return found  # type: ignore[return-value]
    usable = (
        None
        if first_name_problem(name) is not None
        else unicodedata.normalize("NFC", name).strip(" ")
    )
    if len(_USABLE_NAMES) >= _NAMES_LIMIT:
        _USABLE_NAMES.clear()  # start again rather than keep every name ever seen
    _USABLE_NAMES[name] = usable
    return usable


#: Names seen by ``usable_first_name`` and its answer for each; cleared when full.
_USABLE_NAMES: Final[dict[str, str | None]] = {}
_NAMES_LIMIT: Final = 8192
_UNSEEN: Final = object()


def item_name_problem(name: str) -> str | None:
    """Why a (control-stripped) item name cannot be named in a message, or ``None``."""
    if _URL_LIKE.search(name):
        return "looks like a link or an e-mail address; name the product, not a place"
    return None


def _describe(char: str) -> str:
    if char == "\ufffd" or _SURROGATE.fullmatch(char):
        return "a character that is not valid Unicode"
    if char.isdigit():
        return "digits"
    if char in "\r\n\x0b\x0c\x85\u2028\u2029":
        return "a line break"
    if char in _BIDI:
        return f"a bidirectional control (U+{ord(char):04X})"
    if _hidden(char):
        return f"an invisible or control character (U+{ord(char):04X})"
    return f"{char!r}, which is not part of a name"

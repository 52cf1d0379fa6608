"""SMS encoding: the GSM 03.38 alphabet, segment arithmetic and look-alike substitution.

An SMS costs money per segment, so the count must be exact (``reference/rules.md`` §4):
one payload holds 160 GSM-7 septets or 70 UCS-2 code units; a concatenated message
loses room to its header and holds 153 or 67 per segment. A two-septet escape pair,
a surrogate pair and a grapheme cluster are never split across segments.

Pure-ASCII text without extension characters, the common case, takes a shortcut
that is plain arithmetic.
"""

from __future__ import annotations

import functools
import re
from typing import Final, Literal

import attrs
import regex  # type: ignore[import-untyped]

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "SMART_ENCODING",
    "SegmentInfo",
    "is_gsm7",
    "smart_encode",
    "sms_segments",
]

#: GSM 03.38 default alphabet (3GPP TS 23.038), one septet each. ``Ç`` is the
#: capital only: ``ç`` forces UCS-2, as in Twilio's table (rules.md §4.1, §8.1).
GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: The extension table: each is an escape plus one byte, so two septets.
GSM7_EXTENSION: Final = frozenset("\f^{}\\[~]|€")
_GSM7_ALL: Final = GSM7_BASIC | GSM7_EXTENSION

GSM7_SINGLE: Final = 160
GSM7_MULTI: Final = 153
UCS2_SINGLE: Final = 70
UCS2_MULTI: Final = 67

#: ASCII characters that are either extension characters or outside GSM-7 altogether;
#: a pure-ASCII text without any of them costs exactly one septet per character.
_ASCII_SLOW: Final = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f`^{}\\\[\]~|]")

_GRAPHEME: Final = regex.compile(r"\X")


@attrs.frozen
class SegmentInfo:
    """How an SMS text is encoded and how many segments it costs."""

    #: ``"GSM-7"`` when every character is in the GSM 03.38 tables, else ``"UCS-2"``.
    encoding: Literal["GSM-7", "UCS-2"]
    #: Segments the message is split into (1 for an empty text).
    segments: int
    #: Septets (GSM-7, escapes count two) or UTF-16 code units (UCS-2).
    units: int
    #: Room per segment: 160/153 for GSM-7, 70/67 for UCS-2.
    units_per_segment: int
    #: The characters that forced UCS-2, each once, in order of first appearance.
    forced_ucs2: tuple[str, ...]
    #: The text that was counted: after smart encoding when it was asked for.
    text: str


def is_gsm7(text: str) -> bool:
    """True if every character of ``text`` is in the GSM-7 basic or extension table."""
    return _GSM7_ALL.issuperset(text)


def sms_segments(text: str, *, smart_encoding: bool = False) -> SegmentInfo:
    """Count the segments of ``text`` exactly as a carrier would bill it.

    >>> sms_segments("Hi from Northwind").segments
    1
    >>> sms_segments("€" * 81).segments  # escape pairs are never split: 76 + 5
    2
    """
    if smart_encoding:
        text = smart_encode(text)
    if text.isascii() and _ASCII_SLOW.search(text) is None:
        length = len(text)
        if length <= GSM7_SINGLE:
            return SegmentInfo("GSM-7", 1, length, GSM7_SINGLE, (), text)
        return SegmentInfo("GSM-7", -(-length // GSM7_MULTI), length, GSM7_MULTI, (), text)
    return _count(text)


@functools.lru_cache(maxsize=4096)
def _count(text: str) -> SegmentInfo:
    outside = set(text).difference(_GSM7_ALL)
    if not outside:
        escapes = sum(text.count(ch) for ch in GSM7_EXTENSION.intersection(text))
        units = len(text) + escapes
        if units <= GSM7_SINGLE:
            return SegmentInfo("GSM-7", 1, units, GSM7_SINGLE, (), text)
        if not escapes:
            return SegmentInfo("GSM-7", -(-units // GSM7_MULTI), units, GSM7_MULTI, (), text)
        costs = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return SegmentInfo("GSM-7", _pack(costs, GSM7_MULTI), units, GSM7_MULTI, (), text)
    forced = tuple(sorted(outside, key=text.index))
    if _complex().search(text) is None:
        # Every code point is its own cluster and one UTF-16 unit: plain arithmetic.
        units = len(text)
        if units <= UCS2_SINGLE:
            return SegmentInfo("UCS-2", 1, units, UCS2_SINGLE, forced, text)
        return SegmentInfo("UCS-2", -(-units // UCS2_MULTI), units, UCS2_MULTI, forced, text)
    costs = _ucs2_costs(text)
    units = sum(costs)
    if units <= UCS2_SINGLE:
        return SegmentInfo("UCS-2", 1, units, UCS2_SINGLE, forced, text)
    return SegmentInfo("UCS-2", _pack(costs, UCS2_MULTI), units, UCS2_MULTI, forced, text)


#: Grapheme-break classes that join a code point to its neighbour.
_JOINING: Final = regex.compile(
    r"[\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=SpacingMark}\p{GCB=Prepend}"
    r"\p{GCB=Regional_Indicator}\p{GCB=L}\p{GCB=V}\p{GCB=T}\p{GCB=LV}\p{GCB=LVT}]"
)


@functools.cache
def _complex() -> re.Pattern[str]:
    """Matches a code point outside the BMP or one that may join a grapheme cluster.

    Built once, on first need, as a plain ``re`` character class (fast to search).
    """
    bmp = "".join(chr(code) for code in range(0xD800)) + "".join(
        chr(code) for code in range(0xE000, 0x10000)
    )
    codes = sorted(ord(ch) for ch in set(_JOINING.findall(bmp)))
    ranges: list[str] = []
    start = prev = codes[0]
    for code in [*codes[1:], -1]:
        if code != prev + 1:
            ranges.append(f"\\u{start:04x}-\\u{prev:04x}" if prev > start else f"\\u{start:04x}")
            start = code
        prev = code
    return re.compile("[" + "".join(ranges) + "\\U00010000-\\U0010ffff]")


def _ucs2_costs(text: str) -> list[int]:
    """UTF-16 length of each unbreakable piece: a grapheme, or a code point of a huge one."""
    costs: list[int] = []
    for cluster in _GRAPHEME.findall(text):
        if cluster == "\r\n":
            costs += (1, 1)  # carriers see two characters; so does Twilio's calculator
            continue
        size = sum(2 if ord(ch) > 0xFFFF else 1 for ch in cluster)
        if size <= UCS2_MULTI:
            costs.append(size)
        else:  # a cluster wider than a segment must break; surrogate pairs still hold
            costs += (2 if ord(ch) > 0xFFFF else 1 for ch in cluster)
    return costs


def _pack(costs: list[int], room: int) -> int:
    """Fill segments greedily with pieces that may not be split."""
    segments, used = 1, 0
    for cost in costs:
        if used + cost > room:
            segments += 1
            used = 0
        used += cost
    return segments


#: Look-alike substitutions after Twilio's published smart-encoding list (rules.md §4.3),
#: without the calculator's quirks: a no-break space becomes one space, ``‹``/``›`` keep
#: their direction, and letters with accents are never touched.
SMART_ENCODING: Final[dict[str, str]] = {
    **dict.fromkeys("«»“”„‟″〝〞＂", '"'),
    **dict.fromkeys("‘’‚‛′´`ʹʻʼʽ＇", "'"),
    **dict.fromkeys("‐‑‒–—―−﹘﹣－", "-"),
    **dict.fromkeys(
        "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
        "\u202f\u205f\u3000",
        " ",
    ),
    **dict.fromkeys("\u200b\u2060\ufeff\u00ad", ""),
    "…": "...",
    "‹": "<",
    "›": ">",
    "½": "1/2",
    "¼": "1/4",
    "¾": "3/4",
    "˂": "<",
    "˃": ">",
    "ˆ": "^",
    "˜": "~",
    "⁄": "/",
    "∕": "/",
    "•": "-",
    # Fullwidth ASCII (U+FF01..U+FF5E) maps onto ASCII; the GSM-7 check follows.
    **{chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F) if code != 0xFF07},
}
_SMART_TABLE: Final = str.maketrans(SMART_ENCODING)


def smart_encode(text: str) -> str:
    """Replace typographic look-alikes so a message can stay in GSM-7.

    The substitution is kept only when it does not cost more segments: ``…`` is three
    septets where it was one UCS-2 unit, and a text that stays UCS-2 for another
    reason would only grow. Accented letters are left alone.

    >>> smart_encode("It’s saved – see you soon")
    "It's saved - see you soon"
    """
    if text.isascii() and "`" not in text:  # the backtick is the one ASCII look-alike
        return text
    replaced = text.translate(_SMART_TABLE)
    if replaced == text:
        return text
    before = sms_segments(text).segments
    after = sms_segments(replaced).segments
    return replaced if after <= before else text

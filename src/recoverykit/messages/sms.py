"""SMS encoding: the GSM 03.38 alphabet, segment arithmetic and look-alike substitution.

An SMS costs money per segment, so the count must be exact (``reference/rules.md`` §4):
one payload holds 160 GSM-7 septets or 70 UCS-2 code units; a concatenated message
loses room to its header and holds 153 or 67 per segment. A two-septet escape pair,
a surrogate pair and a grapheme cluster are never split across segments.

Counting is a handful of C-level scans, whatever the script: which alphabet the
text needs, whether any character costs two units or may join a grapheme cluster,
and the total. Only where a segment boundary falls is the text looked at more
closely, and grapheme clusters are worked out only when the characters on both
sides of a boundary may join. Which characters forced UCS-2 is worked out the first
time it is read, since most callers never ask.
"""

from __future__ import annotations

import codecs
import functools
import re
import sys
from typing import TYPE_CHECKING, Any, Final, Literal

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


def _char_class(chars: frozenset[str]) -> str:
    return "".join(re.escape(ch) for ch in sorted(chars))


#: A character outside both GSM-7 tables: one C-level scan decides the encoding.
_NOT_GSM7: Final = re.compile(f"[^{_char_class(_GSM7_ALL)}]")
#: Runs of GSM-7 characters, removed to leave the ones that forced UCS-2.
_GSM7_RUNS: Final = re.compile(f"[{_char_class(_GSM7_ALL)}]+")
_EXTENSION: Final = re.compile(f"[{_char_class(GSM7_EXTENSION)}]")

_GRAPHEME: Final = regex.compile(r"\X")
_GSM7: Final = "GSM-7"
_UCS2: Final = "UCS-2"


@attrs.frozen(slots=False)
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

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            # Only ``sms_segments`` leaves ``forced_ucs2`` out, to be worked out here
            # on first read; every other attribute is either set or missing for real.
            if name != "forced_ucs2" or "text" not in self.__dict__:
                raise AttributeError(name)
            forced = tuple(dict.fromkeys(_GSM7_RUNS.sub("", self.__dict__["text"])))
            self.__dict__["forced_ucs2"] = forced
            return forced


_new = object.__new__
_set_dict = object.__setattr__


def _info(encoding: str, segments: int, units: int, per: int, text: str) -> SegmentInfo:
    """A ``SegmentInfo`` whose ``forced_ucs2`` is left for its first read.

    Building the instance dictionary directly costs a third of the generated
    ``__init__``; the fields are the same, and only ``forced_ucs2`` waits.
    """
    info = _new(SegmentInfo)
    if encoding == _GSM7:
        fields = {"encoding": encoding, "segments": segments, "units": units,
                  "units_per_segment": per, "forced_ucs2": (), "text": text}  # fmt: skip
    else:
        fields = {"encoding": encoding, "segments": segments, "units": units,
                  "units_per_segment": per, "text": text}  # fmt: skip
    _set_dict(info, "__dict__", fields)
    return info


def is_gsm7(text: str) -> bool:
    """True if every character of ``text`` is in the GSM-7 basic or extension table."""
    return _NOT_GSM7.search(text) is None


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
            return _info(_GSM7, 1, length, GSM7_SINGLE, text)
        return _info(_GSM7, -(-length // GSM7_MULTI), length, GSM7_MULTI, text)
    if _NOT_GSM7.search(text) is None:
        return _count_gsm7(text)
    if (_COMPLEX or _complex()).search(text) is None:
        # Every code point is its own cluster and one UTF-16 unit: plain arithmetic.
        units = len(text)
        if units <= UCS2_SINGLE:
            return _info(_UCS2, 1, units, UCS2_SINGLE, text)
        return _info(_UCS2, -(-units // UCS2_MULTI), units, UCS2_MULTI, text)
    return _count_ucs2(text)


def _count_gsm7(text: str) -> SegmentInfo:
    if _EXTENSION.search(text) is None:
        units = len(text)
        if units <= GSM7_SINGLE:
            return _info(_GSM7, 1, units, GSM7_SINGLE, text)
        return _info(_GSM7, -(-units // GSM7_MULTI), units, GSM7_MULTI, text)
    present = [ch for ch in GSM7_EXTENSION if ch in text]
    units = len(text) + sum(text.count(ch) for ch in present)
    if units <= GSM7_SINGLE:
        return _info(_GSM7, 1, units, GSM7_SINGLE, text)
    return _info(_GSM7, _pack_escapes(text, units, present), units, GSM7_MULTI, text)


def _pack_escapes(text: str, units: int, present: list[str]) -> int:
    """Segments of a GSM-7 text with escape pairs: each segment ends where 153 septets
    would split a pair, found by counting escapes in slices, never per character."""
    room = GSM7_MULTI
    segments, start, left = 1, 0, units
    while left > room:
        end = min(len(text), start + room)  # every character is at least one septet
        used = end - start + sum(text.count(ch, start, end) for ch in present)
        while used > room:  # each character dropped frees one or two septets
            end -= (used - room + 1) >> 1
            used = end - start + sum(text.count(ch, start, end) for ch in present)
        left -= used
        start = end
        segments += 1
    return segments


def _count_ucs2(text: str) -> SegmentInfo:
    """UCS-2 text with a character outside the BMP or one that may join a cluster."""
    try:
        data = _encode16(text)[0]
    except UnicodeEncodeError:  # a lone surrogate, which no real message has
        costs = _ucs2_costs(text)
        units = sum(costs)
        segments = _pack(costs, UCS2_MULTI)
    else:
        units = len(data) >> 1
        segments = 1 if units <= UCS2_SINGLE else _pack_ucs2(text, data, units)
    if units <= UCS2_SINGLE:
        return _info(_UCS2, 1, units, UCS2_SINGLE, text)
    return _info(_UCS2, segments, units, UCS2_MULTI, text)


#: UTF-16 in this machine's byte order, so a ``memoryview`` reads its units as numbers
#: (the codec functions themselves: looking a codec up by name costs more than a short text).
_LITTLE: Final = sys.byteorder == "little"
_encode16: Final = codecs.utf_16_le_encode if _LITTLE else codecs.utf_16_be_encode
#: Where a unit's high byte sits, and the high bytes of a high surrogate.
_HIGH_BYTE: Final = 1 if _LITTLE else 0
_HIGH_BYTES: Final = bytes(range(0xD8, 0xDC))
_HIGH: Final = 0xD800
_LOW: Final = 0xDC00
_LAST: Final = 0xDFFF


def _utf16(text: str) -> int:
    return len(_encode16(text, "surrogatepass")[0]) >> 1


def _astral(high: int, low: int) -> str:
    return chr(0x10000 + ((high - _HIGH) << 10) + (low - _LOW))


def _pack_ucs2(text: str, data: bytes, units: int) -> int:
    """Fill 67-unit segments greedily with pieces that may not be split.

    A piece is a grapheme cluster (a CR LF pair counts as two, a cluster wider than a
    segment breaks between code points). The text is walked in UTF-16 units: each
    segment ends at the fullest cut, unless a surrogate or a character that may join
    a cluster stands next to it; only then is the cut looked at closely.
    """
    view = memoryview(data).cast("H")
    flags = _unit_flags()
    walk = None
    segments, start = 1, 0
    while units - start > UCS2_MULTI:
        end = start + UCS2_MULTI
        if flags[view[end - 1]] or flags[view[end]]:
            if walk is None:
                walk = _Walk(text, data, view, wide=units != len(text))
            end = walk.settle(end)
        start = end
        segments += 1
    return segments


class _Walk:
    """What one walk through a text knows about the cuts it looked at closely."""

    __slots__ = ("anchor", "data", "mark", "text", "view", "wide")

    def __init__(self, text: str, data: bytes, view: memoryview, *, wide: bool) -> None:
        self.text = text
        self.data = data
        self.view = view
        #: Whether some character takes two units, so units and code points differ.
        self.wide = wide
        #: A unit offset and the code point offset it falls on, to count on from.
        self.mark = (0, 0)
        #: A grapheme-cluster boundary (in code points) at or before the segment's start.
        self.anchor = 0

    def settle(self, end: int) -> int:
        """The last piece boundary at or before unit ``end``.

        Every surrogate here has its partner: a text with a lone one never gets here.
        """
        view = self.view
        if _HIGH <= view[end - 1] < _LOW:
            end -= 1  # never split a surrogate pair
        joining = _joining()
        unit = view[end - 1]
        if _LOW <= unit <= _LAST:
            before = _astral(view[end - 2], unit) in joining
        else:
            before = chr(unit) in joining
        unit = view[end]
        if _HIGH <= unit < _LOW:
            after = _astral(unit, view[end + 1]) in joining
        else:
            after = chr(unit) in joining
        if not (before or after):
            return end
        if not self.wide:
            cut, self.anchor = _cut(self.text, self.anchor, end)
            return cut
        # Code points are counted on from the last cut looked at, never from the start:
        # each high surrogate (its high byte D8..DB) makes two units one code point.
        unit, point = self.mark
        high_bytes = self.data[2 * unit + _HIGH_BYTE : 2 * end : 2]
        point += end - unit - len(high_bytes) + len(high_bytes.translate(None, _HIGH_BYTES))
        cut, self.anchor = _cut(self.text, self.anchor, point)
        end -= _utf16(self.text[cut:point])
        self.mark = (end, cut)
        return end


def _ucs2_costs(text: str) -> list[int]:
    """UTF-16 length of each unbreakable piece, for the rare text with a lone surrogate."""
    costs: list[int] = []
    for cluster in _GRAPHEME.findall(text):
        if cluster == "\r\n":
            costs += (1, 1)  # carriers see two characters; so does Twilio's calculator
            continue
        size = _utf16(cluster)
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


#: Two characters in a row that cannot join: a grapheme-cluster boundary lies between.
_JOINING_CLASS: Final = (
    r"\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=SpacingMark}\p{GCB=Prepend}"
    r"\p{GCB=Regional_Indicator}\p{GCB=L}\p{GCB=V}\p{GCB=T}\p{GCB=LV}\p{GCB=LVT}"
)
_SAFE_PAIR_BEFORE: Final = regex.compile(rf"(?r)[^{_JOINING_CLASS}][^{_JOINING_CLASS}]")


def _cut(text: str, anchor: int, end: int) -> tuple[int, int]:
    """The last piece boundary at or before ``end``, and a cluster boundary at or before it.

    Clusters are read from the last spot before ``end`` where two characters cannot
    join (or from ``anchor``, a known boundary), so only the clusters near the cut
    are ever found.
    """
    pair = _SAFE_PAIR_BEFORE.search(text, anchor, end + 1)
    position = anchor if pair is None else pair.start() + 1
    for match in _GRAPHEME.finditer(text, position):
        first, last = match.span()
        if last <= end:
            continue
        if first >= end:  # the cut is a boundary after all (a break after a control)
            return end, end
        cluster = match.group()
        if cluster == "\r\n" or _utf16(cluster) > UCS2_MULTI:
            return end, first  # a CR LF pair or a huge cluster splits between code points
        return first, first
    return end, end  # not reached: the text goes on past ``end``


def _joining_in(first: int, last: int) -> frozenset[str]:
    """The code points from ``first`` to ``last`` that may join a grapheme cluster."""
    joining = regex.compile(f"[{_JOINING_CLASS}]")
    return frozenset(joining.findall("".join(map(chr, range(first, last + 1)))))


@functools.cache
def _joining_bmp() -> frozenset[str]:
    return _joining_in(0, 0xD7FF) | _joining_in(0xE000, 0xFFFF)


@functools.cache
def _joining() -> frozenset[str]:
    """Every code point that may join a neighbour in a grapheme cluster.

    Built once, on first need, from the ``regex`` module's own break classes, so the
    quick test and the cluster reading never disagree.
    """
    return _joining_bmp() | _joining_in(0x10000, 0x10FFFF)


@functools.cache
def _unit_flags() -> bytes:
    """For each UTF-16 unit, 1 when it is a surrogate or a character that may join."""
    flags = bytearray(0x10000)
    for ch in _joining_bmp():
        flags[ord(ch)] = 1
    flags[_HIGH : _LAST + 1] = b"\x01" * (_LAST + 1 - _HIGH)
    return bytes(flags)


_COMPLEX: re.Pattern[str] | None = None


def _complex() -> re.Pattern[str]:
    """Matches a code point outside the BMP or one that may join a grapheme cluster.

    Built once, on first need, as a plain ``re`` character class (fast to search),
    and kept in ``_COMPLEX``.
    """
    global _COMPLEX  # noqa: PLW0603 - a table built on first need, then only read
    codes = sorted(ord(ch) for ch in _joining_bmp())
    ranges: list[str] = []
    start = prev = codes[0]
    for code in [*codes[1:], -1]:
        if code != prev + 1:
            ranges.append(f"\\u{start:04x}-\\u{prev:04x}" if prev > start else f"\\u{start:04x}")
            start = code
        prev = code
    _COMPLEX = re.compile("[" + "".join(ranges) + "\\U00010000-\\U0010ffff]")
    return _COMPLEX


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

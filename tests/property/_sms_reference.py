"""Frozen copy of ``sms_segments`` from ``recoverykit.messages.sms`` before the speed-up.

``tests/property/test_sms_speed_equivalence.py`` compares the live, optimised count
with this copy, taken verbatim before grapheme work was confined to segment
boundaries. Do not edit it to follow changes in the live module: a count that differs
from this copy is a behaviour change and must be deliberate (then replace the copy,
and say so in the changelog). The tables and ``SegmentInfo`` come from the live
module, so that results compare with ``==``.
"""

from __future__ import annotations

import functools
import re
from typing import Final

import regex  # type: ignore[import-untyped]

from recoverykit.messages.sms import (
    _ASCII_SLOW,
    _GSM7_ALL,
    GSM7_EXTENSION,
    GSM7_MULTI,
    GSM7_SINGLE,
    UCS2_MULTI,
    UCS2_SINGLE,
    SegmentInfo,
)

__all__ = ["sms_segments"]

_GRAPHEME: Final = regex.compile(r"\X")


def sms_segments(text: str) -> SegmentInfo:
    """Count the segments of ``text`` exactly as a carrier would bill it."""
    if text.isascii() and _ASCII_SLOW.search(text) is None:
        length = len(text)
        if length <= GSM7_SINGLE:
            return SegmentInfo("GSM-7", 1, length, GSM7_SINGLE, (), text)
        return SegmentInfo("GSM-7", -(-length // GSM7_MULTI), length, GSM7_MULTI, (), text)
    return _count(text)


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
    """Matches a code point outside the BMP or one that may join a grapheme cluster."""
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

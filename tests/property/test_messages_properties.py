"""Properties of templates and SMS counting, checked on generated input."""

from __future__ import annotations

import contextlib
import math

import regex  # type: ignore[import-untyped]
from hypothesis import given
from hypothesis import strategies as st

from recoverykit.errors import PersonalizationError, TemplateError
from recoverykit.messages.fields import FIELDS, Reveals
from recoverykit.messages.sms import GSM7_BASIC, GSM7_EXTENSION, smart_encode, sms_segments
from recoverykit.messages.templates import Field, Template, render
from recoverykit.testing.strategies import (
    message_contexts,
    sms_texts,
    template_bodies,
    templates,
)
from recoverykit.values.model import Channel

FORBIDDEN = tuple(sorted(n for n, r in FIELDS.items() if r is Reveals.FORBIDDEN))


def reference_segments(text: str) -> tuple[str, int, int]:
    """A slow, independent count: bits in 1 120-bit payloads, as Twilio's calculator does.

    Each character becomes (bits, atomic group); a header of 48 bits is reserved in
    every part once the message needs more than one.
    """
    gsm = all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)
    pieces: list[int] = []  # bits per unbreakable piece
    if gsm:
        pieces = [14 if ch in GSM7_EXTENSION else 7 for ch in text]
    else:
        for cluster in regex.findall(r"\X", text):
            chars = ["\r", "\n"] if cluster == "\r\n" else [cluster]
            for item in chars:
                pieces.append(16 * len(item.encode("utf-16-le")) // 2)
    total = sum(pieces)
    units = total // (7 if gsm else 16)
    if total <= 1120:
        return ("GSM-7" if gsm else "UCS-2"), 1, units
    room = 1120 - 48  # the user data header takes 6 octets of every part
    parts, used = 1, 0
    for bits in pieces:
        if used + bits > room:
            parts += 1
            used = 0
        used += bits
    return ("GSM-7" if gsm else "UCS-2"), parts, units


def _has_huge_cluster(text: str) -> bool:
    return any(len(c.encode("utf-16-le")) // 2 > 67 for c in regex.findall(r"\X", text))


@given(sms_texts())
def test_segments_agree_with_reference(text: str) -> None:
    """Segment counts match an independent bit-level count on mixed Unicode text."""
    if _has_huge_cluster(text):
        return
    info = sms_segments(text)
    assert reference_segments(text) == (info.encoding, info.segments, info.units)


@given(st.text(max_size=300))
def test_segments_agree_on_any_text(text: str) -> None:
    """The same on arbitrary Unicode, where almost everything is UCS-2."""
    if _has_huge_cluster(text):
        return
    info = sms_segments(text)
    assert reference_segments(text) == (info.encoding, info.segments, info.units)


@given(st.text(st.characters(max_codepoint=0x7F), max_size=400))
def test_ascii_shortcut_agrees_with_the_general_count(text: str) -> None:
    """The ASCII fast path gives exactly what the general path gives."""
    info = sms_segments(text)
    assert reference_segments(text) == (info.encoding, info.segments, info.units)
    if info.encoding == "GSM-7" and not set(text) & GSM7_EXTENSION:
        assert (1 if len(text) <= 160 else math.ceil(len(text) / 153)) == info.segments


@given(sms_texts())
def test_smart_encode_never_increases_segments(text: str) -> None:
    """Look-alike substitution is kept only when it does not cost more segments."""
    assert sms_segments(smart_encode(text)).segments <= sms_segments(text).segments


@given(templates(), message_contexts())
def test_render_never_leaves_a_placeholder(template: Template, context: dict[str, str]) -> None:
    """Rendering a valid context never raises, and each value appears as given."""
    rendered = render(template, context)
    expected = "".join(
        part if isinstance(part, str) else context[part.name] for part in _parts(template)
    )
    assert expected == rendered.text


def _parts(template: Template) -> tuple[str | Field, ...]:
    from recoverykit.messages.templates import compile as compile_body

    return compile_body(template.body)


@given(template_bodies(), st.sampled_from(FORBIDDEN), st.sampled_from(list(Channel)))
def test_forbidden_fields_never_compile(body: str, name: str, channel: Channel) -> None:
    """A forbidden field anywhere in a body is refused at construction."""
    try:
        Template("remind", channel, "en", body + "{" + name + "}")
    except PersonalizationError:
        return
    raise AssertionError(name)


@given(templates(Channel.SMS), message_contexts())
def test_details_are_exactly_the_personal_fields_used(
    template: Template, context: dict[str, str]
) -> None:
    """`details` lists each personal field the body names, and never a forbidden one."""
    rendered = render(template, context)
    expected = tuple(
        dict.fromkeys(n for n in template.body_fields if FIELDS[n] is Reveals.PERSONAL)
    )
    assert expected == rendered.details


@given(st.text(max_size=40))
def test_arbitrary_bodies_compile_or_fail_cleanly(body: str) -> None:
    """Any text either compiles or raises a TemplateError/PersonalizationError, nothing else."""
    with contextlib.suppress(TemplateError, PersonalizationError):
        Template("remind", Channel.SMS, "en", body)

"""Strict message templates: parsed once, rendered literally, never formatted recursively.

A template body names fields as ``{first_name}``. Anything cleverer is refused when
the template is built: attribute or index access (``{name.__class__}``,
``{items[0]}``), conversions (``{name!r}``), format specs (``{total:>10}``), unknown
or forbidden fields and unbalanced braces; the error points at the column. ``{{``
and ``}}`` stand for literal braces.

Values are inserted as they are: a first name that reads ``{store_name}`` stays that
text. A missing or blank value is an error, never a gap, unless the template has a
``fallback`` body for the optional fields that are missing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

import attrs

from ..errors import PersonalizationError, TemplateError
from ..values.model import Channel
from .fields import FIELDS, OPTIONAL_FIELDS, Reveals
from .sms import SegmentInfo, sms_segments

__all__ = ["Field", "Rendered", "SegmentInfo", "Template", "compile", "render"]

_NAME: Final = re.compile(r"[a-z_][a-z0-9_]*\Z")


@attrs.frozen
class Field:
    """A placeholder in a compiled body."""

    name: str


def _where(body: str, index: int) -> str:
    line = body.count("\n", 0, index) + 1
    column = index - (body.rfind("\n", 0, index) + 1) + 1
    return f"line {line}, column {column}" if line > 1 else f"column {column}"


def compile(body: str, *, what: str = "template") -> tuple[str | Field, ...]:
    """Parse ``body`` into literal text and ``Field`` parts; refuse anything else.

    >>> compile("Hi {first_name}!")
    ('Hi ', Field(name='first_name'), '!')
    """
    if not isinstance(body, str):
        msg = f"{what}: the body must be a string (got {type(body).__name__})"
        raise TemplateError(msg)
    parts: list[str | Field] = []
    literal: list[str] = []
    i, size = 0, len(body)
    while i < size:
        ch = body[i]
        if ch == "{" and body.startswith("{{", i):
            literal.append("{")
            i += 2
        elif ch == "}" and body.startswith("}}", i):
            literal.append("}")
            i += 2
        elif ch == "}":
            msg = f"{what}: a '}}' at {_where(body, i)} closes nothing; write '}}}}' for a brace"
            raise TemplateError(msg)
        elif ch == "{":
            end = body.find("}", i + 1)
            opener = body.find("{", i + 1)
            if end < 0 or (0 <= opener < end):
                where = _where(body, i)
                msg = f"{what}: the '{{' at {where} is never closed; write '{{{{' for a brace"
                raise TemplateError(msg)
            name = body[i + 1 : end]
            _check_name(name, body, i, what)
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(Field(name))
            i = end + 1
        else:
            literal.append(ch)
            i += 1
    if literal:
        parts.append("".join(literal))
    return tuple(parts)


def _check_name(name: str, body: str, index: int, what: str) -> None:
    where = _where(body, index)
    for mark, kind in ((".", "attribute access"), ("[", "index access"), ("!", "a conversion")):
        if mark in name:
            msg = f"{what}: {{{name}}} at {where} uses {kind}; name a field, e.g. {{first_name}}"
            raise TemplateError(msg)
    if ":" in name:
        msg = f"{what}: {{{name}}} at {where} has a format spec; values arrive already formatted"
        raise TemplateError(msg)
    if not _NAME.match(name):
        msg = f"{what}: {{{name}}} at {where} is not a field name; use lower_case letters"
        raise TemplateError(msg)
    reveals = FIELDS.get(name)
    if reveals is None:
        known = ", ".join(sorted(n for n, r in FIELDS.items() if r is not Reveals.FORBIDDEN))
        msg = f"{what}: unknown field {{{name}}} at {where} (known fields: {known})"
        raise TemplateError(msg)
    if reveals is Reveals.FORBIDDEN:
        msg = (
            f"{what}: {{{name}}} at {where} is forbidden: it reveals what the customer did not "
            "knowingly share; use the items, the store name or the link instead"
        )
        raise PersonalizationError(msg)


def _format_string(parts: tuple[str | Field, ...]) -> str:
    """The parts as a positional ``str.format`` string: values are inserted, never parsed."""
    out: list[str] = []
    index = 0
    for part in parts:
        if isinstance(part, Field):
            out.append(f"{{{index}}}")
            index += 1
        else:
            out.append(part.replace("{", "{{").replace("}", "}}"))
    return "".join(out)


@attrs.frozen
class _Compiled:
    parts: tuple[str | Field, ...]
    names: tuple[str, ...]
    fmt: str
    personal: tuple[str, ...]

    @classmethod
    def of(cls, body: str, what: str) -> _Compiled:
        parts = compile(body, what=what)
        names = tuple(part.name for part in parts if isinstance(part, Field))
        return cls(parts, names, _format_string(parts), _personal(names))


def _compile_body(template: Template) -> _Compiled:
    return _Compiled.of(template.body, template.label)


def _compile_fallback(template: Template) -> _Compiled | None:
    if template.fallback is None:
        return None
    compiled = _Compiled.of(template.fallback, f"{template.label} fallback")
    optional = sorted(OPTIONAL_FIELDS.intersection(compiled.names))
    if optional:
        msg = (
            f"{template.label} fallback: uses {', '.join(optional)}, which the fallback "
            "exists to do without"
        )
        raise TemplateError(msg)
    return compiled


@attrs.frozen
class Template:
    """One message body for a key, a channel and a locale, compiled when built.

    >>> Template("remind", "sms", "en", "{store_name}: your cart is saved.").fields
    frozenset({'store_name'})
    """

    #: What the message is for: ``remind``, ``help``, ``optout_confirm``, ...
    key: str
    channel: Channel = attrs.field(converter=Channel)
    locale: str
    body: str
    #: The body used when an optional field (the first name) is missing.
    fallback: str | None = None
    _main: _Compiled = attrs.field(
        init=False, repr=False, eq=False, default=attrs.Factory(_compile_body, takes_self=True)
    )
    _alt: _Compiled | None = attrs.field(
        init=False,
        repr=False,
        eq=False,
        default=attrs.Factory(_compile_fallback, takes_self=True),
    )

    @property
    def label(self) -> str:
        return f"template {self.key!r} ({self.channel.value}, {self.locale})"

    @property
    def fields(self) -> frozenset[str]:
        """Every field the body or the fallback names."""
        names = set(self._main.names)
        if self._alt is not None:
            names.update(self._alt.names)
        return frozenset(names)

    @property
    def body_fields(self) -> tuple[str, ...]:
        """The fields of the main body, in order, repeats included."""
        return self._main.names

    @property
    def fallback_fields(self) -> tuple[str, ...] | None:
        return None if self._alt is None else self._alt.names


@attrs.frozen
class Rendered:
    """A message ready to send, and what it reveals."""

    text: str
    channel: Channel
    locale: str
    key: str
    #: Segment arithmetic, for SMS only.
    segments: SegmentInfo | None
    #: The personal fields the text uses, in order, each once.
    details: tuple[str, ...]


def _personal(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for n in names if FIELDS[n] is Reveals.PERSONAL))


def render(template: Template, context: Mapping[str, str]) -> Rendered:
    """Fill ``template`` from ``context``; a missing value is an error, never a gap.

    >>> t = Template("remind", "sms", "en", "Hi {first_name}", fallback="Hi there")
    >>> render(t, {}).text
    'Hi there'
    """
    compiled = template._main
    values: list[str] = []
    missing: list[str] = []
    for name in compiled.names:
        value = context.get(name)
        if value is None or not isinstance(value, str) or not value.strip():
            missing.append(name)
        else:
            values.append(value)
    if missing:
        alt = template._alt
        usable = alt is not None and OPTIONAL_FIELDS.issuperset(missing)
        if not usable or alt is None:
            shown = ", ".join(dict.fromkeys(missing))
            msg = f"{template.label}: no value for {shown}; pass a non-empty string for each"
            raise TemplateError(msg)
        compiled = alt
        values = []
        for name in compiled.names:
            value = context.get(name)
            if value is None or not isinstance(value, str) or not value.strip():
                msg = f"{template.label} fallback: no value for {name}; pass a non-empty string"
                raise TemplateError(msg)
            values.append(value)
    text = compiled.fmt.format(*values)
    segments = sms_segments(text) if template.channel is Channel.SMS else None
    return Rendered(
        text, template.channel, template.locale, template.key, segments, compiled.personal
    )

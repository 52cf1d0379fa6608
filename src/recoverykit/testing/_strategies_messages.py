"""Hypothesis strategies for messages: template bodies, contexts and SMS texts.

Re-exported from ``recoverykit.testing.strategies``.
"""

from __future__ import annotations

from typing import Final

from hypothesis import strategies as st

from ..messages.fields import FIELDS, OPTIONAL_FIELDS, Reveals
from ..messages.sms import GSM7_BASIC, GSM7_EXTENSION
from ..messages.templates import Template
from ..values.model import Channel

__all__ = ["field_values", "message_contexts", "sms_texts", "template_bodies", "templates"]

#: Every field a template may name.
ALLOWED_FIELDS: Final = tuple(sorted(n for n, r in FIELDS.items() if r is not Reveals.FORBIDDEN))
_REQUIRED_FIELDS: Final = tuple(n for n in ALLOWED_FIELDS if n not in OPTIONAL_FIELDS)

_SAMPLES: Final = (
    "e\u0301",  # e + combining acute: one grapheme, two code points
    "🇵🇱",  # a flag: two regional indicators
    "👩‍👩‍👧",  # a ZWJ family
    "😀",
    "\r\n",
    "ç",
    "…",
    "’",
    "\u00a0",
    "€",
)


def _literal() -> st.SearchStrategy[str]:
    """Text with braces doubled, so it is literal in a template body."""
    return st.text(max_size=30).map(lambda s: s.replace("{", "{{").replace("}", "}}"))


def template_bodies(
    fields: tuple[str, ...] = _REQUIRED_FIELDS,
) -> st.SearchStrategy[str]:
    """Valid template bodies: literal text around ``{field}`` placeholders."""
    piece = st.one_of(_literal(), st.sampled_from(fields).map(lambda n: f"{{{n}}}"))
    return st.lists(piece, max_size=8).map("".join)


def templates(channel: Channel | None = None) -> st.SearchStrategy[Template]:
    """Compiled templates on any channel (or ``channel``), without optional fields."""
    channels = st.just(channel) if channel is not None else st.sampled_from(list(Channel))
    return st.builds(
        Template,
        key=st.sampled_from(("remind", "help", "final")),
        channel=channels,
        locale=st.sampled_from(("en", "pl", "ru", "fr")),
        body=template_bodies(),
    )


def field_values() -> st.SearchStrategy[str]:
    """A non-blank field value, braces and look-alike placeholders included."""
    return st.one_of(
        st.text(min_size=1, max_size=40).filter(lambda s: bool(s.strip())),
        st.sampled_from(("{store_name}", "{{link}}", "{0}", "%s", "{first_name!r}")),
    )


def message_contexts() -> st.SearchStrategy[dict[str, str]]:
    """A value for every allowed field, so any valid template renders."""
    return st.fixed_dictionaries({name: field_values() for name in ALLOWED_FIELDS})


def sms_texts(max_size: int = 400) -> st.SearchStrategy[str]:
    """SMS-shaped text: mostly GSM-7, with extension characters, emoji and clusters."""
    gsm = st.sampled_from(sorted(GSM7_BASIC))
    ext = st.sampled_from(sorted(GSM7_EXTENSION))
    chunk = st.one_of(
        st.text(gsm, min_size=1, max_size=40),
        st.text(ext, min_size=1, max_size=4),
        st.sampled_from(_SAMPLES),
        st.text(max_size=10),
        st.text(st.characters(min_codepoint=0x400, max_codepoint=0x4FF), max_size=30),
    )
    return st.lists(chunk, max_size=20).map("".join).map(lambda s: s[:max_size])

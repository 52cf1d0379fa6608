"""The optimised guard and lint find exactly what the pre-optimisation copy found.

``_guard_reference`` is ``guard`` and ``lint`` as they stood before the phrase search
(folded phrase tables, one trie pass before the per-category search) and the capitals
check (a letters-only translation table) were rewritten for speed. Every test feeds
both the same text or template and requires the same violations, in the same order,
with the same messages.
"""

from __future__ import annotations

from typing import Final

from hypothesis import given
from hypothesis import strategies as st

from recoverykit.messages.fields import FIELDS, Reveals
from recoverykit.messages.lint import (
    PAYMENT_BY_REPLY,
    GuardPolicy,
    _any_phrase,
    _find,
    _shouting,
    guard,
    lint,
    phrases,
)
from recoverykit.messages.sms import sms_segments
from recoverykit.messages.templates import Rendered, Template
from recoverykit.values.model import Channel
from tests.property import _guard_reference as reference

#: Every phrase the checks know, as written (not folded), from every category.
PHRASES: Final = tuple(
    dict.fromkeys(
        [p for by_lang in phrases().values() for items in by_lang.values() for p in items]
        + [p for items in PAYMENT_BY_REPLY.values() for p in items]
    )
)
PERSONAL: Final = tuple(sorted(name for name, kind in FIELDS.items() if kind is Reveals.PERSONAL))
_GLUE: Final = (
    " ", "", "\n", ", ", ". ", "!", "-", "’", "ʼ", "'", "%", "\u00a0", "\u202f", "ё", "Ё",
    "ß", "İ", "ǅ", "Ⓐ", "Ⅻ", "ϒ", "日本", "😀", "https://shop.example/c/1?x=1 ",
    "https://nwnd.example/r/8fK2xQ7pLmZ4vB9tR3wYc1-and-a-long-tail-to-make-it-long ",
)  # fmt: skip
_WORDS: Final = (
    "Northwind", "Sklep Ola", "STOP", "SMS", "BUY", "NOW", "LAST", "CHANCE", "A.B.", "OK",
    "ok", "Reply", "your", "cart", "is", "saved", "koszyk", "корзина", "panier", "SIM-0001",
    "AM", "CVV", "Cvv", "ÉTÉ", "ПРОДАЖА", "ДА", "{store_name}", "A1", "B2", "X-9", "Ⅻ",
)  # fmt: skip


def _respell(phrase: str, style: int) -> str:
    if style == 1:
        return phrase.upper()
    if style == 2:
        return phrase.title()
    if style == 3:
        return phrase.replace("'", "’").replace("е", "ё")
    if style == 4:
        return phrase[: max(1, len(phrase) - 1)]  # a near miss
    return phrase


@st.composite
def texts(draw: st.DrawFn) -> str:
    """Texts made of known phrases (respelled, cut short), loud words, odd letters, links."""
    pieces = draw(
        st.lists(
            st.one_of(
                st.builds(_respell, st.sampled_from(PHRASES), st.integers(0, 4)),
                st.sampled_from(_WORDS),
                st.sampled_from(_GLUE),
                st.text(max_size=6),
            ),
            max_size=14,
        )
    )
    return "".join(pieces)


@st.composite
def rendered_messages(draw: st.DrawFn) -> Rendered:
    text = draw(texts())
    channel = draw(st.sampled_from(list(Channel)))
    details = tuple(draw(st.lists(st.sampled_from(PERSONAL), unique=True, max_size=3)))
    return Rendered(
        text=text,
        channel=channel,
        locale=draw(st.sampled_from(["en", "pl", "ru", "fr"])),
        key=draw(st.sampled_from(["remind", "help", "final", "optout_confirm", "thanks", "nudge"])),
        segments=sms_segments(text) if channel is Channel.SMS and draw(st.booleans()) else None,
        details=details,
    )


POLICIES: Final = st.sampled_from(
    [
        GuardPolicy(),
        GuardPolicy(allow_discount_first_touch=True),
        GuardPolicy(require_optout_sms=False, max_sms_segments=1, max_sms_link=20),
        GuardPolicy(ignore={"RK112", "RK105"}),
    ]
)


@given(
    rendered_messages(),
    POLICIES,
    st.sampled_from([None, "Northwind", "Sklep Ola", "ŁÓDŹ"]),
    st.booleans(),
)
def test_guard_finds_what_the_reference_found(
    rendered: Rendered, policy: GuardPolicy, store_name: str | None, hold_until_known: bool
) -> None:
    """Same violations for any text, channel, key, policy, store name and deadline."""
    assert guard(
        rendered, policy, store_name=store_name, hold_until_known=hold_until_known
    ) == reference.guard(rendered, policy, store_name=store_name, hold_until_known=hold_until_known)


@st.composite
def templates(draw: st.DrawFn) -> Template:
    names = ["store_name", "link", "first_name", "top_item", "hold_until", "discount_code"]
    chunks = draw(
        st.lists(
            st.one_of(
                texts().map(lambda text: text.replace("{", "{{").replace("}", "}}")),
                st.sampled_from(names).map(lambda name: "{" + name + "}"),
            ),
            min_size=1,
            max_size=8,
        )
    )
    return Template(
        draw(st.sampled_from(["remind", "help", "final", "optout_confirm"])),
        draw(st.sampled_from(list(Channel))),
        draw(st.sampled_from(["en", "pl", "ru", "fr", "de"])),
        "".join(chunks),
    )


@given(templates(), POLICIES, st.none() | st.integers(1, 3))
def test_lint_finds_what_the_reference_found(
    template: Template, policy: GuardPolicy, touch_index: int | None
) -> None:
    """Same lint findings for templates built from the same pieces."""
    assert lint(template, policy, touch_index=touch_index) == reference.lint(
        template, policy, touch_index=touch_index
    )


@given(texts())
def test_the_one_pass_search_sees_a_phrase_exactly_when_the_lists_do(text: str) -> None:
    """The trie pattern matches a folded text exactly when some category's list has a hit."""
    folded = reference._fold(text)
    for categories in (
        ("surveillance", "guilt", "pressure"),
        ("surveillance", "guilt", "pressure", "urgency", "discount"),
        ("optout",),
    ):
        expected = any(_find(category, folded) is not None for category in categories)
        assert (_any_phrase(categories).search(folded) is not None) == expected


_LOUDNESS: Final = (
    "BUY", "NOW", "Now", "STOP", "SMS", "A1", "B2", "X-9", "Ⅻ", "ⓐⓑ", "ⒶⒷ", "ǅA", "ϒϒ", "日本A",
    "A.B.", "OK!", "ok", "ПРОДАЖА", "ДА", "É", "ÉTÉ", "ß", "SS", "İİ", "42", "—", "😀A",
)  # fmt: skip


@given(st.lists(st.sampled_from(_LOUDNESS), max_size=8), st.sampled_from([" ", "\n", "  ", "\t"]))
def test_capitals_check_matches_the_reference(words: list[str], space: str) -> None:
    """Loud-word detection agrees for letters, digits, symbols, titlecase and enclosed letters."""
    text = space.join(words)
    assert _shouting(text) == reference._shouting(text)

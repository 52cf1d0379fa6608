"""Hypothesis strategies for consent trails and customer replies.

Re-exported from ``recoverykit.testing.strategies``. The event strategies draw from
small pools of customers, addresses and instants on purpose, so that ties, repeated
addresses and out-of-order appends (the interesting cases) turn up often.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from hypothesis import strategies as st

from ..policies.consent import ConsentAction, ConsentEvent, ConsentLedger, Purpose
from ..policies.keywords import KEYWORDS, Intent, Keyword
from ..policies.replies import Reply, classify_reply
from ..values.model import Channel

__all__ = [
    "consent_events",
    "consent_ledgers",
    "keyword_variants",
    "replies",
    "reply_texts",
]

_BASE: Final = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_CUSTOMERS: Final = ("cus-1", "cus-2")
_ADDRESSES: Final = (None, "+48600100200", "+48600100201")
_SOURCES: Final = ("checkout_checkbox", "keyword", "api", "support_agent", "double_optin_reply")


@st.composite
def _consent_event(
    draw: st.DrawFn,
    customer_ids: st.SearchStrategy[str],
    channels: st.SearchStrategy[Channel],
    addresses: st.SearchStrategy[str | None],
    minutes: int,
) -> ConsentEvent:
    action = draw(st.sampled_from(ConsentAction))
    revoked = action is ConsentAction.REVOKED
    channel = draw(st.none() | channels) if revoked else draw(channels)
    purpose = (
        draw(st.none() | st.sampled_from(Purpose)) if revoked else draw(st.sampled_from(Purpose))
    )
    return ConsentEvent(
        customer_id=draw(customer_ids),
        channel=channel,
        purpose=purpose,
        action=action,
        at=_BASE + timedelta(minutes=draw(st.integers(0, minutes))),
        source=draw(st.sampled_from(_SOURCES)),
        text=draw(st.none() | st.just("I agree to cart reminders by text. Reply STOP to stop.")),
        version=draw(st.none() | st.sampled_from(["v1", "v2"])),
        address=draw(addresses),
    )


def consent_events(
    *,
    customer_ids: st.SearchStrategy[str] | None = None,
    channels: st.SearchStrategy[Channel] | None = None,
    addresses: st.SearchStrategy[str | None] | None = None,
    minutes: int = 10,
) -> st.SearchStrategy[ConsentEvent]:
    """Valid consent events; by default two customers, three addresses, an 11-minute span."""
    return _consent_event(
        customer_ids if customer_ids is not None else st.sampled_from(_CUSTOMERS),
        channels if channels is not None else st.sampled_from([Channel.SMS, Channel.WHATSAPP]),
        addresses if addresses is not None else st.sampled_from(_ADDRESSES),
        minutes,
    )


def consent_ledgers(
    *, events: st.SearchStrategy[ConsentEvent] | None = None, max_size: int = 20
) -> st.SearchStrategy[ConsentLedger]:
    """Ledgers of events appended in random (not time) order."""
    source = events if events is not None else consent_events()
    return st.lists(source, max_size=max_size).map(lambda items: ConsentLedger(tuple(items)))


# -- replies -----------------------------------------------------------------------------
_COMBINING: Final = ("\u0301", "\u0302", "\u0308", "\u0300")
_TAILS: Final = ("", "!", "!!", ".", " 🙏", " ✋", "…", " :)")
_JOINERS_KEYWORD: Final = (" ", "  ", "-", "", " - ", "\t")
_JOINERS_PHRASE: Final = (" ", "  ", ", ", " \n ")


def _fullwidth(char: str) -> str:
    return chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char


@st.composite
def _variant(draw: st.DrawFn, entry: Keyword) -> tuple[str, Keyword]:
    words = entry.phrase.replace("-", " ").split()
    joiners = _JOINERS_KEYWORD if entry.kind == "keyword" else _JOINERS_PHRASE
    out: list[str] = []
    for position, word in enumerate(words):
        if position:
            out.append(draw(st.sampled_from(joiners)))
        for char in word:
            style = draw(st.sampled_from(["lower", "upper", "same", "wide", "accent"]))
            if style == "lower":
                out.append(char.lower())
            elif style == "upper":
                out.append(char.upper())
            elif style == "wide":
                out.append(_fullwidth(char))
            elif style == "accent" and char.isascii() and char.isalpha():
                out.append(char + draw(st.sampled_from(_COMBINING)))
            else:
                out.append(char)
    lead = draw(st.sampled_from(["", " ", "  ", "\n"]))
    return lead + "".join(out) + draw(st.sampled_from(_TAILS)), entry


def keyword_variants(
    *, intents: frozenset[Intent] | None = None, kinds: frozenset[str] | None = None
) -> st.SearchStrategy[tuple[str, Keyword]]:
    """A table entry and one way of typing it: casing, fullwidth, accents, spacing, emoji.

    Review-only keywords (a bare "nie") are left out unless ``kinds`` names them.
    """
    chosen = [
        entry
        for entry in KEYWORDS
        if (intents is None or entry.intent in intents)
        and (kinds is None or entry.kind in kinds)
        and entry.kind != "lead"
    ]
    return st.sampled_from(chosen).flatmap(_variant)


_WORDS: Final = st.sampled_from(
    [
        "hi", "thanks", "when", "does", "it", "ship", "the", "shoes", "size", "42", "спасибо",
        "доставка", "dziękuję", "rozmiar", "merci", "livraison", "gracias", "envío", "danke",
        "😀", "👍", "?", "!!!", "1", "unstoppable", "stopień", "backend", "startup",
    ]
)  # fmt: skip


def reply_texts() -> st.SearchStrategy[str]:
    """Reply texts: keyword variants alone or in a sentence, ordinary chat, and junk."""
    variants = keyword_variants().map(lambda pair: pair[0])
    sentence = st.lists(_WORDS | variants, min_size=1, max_size=8).map(" ".join)
    return st.one_of(variants, sentence, st.text(max_size=60), st.sampled_from(["", " ", "1", "2"]))


def replies(*, region: str | None = None) -> st.SearchStrategy[Reply]:
    """Classified replies, as a webhook parser hands them to the engine."""
    return reply_texts().map(lambda text: classify_reply(text, region=region))

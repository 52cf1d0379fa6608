"""Properties of reply understanding: every spelling of a keyword, and no input breaks it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from recoverykit.policies.keywords import KEYWORDS, Intent, Keyword
from recoverykit.policies.replies import Reply, classify_reply, normalize_reply
from recoverykit.testing.strategies import keyword_variants, replies, reply_texts

STOPPING = frozenset({Intent.OPT_OUT, Intent.OPT_OUT_ALL})
OPT_OUT_KEYS = frozenset(
    normalize_reply(e.phrase).replace(" ", "")
    for e in KEYWORDS
    if e.intent in STOPPING and e.kind == "keyword"
)
FILLER = st.sampled_from(
    ["hi", "please", "thanks", "ok", "спасибо", "proszę", "merci", "👍", "..."]
)


def _locale(entry: Keyword) -> str | None:
    return None if entry.locale == "*" else entry.locale


@given(keyword_variants(kinds=frozenset({"keyword"})))
def test_every_keyword_variant_classifies_as_its_intent(pair: tuple[str, Keyword]) -> None:
    """Any casing, fullwidth, accent, spacing or hyphen variant of a keyword keeps its intent."""
    text, entry = pair
    reply = classify_reply(text, locale=_locale(entry), mode="exact")
    assert entry.intent == reply.intent
    if entry.intent in STOPPING and not entry.review:
        assert not reply.needs_review


@given(keyword_variants(kinds=frozenset({"phrase"})))
def test_every_phrase_variant_classifies_as_its_intent(pair: tuple[str, Keyword]) -> None:
    """Natural-language phrases keep their intent and their review flag in any spelling."""
    text, entry = pair
    reply = classify_reply(text, locale=_locale(entry))
    assert (entry.intent, entry.review) == (reply.intent, reply.needs_review)


@given(
    keyword_variants(intents=STOPPING, kinds=frozenset({"keyword"})).filter(
        lambda pair: not pair[1].review
    ),
    st.lists(FILLER, max_size=3),
    st.lists(FILLER, max_size=3),
)
def test_contains_mode_finds_opt_out_anywhere(
    pair: tuple[str, Keyword], before: list[str], after: list[str]
) -> None:
    """In contains mode an opt-out keyword anywhere in the reply opts out, unreviewed."""
    text, entry = pair
    reply = classify_reply(" ".join([*before, text, *after]), mode="contains")
    assert (entry.intent, False) == (reply.intent, reply.needs_review)


@given(
    st.sampled_from([e for e in KEYWORDS if e.intent in STOPPING and " " not in e.phrase]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyząęłóśńй", min_size=1, max_size=4),
    st.booleans(),
)
def test_keyword_inside_a_word_never_opts_out(entry: Keyword, extra: str, prefix: bool) -> None:
    """Word boundaries hold: 'unstoppable' and 'stopień' are not STOP."""
    word = extra + entry.phrase if prefix else entry.phrase + extra
    if normalize_reply(word) in OPT_OUT_KEYS:
        return  # the glued word is itself a keyword ("stop" + "all")
    assert classify_reply(word, mode="contains").intent not in STOPPING


@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=300))
def test_any_text_classifies_without_error(text: str) -> None:
    """Every string, control characters and lone surrogates included, gives a Reply."""
    reply = classify_reply(text, mode="contains")
    assert text == reply.text
    assert (reply.choice is not None) == (reply.intent is Intent.MENU_CHOICE)


@given(reply_texts(), st.sampled_from(["exact", "contains"]))
def test_opt_out_is_never_reviewed_twice(text: str, mode: str) -> None:
    """A Reply that opts out on a universal keyword never also asks for review."""
    reply = classify_reply(text, mode="contains" if mode == "contains" else "exact")
    if reply.intent in STOPPING and reply.locale is None:
        assert not reply.needs_review


@given(replies(region="US"))
def test_strategy_gives_classified_replies(reply: Reply) -> None:
    """The public replies() strategy yields Replies the classifier would give again."""
    assert reply == classify_reply(reply.text, region="US")

"""Reply understanding: normalisation, keyword tables, modes and intents."""

from __future__ import annotations

import pytest

from recoverykit.policies.keywords import KEYWORDS, Intent
from recoverykit.policies.replies import MAX_REPLY_CHARS, Reply, classify_reply, normalize_reply
from recoverykit.values.model import Channel

FCC_WORDS = ("STOP", "QUIT", "END", "REVOKE", "OPT OUT", "CANCEL", "UNSUBSCRIBE")


@pytest.mark.parametrize("word", FCC_WORDS)
def test_fcc_words_opt_out_in_every_locale(word: str) -> None:
    """FCC-2: the seven per se revocation words opt out whatever the customer's language."""
    for locale in (None, "en", "pl", "ru", "fr", "es", "de", "kk", "uk"):
        assert classify_reply(word, locale=locale).intent == Intent.OPT_OUT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Opt  out!!", "opt out"),
        ("opt-out", "opt out"),
        ("ＳＴＯＰ", "stop"),
        ("ARRÊT", "arret"),
        ("  Stop.\n", "stop"),
        ("don't", "dont"),
        ("S\u200bTOP", "stop"),
        ("3️⃣", "3"),
        ("Ёлка йогурт", "елка йогурт"),
        ("Już kupiłem", "juz kupilem"),
        ("Қымбат", "қымбат"),
        ("Straße", "strasse"),
        ("stop🛑now", "stop now"),
    ],
)
def test_normalisation(text: str, expected: str) -> None:
    """Replies fold to NFKC, casefold, Latin accents off, punctuation and emoji out."""
    assert expected == normalize_reply(text)


def test_cyrillic_short_i_survives() -> None:
    """Accent folding touches Latin letters only: й stays й, ї stays ї."""
    assert normalize_reply("Йод Їжак") == "йод їжак"


@pytest.mark.parametrize("text", ["Opt  out!!", "opt-out", "OPTOUT", "Opt Out", "opt\tout"])
def test_opt_out_spellings_are_one_keyword(text: str) -> None:
    """'Opt  out!!', 'opt-out' and 'OPTOUT' are the same keyword (rules.md §8 item 9)."""
    reply = classify_reply(text)
    assert (reply.intent, reply.needs_review) == (Intent.OPT_OUT, False)


@pytest.mark.parametrize("text", ["STOP ALL", "stopall", "Stop-All!"])
def test_stop_all_is_every_channel(text: str) -> None:
    """STOPALL and 'STOP ALL' ask to stop every channel."""
    assert classify_reply(text).intent == Intent.OPT_OUT_ALL


@pytest.mark.parametrize("text", ["unstoppable", "stopień", "backend", "cancellation fee"])
def test_word_inside_word_never_matches(text: str) -> None:
    """Matching is by whole words, even in contains mode: 'unstoppable' is not STOP."""
    reply = classify_reply(text, mode="contains")
    assert reply.intent != Intent.OPT_OUT
    assert not reply.needs_review


def test_exact_mode_flags_keyword_inside_sentence() -> None:
    """In exact mode 'please stop' is not a keyword reply, but a person should look."""
    reply = classify_reply("please stop", mode="exact")
    assert (reply.intent, reply.needs_review) == (Intent.UNKNOWN, True)


def test_contains_mode_is_default_for_us() -> None:
    """SEAMS 8: US numbers default to contains mode; a STOP anywhere opts out."""
    assert classify_reply("ok STOP please", region="US").intent == Intent.OPT_OUT
    assert classify_reply("ok STOP please", region="PL").intent != Intent.OPT_OUT


@pytest.mark.parametrize(
    ("text", "intent", "review"),
    [
        ("Stop texting me", Intent.OPT_OUT, True),
        ("please opt me out", Intent.OPT_OUT, True),
        ("отпишите меня пожалуйста", Intent.OPT_OUT, True),
        ("Не пишите мне больше", Intent.OPT_OUT, True),
        ("nie piszcie do mnie", Intent.OPT_OUT, True),
        ("leave me alone", Intent.NOT_INTERESTED, True),
        ("Nie", Intent.OPT_OUT, True),
    ],
)
def test_natural_language_requests_need_review(text: str, intent: Intent, review: bool) -> None:
    """FCC-1: plain-words stop requests are acted on and flagged for a person."""
    reply = classify_reply(text)
    assert (intent, review) == (reply.intent, reply.needs_review)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Не интересует", Intent.NOT_INTERESTED),
        ("уже купил", Intent.ALREADY_PURCHASED),
        ("Уже купила, спасибо!", Intent.ALREADY_PURCHASED),
        ("nie jestem zainteresowany", Intent.NOT_INTERESTED),
        ("juz kupilam", Intent.ALREADY_PURCHASED),
        ("Pas intéressé", Intent.NOT_INTERESTED),
        ("ya lo compré", Intent.ALREADY_PURCHASED),
        ("Kein Interesse", Intent.NOT_INTERESTED),
        ("вже купила", Intent.ALREADY_PURCHASED),
        ("қызықпаймын", Intent.NOT_INTERESTED),
        ("too expensive", Intent.OBJECTION),
        ("Still thinking about it", Intent.OBJECTION),
        ("за дорого", Intent.OBJECTION),
        ("za drogo", Intent.OBJECTION),
        ("Ещё думаю", Intent.OBJECTION),
        ("еще думаю", Intent.OBJECTION),
        ("yes", Intent.POSITIVE),
        ("Yes please!", Intent.POSITIVE),
        ("Tak", Intent.POSITIVE),
        ("да", Intent.POSITIVE),
        ("Oui", Intent.POSITIVE),
        ("START", Intent.OPT_IN),
        ("unstop", Intent.OPT_IN),
        ("HELP", Intent.HELP),
        ("info", Intent.HELP),
        ("aide", Intent.HELP),
        ("when will it ship?", Intent.QUESTION),
        ("Czy jest rozmiar 42", Intent.QUESTION),
        ("the shoes are nice", Intent.UNKNOWN),
        ("", Intent.UNKNOWN),
        ("🙂", Intent.UNKNOWN),
    ],
)
def test_intents(text: str, intent: Intent) -> None:
    """Each sample reply gets the intent a support person would give it."""
    assert intent == classify_reply(text).intent


@pytest.mark.parametrize(("text", "choice"), [("1", 1), ("2.", 2), ("3️⃣", 3), ("１", 1), ("12", 12)])
def test_menu_choice(text: str, choice: int) -> None:
    """A bare menu number, however typed, is MENU_CHOICE with the number."""
    reply = classify_reply(text)
    assert (Intent.MENU_CHOICE, choice) == (reply.intent, reply.choice)


def test_positive_only_leads_a_short_reply() -> None:
    """'yes' leads a short affirmative; in a long sentence it decides nothing."""
    assert classify_reply("yes the shoes are nice but the color").intent != Intent.POSITIVE


def test_opt_out_beats_everything_else() -> None:
    """A reply that both refuses and says STOP is an opt-out (contains mode)."""
    reply = classify_reply("not interested, STOP", mode="contains")
    assert (reply.intent, reply.needs_review, reply.matched) == (Intent.OPT_OUT, False, "stop")


def test_reply_keeps_original_text_and_language() -> None:
    """The reply keeps the text as received and names the table that matched."""
    reply = classify_reply("Не интересует!", locale="ru")
    assert Reply("Не интересует!", Intent.NOT_INTERESTED, matched="не интересует", locale="ru") == (
        reply
    )


def test_locale_prefers_its_own_tables_but_not_for_stop() -> None:
    """A Polish store still honours a Russian СТОП; other intents use the store's language."""
    assert classify_reply("стоп", locale="pl").intent == Intent.OPT_OUT
    assert classify_reply("не интересует", locale="pl").intent == Intent.UNKNOWN
    assert classify_reply("не интересует", locale="ru_KZ").intent == Intent.NOT_INTERESTED


def test_email_quoted_footer_is_ignored() -> None:
    """On e-mail, quoted lines (our own 'reply STOP' footer) do not opt anyone out."""
    text = "Thanks, I'll order tomorrow\n> Reply STOP to unsubscribe"
    assert classify_reply(text, channel=Channel.EMAIL, mode="contains").intent != Intent.OPT_OUT
    assert classify_reply(text, channel=Channel.SMS, mode="contains").intent == Intent.OPT_OUT


@pytest.mark.parametrize(
    "text",
    ["", "\x00\x01\x02", "\ud800stop\udfff", "x" * 100_000, "🙂" * 50_000, "\u0301" * 1000],
)
def test_never_raises(text: str) -> None:
    """Any string classifies without an exception, including junk and huge input."""
    assert isinstance(classify_reply(text, mode="contains"), Reply)


def test_only_the_head_of_a_huge_reply_is_read() -> None:
    """Work is bounded: text after the first MAX_REPLY_CHARS characters cannot matter."""
    text = "x " * MAX_REPLY_CHARS + "STOP"
    assert classify_reply(text, mode="contains").intent != Intent.OPT_OUT


def test_non_string_is_a_type_error() -> None:
    """A non-string is a programming error and says what it got."""
    with pytest.raises(TypeError, match="must be a string"):
        classify_reply(b"STOP")  # type: ignore[arg-type]


def test_every_entry_is_tagged_with_a_source() -> None:
    """Every table entry is sourced or heuristic and says where it comes from."""
    for entry in KEYWORDS:
        assert entry.status in {"sourced", "heuristic"}
        assert entry.source.strip()


def test_required_universal_keywords_present() -> None:
    """rules.md §2.3: the FCC words plus STOPALL, OPTOUT, OPT-OUT, REMOVE, ARRET are universal."""
    universal = {normalize_reply(e.phrase) for e in KEYWORDS if e.locale == "*"}
    required = {
        normalize_reply(w) for w in (*FCC_WORDS, "STOPALL", "OPTOUT", "OPT-OUT", "REMOVE", "ARRET")
    }
    assert required <= universal

"""A store's own reply words (``Vocabulary``) and its own classifier (``ReplyClassifier``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recoverykit.errors import DefinitionError, InvalidVocabulary
from recoverykit.policies.keywords import KEYWORDS, Intent, Keyword
from recoverykit.policies.replies import Reply, classify_reply
from recoverykit.policies.vocabulary import Vocabulary
from recoverykit.runtime.cli import main
from recoverykit.values.model import Channel

WORDS = Vocabulary.of({"pl": {"question": ["paczkomat"], "opt_out": ["nie chcę sms"]}})


def test_a_store_phrase_is_read_like_a_built_in_one() -> None:
    """A store's phrase is found anywhere in a reply, folded like the tables are."""
    assert Intent.UNKNOWN == classify_reply("A paczkomat w Gdańsku", locale="pl").intent
    reply = classify_reply("A PACZKOMAT w Gdańsku", locale="pl", vocabulary=WORDS)
    assert (Intent.QUESTION, "paczkomat", "pl") == (reply.intent, reply.matched, reply.locale)
    assert Intent.OPT_OUT == classify_reply("Nie chce SMS", locale="pl", vocabulary=WORDS).intent


def test_store_words_keep_to_their_language_but_stops_count_everywhere() -> None:
    """Like the built-in tables: a phrase counts in its own language (and for readers of
    an unknown one), an opt-out in every language."""
    assert Intent.UNKNOWN == classify_reply("paczkomat", locale="fr", vocabulary=WORDS).intent
    assert Intent.OPT_OUT == classify_reply("nie chcę sms", locale="fr", vocabulary=WORDS).intent


def test_the_built_in_reading_is_unchanged_without_a_vocabulary() -> None:
    """Adding words for one store changes nothing for a reader without them."""
    classify_reply("paczkomat", locale="pl", vocabulary=WORDS)
    assert Intent.UNKNOWN == classify_reply("paczkomat", locale="pl").intent
    assert Vocabulary.of({"pl": {"question": ["paczkomat"]}}) == Vocabulary.of(
        {"pl": {"question": ["paczkomat"]}}
    )


@pytest.mark.parametrize(
    ("words", "named"),
    [
        ({"pl": {"questoin": ["x"]}}, "'questoin'"),
        ({"pl": {"menu_choice": ["x"]}}, "'menu_choice'"),
        ({"pl": {"unknown": ["x"]}}, "'unknown'"),
        ({"pl": {"question": ["  !! "]}}, "'  !! '"),
        ({"pl": {"question": [""]}}, "''"),
        ({"p1!": {"question": ["x"]}}, "'p1!'"),
        ({"polish": {"question": ["x"]}}, "'polish'"),
        ({"pl": {"question": "paczkomat"}}, "['paczkomat']"),
        ({"pl": ["question"]}, "['question']"),
    ],
)
def test_bad_entries_are_refused_naming_the_value_and_the_fix(
    words: dict[str, object], named: str
) -> None:
    """Unknown intents, empty phrases and bad locales raise ``InvalidVocabulary`` (a
    ``ValueError``) that names the value."""
    with pytest.raises(InvalidVocabulary, match=r"\(|write|choose") as caught:
        Vocabulary.of(words)  # type: ignore[arg-type]
    assert named in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_entries_built_by_hand_are_checked_too() -> None:
    """``Vocabulary(entries)`` checks every entry: the kind as well as the rest."""
    bad = Keyword("x", Intent.QUESTION, "heuristic", "store", locale="pl", kind="anywhere")  # type: ignore[arg-type]
    with pytest.raises(InvalidVocabulary, match="kind 'anywhere'"):
        Vocabulary((bad,))
    with pytest.raises(InvalidVocabulary, match="sequence of Keyword"):
        Vocabulary("paczkomat")  # type: ignore[arg-type]


def test_a_vocabulary_document_reports_every_problem_with_its_path() -> None:
    """``from_dict`` loads a JSON shape and lists all its problems at once."""
    data = {
        "entries": [
            {"locale": "pl", "intent": "question", "phrase": "paczkomat"},
            {"locale": "pl", "intent": "questoin", "phrase": "kurier"},
            {"locale": "??", "intent": "question", "phrase": "kurier"},
            {"locale": "pl", "intent": "question", "phrase": "x", "colour": "red"},
        ]
    }
    with pytest.raises(DefinitionError) as caught:
        Vocabulary.from_dict(data)
    paths = [problem.path for problem in caught.value.problems]
    assert ["$.entries[1]", "$.entries[2]", "$.entries[3]"] == paths
    good = Vocabulary.from_dict({"entries": data["entries"][:1]})
    assert good == Vocabulary.from_dict(good.to_dict())


def test_lint_reports_collisions_with_built_in_entries_and_within_the_vocabulary() -> None:
    """VOC001: a built-in entry reads the phrase as another intent; VOC002: the
    vocabulary gives one phrase two intents; VOC003: a repeat."""
    assert [] == WORDS.lint()
    words = Vocabulary.of({"en": {"positive": ["stop", "sounds good"]}}) + Vocabulary.of(
        {"en": {"question": ["sounds good"], "positive": ["stop"]}}
    )
    found = [(issue.code, issue.path) for issue in words.lint()]
    assert ("VOC001", "entries[0]") in found
    assert ("VOC002", "entries[2]") in found
    assert ("VOC003", "entries[3]") in found
    builtin = next(k for k in KEYWORDS if k.locale == "fr" and k.intent is Intent.OBJECTION)
    same = Vocabulary.of({"fr": {"objection": [builtin.phrase]}})
    assert [] == same.lint()


def test_a_classifier_in_front_decides_or_falls_through() -> None:
    """A ``ReplyClassifier`` is asked first; ``None`` lets the tables decide."""
    asked: list[tuple[str, str | None, Channel]] = []

    def ours(text: str, *, locale: str | None, channel: Channel) -> Reply | None:
        asked.append((text, locale, channel))
        if "zielony" in text:
            return Reply(text, Intent.QUESTION, matched="colour")
        return None

    reply = classify_reply("zielony M", locale="pl", classifier=ours)
    assert (Intent.QUESTION, "colour") == (reply.intent, reply.matched)
    assert Intent.ALREADY_PURCHASED == classify_reply("już kupiłam", classifier=ours).intent
    assert ("zielony M", "pl", Channel.SMS) == asked[0]


def test_an_unambiguous_stop_stands_whatever_a_classifier_says() -> None:
    """STOP is honoured by any reasonable means (FCC-1): a classifier cannot turn it into
    something else; a reply that only may mean stop is still the classifier's to read."""

    def positive(text: str, *, locale: str | None, channel: Channel) -> Reply | None:
        return Reply(text, Intent.POSITIVE)

    assert Intent.OPT_OUT == classify_reply("STOP", classifier=positive).intent
    assert Intent.POSITIVE == classify_reply("leave me alone", classifier=positive).intent

    def broken(text: str, *, locale: str | None, channel: Channel) -> Reply | None:
        return "yes"  # type: ignore[return-value]

    with pytest.raises(TypeError, match="must return a Reply or None"):
        classify_reply("hello", classifier=broken)


@pytest.mark.parametrize(
    ("text", "locale", "intent", "review"),
    [
        ("Больше не беспокойте", "ru", Intent.OPT_OUT, True),
        ("Отвяжитесь!", "ru", Intent.OPT_OUT, True),
        ("Отстаньте", "ru", Intent.NOT_INTERESTED, True),
        ("Please don't text me again", "en", Intent.OPT_OUT, True),
        ("leave me alone", "en", Intent.NOT_INTERESTED, True),
        ("Przestańcie pisać!", "pl", Intent.OPT_OUT, True),
        ("Dajcie mi spokój", "pl", Intent.NOT_INTERESTED, True),
        ("Ne m'écrivez plus", "fr", Intent.OPT_OUT, True),
        ("Laissez-moi tranquille", "fr", Intent.NOT_INTERESTED, True),
        ("Ma carte a été refusée", "fr", Intent.QUESTION, False),
        ("Karta odrzucona, co robić", "pl", Intent.QUESTION, False),
        ("Оплата не проходит", "ru", Intent.QUESTION, False),
        ("my payment didn't go through", "en", Intent.QUESTION, False),
    ],
)
def test_plain_words_in_every_pack_language(
    text: str, locale: str, intent: Intent, review: bool
) -> None:
    """Stop requests in plain words opt out (a person still reads them); unclear ones
    ask for review; payment trouble is a question for a person."""
    reply = classify_reply(text, locale=locale)
    assert (intent, review) == (reply.intent, reply.needs_review)


def test_every_built_in_entry_names_its_source() -> None:
    """The tables are data with their source: no entry without one."""
    assert all(entry.source.strip() for entry in KEYWORDS)


def test_recoverykit_lint_reads_a_vocabulary_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``recoverykit lint`` lints a vocabulary like a pack: findings with their codes, exit 1
    on an error, exit 2 (every problem with its path) when an entry cannot be loaded."""
    good = {"entries": [{"locale": "pl", "intent": "question", "phrase": "paczkomat"},
                        {"locale": "en", "intent": "positive", "phrase": "stop"}]}  # fmt: skip
    path = tmp_path / "words.json"
    path.write_text(json.dumps(good), "utf-8")
    assert 0 == main(["lint", str(path)])
    out = capsys.readouterr().out
    assert "entries[1]: warning VOC001" in out
    assert "0 error(s), 1 warning(s)" in out
    twice = {"entries": [*good["entries"], {"locale": "pl", "intent": "objection",
                                             "phrase": "Paczkomat"}]}  # fmt: skip
    path.write_text(json.dumps(twice), "utf-8")
    assert 1 == main(["lint", str(path)])
    assert "entries[2]: error VOC002" in capsys.readouterr().out
    path.write_text(json.dumps({"entries": [{"locale": "pl", "intent": "?", "phrase": "x"}]}))
    assert 2 == main(["lint", str(path)])
    assert "$.entries[0]: unknown intent '?'" in capsys.readouterr().err

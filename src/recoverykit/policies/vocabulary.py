"""A store's own reply words, and the classifier a store may put in front of ours.

Customers write in their shop's words: a parcel locker's brand, a product line, the
way a region says "no". ``Vocabulary`` adds such words per language and intent to the
built-in tables (``policies.keywords``); ``classify_reply(..., vocabulary=...)`` and
``Runner(..., vocabulary=...)`` read them exactly like the built-in ones. Entries are
checked when the vocabulary is built (an intent a reply cannot have, an empty phrase
or a malformed locale is refused with ``InvalidVocabulary``), and ``lint`` reports a
phrase that a built-in entry already reads as another intent.

``ReplyClassifier`` is the seam for anything beyond words (a model, a rules engine):
it is asked first and may return ``None`` to let the built-in reading decide. An
unambiguous opt-out keyword always stands, whatever it answers: a STOP is honoured
by any reasonable means (FCC-1), not only by the means a classifier understands.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, get_args

import attrs

from ..errors import DefinitionError, InvalidVocabulary, Problem
from ..values.model import Channel
from .keywords import KEYWORDS, Intent, Keyword, KeywordKind
from .text import fold_words

if TYPE_CHECKING:
    from .replies import Reply

__all__ = [
    "STORE_SOURCE",
    "ReplyClassifier",
    "Vocabulary",
    "VocabularyIssue",
]

#: The ``source`` of an entry a store adds without naming one.
STORE_SOURCE: Final = "the store's own vocabulary"
#: Intents a store may teach: every one a reply can be given by words alone. A menu
#: digit is read from the digits; "unknown" is what no entry says.
_TEACHABLE: Final = tuple(i for i in Intent if i not in (Intent.MENU_CHOICE, Intent.UNKNOWN))
_KINDS: Final = get_args(KeywordKind)
#: A language (``pl``), optionally with a region (``pt_BR``, ``pt-BR``); ``*`` for every one.
_LOCALE: Final = re.compile(r"[a-z]{2,3}(?:[_-][A-Za-z]{2}|[_-][0-9]{3})?")


class ReplyClassifier(Protocol):
    """**Protocol:** a store's own reading of a reply, asked before the built-in one.

    Return a ``Reply`` to decide, or ``None`` to let the built-in tables (and the
    store's ``Vocabulary``) decide. A plain function with this signature will do.
    """

    def __call__(self, text: str, *, locale: str | None, channel: Channel) -> Reply | None: ...


Severity = Literal["error", "warning"]


@attrs.frozen
class VocabularyIssue:
    """One finding of ``Vocabulary.lint``: a code, how serious, where, and what to do."""

    code: str
    severity: Severity
    #: Which entry: ``entries[3]``.
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.code} {self.severity} {self.path}: {self.message}"


def _language(locale: str) -> str:
    return locale.replace("-", "_").split("_", 1)[0].lower()


def _check_entry(entry: Any, where: str) -> Keyword:
    """The entry as a ``Keyword``, or ``InvalidVocabulary`` naming the value and the fix."""
    if not isinstance(entry, Keyword):
        msg = f"{where} must be a Keyword (got {entry!r:.80}); build entries with Vocabulary.of"
        raise InvalidVocabulary(msg)
    if entry.intent not in _TEACHABLE:
        choices = ", ".join(intent.value for intent in _TEACHABLE)
        name = getattr(entry.intent, "value", entry.intent)
        msg = f"{where}: intent {name!r} cannot be taught by words (choose one of {choices})"
        raise InvalidVocabulary(msg)
    if not isinstance(entry.phrase, str) or not fold_words(entry.phrase):
        msg = (
            f"{where}: phrase {entry.phrase!r} has no letters or digits to match; "
            "write the words customers type"
        )
        raise InvalidVocabulary(msg)
    if entry.locale != "*" and not (
        isinstance(entry.locale, str) and _LOCALE.fullmatch(entry.locale)
    ):
        msg = (
            f"{where}: locale {entry.locale!r} is not a language code; write 'pl', 'fr_CA' "
            "or '*' for every language"
        )
        raise InvalidVocabulary(msg)
    if entry.kind not in _KINDS:
        msg = f"{where}: kind {entry.kind!r} is unknown (choose one of {', '.join(_KINDS)})"
        raise InvalidVocabulary(msg)
    return entry


def _entries(value: Iterable[Keyword]) -> tuple[Keyword, ...]:
    if isinstance(value, str | bytes | Mapping):
        msg = f"Vocabulary.entries must be a sequence of Keyword (got {value!r:.80})"
        raise InvalidVocabulary(msg)
    entries = tuple(value)
    return tuple(_check_entry(entry, f"Vocabulary.entries[{i}]") for i, entry in enumerate(entries))


def _intent(value: Any, where: str) -> Intent:
    try:
        intent = Intent(value)
    except ValueError:
        choices = ", ".join(intent.value for intent in _TEACHABLE)
        msg = f"{where}: unknown intent {value!r} (choose one of {choices})"
        raise InvalidVocabulary(msg) from None
    return intent


@attrs.frozen(cache_hash=True)
class Vocabulary:
    """Words and phrases a store adds to the reply tables, per language and intent.

    >>> words = Vocabulary.of({"pl": {"question": ["paczkomat"], "opt_out": ["nie chcę sms"]}})
    >>> len(words.entries)
    2
    """

    entries: tuple[Keyword, ...] = attrs.field(default=(), converter=_entries)

    @classmethod
    def of(
        cls,
        words: Mapping[str, Mapping[str | Intent, Iterable[str]]],
        *,
        kind: KeywordKind = "phrase",
        source: str = STORE_SOURCE,
        review: bool = False,
    ) -> Vocabulary:
        """Build from ``{locale: {intent: [phrases]}}``.

        ``kind`` says how a phrase is found: ``phrase`` anywhere in the reply (the
        default), ``lead`` at its start, ``keyword`` as the whole reply. With
        ``review`` a match also asks a person to read the reply.
        """
        entries: list[Keyword] = []
        if not isinstance(words, Mapping):
            msg = f"Vocabulary.of takes {{locale: {{intent: [phrases]}}}} (got {words!r:.80})"
            raise InvalidVocabulary(msg)
        for locale, by_intent in words.items():
            if not isinstance(by_intent, Mapping):
                msg = (
                    f"Vocabulary.of[{locale!r}] must map intents to phrases (got {by_intent!r:.80})"
                )
                raise InvalidVocabulary(msg)
            for name, phrases in by_intent.items():
                intent = _intent(name, f"Vocabulary.of[{locale!r}]")
                if isinstance(phrases, str):
                    msg = (
                        f"Vocabulary.of[{locale!r}][{intent.value!r}] must be a list of phrases "
                        f"(got the string {phrases!r}); write [{phrases!r}]"
                    )
                    raise InvalidVocabulary(msg)
                entries.extend(
                    Keyword(phrase, intent, "heuristic", source, locale=locale, kind=kind,
                            review=review)
                    for phrase in phrases
                )  # fmt: skip
        return cls(tuple(entries))

    @classmethod
    def from_dict(cls, data: Any, *, path: str = "$") -> Vocabulary:
        """Load ``{"entries": [{"locale", "intent", "phrase", "kind"?, "review"?,
        "source"?}, ...]}``; every problem is reported at once (``DefinitionError``)."""
        problems: list[Problem] = []
        raw = data.get("entries") if isinstance(data, Mapping) else None
        if not isinstance(raw, list):
            problems.append(Problem(f"{path}.entries", "expected a list of entries"))
            raise DefinitionError("Invalid vocabulary", problems)
        entries: list[Keyword] = []
        allowed = {"locale", "intent", "phrase", "kind", "review", "source"}
        for index, item in enumerate(raw):
            here = f"{path}.entries[{index}]"
            if not isinstance(item, Mapping):
                problems.append(Problem(here, f"expected an object (got {item!r:.60})"))
                continue
            unknown = sorted(set(item) - allowed)
            if unknown:
                problems.append(
                    Problem(here, f"unknown keys {unknown} (allowed: {sorted(allowed)})")
                )
                continue
            try:
                entry = Keyword(
                    item.get("phrase", ""),
                    _intent(item.get("intent"), here),
                    "heuristic",
                    str(item.get("source", STORE_SOURCE)),
                    locale=item.get("locale", "*"),
                    kind=item.get("kind", "phrase"),
                    review=bool(item.get("review", False)),
                )
                entries.append(_check_entry(entry, here))
            except InvalidVocabulary as exc:
                problems.append(Problem(here, str(exc).removeprefix(f"{here}: ")))
        if problems:
            raise DefinitionError("Invalid vocabulary", problems)
        return cls(tuple(entries))

    def to_dict(self) -> dict[str, Any]:
        return {
            "entries": [
                {
                    "locale": entry.locale,
                    "intent": entry.intent.value,
                    "phrase": entry.phrase,
                    "kind": entry.kind,
                    "review": entry.review,
                    "source": entry.source,
                }
                for entry in self.entries
            ]
        }

    def __add__(self, other: Vocabulary) -> Vocabulary:
        return Vocabulary((*self.entries, *other.entries))

    def lint(self) -> list[VocabularyIssue]:
        """What would surprise the store: a phrase read as two intents.

        VOC001 (warning): a built-in entry of the same language (or a universal one)
        reads the same words as another intent; the ranking of intents decides, so the
        store's entry may never win. VOC002 (error): the vocabulary itself gives one
        phrase two intents. VOC003 (warning): the same entry twice.
        """
        issues: list[VocabularyIssue] = []
        built_in: dict[str, list[Keyword]] = {}
        for entry in KEYWORDS:
            built_in.setdefault(" ".join(fold_words(entry.phrase)), []).append(entry)
        seen: dict[tuple[str, str], tuple[int, Keyword]] = {}
        for index, entry in enumerate(self.entries):
            where = f"entries[{index}]"
            key = " ".join(fold_words(entry.phrase))
            language = "*" if entry.locale == "*" else _language(entry.locale)
            for other in built_in.get(key, ()):
                same_language = "*" in (other.locale, language) or other.locale == language
                if other.intent is not entry.intent and same_language:
                    issues.append(
                        VocabularyIssue(
                            "VOC001",
                            "warning",
                            where,
                            f"{entry.phrase!r} ({entry.locale}, {entry.intent.value}) is also a "
                            f"built-in {other.intent.value} entry ({other.locale}, "
                            f"{other.source}); the intents' ranking decides which applies; "
                            "reword it or drop it",
                        )
                    )
                    break
            earlier = seen.get((language, key))
            if earlier is None:
                seen[(language, key)] = (index, entry)
                continue
            first, before = earlier
            if before.intent is not entry.intent:
                issues.append(
                    VocabularyIssue(
                        "VOC002",
                        "error",
                        where,
                        f"{entry.phrase!r} is {entry.intent.value} here and {before.intent.value} "
                        f"in entries[{first}]; keep one",
                    )
                )
            else:
                issues.append(
                    VocabularyIssue(
                        "VOC003", "warning", where, f"{entry.phrase!r} repeats entries[{first}]"
                    )
                )
        return issues

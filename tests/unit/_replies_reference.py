"""Frozen pre-optimisation copy of ``recoverykit.policies.replies``, kept only to check equivalence.

``tests/unit/test_replies_speed_equivalence.py`` compares the live, optimised
``classify_reply`` and ``normalize_reply`` with this copy, taken verbatim before the
hot path was rewritten for speed. Do not edit it to follow changes in the live module:
an answer that differs from this copy is a behaviour change and must be deliberate
(then replace the copy, and say so in the changelog). Only ``Reply`` comes from the
live module, so that the two classifiers' results compare with ``==``.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Final, Literal

from recoverykit.policies.keywords import KEYWORDS, Intent, Keyword
from recoverykit.policies.replies import Reply
from recoverykit.values.model import Channel

__all__ = ["classify_reply", "normalize_reply"]

MatchMode = Literal["exact", "contains"]

#: Only this many characters of a reply are read; the rest cannot change the answer.
MAX_REPLY_CHARS: Final = 4096

#: A positive word leads a short reply ("yes please"), not a long one.
_MAX_POSITIVE_TOKENS: Final = 4

#: Letters whose accent is not a combining mark, folded by hand; ``ё`` is written
#: ``е`` by most Russian speakers, so both spellings must match.
_SPECIAL_FOLDS: Final = {
    "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe", "ŀ": "l",
    "ё": "е",
}  # fmt: skip

#: Apostrophes vanish so that "don't" and "dont" are one token.
_APOSTROPHES: Final = frozenset("'’ʼ‘`´")

_LATIN_LIMIT: Final = 0x250  # decomposed base letters below this are Latin

_MEMO_LIMIT: Final = 65_536


def _fold_char(char: str) -> str:
    if char in _APOSTROPHES:
        return ""
    category = unicodedata.category(char)
    if category[0] == "L":
        special = _SPECIAL_FOLDS.get(char)
        if special is not None:
            return special
        decomposed = unicodedata.normalize("NFKD", char)
        if ord(decomposed[0]) < _LATIN_LIMIT:
            return "".join(c for c in decomposed if not unicodedata.combining(c))
        return char
    if category == "Nd":
        return str(unicodedata.decimal(char))
    if category in {"Mn", "Me", "Cf"}:
        return ""  # accents left over, keycap and variation marks, zero-width joiners
    if category == "Mc":
        return char  # spacing vowel signs belong to their word (Devanagari, Thai, ...)
    return " "


class _FoldTable(dict[int, str]):
    """A ``str.translate`` table that fills itself in as new characters appear."""

    def __missing__(self, codepoint: int) -> str:
        folded = _fold_char(chr(codepoint))
        if len(self) < _MEMO_LIMIT:
            self[codepoint] = folded
        return folded


_FOLD: Final = _FoldTable()


def _tokens(text: str) -> list[str]:
    if len(text) > MAX_REPLY_CHARS:
        text = text[:MAX_REPLY_CHARS]
    if text.isascii():
        return text.lower().translate(_FOLD).split()
    text = unicodedata.normalize("NFKC", text).casefold()
    return text.translate(_FOLD).split()


def normalize_reply(text: str) -> str:
    """The folded form replies are matched in: ``"Opt  OUT!!"`` becomes ``"opt out"``.

    >>> normalize_reply("ＡＲＲÊＴ, s'il vous plaît 🙏")
    'arret sil vous plait'
    """
    return " ".join(_tokens(text))


# -- index -------------------------------------------------------------------------------
_PRIORITY: Final = {
    Intent.OPT_OUT_ALL: 0,
    Intent.OPT_OUT: 1,
    Intent.ALREADY_PURCHASED: 2,
    Intent.NOT_INTERESTED: 3,
    Intent.OBJECTION: 4,
    Intent.OPT_IN: 5,
    Intent.HELP: 6,
    Intent.MENU_CHOICE: 7,
    Intent.QUESTION: 8,
    Intent.POSITIVE: 9,
    Intent.UNKNOWN: 10,
}
_STOPPING: Final = frozenset({Intent.OPT_OUT, Intent.OPT_OUT_ALL})

Index = dict[str, tuple[Keyword, ...]]


def _add(index: dict[str, list[Keyword]], key: str, entry: Keyword) -> None:
    bucket = index.setdefault(key, [])
    if entry not in bucket:
        bucket.append(entry)


def _glued(tokens: list[str]) -> list[str]:
    """Every way of writing a multiword keyword with or without each space: "opt outall"."""
    variants = [tokens[0]] if tokens else []
    for token in tokens[1:]:
        variants = [v + joiner + token for v in variants for joiner in (" ", "")]
    return variants


def _build() -> tuple[Index, Index, Index, int, int]:
    whole: dict[str, list[Keyword]] = {}
    anywhere: dict[str, list[Keyword]] = {}
    lead: dict[str, list[Keyword]] = {}
    longest_anywhere = 1
    longest_lead = 1
    for entry in KEYWORDS:
        tokens = _tokens(entry.phrase)
        key = " ".join(tokens)
        if entry.kind == "keyword":
            for variant in _glued(tokens):
                _add(whole, variant, entry)
                if entry.intent in _STOPPING and not entry.review:
                    _add(anywhere, variant, entry)
            if entry.intent in _STOPPING and not entry.review:
                longest_anywhere = max(longest_anywhere, len(tokens))
        elif entry.kind == "phrase":
            _add(anywhere, key, entry)
            longest_anywhere = max(longest_anywhere, len(tokens))
        else:
            _add(lead, key, entry)
            longest_lead = max(longest_lead, len(tokens))

    def freeze(index: dict[str, list[Keyword]]) -> Index:
        return {key: tuple(entries) for key, entries in index.items()}

    return freeze(whole), freeze(anywhere), freeze(lead), longest_anywhere, longest_lead


_WHOLE, _ANYWHERE, _LEAD, _LONGEST_ANYWHERE, _LONGEST_LEAD = _build()
#: First words of multiword phrases: only these start an n-gram worth looking up.
_STARTERS: Final = frozenset(key.split(" ", 1)[0] for key in _ANYWHERE if " " in key)
_LEAD_STARTERS: Final = frozenset(key.split(" ", 1)[0] for key in _LEAD)


# -- classification ----------------------------------------------------------------------
def _language(locale: str | None) -> str | None:
    if not locale:
        return None
    return locale.replace("-", "_").split("_", 1)[0].lower()


def _strip_quoted(text: str) -> str:
    """Drop quoted lines of an e-mail reply; our own footer must not opt anyone out."""
    if ">" not in text:
        return text
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(">"))


#: What a reply means once folded: (intent, choice, needs_review, matched, locale).
_Decision = tuple[Intent, int | None, bool, str | None, str | None]

#: Replies up to this length are memoised: "STOP", "yes" and "1" recur all day.
_MEMO_CHARS: Final = 48


def _decide(joined: str, question: bool, language: str | None, contains: bool) -> _Decision:
    """The intent of a folded reply; pure, so short replies are memoised."""
    tokens = joined.split(" ")
    count = len(tokens)
    best: Keyword | None = None
    best_score = (_PRIORITY[Intent.UNKNOWN], 1, 0)
    review = False
    contained_stop = False

    def offer(entries: tuple[Keyword, ...], *, short: bool = True) -> None:
        nonlocal best, best_score, review
        for entry in entries:
            if (
                language is not None
                and entry.locale not in {"*", "en", language}
                and entry.intent not in _STOPPING
            ):
                continue
            if not short and entry.intent is Intent.POSITIVE:
                continue
            if entry.review:
                review = True
            score = (
                _PRIORITY[entry.intent],
                0 if entry.locale in {"*", language} else 1,
                -len(entry.phrase),
            )
            if score < best_score:
                best, best_score = entry, score

    found = _WHOLE.get(joined)
    if found:
        offer(found)
    if count > 1:
        found = _WHOLE.get(joined.replace(" ", ""))
        if found:
            offer(found)

    anywhere = _ANYWHERE
    for start, token in enumerate(tokens):
        longest = min(_LONGEST_ANYWHERE, count - start) if token in _STARTERS else 1
        for size in range(1, longest + 1):
            found = anywhere.get(token if size == 1 else " ".join(tokens[start : start + size]))
            if not found:
                continue
            for candidate in found:
                if candidate.kind == "keyword":
                    if size == count:
                        continue  # the whole reply; already offered above
                    if not contains:
                        contained_stop = True
                        continue
                offer((candidate,))

    if tokens[0] in _LEAD_STARTERS:
        short = count <= _MAX_POSITIVE_TOKENS
        for size in range(1, min(_LONGEST_LEAD, count) + 1):
            found = _LEAD.get(" ".join(tokens[:size]))
            if found:
                offer(found, short=short)

    if best is not None and best.intent in _STOPPING and not best.review:
        return best.intent, None, False, best.phrase, _entry_locale(best)
    review = review or contained_stop
    rank = best_score[0]
    if (
        rank > _PRIORITY[Intent.MENU_CHOICE]
        and count == 1
        and len(joined) <= 2
        and joined.isdigit()
    ):
        return Intent.MENU_CHOICE, int(joined), review, joined, None
    if rank > _PRIORITY[Intent.QUESTION] and question:
        return Intent.QUESTION, None, review, "?", None
    if best is None:
        return Intent.UNKNOWN, None, review, None, None
    return best.intent, None, review, best.phrase, _entry_locale(best)


_decide_memo: Final = functools.lru_cache(maxsize=8192)(_decide)


def classify_reply(
    text: str,
    *,
    locale: str | None = None,
    channel: Channel = Channel.SMS,
    mode: MatchMode | None = None,
    region: str | None = None,
) -> Reply:
    """Classify one inbound reply; never raises on any string.

    ``locale`` prefers that language's tables (opt-out words of every language always
    count); ``mode`` defaults to ``contains`` when ``region`` is ``"US"`` and ``exact``
    otherwise. On e-mail, quoted lines (``> ...``) are ignored.

    >>> classify_reply("Opt  out!!").intent
    <Intent.OPT_OUT: 'opt_out'>
    >>> classify_reply("уже купила, спасибо").intent
    <Intent.ALREADY_PURCHASED: 'already_purchased'>
    """
    if not isinstance(text, str):
        msg = f"reply text must be a string (got {type(text).__name__} {text!r:.60})"
        raise TypeError(msg)
    if len(text) <= _MEMO_CHARS:
        try:
            return _classify_memo(text, locale, channel, mode, region)
        except TypeError:  # an unhashable argument: classify without the memo
            pass
    return _classify(text, locale, channel, mode, region)


def _classify(
    text: str,
    locale: str | None,
    channel: Channel,
    mode: MatchMode | None,
    region: str | None,
) -> Reply:
    us_default = region is not None and region.upper() == "US"
    contains = us_default if mode is None else mode == "contains"
    head = text if len(text) <= MAX_REPLY_CHARS else text[:MAX_REPLY_CHARS]
    if channel is Channel.EMAIL:
        head = _strip_quoted(head)
    tokens = _tokens(head)
    if not tokens:
        return Reply(text, Intent.UNKNOWN)
    joined = " ".join(tokens)
    question = "?" in head or "？" in head or "¿" in head
    decide = _decide_memo if len(joined) <= _MEMO_CHARS else _decide
    intent, choice, review, matched, language = decide(
        joined, question, _language(locale), contains
    )
    return Reply(text, intent, choice, review, matched, language)


#: Whole short replies recur ("STOP", "Yes", "1"); a Reply is immutable, so it is shared.
_classify_memo: Final = functools.lru_cache(maxsize=4096)(_classify)


def _entry_locale(entry: Keyword) -> str | None:
    return None if entry.locale == "*" else entry.locale

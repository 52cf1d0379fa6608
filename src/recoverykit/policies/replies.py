"""Reading a customer's reply: normalise it once, then match words by table lookups.

Replies are folded to plain tokens (``recoverykit.policies.text``, the one folding
the message guard uses too) and matched against the tables in
``_keywords`` through dictionary lookups on whole replies, leading words and word
n-grams. There is no regular expression, so time grows linearly with the reply, and
only the first few thousand characters are read: a STOP is never buried in a novel.

Two modes decide how far a universal opt-out keyword reaches:

* ``exact``: the whole reply must be the keyword ("STOP", "opt-out!!"). A keyword
  inside a longer reply ("please stop") only sets ``needs_review``.
* ``contains``: the keyword anywhere as a whole word opts out ("ok STOP please").
  This is the default for US numbers, as the strictest platforms do.

Natural-language phrases ("stop texting me", "не пишите мне") are searched anywhere in
both modes. Strong ones give ``OPT_OUT`` with ``needs_review=True``; weak ones
("leave me alone") keep their own intent and only set ``needs_review``.

Most replies are texts never seen before, so their path is kept short. Pure-ASCII
text is folded by one ``bytes.translate`` pass; other text is normalised and
casefolded in C, then folded word by word through a memo of words already seen. The
tables are ranked once per language: a lookup gives the best entry of its bucket and
whether any of them asks for review. Entries found anywhere or at the start are kept
as trees of words, so the scan walks from word to word instead of joining n-grams,
and the whole-reply lookup runs only when the first word can begin a keyword.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from operator import itemgetter
from types import MemberDescriptorType
from typing import TYPE_CHECKING, Final, Literal, TypeVar

import attrs

from ..values.model import Channel
from .keywords import KEYWORDS, Intent, Keyword
from .text import _ASCII_DELETED, _ASCII_TABLE, _WORDS, fold_words

if TYPE_CHECKING:
    from .vocabulary import ReplyClassifier, Vocabulary

__all__ = ["MAX_REPLY_CHARS", "Intent", "MatchMode", "Reply", "classify_reply", "normalize_reply"]

MatchMode = Literal["exact", "contains"]

#: Only this many characters of a reply are read; the rest cannot change the answer.
MAX_REPLY_CHARS: Final = 4096

#: A positive word leads a short reply ("yes please"), not a long one.
_MAX_POSITIVE_TOKENS: Final = 4


def _tokens(text: str) -> list[str]:
    return fold_words(text if len(text) <= MAX_REPLY_CHARS else text[:MAX_REPLY_CHARS])


def normalize_reply(text: str) -> str:
    """The folded form replies are matched in: ``"Opt  OUT!!"`` becomes ``"opt out"``.

    >>> normalize_reply("ＡＲＲÊＴ, s'il vous plaît 🙏")
    'arret sil vous plait'
    """
    return " ".join(_tokens(text))


@attrs.frozen
class Reply:
    """A classified reply: what it means, what decided it, and whether a person should look."""

    #: The reply as received.
    text: str
    intent: Intent
    #: The menu number for ``MENU_CHOICE``.
    choice: int | None = None
    #: A natural-language request that probably means stop, or a keyword inside a longer
    #: reply in ``exact`` mode: act on ``intent``, and show it to a person.
    needs_review: bool = False
    #: The table entry (or ``"?"`` or the digits) that decided.
    matched: str | None = None
    #: Language of the deciding entry; None for the universal keywords.
    locale: str | None = None


_ReplyMaker = Callable[[str, Intent, int | None, bool, str | None, str | None], Reply]


def _reply_maker() -> _ReplyMaker:
    """A constructor giving the same Reply as ``Reply(...)``, by filling its slots directly.

    attrs builds a frozen instance through ``object.__setattr__`` field by field, a
    large part of the cost of classifying a short new reply; the slot descriptors set
    the same fields for about half of that. Reply has no validator, converter or init
    hook, so filling its slots is all its ``__init__`` does. Should it ever gain one, or
    a field, ``Reply`` itself is returned and used instead (a test then says so).
    """
    names = ("text", "intent", "choice", "needs_review", "matched", "locale")
    fields = attrs.fields(Reply)
    slots = [Reply.__dict__.get(name) for name in names]
    if (
        tuple(field.name for field in fields) != names
        or any(field.validator or field.converter for field in fields)
        or any(hasattr(Reply, hook) for hook in ("__attrs_pre_init__", "__attrs_post_init__"))
        or set(getattr(Reply, "__slots__", ())) - {"__weakref__"} != set(names)
        or not all(isinstance(slot, MemberDescriptorType) for slot in slots)
    ):
        return Reply
    new = object.__new__
    set_text, set_intent, set_choice, set_review, set_matched, set_locale = (
        slot.__set__ for slot in slots if slot is not None
    )

    def make(  # noqa: PLR0917 - one positional argument per field, as Reply takes them
        text: str,
        intent: Intent,
        choice: int | None,
        needs_review: bool,
        matched: str | None,
        locale: str | None,
    ) -> Reply:
        reply: Reply = new(Reply)
        set_text(reply, text)
        set_intent(reply, intent)
        set_choice(reply, choice)
        set_review(reply, needs_review)
        set_matched(reply, matched)
        set_locale(reply, locale)
        return reply

    return make


_new_reply: Final = _reply_maker()


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
_T = TypeVar("_T")

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


def _build(entries: tuple[Keyword, ...]) -> tuple[Index, Index, Index]:
    whole: dict[str, list[Keyword]] = {}
    anywhere: dict[str, list[Keyword]] = {}
    lead: dict[str, list[Keyword]] = {}
    for entry in entries:
        tokens = _tokens(entry.phrase)
        key = " ".join(tokens)
        if entry.kind == "keyword":
            for variant in _glued(tokens):
                _add(whole, variant, entry)
                if entry.intent in _STOPPING and not entry.review:
                    _add(anywhere, variant, entry)
        elif entry.kind == "phrase":
            _add(anywhere, key, entry)
        else:
            _add(lead, key, entry)

    def freeze(index: dict[str, list[Keyword]]) -> Index:
        return {key: tuple(entries) for key, entries in index.items()}

    return freeze(whole), freeze(anywhere), freeze(lead)


# -- ranked views ------------------------------------------------------------------------
# An entry's rank is (priority, 0 if in the reply's language or universal else 1, minus
# the phrase length), lowest wins and the first of equals wins. It is packed into one int
# so that comparing two is one integer comparison.
_LENGTHS: Final = 1 << 16  # more than any phrase is long
_PREFERENCE: Final = _LENGTHS
_PRIORITY_STEP: Final = 2 * _PREFERENCE
#: The rank of "nothing matched": UNKNOWN, not preferred, empty phrase.
_NOTHING: Final = _PRIORITY[Intent.UNKNOWN] * _PRIORITY_STEP + _PREFERENCE + _LENGTHS - 1
#: Ranks from here on are weaker than a menu digit, and from the next step than a question.
_BELOW_MENU: Final = (_PRIORITY[Intent.MENU_CHOICE] + 1) * _PRIORITY_STEP
_BELOW_QUESTION: Final = (_PRIORITY[Intent.QUESTION] + 1) * _PRIORITY_STEP

#: What decides when an entry wins: (intent, phrase, locale, final), ``final`` when it is
#: an opt-out that needs no review and so settles the reply at once.
_Winner = tuple[Intent, str, str | None, bool]
#: A bucket of entries as one offer: best rank, its winner, and whether any asks for review.
_Offer = tuple[int, _Winner, bool]
#: An anywhere bucket: the offer of all its entries, of its phrases only, and whether it
#: holds a keyword (which counts only in ``contains`` mode, or as the whole reply).
_AnywhereOffer = tuple[_Offer | None, _Offer | None, bool]
#: Entry keys as a tree of words: at each word, what the words so far spell (if a key)
#: and the words that may follow, so that a scan never joins words to look them up.
_Tree = dict[str, tuple[_T | None, "_Tree[_T] | None"]]
_RANK: Final = itemgetter(0)
_REVIEW: Final = itemgetter(2)


def _entry_locale(entry: Keyword) -> str | None:
    return None if entry.locale == "*" else entry.locale


def _offer(entries: tuple[Keyword, ...], language: str | None, *, short: bool) -> _Offer | None:
    """The entries a reply in ``language`` may use, folded into one offer (None if none)."""
    best: Keyword | None = None
    best_rank = _NOTHING
    review = False
    for entry in entries:
        if (
            language is not None
            and entry.locale not in {"*", "en", language}
            and entry.intent not in _STOPPING
        ):
            continue
        if not short and entry.intent is Intent.POSITIVE:
            continue
        review = review or entry.review
        preferred = 0 if entry.locale in {"*", language} else 1
        rank = (
            _PRIORITY[entry.intent] * _PRIORITY_STEP
            + preferred * _PREFERENCE
            + _LENGTHS
            - 1
            - len(entry.phrase)
        )
        if rank < best_rank:
            best, best_rank = entry, rank
    if best is None:  # every offered entry outranks _NOTHING, so none was offered
        return None
    final = best.intent in _STOPPING and not best.review
    return best_rank, (best.intent, best.phrase, _entry_locale(best), final), review


def _tree(values: dict[str, _T]) -> _Tree[_T]:
    """The keys of ``values`` as a tree of words: ``{word: (value or None, subtree or None)}``."""
    own: dict[str, _T] = {}
    longer: dict[str, dict[str, _T]] = {}
    for key, value in values.items():
        word, _, rest = key.partition(" ")
        if rest:
            longer.setdefault(word, {})[rest] = value
        else:
            own[word] = value
    return {
        word: (own.get(word), _tree(longer[word]) if word in longer else None)
        for word in own.keys() | longer.keys()
    }


@attrs.frozen
class _View:
    """The tables as one language reads them, every bucket already ranked."""

    whole: dict[str, _Offer]
    anywhere: _Tree[_AnywhereOffer]
    lead_short: _Tree[_Offer]
    lead_long: _Tree[_Offer]

    @classmethod
    def build(cls, language: str | None, tables: _Tables) -> _View:
        def offers(index: Index, *, short: bool = True) -> dict[str, _Offer]:
            ranked = {key: _offer(entries, language, short=short) for key, entries in index.items()}
            return {key: offer for key, offer in ranked.items() if offer is not None}

        anywhere = {
            key: (
                _offer(entries, language, short=True),
                _offer(tuple(e for e in entries if e.kind != "keyword"), language, short=True),
                any(e.kind == "keyword" for e in entries),
            )
            for key, entries in tables.anywhere.items()
        }
        return cls(
            offers(tables.whole),
            _tree(anywhere),
            _tree(offers(tables.lead)),
            _tree(offers(tables.lead, short=False)),
        )


_LOCALE_MEMO_LIMIT: Final = 1024


class _Tables:
    """One set of entries indexed for reading: the built-in tables, or those plus a
    store's vocabulary. Views per language are built on first use and kept."""

    __slots__ = (
        "anywhere",
        "head_words",
        "lead",
        "locales",
        "longest_whole",
        "view_of_locale",
        "views",
        "whole",
        "whole_prefixes",
    )

    def __init__(self, entries: tuple[Keyword, ...]) -> None:
        self.whole, self.anywhere, self.lead = _build(entries)
        #: Only these words start an entry found anywhere in a reply.
        self.head_words = frozenset(key.split(" ", 1)[0] for key in self.anywhere)
        #: Every beginning of a whole-reply key: a reply whose first word is not one of
        #: them cannot be a key, with its spaces or without.
        self.whole_prefixes = frozenset(
            key[:end] for key in self.whole for end in range(1, len(key) + 1)
        )
        self.longest_whole = max(map(len, self.whole))
        #: The languages the tables name; any other reads them the same way as ``""``.
        self.locales = frozenset(entry.locale for entry in entries)
        self.views: dict[str | None, _View] = {}
        #: ``locale`` argument → view, so that a locale string is parsed once.
        self.view_of_locale: dict[object, _View] = {}

    def view(self, locale: str | None) -> _View:
        memo = self.view_of_locale
        try:
            view = memo.get(locale)
        except TypeError:  # an unhashable locale; _language() says what is wrong with it
            view, hashable = None, False
        else:
            if view is not None:
                return view
            hashable = True
        language = _language(locale)
        key = language if language is None or language in self.locales else ""
        view = self.views.get(key)
        if view is None:
            view = self.views[key] = _View.build(key, self)
        if hashable and len(memo) < _LOCALE_MEMO_LIMIT:
            memo[locale] = view
        return view


_BUILT_IN: Final = _Tables(KEYWORDS)


@functools.lru_cache(maxsize=64)
def _tables_with(vocabulary: Vocabulary) -> _Tables:
    """The built-in entries and a store's own, indexed together (kept per vocabulary)."""
    return _Tables((*KEYWORDS, *vocabulary.entries))


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


_EMAIL: Final = Channel.EMAIL

#: Replies up to this length are memoised: "STOP", "yes" and "1" recur all day.
_MEMO_CHARS: Final = 48


def classify_reply(
    text: str,
    *,
    locale: str | None = None,
    channel: Channel = Channel.SMS,
    mode: MatchMode | None = None,
    region: str | None = None,
    vocabulary: Vocabulary | None = None,
    classifier: ReplyClassifier | None = None,
) -> Reply:
    """Classify one inbound reply; never raises on any string.

    ``locale`` prefers that language's tables (opt-out words of every language always
    count); ``mode`` defaults to ``contains`` when ``region`` is ``"US"`` and ``exact``
    otherwise. On e-mail, quoted lines (``> ...``) are ignored. ``vocabulary`` adds a
    store's own words to the tables. ``classifier`` is asked first and decides unless
    it returns ``None``, or the tables read an unambiguous opt-out (which always stands).

    >>> classify_reply("Opt  out!!").intent
    <Intent.OPT_OUT: 'opt_out'>
    >>> classify_reply("уже купила, спасибо").intent
    <Intent.ALREADY_PURCHASED: 'already_purchased'>
    """
    if not isinstance(text, str):
        msg = f"reply text must be a string (got {type(text).__name__} {text!r:.60})"
        raise TypeError(msg)
    tables = _BUILT_IN if vocabulary is None else _tables_with(vocabulary)
    if len(text) <= _MEMO_CHARS:
        try:
            reply = _classify_memo(text, locale, channel, mode, region, tables)
        except TypeError:  # an unhashable argument: classify without the memo
            reply = _classify(text, locale, channel, mode, region, tables)
    else:
        reply = _classify(text, locale, channel, mode, region, tables)
    if classifier is None or (reply.intent in _STOPPING and not reply.needs_review):
        return reply
    theirs = classifier(text, locale=locale, channel=channel)
    if theirs is None:
        return reply
    if not isinstance(theirs, Reply):
        msg = f"a ReplyClassifier must return a Reply or None (got {theirs!r:.80})"
        raise TypeError(msg)
    return theirs


def _classify(  # noqa: PLR0917 - positional, so the memo's key stays cheap
    text: str,
    locale: str | None,
    channel: Channel,
    mode: MatchMode | None,
    region: str | None,
    tables: _Tables = _BUILT_IN,
) -> Reply:
    """Fold the reply, then read it whole, anywhere, and by its lead, in that order.

    Offers are gathered in the order the tables are read, so that of two equal ranks
    the first one read wins. One function, because a new text pays for every call.
    """
    us_default = region is not None and region.upper() == "US"
    contains = us_default if mode is None else mode == "contains"
    head = text if len(text) <= MAX_REPLY_CHARS else text[:MAX_REPLY_CHARS]
    if channel is _EMAIL:
        head = _strip_quoted(head)
    if head.isascii():  # fold_words() inlined: most replies take this branch
        tokens = head.encode().translate(_ASCII_TABLE, _ASCII_DELETED).decode().split()
    else:
        tokens = fold_words(head)
    if not tokens:
        return _new_reply(text, Intent.UNKNOWN, None, False, None, None)
    try:
        view = tables.view_of_locale[locale]
    except (KeyError, TypeError):
        view = tables.view(locale)
    count = len(tokens)
    offers: list[_Offer] = []
    contained_stop = False

    first = tokens[0]
    # A whole key starts with the first word, and is no shorter than the reply glued.
    longest = tables.longest_whole
    if first in tables.whole_prefixes and count <= longest:
        glued = "".join(tokens)
        if len(glued) <= longest:
            whole = view.whole
            offer = whole.get(" ".join(tokens))
            if offer is not None:
                offers.append(offer)
            if count > 1:
                offer = whole.get(glued)
                if offer is not None:
                    offers.append(offer)

    if not tables.head_words.isdisjoint(tokens):
        anywhere = view.anywhere
        for start, token in enumerate(tokens):
            node = anywhere.get(token)
            end = start + 1
            while node is not None:
                found, following = node
                if found is not None:
                    offer = found[1]
                    if found[2] and end - start != count:
                        if contains:
                            offer = found[0]
                        else:
                            contained_stop = True
                    if offer is not None:
                        offers.append(offer)
                if following is None or end == count:
                    break
                node = following.get(tokens[end])
                end += 1

    lead = view.lead_short if count <= _MAX_POSITIVE_TOKENS else view.lead_long
    step = lead.get(first)
    end = 1
    while step is not None:
        offer, after = step
        if offer is not None:
            offers.append(offer)
        if after is None or end == count:
            break
        step = after.get(tokens[end])
        end += 1

    if not offers:
        best_rank, best, review = _NOTHING, None, contained_stop
    elif len(offers) == 1:
        best_rank, best, review = offers[0]
        review = review or contained_stop
    else:
        best_rank, best, _ = min(offers, key=_RANK)
        review = contained_stop or any(map(_REVIEW, offers))
    if best is not None and best[3]:
        return _new_reply(text, best[0], None, False, best[1], best[2])
    if best_rank >= _BELOW_MENU and count == 1 and len(first) <= 2 and first.isdigit():
        return _new_reply(text, Intent.MENU_CHOICE, int(first), review, first, None)
    if best_rank >= _BELOW_QUESTION and ("?" in head or "？" in head or "¿" in head):
        return _new_reply(text, Intent.QUESTION, None, review, "?", None)
    if best is None:
        return _new_reply(text, Intent.UNKNOWN, None, review, None, None)
    return _new_reply(text, best[0], None, review, best[1], best[2])


#: Whole short replies recur ("STOP", "Yes", "1"); a Reply is immutable, so it is shared.
_classify_memo: Final = functools.lru_cache(maxsize=4096)(_classify)


def _forget(*, words: bool = False) -> None:
    """Empty the reply memo (and with ``words`` the word memo), for benchmarks of new text."""
    _classify_memo.cache_clear()
    if words:
        _WORDS.clear()

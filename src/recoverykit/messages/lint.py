"""The creepiness guard: checks that keep a recovery message calm, honest and short.

``lint`` reads a template before it is ever sent (with typical values for the
length checks); ``guard`` reads the rendered text at send time, where an
error-level violation blocks the send. Codes are stable: a store may silence a
warning by code, and the docs list every one (``docs/reference/lint-codes.md``).

Phrase lists (surveillance, guilt, urgency, pressure, discount, opt-out markers) are
data in ``packs/phrases.json``, per language; every list is checked whatever the
template's language, since a message may mix languages.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final, Literal

import attrs
import regex  # type: ignore[import-untyped]

from ..errors import InvalidPolicy
from ..policies.discounts import DiscountPolicy
from ..policies.text import fold
from ..values import checks
from ..values.model import Channel
from ..values.money import Money
from .fields import FIELDS, Reveals
from .packs import format_hold_until
from .sms import UCS2_MULTI, UCS2_SINGLE, sms_segments
from .templates import Field, Rendered, Template, compile, render
from .tone import LETTERS_ONLY, emoji_run, exclamation_run, has_optout_word, loud_word

__all__ = [
    "CODES",
    "DEFAULT_PERSONAL_DETAILS",
    "PAYMENT_BY_REPLY",
    "GuardPolicy",
    "Violation",
    "guard",
    "lint",
    "lint_discounts",
    "phrases",
]


@attrs.frozen
class Violation:
    """One thing wrong with a message: a stable code, how bad, and what to change."""

    code: str
    level: Literal["error", "warning"]
    message: str
    #: The template key, when known.
    key: str | None = None


@attrs.frozen
class _Code:
    code: str
    level: Literal["error", "warning"]
    summary: str


#: Every check, by name. The codes never change meaning once released.
CODES: Final[Mapping[str, _Code]] = {
    c.code: c
    for c in (
        _Code("RK101", "error", "more personal details than the channel's limit (SMS 1, chats 2)"),
        _Code("RK102", "error", "the store is not named in the first line"),
        _Code("RK103", "error", "a touch without an opt-out line"),
        _Code("RK104", "error", "urgency words without a real hold time"),
        _Code("RK105", "error", "surveillance phrasing"),
        _Code("RK106", "error", "guilt phrasing"),
        _Code("RK107", "error", "a discount on the first touch"),
        _Code("RK108", "error", "an SMS longer than the segment budget"),
        _Code("RK109", "error", "a WhatsApp body over 1 024 characters"),
        _Code("RK110", "error", "pressure phrasing such as 'buy now'"),
        _Code("RK111", "warning", "an SMS link of 60 characters or more"),
        _Code("RK112", "warning", "a word in capitals that reads as shouting"),
        _Code("RK113", "error", "an SMS that asks for payment or card details by reply (CP-3)"),
        _Code("RK114", "warning", "one shared discount code for everyone (StaticCode)"),
        _Code("RK115", "error", "a run of exclamation marks ('!!!')"),
        _Code("RK116", "error", "a row of emoji"),
        _Code("RK117", "error", "a WhatsApp touch that cannot be a Meta template as written"),
    )
}

#: CP-3 (rules.md §9): a cart reminder by text may not take payment or card details by
#: reply. Folded phrases per language; the link is the only way to pay.
PAYMENT_BY_REPLY_RULE: Final = "CP-3"
PAYMENT_BY_REPLY_SOURCE: Final = (
    "toll-free verification guidance on shopping-cart reminders (smsblast.io, 2026-02-17)"
)
PAYMENT_BY_REPLY: Final[Mapping[str, tuple[str, ...]]] = {
    "en": (
        "reply with your card", "reply with card", "text your card", "send your card",
        "card number", "reply yes to pay", "reply to pay", "text to pay", "reply with your cvv",
        "cvv", "security code", "reply with your payment",
    ),
    "pl": ("numer karty", "odpisz, aby zapłacić", "odpisz tak, aby zapłacić", "kod cvv"),
    "ru": ("номер карты", "ответьте, чтобы оплатить", "ответьте да, чтобы оплатить", "cvv-код"),
    "fr": (
        "numéro de carte", "répondez pour payer", "répondez oui pour payer",
        "cryptogramme",
    ),
}  # fmt: skip


@functools.cache
def _payment_needles() -> tuple[tuple[str, str], ...]:
    """Each CP-3 phrase folded once, with its spelling as written, in table order.

    Cached without a key: ``PAYMENT_BY_REPLY`` is a constant of this module.
    """
    return tuple((fold(phrase), phrase) for items in PAYMENT_BY_REPLY.values() for phrase in items)


def _payment_by_reply(folded: str) -> str | None:
    for needle, phrase in _payment_needles():
        if needle in folded:
            return phrase
    return None


#: Keys whose message is itself the way out; an opt-out line there makes no sense.
NO_OPTOUT_KEYS: Final = frozenset({"optout_confirm", "thanks"})
#: The first touch: never a discount (DOMAIN.md, "Discounts are not the default").
FIRST_TOUCH_KEYS: Final = frozenset({"remind", "remind.payment"})
#: Fields that carry a real deadline and so license time words.
DEADLINE_FIELDS: Final = frozenset({"hold_until", "discount_expiry"})
WHATSAPP_BODY_MAX: Final = 1024
#: Answers to the customer's own message inside a chat (SEAMS 1): not a touch, so the
#: conversation's opt-out line is not repeated. SMS keeps the line on every text.
CHAT_REPLY_KEYS: Final = frozenset(
    {"help_reply", "link_again", "menu.shipping", "menu.payment", "menu.items"}
)
#: E-mail carries its unsubscribe link in the headers and at the foot of the body, which
#: the e-mail adapter adds (``channels/email.py``, PW-5); the text need not repeat it.
OPTOUT_BY_ADAPTER: Final = frozenset({Channel.EMAIL})


def optout_missing(key: str | None, channel: Channel, text: str, policy: GuardPolicy) -> bool:
    """Whether a message on ``channel`` needs an opt-out line (RK103) and ``text`` lacks one.

    The pack's opt-out words must stand as whole words: "non-stop deals" is no way out.
    """
    if channel in OPTOUT_BY_ADAPTER or key in NO_OPTOUT_KEYS or not policy.require_optout:
        return False
    if channel is Channel.SMS and not policy.require_optout_sms:
        return False
    if channel is not Channel.SMS and key in CHAT_REPLY_KEYS:
        return False
    words = [word for items in phrases()["optout"].values() for word in items]
    return not has_optout_word(text, words)


def tone_checks(out: _Collector, text: str, *, where: str) -> None:
    """Loud punctuation and rows of emoji (RK115, RK116), read from the raw text."""
    if (run := exclamation_run(text)) is not None:
        out.add("RK115", f"{where} has {run!r}; one exclamation mark at most, or none")
    if (row := emoji_run(text)) is not None:
        out.add("RK116", f"{where} has the emoji row {row!r}; one emoji at most, or none")


def _code_set(codes: Iterable[str]) -> frozenset[str]:
    found = frozenset(codes)
    unknown = sorted(code for code in found if code not in CODES)
    if unknown:
        msg = (
            f"GuardPolicy.ignore names unknown lint code(s) {unknown}; "
            f"use codes from docs/reference/lint-codes.md: {', '.join(CODES)}"
        )
        raise InvalidPolicy(msg)
    return found


def _count(at_least: int, at_most: int | None = None) -> Callable[[Any, Any, int], None]:
    """An attrs validator: a whole number in ``[at_least, at_most]``."""

    def check(_inst: Any, attribute: Any, value: int) -> None:
        if at_least == 0:
            number = checks.non_negative_int("GuardPolicy", attribute.name, value)
        else:
            number = checks.positive_int("GuardPolicy", attribute.name, value)
        if at_most is not None and number > at_most:
            msg = f"GuardPolicy.{attribute.name} must be at most {at_most} (got {value!r})"
            raise InvalidPolicy(msg)

    return check


#: How many personal details one message may carry, per channel, where it differs from
#: "no limit" (DOMAIN.md: many details in one message read like a profile leak). An SMS
#: carries one (``GuardPolicy.max_personal_details_sms``); WhatsApp can carry an item and
#: a total, and Telegram and Viber read the WhatsApp words unless the pack has their own.
DEFAULT_PERSONAL_DETAILS: Final[Mapping[Channel, int]] = MappingProxyType(
    {Channel.WHATSAPP: 2, Channel.TELEGRAM: 2, Channel.VIBER: 2}
)

#: How RK101 names a message on each channel.
_ONE_MESSAGE: Final = {
    Channel.SMS: "an SMS",
    Channel.WHATSAPP: "a WhatsApp message",
    Channel.TELEGRAM: "a Telegram message",
    Channel.VIBER: "a Viber message",
    Channel.EMAIL: "an e-mail",
}


def _detail_limits(value: Mapping[Any, int | None]) -> Mapping[Channel, int]:
    """The defaults with ``value`` over them; ``None`` lifts a channel's limit."""
    if not isinstance(value, Mapping):
        msg = (
            f"GuardPolicy.max_personal_details must map channels to counts (got {value!r}); "
            "write e.g. {Channel.WHATSAPP: 2}"
        )
        raise InvalidPolicy(msg)
    limits: dict[Channel, int] = dict(DEFAULT_PERSONAL_DETAILS)
    for name, limit in value.items():
        try:
            channel = Channel(name)
        except ValueError:
            choices = ", ".join(channel.value for channel in Channel)
            msg = (
                f"GuardPolicy.max_personal_details names the unknown channel {name!r}; "
                f"use one of {choices}"
            )
            raise InvalidPolicy(msg) from None
        if limit is None:
            limits.pop(channel, None)
            continue
        limits[channel] = checks.non_negative_int(
            "GuardPolicy", f"max_personal_details[{channel.value!r}]", limit
        )
    return MappingProxyType(limits)


@attrs.frozen
class GuardPolicy:
    """The limits lint and guard apply; the defaults follow DOMAIN.md and SEAMS 12.

    Every limit is checked when built: a negative detail count, a zero segment
    budget or a WhatsApp body longer than WhatsApp accepts is refused with
    ``InvalidPolicy``, and ``ignore`` may name only codes lint knows.
    """

    max_personal_details_sms: int = attrs.field(default=1, validator=_count(0))
    #: Personal details per message on other channels (and on SMS, where named here,
    #: over ``max_personal_details_sms``). Entries given replace the defaults one by one;
    #: ``None`` lifts a channel's limit, and a channel without one (e-mail) has none.
    max_personal_details: Mapping[Channel, int | None] = attrs.field(
        default=DEFAULT_PERSONAL_DETAILS, converter=_detail_limits
    )
    max_sms_segments: int = attrs.field(default=2, validator=_count(1, 10))
    #: Every touch on SMS, WhatsApp, Telegram and Viber carries an opt-out line (RK103).
    require_optout: bool = True
    #: Kept from when RK103 read SMS only: ``False`` drops the check for SMS alone.
    require_optout_sms: bool = True
    allow_discount_first_touch: bool = False
    max_whatsapp_body: int = attrs.field(
        default=WHATSAPP_BODY_MAX, validator=_count(1, WHATSAPP_BODY_MAX)
    )
    max_sms_link: int = attrs.field(default=60, validator=_count(1))
    #: Codes to drop from the results (warnings a store has decided to accept).
    ignore: frozenset[str] = attrs.field(default=frozenset(), converter=_code_set)

    def personal_detail_limit(self, channel: Channel) -> int | None:
        """How many personal details a message on ``channel`` may carry (``None``: any)."""
        limit = self.max_personal_details.get(channel)
        if limit is None and channel is Channel.SMS:
            return self.max_personal_details_sms
        return limit


_DEFAULT_POLICY: Final = GuardPolicy()


def too_many_details(channel: Channel, details: Iterable[str], policy: GuardPolicy) -> str | None:
    """RK101's finding for a message on ``channel`` naming ``details``, or ``None``.

    ``details`` are the personal fields the message uses, each once, in order.
    """
    names = list(details)
    limit = policy.personal_detail_limit(channel)
    if limit is None or len(names) <= limit:
        return None
    return (
        f"uses {len(names)} personal details ({', '.join(names)}); "
        f"{_ONE_MESSAGE[channel]} carries at most {limit}"
    )


@functools.cache
def phrases() -> Mapping[str, Mapping[str, tuple[str, ...]]]:
    """The phrase lists by category and language, folded for matching."""
    raw = json.loads(
        importlib.resources.files("recoverykit.messages.builtin")
        .joinpath("phrases.json")
        .read_text("utf-8")
    )
    return {
        category: {lang: tuple(fold(p) for p in items) for lang, items in by_lang.items()}
        for category, by_lang in raw.items()
        if not category.startswith("_")
    }


@functools.cache
def _needles(category: str) -> tuple[str, ...]:
    """Every language's phrases of ``category`` in one tuple, in the order ``phrases()`` lists
    them, so the first hit is the one a nested loop would find."""
    return tuple(phrase for items in phrases()[category].values() for phrase in items)


def _find(category: str, folded: str) -> str | None:
    for phrase in _needles(category):
        if phrase in folded:
            return phrase
    return None


#: The categories every text is checked for; urgency and discount depend on the message.
_CALM: Final = ("surveillance", "guilt", "pressure")


@functools.cache
def _any_phrase(categories: tuple[str, ...]) -> re.Pattern[str]:
    """A pattern that matches wherever any phrase of ``categories`` occurs.

    It finds a match exactly when ``_find`` would find a phrase in one of the
    categories, in one pass over the text instead of one pass per phrase. The phrases
    share their beginnings in a trie, so the pattern tries few branches at each
    position; where one phrase begins another, the shorter one is enough.
    """
    trie: dict[str, Any] = {}
    for category in categories:
        for phrase in _needles(category):
            node = trie
            for char in phrase:
                node = node.setdefault(char, {})
            node[""] = {}
    return re.compile(_trie_pattern(trie))


def _trie_pattern(node: dict[str, Any]) -> str:
    if "" in node:  # a phrase ends here: what follows cannot matter
        return ""
    branches = [re.escape(char) + _trie_pattern(child) for char, child in sorted(node.items())]
    if not branches:  # no phrases at all: a pattern that never matches
        return "(?!)"
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


# -- typical values for length checks ----------------------------------------------------
_TYPICAL_CURRENCY: Final = {"en": "USD", "pl": "PLN", "ru": "RUB", "fr": "EUR"}
_TYPICAL_NAMES: Final = {"en": "Alexandra", "pl": "Katarzyna", "ru": "Александра", "fr": "Amélie"}
_TYPICAL_ITEMS: Final = {
    "en": "Merino wool scarf",
    "pl": "Szalik z wełny merino",
    "ru": "Шарф из мериноса",
    "fr": "Écharpe en mérinos",
}
_TYPICAL_GIFT: Final = {
    "en": "a linen tote bag",
    "pl": "lniana torba",
    "ru": "льняная сумка",
    "fr": "un sac en lin",
}
_TYPICAL_CATEGORY: Final = {"en": "scarves", "pl": "szaliki", "ru": "шарфы", "fr": "écharpes"}
_TYPICAL_HOLD: Final = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)


def typical_context(locale: str, channel: Channel) -> dict[str, str]:
    """Realistic values for a locale: a 16-character store name, a 44-character link."""
    language = locale.split("_", 1)[0]
    loc = locale if language in _TYPICAL_CURRENCY else "en"
    lang = language if language in _TYPICAL_CURRENCY else "en"
    plain = channel is Channel.SMS
    total = Money(Decimal("184.00"), _TYPICAL_CURRENCY[lang])
    return {
        "store_name": "Northwind Studio",
        "link": "https://nwnd.example/r/8fK2xQ7pLmZ4vB9tR3wYc1",
        "hold_until": format_hold_until(_TYPICAL_HOLD, "Europe/Warsaw", loc, plain_spaces=plain),
        "help_line": "Delivery is free over 150 and takes 2 days.",
        "help_contact": "+48 22 123 45 67",
        "discount_code": "BACK-7Q2M9X",
        "gift": _TYPICAL_GIFT[lang],
        "stock_left": "2",
        "discount_expiry": format_hold_until(_TYPICAL_HOLD, "UTC", loc, plain_spaces=plain),
        "first_name": _TYPICAL_NAMES[lang],
        "top_item": _TYPICAL_ITEMS[lang],
        "item_category": _TYPICAL_CATEGORY[lang],
        "item_count": "3",
        "approx_total": total.approximate(loc, plain_spaces=plain),
        "total": total.format(loc, plain_spaces=plain),
    }


# -- the checks ----------------------------------------------------------------------------
class _Collector:
    __slots__ = ("items", "key", "policy")

    def __init__(self, key: str | None, policy: GuardPolicy) -> None:
        self.items: list[Violation] = []
        self.key = key
        self.policy = policy

    def add(self, code: str, message: str) -> None:
        if code not in self.policy.ignore:
            self.items.append(Violation(code, CODES[code].level, message, self.key))


_KEYWORDS: Final = frozenset({"STOP", "START", "HELP", "INFO", "AIDE", "ARRET", "СТОП", "SMS"})


#: Runs of two or more capitals; fewer than two runs cannot be two loud words.
_CAPITAL_RUNS: Final = regex.compile(r"\p{Lu}{2,}")


def _shouting(text: str) -> str | None:
    """Two capitalised words in a row ("BUY NOW", "LAST CHANCE"); keywords and acronyms pass."""
    runs = _CAPITAL_RUNS.findall(text)
    if len(runs) < 2:
        return None
    previous: str | None = None
    for word in text.split():
        letters = word.translate(LETTERS_ONLY)
        loud = len(letters) >= 2 and letters.isupper() and letters not in _KEYWORDS
        if loud and previous is not None:
            return f"{previous} {word}"
        previous = word if loud else None
    return None


def _text_checks(
    out: _Collector,
    literal_text: str,
    *,
    where: str,
    has_deadline: bool,
    first_touch: bool,
    has_discount_field: bool,
    folded: str | None = None,
) -> None:
    """The phrase checks shared by lint (on literal text) and guard (on the whole text).

    ``folded`` is ``fold(literal_text)`` when the caller has it already.
    """
    if folded is None:
        folded = fold(literal_text)
    no_discount = first_touch and not out.policy.allow_discount_first_touch
    categories = (
        _CALM + (() if has_deadline else ("urgency",)) + (("discount",) if no_discount else ())
    )
    # Most texts hold none of the phrases: one pass says so, and only a text that holds
    # one is searched list by list for the first phrase of each category.
    some = _any_phrase(categories).search(folded) is not None
    if some and (phrase := _find("surveillance", folded)) is not None:
        out.add(
            "RK105", f"{where} says {phrase!r}, which reads as being watched; talk about the cart"
        )
    if some and (phrase := _find("guilt", folded)) is not None:
        out.add(
            "RK106", f"{where} says {phrase!r}, which blames the customer; say the cart is saved"
        )
    if some and (phrase := _find("pressure", folded)) is not None:
        out.add("RK110", f"{where} says {phrase!r}; offer the link calmly instead")
    if some and not has_deadline and (phrase := _find("urgency", folded)) is not None:
        out.add(
            "RK104",
            f"{where} says {phrase!r} without a real deadline; use {{hold_until}} or drop the word",
        )
    if no_discount:
        phrase = _find("discount", folded) if some else None
        if has_discount_field or phrase is not None:
            what = repr(phrase) if phrase is not None else "a discount code"
            out.add("RK107", f"{where} offers {what} on the first touch; keep discounts for later")
    if (word := _shouting(literal_text) or loud_word(literal_text, _KEYWORDS)) is not None:
        out.add("RK112", f"{where} has {word!r} in capitals; write it in sentence case")
    tone_checks(out, literal_text, where=where)


def lint(
    template: Template, policy: GuardPolicy = _DEFAULT_POLICY, *, touch_index: int | None = None
) -> list[Violation]:
    """Every violation in ``template`` (body and fallback), errors and warnings alike.

    >>> [v.code for v in lint(Template("remind", "sms", "en", "We saw you looked!"))]
    ['RK102', 'RK103', 'RK105']
    """
    out = _Collector(template.key, policy)
    first_touch = template.key in FIRST_TOUCH_KEYS or touch_index == 1
    bodies: list[tuple[str, str]] = [("body", template.body)]
    if template.fallback is not None:
        bodies.append(("fallback", template.fallback))
    for where, body in bodies:
        parts = compile(body, what=template.label)
        names = [p.name for p in parts if isinstance(p, Field)]
        literal = "\u2060".join(p for p in parts if isinstance(p, str))
        first_line = body.split("\n", 1)[0]
        personal = dict.fromkeys(n for n in names if FIELDS[n] is Reveals.PERSONAL)
        if (finding := too_many_details(template.channel, personal, policy)) is not None:
            out.add("RK101", f"{where} {finding}")
        if "{store_name}" not in first_line:
            out.add("RK102", f"{where}: put {{store_name}} in the first line")
        if optout_missing(template.key, template.channel, literal, policy):
            out.add("RK103", f"{where}: add an opt-out line, e.g. 'Reply STOP to opt out.'")
        if template.channel is Channel.SMS and (phrase := _payment_by_reply(fold(literal))):
            out.add(
                "RK113",
                f"{where} says {phrase!r}: a cart reminder by text may not take payment or "
                f"card details by reply ({PAYMENT_BY_REPLY_RULE}); let the link do it",
            )
        _text_checks(
            out,
            literal,
            where=where,
            has_deadline=bool(DEADLINE_FIELDS.intersection(names)),
            first_touch=first_touch,
            has_discount_field="discount_code" in names,
        )
    _length_checks(out, template, policy)
    _template_checks(out, template)
    return out.items


def _template_checks(out: _Collector, template: Template) -> None:
    """RK117: a WhatsApp touch is sent as the template made from it, so Meta's rules for
    template bodies apply to the entry itself (``messages.whatsapp_templates``)."""
    from .whatsapp_templates import REPLY_KEYS, template_problems  # noqa: PLC0415 - a cycle

    if template.channel is not Channel.WHATSAPP or template.key in REPLY_KEYS:
        return
    if template.key.startswith("menu."):
        return
    for fallback in (False, True) if template.fallback is not None else (False,):
        where = "fallback" if fallback else "body"
        for problem in template_problems(template, fallback=fallback):
            out.add("RK117", f"{where} as a WhatsApp template: {problem}")


def _length_checks(out: _Collector, template: Template, policy: GuardPolicy) -> None:
    context = typical_context(template.locale, template.channel)
    variants = [("body", template)]
    if template.fallback is not None:
        variants.append(("fallback", attrs.evolve(template, body=template.fallback, fallback=None)))
    for where, variant in variants:
        text = render(variant, context).text
        if template.channel is Channel.SMS:
            info = sms_segments(text)
            segments, encoding, units = info.segments, info.encoding, info.units
            if encoding == "GSM-7" and any(FIELDS[n] is Reveals.PERSONAL for n in variant.fields):
                # A name or an item the customer typed may hold any letter: count as UCS-2.
                units = len(text.encode("utf-16-le")) // 2
                segments = 1 if units <= UCS2_SINGLE else -(-units // UCS2_MULTI)
                encoding = "UCS-2"
            if segments > policy.max_sms_segments:
                out.add(
                    "RK108",
                    f"{where} takes {segments} {encoding} segments with typical values "
                    f"({units} units); the budget is {policy.max_sms_segments}",
                )
        if template.channel is Channel.WHATSAPP and len(text) > policy.max_whatsapp_body:
            out.add(
                "RK109",
                f"{where} is {len(text)} characters with typical values; "
                f"WhatsApp allows {policy.max_whatsapp_body}",
            )


def guard(
    rendered: Rendered,
    policy: GuardPolicy = _DEFAULT_POLICY,
    *,
    store_name: str | None = None,
    hold_until_known: bool = False,
) -> list[Violation]:
    """Check a rendered message just before it is sent; an error blocks the send."""
    out = _Collector(rendered.key, policy)
    text = rendered.text
    sms = rendered.channel is Channel.SMS
    if (finding := too_many_details(rendered.channel, rendered.details, policy)) is not None:
        out.add("RK101", f"the message {finding}")
    if store_name is not None:
        first_line = text.split("\n", 1)[0]
        if fold(store_name) not in fold(first_line):
            out.add("RK102", f"the first line does not name {store_name!r}")
    folded = fold(text)
    if optout_missing(rendered.key, rendered.channel, text, policy):
        out.add("RK103", "the message has no opt-out line; add 'Reply STOP to opt out.'")
    if sms and (phrase := _payment_by_reply(folded)):
        out.add(
            "RK113",
            f"the SMS says {phrase!r}: payment and card details never go by reply "
            f"({PAYMENT_BY_REPLY_RULE}); let the link do it",
        )
    _text_checks(
        out,
        text,
        where="the message",
        has_deadline=hold_until_known,
        first_touch=rendered.key in FIRST_TOUCH_KEYS,
        has_discount_field=False,
        folded=folded,
    )
    if sms:
        info = rendered.segments or sms_segments(text)
        if info.segments > policy.max_sms_segments:
            out.add(
                "RK108",
                f"the SMS takes {info.segments} {info.encoding} segments ({info.units} units); "
                f"the budget is {policy.max_sms_segments}",
            )
        for word in text.split():
            if word.startswith(("http://", "https://")) and len(word) >= policy.max_sms_link:
                out.add(
                    "RK111",
                    f"the link {word[:40]!r}... is {len(word)} characters; "
                    f"keep SMS links under {policy.max_sms_link}",
                )
    if rendered.channel is Channel.WHATSAPP and len(text) > policy.max_whatsapp_body:
        out.add(
            "RK109",
            f"the body is {len(text)} characters; WhatsApp allows {policy.max_whatsapp_body}",
        )
    return out.items


def lint_discounts(policy: DiscountPolicy | None) -> list[Violation]:
    """Findings about how a policy hands out discount codes (RK114)."""
    if policy is None or policy.static_code is None:
        return []
    code = policy.static_code.code
    return [
        Violation(
            "RK114",
            "warning",
            f"discounts use the shared code {code!r}: shared codes end up on coupon sites and "
            "teach customers to abandon; issue single-use codes with a DiscountIssuer",
        )
    ]

"""Frozen pre-optimisation copy of ``guard`` and ``lint`` from ``recoverykit.messages.lint``.

``tests/property/test_guard_speed_equivalence.py`` compares the live, optimised
``guard`` and ``lint`` with this copy, taken verbatim before their phrase search and
capitals check were rewritten for speed. Do not edit it to follow changes in the live
module: a finding that differs from this copy is a behaviour change and must be
deliberate (then replace the copy, and say so in the changelog). Constants, value
classes and the unchanged helpers (``phrases``, ``_length_checks``, ``_Collector``)
come from the live module, so that findings compare with ``==``. Issue 20 (items 5 and
6) changed behaviour on purpose: RK103 now reads every chat channel at word boundaries
(``optout_missing``), RK112 also flags one long word in capitals (``loud_word``) and
RK115/RK116 are new (``tone_checks``), and RK101 reads a personal-detail limit per
channel (``too_many_details``: WhatsApp, Telegram and Viber 2 by default); this copy
calls those live rules, which the speed rewrite did not touch. Issue 20 (item 3) added
RK117, Meta's rules for a WhatsApp touch as a template (``_template_checks``), called
here the same way.
"""

from __future__ import annotations

from recoverykit.messages.fields import FIELDS, Reveals
from recoverykit.messages.lint import (
    _CAPITAL_RUNS,
    _DEFAULT_POLICY,
    _KEYWORDS,
    DEADLINE_FIELDS,
    FIRST_TOUCH_KEYS,
    PAYMENT_BY_REPLY,
    PAYMENT_BY_REPLY_RULE,
    GuardPolicy,
    Violation,
    _Collector,
    _length_checks,
    _template_checks,
    optout_missing,
    phrases,
    tone_checks,
    too_many_details,
)
from recoverykit.messages.sms import sms_segments
from recoverykit.messages.templates import Field, Rendered, Template, compile
from recoverykit.messages.tone import loud_word
from recoverykit.policies.text import fold
from recoverykit.values.model import Channel

__all__ = ["guard", "lint"]


def _payment_by_reply(folded: str) -> str | None:
    for items in PAYMENT_BY_REPLY.values():
        for phrase in items:
            if _fold(phrase) in folded:
                return phrase
    return None


def _fold(text: str) -> str:
    return fold(text)


def _find(category: str, folded: str) -> str | None:
    for items in phrases()[category].values():
        for phrase in items:
            if phrase in folded:
                return phrase
    return None


def _shouting(text: str) -> str | None:
    """Two capitalised words in a row ("BUY NOW", "LAST CHANCE"); keywords and acronyms pass."""
    runs = _CAPITAL_RUNS.findall(text)
    if len(runs) < 2:
        return None
    previous: str | None = None
    for word in text.split():
        letters = "".join(ch for ch in word if ch.isalpha())
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
) -> None:
    """The phrase checks shared by lint (on literal text) and guard (on the whole text)."""
    folded = _fold(literal_text)
    if (phrase := _find("surveillance", folded)) is not None:
        out.add(
            "RK105", f"{where} says {phrase!r}, which reads as being watched; talk about the cart"
        )
    if (phrase := _find("guilt", folded)) is not None:
        out.add(
            "RK106", f"{where} says {phrase!r}, which blames the customer; say the cart is saved"
        )
    if (phrase := _find("pressure", folded)) is not None:
        out.add("RK110", f"{where} says {phrase!r}; offer the link calmly instead")
    if not has_deadline and (phrase := _find("urgency", folded)) is not None:
        out.add(
            "RK104",
            f"{where} says {phrase!r} without a real deadline; use {{hold_until}} or drop the word",
        )
    if first_touch and not out.policy.allow_discount_first_touch:
        phrase = _find("discount", folded)
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
        personal = list(dict.fromkeys(n for n in names if FIELDS[n] is Reveals.PERSONAL))
        if (finding := too_many_details(template.channel, personal, policy)) is not None:
            out.add("RK101", f"{where} {finding}")
        if "{store_name}" not in first_line:
            out.add("RK102", f"{where}: put {{store_name}} in the first line")
        if optout_missing(template.key, template.channel, literal, policy):
            out.add("RK103", f"{where}: add an opt-out line, e.g. 'Reply STOP to opt out.'")
        if template.channel is Channel.SMS and (phrase := _payment_by_reply(_fold(literal))):
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
        if _fold(store_name) not in _fold(first_line):
            out.add("RK102", f"the first line does not name {store_name!r}")
    if optout_missing(rendered.key, rendered.channel, text, policy):
        out.add("RK103", "the message has no opt-out line; add 'Reply STOP to opt out.'")
    if sms and (phrase := _payment_by_reply(_fold(text))):
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

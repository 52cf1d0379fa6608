"""WhatsApp templates made from the pack's own entries: what Meta approves is what was checked.

Outside the 24-hour service window WhatsApp delivers only templates the business had
approved beforehand (rules.md WA-1, WA-2). If that template were written apart from
the pack, the customer would read words the guard never saw. So the pack entry *is*
the template: the store's name is written into it as plain text (each store submits
its own templates), every other field becomes a numbered parameter (``{{1}}``,
``{{2}}``, ... in reading order), and a send fills the parameters with the very
values the guard checked, so the delivered text equals the checked text.

Template names come from the pack's ``whatsapp_templates`` entry for the key (the
*base* name) plus the variant the words came from: ``_new``/``_returning`` and
``_low``/``_mid``/``_high`` for segment and tier entries, ``_fallback`` for the
entry's fallback body. ``recoverykit templates export`` writes every such template
in the shape of Meta's template-creation request; before each send the derived
template is compared with what the store says Meta approved, and a difference
refuses the send (``TemplateMismatch``) rather than deliver other words.
"""

from __future__ import annotations

import enum
import functools
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from ..errors import TemplateError, TemplateMismatch
from ..values.model import Channel
from .fields import OPTIONAL_FIELDS
from .lint import CHAT_REPLY_KEYS, NO_OPTOUT_KEYS, phrases, typical_context
from .packs import MessagePack, Segment, Tier, WhatsAppTemplateRef
from .templates import Field, Template, compile
from .whatsapp import TEMPLATE_BODY_MAX, whatsapp_template_payload

__all__ = [
    "TEMPLATE_RULES",
    "Category",
    "TemplateRule",
    "TemplateSend",
    "WhatsAppTemplate",
    "derive_template",
    "pack_templates",
    "template_for_send",
    "template_name",
    "template_problems",
]


class Category(enum.StrEnum):
    """Meta's template categories that a cart recovery could ask for (WA-4)."""

    MARKETING = "MARKETING"
    UTILITY = "UTILITY"


@attrs.frozen
class TemplateRule:
    """One of Meta's rules for template bodies and parameters, with where it is written."""

    code: str
    rule: str
    source: str


#: Meta's rules the derived templates are checked against, as data with their source.
#: Breaking one makes Meta reject the template or the send, late and with a vague code.
TEMPLATE_RULES: Final[Mapping[str, TemplateRule]] = {
    rule.code: rule
    for rule in (
        TemplateRule(
            "body_length",
            f"a template body holds at most {TEMPLATE_BODY_MAX} characters",
            "rules.md WA-13",
        ),
        TemplateRule(
            "name",
            "a template name is lower-case letters, digits and '_', at most 512 characters",
            "rules.md WA-13",
        ),
        TemplateRule(
            "edge_parameter",
            "a parameter may not start or end the body",
            "rules.md WA-14",
        ),
        TemplateRule(
            "adjacent_parameters",
            "two parameters may not stand side by side with nothing but spaces between",
            "BSP template guidelines (help.engati.com, 'Restrictions for WA template message')",
        ),
        TemplateRule(
            "parameter_line",
            "a parameter may not stand alone on its own line",
            "BSP formatting rules (docs.bizmagnets.ai; support.myoperator.com)",
        ),
        TemplateRule(
            "literal_braces",
            "literal text may not hold '{{' or '}}', which Meta reads as a parameter",
            "rules.md WA-14 (parameter syntax)",
        ),
        TemplateRule(
            "parameter_value",
            "a parameter value holds no line break, tab or four spaces in a row",
            "BSP guidelines (easysocial.io/docs/guidelines); the Cloud API refuses such sends",
        ),
        TemplateRule(
            "button_text",
            "a quick-reply button label holds at most 25 characters",
            "Meta template components (quick-reply buttons); BSP guidelines",
        ),
    )
}

#: Quick-reply labels are short; Meta caps them at 25 characters (``button_text``).
BUTTON_TEXT_MAX: Final = 25

#: Why a cart touch is a marketing template and never a utility one.
MARKETING_REASON: Final = (
    "a cart reminder invites the customer back to buy: Meta counts cart reminders as "
    "marketing (rules.md WA-6, CP-7); utility templates must concern a transaction the "
    "customer concluded or asked for (WA-5)"
)

#: Keys that only ever answer the customer's own message, inside the service window
#: (SEAMS 1): they go as free text and never need a template.
REPLY_KEYS: Final = NO_OPTOUT_KEYS | CHAT_REPLY_KEYS | {"double_optin"}

_TEMPLATE_NAME: Final = re.compile(r"[a-z0-9_]{1,512}\Z")
_PARAMETER: Final = re.compile(r"\{\{(\d+)\}\}")
#: The 1/2/3 menu: the digits standing alone, in order, on one line of the text.
_MENU: Final = re.compile(r"(?<![\w{])1(?![\w}]).*?(?<![\w{])2(?![\w}]).*?(?<![\w{])3(?![\w}])")
MENU_BUTTONS: Final = ("1", "2", "3")


def _is_reply(key: str) -> bool:
    return key in REPLY_KEYS or key.startswith("menu.")


def category_for(key: str) -> tuple[Category, str]:
    """The category a touch's template asks for, and why (always marketing for touches)."""
    if _is_reply(key):
        msg = f"{key!r} answers the customer inside the service window; it is never a template"
        raise TemplateError(msg)
    return Category.MARKETING, MARKETING_REASON


@attrs.frozen
class WhatsAppTemplate:
    """A message template as Meta holds it, derived from one pack entry.

    ``body`` is the text with numbered parameters; ``fields`` names the pack field
    that fills each one (``fields[0]`` fills ``{{1}}``); ``buttons`` are the
    quick-reply labels, each sent back as its own payload when tapped.
    """

    name: str
    language: str
    key: str
    body: str
    fields: tuple[str, ...]
    buttons: tuple[str, ...] = ()
    category: Category = Category.MARKETING
    category_reason: str = MARKETING_REASON

    def parameters(self, values: Mapping[str, str]) -> tuple[str, ...]:
        """The parameter values for a send, from the same values the render used."""
        out: list[str] = []
        for number, field in enumerate(self.fields, start=1):
            value = values.get(field)
            if not isinstance(value, str) or not value.strip():
                msg = f"template {self.name!r}: no value for {{{{{number}}}}} ({field})"
                raise TemplateError(msg)
            if "\n" in value or "\t" in value or "    " in value:
                rule = TEMPLATE_RULES["parameter_value"]
                msg = (
                    f"template {self.name!r}: the value of {{{{{number}}}}} ({field}) "
                    f"{value!r:.60} breaks Meta's rule that {rule.rule} ({rule.source}); "
                    "clean the value in the store's data"
                )
                raise TemplateError(msg)
            out.append(value)
        return tuple(out)

    def fill(self, parameters: Sequence[str]) -> str:
        """The text a customer reads: the body with its parameters put in."""
        if len(parameters) != len(self.fields):
            msg = (
                f"template {self.name!r} takes {len(self.fields)} parameter(s), "
                f"got {len(parameters)}"
            )
            raise TemplateError(msg)
        return _PARAMETER.sub(lambda m: parameters[int(m.group(1)) - 1], self.body)

    def request(self, examples: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The body of Meta's template-creation request (``POST /{WABA-ID}/message_templates``).

        Meta wants an example value for each parameter, which its reviewers read;
        ``examples`` gives them by field name, and the linter's typical values in the
        template's language fill the rest.
        """
        samples = {**typical_context(self.language, Channel.WHATSAPP), **(examples or {})}
        body: dict[str, Any] = {"type": "BODY", "text": self.body}
        if self.fields:
            body["example"] = {"body_text": [[samples.get(f, f) for f in self.fields]]}
        components: list[dict[str, Any]] = [body]
        if self.buttons:
            components.append(
                {
                    "type": "BUTTONS",
                    "buttons": [{"type": "QUICK_REPLY", "text": label} for label in self.buttons],
                }
            )
        return {
            "name": self.name,
            "language": self.language,
            "category": self.category.value,
            "components": components,
        }

    def payload(self, to: str, parameters: Sequence[str]) -> dict[str, Any]:
        """The Cloud API send of this template to ``to``, with its quick-reply payloads."""
        return whatsapp_template_payload(
            to,
            self.name,
            self.language,
            body=list(parameters),
            quick_replies=self.buttons,
        )


def template_name(
    base: str,
    *,
    segment: Segment | None = None,
    tier: Tier | None = None,
    fallback: bool = False,
) -> str:
    """``cart_remind_v2`` + ``_returning`` / ``_high`` / ``_fallback`` for the entry's variant."""
    parts = [base]
    if segment is not None:
        parts.append(segment.value)
    if tier is not None:
        parts.append(tier.value)
    if fallback:
        parts.append("fallback")
    return "_".join(parts)


def derive_template(
    template: Template,
    *,
    store_name: str,
    name: str,
    language: str | None = None,
    fallback: bool = False,
) -> WhatsAppTemplate:
    """The Meta template that says exactly what ``template`` renders (its body or fallback).

    Every rule in ``TEMPLATE_RULES`` that can be judged without values is checked;
    ``TemplateError`` lists each one broken, with its source.
    """
    return _derive(template, store_name, name, language or template.locale, fallback)


@functools.lru_cache(maxsize=512)
def _derive(
    template: Template, store_name: str, name: str, language: str, fallback: bool
) -> WhatsAppTemplate:
    """Memoized: a runner derives the same entry's template for every send of it."""
    category, reason = category_for(template.key)
    pieces, fields, body = _pieces(template, store_name, fallback)
    buttons = _buttons(pieces)
    problems = _problems(name, pieces, body, buttons)
    if problems:
        msg = f"{template.label} cannot be the WhatsApp template {name!r}: " + "; ".join(problems)
        raise TemplateError(msg)
    return WhatsAppTemplate(
        name=name,
        language=language.replace("-", "_"),
        key=template.key,
        body=body,
        fields=tuple(fields),
        buttons=buttons,
        category=category,
        category_reason=reason,
    )


def template_problems(template: Template, *, fallback: bool = False) -> list[str]:
    """Meta's rules the entry breaks as a template, each with its source (for ``lint``)."""
    pieces, _fields, body = _pieces(template, "Shop", fallback)
    return _problems("lint_check", pieces, body, _buttons(pieces))


def _pieces(
    template: Template, store_name: str, fallback: bool
) -> tuple[list[str | int], list[str], str]:
    """The entry as literal text and parameter numbers, the field of each, and the body."""
    source = template.fallback if fallback else template.body
    if source is None:
        msg = f"{template.label} has no fallback body"
        raise TemplateError(msg)
    pieces: list[str | int] = []  # literal text, or the number of a parameter
    fields: list[str] = []
    for part in compile(source, what=template.label):
        if isinstance(part, Field) and part.name != "store_name":
            fields.append(part.name)
            pieces.append(len(fields))
        else:
            text = store_name if isinstance(part, Field) else part
            if pieces and isinstance(pieces[-1], str):
                pieces[-1] += text
            else:
                pieces.append(text)
    body = "".join(p if isinstance(p, str) else f"{{{{{p}}}}}" for p in pieces)
    return pieces, fields, body


def _broken(code: str, detail: str) -> str:
    rule = TEMPLATE_RULES[code]
    return f"{detail}, but {rule.rule} ({rule.source})"


def _problems(
    name: str, pieces: Sequence[str | int], body: str, buttons: Sequence[str]
) -> list[str]:
    problems = [
        _broken("button_text", f"the label {label!r} is {len(label)} characters")
        for label in buttons
        if len(label) > BUTTON_TEXT_MAX
    ]
    if not _TEMPLATE_NAME.match(name):
        problems.append(_broken("name", f"the name is {name!r}"))
    if len(body) > TEMPLATE_BODY_MAX:
        problems.append(_broken("body_length", f"the body is {len(body)} characters"))
    if "{{" in _literal(pieces) or "}}" in _literal(pieces):
        problems.append(_broken("literal_braces", "the text holds a literal brace pair"))
    # Surrounding spaces do not count as text: " {{1}} hi" still starts with a parameter.
    text = body.strip()
    for match, where in ((text.startswith("{{"), "starts"), (text.endswith("}}"), "ends")):
        if match and _PARAMETER.search(text):
            problems.append(_broken("edge_parameter", f"the body {where} with a parameter"))
    positions = [index for index, piece in enumerate(pieces) if isinstance(piece, int)]
    for a, b in itertools.pairwise(positions):
        between = "".join(p for p in pieces[a + 1 : b] if isinstance(p, str))
        if not between.strip():
            touching = f"{{{{{pieces[a]}}}}} and {{{{{pieces[b]}}}}} touch"
            problems.append(_broken("adjacent_parameters", touching))
    problems.extend(
        _broken("parameter_line", f"the line {line.strip()!r} is only that")
        for line in body.split("\n")
        if _PARAMETER.fullmatch(line.strip())
    )
    return list(dict.fromkeys(problems))


def _literal(pieces: Iterable[str | int]) -> str:
    return "\x00".join(p for p in pieces if isinstance(p, str))


def _buttons(pieces: Sequence[str | int]) -> tuple[str, ...]:
    """Quick replies for what the text asks the customer to send: the menu and the opt-out.

    A line of literal text naming 1, 2 and 3 in order is the menu; the first of the
    pack's opt-out words written as a whole word (``STOP``) is the opt-out button, so
    a tap sends back exactly what the text asks for (CP-6).
    """
    literal = _literal(pieces)
    buttons: list[str] = []
    if any(_MENU.search(line) for line in literal.split("\n")):
        buttons.extend(MENU_BUTTONS)
    stop = _optout_word(literal)
    if stop is not None:
        buttons.append(stop)
    return tuple(buttons)


def _optout_word(text: str) -> str | None:
    found: list[tuple[int, str]] = []
    for word in _optout_words():
        match = re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE)
        if match is not None:
            found.append((match.start(), match.group(0)))
    return min(found)[1] if found else None


@functools.cache
def _optout_words() -> tuple[str, ...]:
    """The pack's opt-out words that are one word (a button sends a single keyword)."""
    words = (word for items in phrases()["optout"].values() for word in items)
    return tuple(dict.fromkeys(word for word in words if " " not in word))


def uses_fallback(template: Template, values: Mapping[str, str]) -> bool:
    """Whether ``render`` takes the fallback body: an optional field it names is missing."""
    missing = [
        name
        for name in template.body_fields
        if not isinstance(values.get(name), str) or not values[name].strip()
    ]
    return bool(missing) and template.fallback is not None and OPTIONAL_FIELDS.issuperset(missing)


@attrs.frozen
class TemplateSend:
    """A template send worked out: the template, its parameters, the text they make, the body."""

    template: WhatsAppTemplate
    parameters: tuple[str, ...]
    text: str
    payload: dict[str, Any] = attrs.field(eq=False)


def template_for_send(
    pack: MessagePack,
    template: Template,
    values: Mapping[str, str],
    *,
    store_name: str,
    to: str,
) -> TemplateSend:
    """The approved template that carries ``template`` rendered with ``values`` to ``to``.

    ``TemplateMismatch`` when the store has no approved template for the entry, or the
    one it approved differs from the pack (language, parameters, body): sending it would
    deliver other words than the guard checked.
    """
    ref = pack.whatsapp_template(template.key, template.locale)
    if ref is None:
        raise TemplateMismatch(
            f"no approved WhatsApp template for {template.key!r} ({template.locale})",
            fix=(
                "run `recoverykit templates export`, submit the template to Meta and name "
                f"it in the pack's whatsapp_templates.{template.key}"
            ),
        )
    segment, tier = pack.slot_of(template)
    fallback = uses_fallback(template, values)
    name = template_name(ref.name, segment=segment, tier=tier, fallback=fallback)
    derived = derive_template(
        template, store_name=store_name, name=name, language=ref.language, fallback=fallback
    )
    _check_approved(ref, derived, template)
    parameters = derived.parameters(values)
    return TemplateSend(
        derived, parameters, derived.fill(parameters), derived.payload(to, parameters)
    )


def _check_approved(
    ref: WhatsAppTemplateRef, derived: WhatsAppTemplate, template: Template
) -> None:
    fix = (
        "run `recoverykit templates export`, submit the changed template to Meta, and "
        f"update the pack's whatsapp_templates.{template.key} once it is approved"
    )
    ref_language = ref.language.replace("-", "_").split("_", 1)[0]
    if ref_language != template.locale.split("_", 1)[0]:
        raise TemplateMismatch(
            f"approved template {ref.name!r} is in {ref.language!r}, but the pack's "
            f"{template.key!r} text is in {template.locale!r}",
            fix=f"add a {template.locale!r} entry to whatsapp_templates.{template.key}",
            template=ref.name,
        )
    stated = ref.parameters
    if stated is not None and ref.approved is None and derived.name != ref.name:
        # The entry states one template, with its parameters: no variant is registered.
        raise TemplateMismatch(
            f"template {derived.name!r} ({ref.language}) is not registered: "
            f"whatsapp_templates.{template.key} states only {ref.name!r}",
            fix=(
                f"export the templates, submit {derived.name!r}, and list every approved "
                f"template of {template.key!r} under approved"
            ),
            template=derived.name,
        )
    if stated is not None and derived.name == ref.name and tuple(stated) != derived.fields:
        raise TemplateMismatch(
            f"approved template {ref.name!r} ({ref.language}) takes "
            f"{len(stated)} parameter(s) ({', '.join(stated) or 'none'}), "
            f"but the pack's text needs {len(derived.fields)} "
            f"({', '.join(derived.fields) or 'none'})",
            fix=fix,
            template=ref.name,
        )
    if ref.approved is None:
        return
    approved = ref.approved.get(derived.name)
    if approved is None:
        raise TemplateMismatch(
            f"template {derived.name!r} ({ref.language}) is not among the approved ones "
            f"listed for {template.key!r} ({', '.join(sorted(ref.approved)) or 'none'})",
            fix=fix,
            template=derived.name,
        )
    if approved != derived.body:
        raise TemplateMismatch(
            f"approved template {derived.name!r} ({ref.language}) reads {approved!r:.80}, "
            f"but the pack's text makes {derived.body!r:.80}",
            fix=fix,
            template=derived.name,
        )


def pack_templates(
    pack: MessagePack,
    *,
    store_name: str,
    languages: Iterable[str] | None = None,
) -> tuple[WhatsAppTemplate, ...]:
    """Every WhatsApp template the pack's touches need, per pack language.

    A key without a ``whatsapp_templates`` entry in that language gets the base name
    ``cart_<key>`` and the pack language; replies are never templates.
    """
    wanted = None if languages is None else {lang.replace("-", "_") for lang in languages}
    found: dict[str, WhatsAppTemplate] = {}
    problems: list[str] = []
    for (key, channel, locale, segment, tier), template in pack.slots():
        if channel is not Channel.WHATSAPP or _is_reply(key):
            continue
        if wanted is not None and locale not in wanted:
            continue
        ref = pack.whatsapp_refs().get((key, locale))
        base = ref.name if ref is not None else "cart_" + key.replace(".", "_")
        language = ref.language if ref is not None else locale
        for fallback in (False, True) if template.fallback is not None else (False,):
            name = template_name(base, segment=segment, tier=tier, fallback=fallback)
            try:
                derived = derive_template(
                    template,
                    store_name=store_name,
                    name=name,
                    language=language,
                    fallback=fallback,
                )
            except TemplateError as exc:
                problems.append(str(exc))
                continue
            found.setdefault(f"{derived.name}/{derived.language}", derived)
    if problems:
        raise TemplateError("\n".join(problems))
    return tuple(found.values())

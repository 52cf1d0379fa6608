"""Message packs: the wording for every touch and reply, per channel, language and segment.

A pack is data (``packs/<language>.json`` for the built-in one). An entry is found by
(key, channel, locale, customer segment, cart tier), falling back tier → segment →
language (``pl_PL`` → ``pl``) → ``en`` (SEAMS 11). Telegram and Viber use the
WhatsApp wording unless the pack has their own.

``message_context`` turns a checkout into the field values a template names, each
formatted for the customer's locale; in SMS money and dates use plain spaces so the
text stays in GSM-7 where the language allows (SEAMS 12).
"""

from __future__ import annotations

import enum
import functools
import importlib.resources
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import attrs
from babel.dates import format_skeleton, format_time

from ..errors import MessageNotFound, PersonalizationError, TemplateError
from ..values.loading import (
    Problems,
    expect_list,
    expect_mapping,
    read_json_file,
    to_str,
    unknown_keys,
)
from ..values.model import Channel, Checkout, Friction, Stage
from ..values.money import Money, get_locale
from ..values.text import usable_first_name
from ..values.zones import get_zone
from .templates import Template

__all__ = [
    "BUILTIN_LANGUAGES",
    "CART_TIERS",
    "MessagePack",
    "Segment",
    "Tier",
    "WhatsAppTemplateRef",
    "cart_tier",
    "default_pack",
    "format_hold_until",
    "message_context",
]


class Segment(enum.StrEnum):
    """Who the customer is to the store: new customers want reassurance, returning ones speed."""

    NEW = "new"
    RETURNING = "returning"


class Tier(enum.StrEnum):
    """How much is in the cart: a plain reminder for small carts, a human path for large ones."""

    LOW = "low"
    MID = "mid"
    HIGH = "high"


#: Cart-value tiers per currency as ``(mid_from, high_from)``: below the first is low,
#: from the second on is high. Round figures of similar buying power; a store can
#: pick its own tier and pass it to ``MessagePack.find``.
CART_TIERS: Final[Mapping[str, tuple[Decimal, Decimal]]] = {
    code: (Decimal(low), Decimal(high))
    for code, (low, high) in {
        "USD": (50, 200),
        "CAD": (65, 260),
        "EUR": (50, 200),
        "GBP": (40, 170),
        "CHF": (50, 200),
        "PLN": (200, 800),
        "RUB": (4000, 16000),
        "KZT": (25000, 100000),
        "UAH": (2000, 8000),
        "JPY": (7500, 30000),
    }.items()
}


def cart_tier(total: Money) -> Tier:
    """The tier of a cart total; a currency without thresholds counts as ``mid``.

    >>> cart_tier(Money("84.00", "PLN"))
    <Tier.LOW: 'low'>
    """
    edges = CART_TIERS.get(total.currency)
    if edges is None:
        return Tier.MID
    if total.amount < edges[0]:
        return Tier.LOW
    return Tier.MID if total.amount < edges[1] else Tier.HIGH


@attrs.frozen
class WhatsAppTemplateRef:
    """The approved WhatsApp templates a key maps to, as the store registered them.

    The templates themselves are derived from the pack's entries
    (``recoverykit.messages.whatsapp_templates``): ``name`` is the base name, to which
    each entry's variant adds its suffix. What the store states beyond it is checked
    before every send, and a difference refuses the send.
    """

    name: str
    language: str
    #: The fields filling the base template's parameters, in order, if stated.
    parameters: tuple[str, ...] | None = None
    #: Template name -> body as Meta approved it (with ``{{1}}`` ...), if stated; a
    #: derived template not listed here is not approved.
    approved: Mapping[str, str] | None = None


BUILTIN_LANGUAGES: Final = ("en", "pl", "ru", "fr")
_PACK_KEYS: Final = frozenset({"name", "languages"})
_LANGUAGE_KEYS: Final = frozenset({"messages", "whatsapp_templates", "friction"})
_ENTRY_KEYS: Final = frozenset({"body", "fallback"})
_REF_KEYS: Final = frozenset({"name", "language", "parameters", "approved"})

_Slot = tuple[str, Channel, str, Segment | None, Tier | None]


def _locale_chain(locale: str) -> tuple[str, ...]:
    normal = locale.replace("-", "_")
    language = normal.split("_", 1)[0]
    return tuple(dict.fromkeys((normal, language, "en")))


#: Lookups a pack remembers before it starts over (each is a handful of short strings).
_FOUND_LIMIT: Final = 4096


@attrs.frozen
class MessagePack:
    """Every wording a recovery needs, looked up by key, channel, locale, segment and tier."""

    name: str
    _templates: Mapping[_Slot, Template] = attrs.field(repr=False)
    _whatsapp: Mapping[tuple[str, str], WhatsAppTemplateRef] = attrs.field(repr=False)
    _friction: Mapping[tuple[Friction, str], str] = attrs.field(repr=False)
    #: Answers of ``find`` by its arguments. A pack never changes once built, so an
    #: answer stays right for the pack's lifetime; failed lookups are not kept.
    _found: dict[tuple[object, ...], Template] = attrs.field(
        init=False, factory=dict, eq=False, repr=False, hash=False
    )
    #: Each template's (segment, tier), built on first use (see ``slot_of``).
    _slot_index: dict[Template, tuple[Segment | None, Tier | None]] = attrs.field(
        init=False, factory=dict, eq=False, repr=False, hash=False
    )

    def find(
        self,
        key: str,
        channel: Channel,
        locale: str,
        *,
        segment: Segment | None = None,
        tier: Tier | None = None,
    ) -> Template:
        """The best template for the lookup; ``MessageNotFound`` says what was asked."""
        channel = Channel(channel)
        lookup = (key, channel, locale, segment, tier)
        try:
            found = self._found.get(lookup)
        except TypeError:  # an unhashable argument: the plain lookup says what is wrong
            return self._find(key, channel, locale, segment, tier)
        if found is None:
            found = self._find(key, channel, locale, segment, tier)
            if len(self._found) >= _FOUND_LIMIT:
                self._found.clear()
            self._found[lookup] = found
        return found

    def _find(
        self,
        key: str,
        channel: Channel,
        locale: str,
        segment: Segment | None,
        tier: Tier | None,
    ) -> Template:
        combos = tuple(
            dict.fromkeys(((segment, tier), (segment, None), (None, tier), (None, None)))
        )
        channels: tuple[Channel, ...] = (channel,)
        if channel in {Channel.TELEGRAM, Channel.VIBER}:
            channels = (channel, Channel.WHATSAPP)
        for loc in _locale_chain(locale):
            for chan in channels:
                for seg, tie in combos:
                    found = self._templates.get((key, chan, loc, seg, tie))
                    if found is not None:
                        return found if chan is channel else _as_channel(found, channel)
        raise MessageNotFound(self.name, key, channel.value, locale, segment=segment, tier=tier)

    def whatsapp_template(self, key: str, locale: str) -> WhatsAppTemplateRef | None:
        """The approved template for ``key``, if the pack maps one (locale falls back)."""
        for loc in _locale_chain(locale):
            ref = self._whatsapp.get((key, loc))
            if ref is not None:
                return ref
        return None

    def whatsapp_refs(self) -> Mapping[tuple[str, str], WhatsAppTemplateRef]:
        """Every approved-template entry by (key, pack language), without fallback."""
        return self._whatsapp

    def slot_of(self, template: Template) -> tuple[Segment | None, Tier | None]:
        """The segment and tier of the entry ``template`` was found in (first one if shared)."""
        if not self._slot_index:
            for (_key, _chan, _loc, segment, tier), found in self._templates.items():
                self._slot_index.setdefault(found, (segment, tier))
        return self._slot_index.get(template, (None, None))

    def friction_line(
        self, friction: Friction | None, locale: str, stage: Stage | None = None
    ) -> str | None:
        """The one line that removes the obstacle; from the stage when the reason is unknown."""
        if friction is None:
            friction = _STAGE_FRICTION.get(stage) if stage is not None else None
            if friction is None:
                return None
        for loc in _locale_chain(locale):
            line = self._friction.get((Friction(friction), loc))
            if line is not None:
                return line
        return None

    def keys(self) -> frozenset[str]:
        return frozenset(slot[0] for slot in self._templates)

    def templates(self) -> tuple[Template, ...]:
        """Every template in the pack, for linting or review."""
        return tuple(self._templates.values())

    def slots(self) -> tuple[tuple[_Slot, Template], ...]:
        """Every template with the lookup slot it fills."""
        return tuple(self._templates.items())

    @classmethod
    def load(cls, source: str | Path | Mapping[str, Any]) -> MessagePack:
        """Load the built-in pack (``"default"``), a JSON file, or an already parsed dict."""
        if isinstance(source, Mapping):
            return _load_document(source, "message pack")
        if isinstance(source, str) and source == "default":
            return default_pack()
        path = Path(source)
        data = read_json_file(path, "Invalid message pack")
        if isinstance(data, Mapping) and "languages" not in data and "messages" in data:
            # One language's file, like the built-in packs/<language>.json: the file
            # name is the language.
            data = {"name": path.stem, "languages": {path.stem: data}}
        return _load_document(data, f"message pack {str(path)!r}")


_STAGE_FRICTION: Final[Mapping[Stage, Friction]] = {
    Stage.SHIPPING: Friction.SHIPPING_COST,
    Stage.PAYMENT: Friction.PAYMENT_FAILED,
}


@functools.lru_cache(maxsize=1024)
def _as_channel(template: Template, channel: Channel) -> Template:
    return attrs.evolve(template, channel=channel)


def _problem(path: str, message: str) -> Any:
    from ..errors import Problem  # noqa: PLC0415

    return Problem(path, message)


@functools.cache
def default_pack() -> MessagePack:
    """The built-in pack in every shipped language (cached)."""
    languages: dict[str, Any] = {}
    root = importlib.resources.files("recoverykit.messages.builtin")
    for language in BUILTIN_LANGUAGES:
        languages[language] = json.loads(root.joinpath(f"{language}.json").read_text("utf-8"))
    return _load_document({"name": "default", "languages": languages}, "built-in message pack")


def _load_document(data: Any, what: str) -> MessagePack:
    problems = Problems()
    templates: dict[_Slot, Template] = {}
    whatsapp: dict[tuple[str, str], WhatsAppTemplateRef] = {}
    friction: dict[tuple[Friction, str], str] = {}
    name = "pack"
    doc = expect_mapping(data, "$", problems)
    if doc is not None:
        unknown_keys(doc, _PACK_KEYS, "$", problems)
        raw_name = doc.get("name", "pack")
        if isinstance(raw_name, str) and raw_name:
            name = raw_name
        else:
            problems.add("$.name", f"expected a non-empty string, got {raw_name!r:.60}")
        languages = expect_mapping(doc.get("languages", {}), "$.languages", problems) or {}
        for locale, body in languages.items():
            path = f"$.languages.{locale}"
            try:
                get_locale(locale)
            except ValueError as exc:
                problems.add(path, str(exc))
                continue
            _load_language(
                body,
                locale=locale.replace("-", "_"),
                path=path,
                problems=problems,
                templates=templates,
                whatsapp=whatsapp,
                friction=friction,
            )
    problems.raise_if_any(f"Invalid {what}")
    return MessagePack(name, templates, whatsapp, friction)


def _load_language(
    data: Any,
    *,
    locale: str,
    path: str,
    problems: Problems,
    templates: dict[_Slot, Template],
    whatsapp: dict[tuple[str, str], WhatsAppTemplateRef],
    friction: dict[tuple[Friction, str], str],
) -> None:
    doc = expect_mapping(data, path, problems)
    if doc is None:
        return
    unknown_keys(doc, _LANGUAGE_KEYS, path, problems)
    messages = expect_mapping(doc.get("messages", {}), f"{path}.messages", problems) or {}
    for key, variants in messages.items():
        key_path = f"{path}.messages.{key}"
        variant_map = expect_mapping(variants, key_path, problems) or {}
        for variant, entry in variant_map.items():
            _load_entry(
                key,
                variant,
                entry,
                locale=locale,
                path=f"{key_path}.{variant}",
                problems=problems,
                templates=templates,
            )
    refs = expect_mapping(doc.get("whatsapp_templates", {}), f"{path}.whatsapp_templates", problems)
    for key, raw in (refs or {}).items():
        ref = _load_ref(raw, f"{path}.whatsapp_templates.{key}", problems)
        if ref is not None:
            whatsapp[key, locale] = ref
    lines = expect_mapping(doc.get("friction", {}), f"{path}.friction", problems) or {}
    for label, line in lines.items():
        here = f"{path}.friction.{label}"
        try:
            friction[Friction(label), locale] = to_str(line)
        except ValueError:
            choices = ", ".join(f.value for f in Friction)
            problems.add(here, f"unknown friction label {label!r} (choose one of {choices})")
        except TypeError as exc:
            problems.add(here, str(exc))


def _parse_variant(variant: str) -> tuple[Channel, Segment | None, Tier | None]:
    """``sms``, ``sms/returning``, ``whatsapp/high`` or ``email/new/low``."""
    head, *rest = variant.split("/")
    try:
        channel = Channel(head)
    except ValueError:
        choices = ", ".join(c.value for c in Channel)
        msg = f"unknown channel {head!r} (choose one of {choices})"
        raise ValueError(msg) from None
    segment: Segment | None = None
    tier: Tier | None = None
    for qualifier in rest:
        if qualifier in Segment.__members__.values() and segment is None:
            segment = Segment(qualifier)
        elif qualifier in Tier.__members__.values() and tier is None:
            tier = Tier(qualifier)
        else:
            msg = (
                f"unknown qualifier {qualifier!r} in {variant!r}; "
                "write channel[/new|returning][/low|mid|high]"
            )
            raise ValueError(msg)
    return channel, segment, tier


def _load_entry(
    key: str,
    variant: str,
    entry: Any,
    *,
    locale: str,
    path: str,
    problems: Problems,
    templates: dict[_Slot, Template],
) -> None:
    try:
        channel, segment, tier = _parse_variant(variant)
    except ValueError as exc:
        problems.add(path, str(exc))
        return
    body: Any
    fallback: Any
    if isinstance(entry, str):
        body, fallback = entry, None
    else:
        mapping = expect_mapping(entry, path, problems)
        if mapping is None:
            return
        unknown_keys(mapping, _ENTRY_KEYS, path, problems)
        body, fallback = mapping.get("body"), mapping.get("fallback")
        if not isinstance(body, str):
            problems.add(f"{path}.body", "is required and must be a string")
            return
        if fallback is not None and not isinstance(fallback, str):
            problems.add(f"{path}.fallback", f"expected a string, got {fallback!r:.60}")
            return
    try:
        template = Template(key, channel, locale, body, fallback)
    except (TemplateError, PersonalizationError) as exc:
        problems.add(path, str(exc))
        return
    templates[key, channel, locale, segment, tier] = template


def _load_ref(data: Any, path: str, problems: Problems) -> WhatsAppTemplateRef | None:
    mapping = expect_mapping(data, path, problems)
    if mapping is None:
        return None
    unknown_keys(mapping, _REF_KEYS, path, problems)
    name, language = mapping.get("name"), mapping.get("language")
    params: list[Any] | None = None
    if "parameters" in mapping:
        params = expect_list(mapping["parameters"], f"{path}.parameters", problems)
        if params is None or not all(isinstance(p, str) for p in params):
            problems.add(f"{path}.parameters", "must be a list of field names")
            return None
    approved = _load_approved(mapping.get("approved"), f"{path}.approved", problems)
    ok = True
    if not isinstance(name, str) or not name:
        problems.add(f"{path}.name", "is required and must be a string")
        ok = False
    if not isinstance(language, str) or not language:
        problems.add(f"{path}.language", "is required and must be a string such as 'en_US'")
        ok = False
    if not ok:
        return None
    from .fields import FIELDS, Reveals  # noqa: PLC0415

    for index, param in enumerate(params or ()):
        if FIELDS.get(param) in (None, Reveals.FORBIDDEN):
            problems.add(f"{path}.parameters[{index}]", f"{param!r} is not an allowed field")
    assert isinstance(name, str)
    assert isinstance(language, str)
    return WhatsAppTemplateRef(name, language, None if params is None else tuple(params), approved)


def _load_approved(data: Any, path: str, problems: Problems) -> Mapping[str, str] | None:
    """``{"cart_remind_v2": "Shop\\nYour checkout with {{1}} ..."}``: bodies as approved."""
    if data is None:
        return None
    mapping = expect_mapping(data, path, problems)
    if mapping is None:
        return None
    approved: dict[str, str] = {}
    for name, body in mapping.items():
        if isinstance(body, str) and body:
            approved[name] = body
        else:
            problems.add(f"{path}.{name}", f"expected the approved body text, got {body!r:.60}")
    return approved


# -- context -----------------------------------------------------------------------------
def _plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def format_hold_until(when: datetime, zone: str, locale: str, *, plain_spaces: bool = False) -> str:
    """A hold deadline as the recipient reads it: their zone, their language (``23 lis, 14:30``)."""
    if when.utcoffset() is None:  # read as the host's local time: not a fixed answer
        return _format_hold_until(when, zone, locale, plain_spaces)
    return _cached_hold_until(when.astimezone(UTC), zone, locale, plain_spaces)


@functools.lru_cache(maxsize=2048)
def _cached_hold_until(when: datetime, zone: str, locale: str, plain_spaces: bool) -> str:
    """Memoized: one touch renders the same deadline in each pass of a decision, and
    babel is slow. The text depends only on the instant, the zone, the locale and the
    spaces; ``when`` arrives in UTC, where equal datetimes are the same instant (two
    local times an autumn fold apart compare equal in their own zone)."""
    return _format_hold_until(when, zone, locale, plain_spaces)


def _format_hold_until(when: datetime, zone: str, locale: str, plain_spaces: bool) -> str:
    local = when.astimezone(get_zone(zone))
    loc = get_locale(locale)
    day = format_skeleton("MMMd", local, locale=loc)
    hour = format_time(local, "short", locale=loc)
    text: str = str(loc.datetime_formats["short"]).replace("{1}", day).replace("{0}", hour)
    return _plain(text) if plain_spaces else text


@functools.lru_cache(maxsize=4096)
def _amounts(total: Money, locale: str, plain: bool) -> tuple[str, str]:
    """A cart total exact and as a range. Memoized: totals repeat across passes and
    customers, and ``Money`` is a frozen value whose text depends only on itself and
    the locale (equal amounts such as 84.0 and 84.00 format alike)."""
    return total.format(locale, plain_spaces=plain), total.approximate(locale, plain_spaces=plain)


def message_context(
    checkout: Checkout,
    *,
    store_name: str,
    channel: Channel,
    zone: str,
    locale: str | None = None,
    link: str | None = None,
    help_line: str | None = None,
) -> dict[str, str]:
    """Every field a template may name, formatted for the customer; unknown ones left out.

    ``first_name`` is present only when the store knows it and it is a plain name
    (``usable_first_name``): anything else is never inserted; ``top_item`` names the
    most expensive item still in stock (never a sold-out one).
    """
    loc = (locale or checkout.customer.locale).replace("-", "_")
    plain = Channel(channel) is Channel.SMS
    total, approx_total = _amounts(checkout.total, loc, plain)
    context: dict[str, str] = {
        "store_name": store_name,
        "link": link or checkout.link,
        "total": total,
        "approx_total": approx_total,
        "item_count": str(checkout.item_count),
    }
    first_name = usable_first_name(checkout.customer.first_name)
    if first_name is not None:
        context["first_name"] = first_name
    in_stock = [item for item in checkout.items if item.in_stock]
    if in_stock:
        top = max(in_stock, key=lambda item: item.unit_price.amount)
        context["top_item"] = top.name
        if top.category:
            context["item_category"] = top.category
    if checkout.hold_until is not None:
        context["hold_until"] = format_hold_until(
            checkout.hold_until, zone, loc, plain_spaces=plain
        )
    if help_line:
        context["help_line"] = help_line
    return context

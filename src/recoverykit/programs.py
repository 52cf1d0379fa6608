"""Carrier and platform programs for cart reminders, kept as data with their sources.

These are not laws. US carriers and the WhatsApp platform set their own rules for
cart-reminder traffic, and a sender that breaks them loses its number or its
templates. Each :class:`ProgramRule` carries its id from the project's rules
reference (``CP-1`` ... ``CP-7``, ``WA-10``), where it comes from and an authority
tag (``I`` industry code, ``P`` platform, ``S`` secondary, or a mix).

:func:`programs_for` picks the rules that apply to one channel and one recipient and
combines them into :class:`ProgramRules`: how many recovery messages may go out per
abandonment, by when, what consent they need, what content they may not carry and
how platform error codes are treated. A store turns a rule off only by naming its
id; the combined rules then list it under ``disabled`` so notes can say so.

This is not legal advice: the table says where each rule came from so that a store
can check it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Final

import attrs

from .policies.consent import Purpose
from .policies.sequence import RecoverySequence
from .values.model import Channel
from .values.phone import PhoneNumber

__all__ = [
    "PROGRAM_RULES",
    "SERVICE_WINDOW",
    "PlatformCode",
    "ProgramRule",
    "ProgramRules",
    "SequenceFinding",
    "lint_sequence",
    "program_rule",
    "programs_for",
]

#: The customer service window (WA-2): a customer's own message lets free-form messages
#: (not only approved templates) go to them on that channel for this long, and each new
#: message of theirs starts it again. Viber sessions last as long. Source: Meta's
#: messaging-limits documentation on the customer service window.
SERVICE_WINDOW: Final = timedelta(hours=24)

#: Content a rule forbids: asking for payment or card details by reply (CP-3).
PAYMENT_BY_REPLY: Final = "payment_by_reply"

_ATTENTIVE: Final = (
    "Attentive, 'Carrier guidelines for abandonment messages' "
    "(attentive.zendesk.com/hc/en-us/articles/4410869137428); toll-free verification "
    "guidance on shopping-cart reminders (smsblast.io, 2026-02-17)"
)
_TMOBILE: Final = (
    "T-Mobile abandoned-cart policy effective 2020-05-01, as reported by chatitive.com, "
    "blog.sendsonar.com (2020-05-20), mobiniti.com (2020-05-12) and listrak.com"
)


@attrs.frozen
class PlatformCode:
    """How the engine treats one platform error code."""

    code: str
    #: ``wait``: defer at least ``wait`` and keep the number; ``template``: needs a template.
    action: str
    wait: timedelta | None = None
    #: A failure with this code never marks the number as failed for good.
    permanent: bool = False


@attrs.frozen
class ProgramRule:
    """One carrier or platform rule for cart reminders, with where it comes from."""

    #: Stable id from ``reference/rules.md`` §9 / §3, e.g. ``"CP-1"``.
    id: str
    name: str
    source: str
    #: Authority tag: I (industry), P (platform), S (secondary), or a mix like ``I/S``.
    authority: str
    #: Channels the rule governs.
    channels: frozenset[Channel]
    #: Recipient countries (ISO 3166); empty means every country.
    countries: frozenset[str] = frozenset()
    #: Most recovery messages per abandonment on the channel.
    max_sends: int | None = None
    #: The last moment after abandonment a recovery message may go out.
    deadline: timedelta | None = None
    #: The consent purpose recovery messages need (no other purpose stands in).
    purpose: Purpose | None = None
    #: The grant must be confirmed by a double opt-in.
    require_confirmed: bool = False
    #: Recovery messages never go to these recipients on the channel.
    blocks: bool = False
    #: Content the rule forbids (``PAYMENT_BY_REPLY``).
    forbids: frozenset[str] = frozenset()
    #: Platform error codes and how to treat them.
    codes: tuple[PlatformCode, ...] = ()
    #: Reply phrases (button texts) that revoke consent on the channel.
    opt_out_replies: tuple[str, ...] = ()
    #: Advice only: the window the single message works best in.
    best_within: timedelta | None = None

    def applies_to(self, channel: Channel, country: str | None) -> bool:
        if channel not in self.channels:
            return False
        return not self.countries or country in self.countries


_US: Final = frozenset({"US"})
_SMS: Final = frozenset({Channel.SMS})
_WA: Final = frozenset({Channel.WHATSAPP})

#: Every program rule, in the order of the rules reference.
PROGRAM_RULES: Final[tuple[ProgramRule, ...]] = (
    ProgramRule(
        id="CP-1",
        name="One cart-reminder text per abandonment, within 48 hours",
        source=_ATTENTIVE,
        authority="I/P",
        channels=_SMS,
        countries=_US,
        max_sends=1,
        deadline=timedelta(hours=48),
    ),
    ProgramRule(
        id="CP-2",
        name="Double opt-in by text that names cart reminders",
        source=_TMOBILE,
        authority="I/S",
        channels=_SMS,
        countries=_US,
        purpose=Purpose.RECOVERY,
        require_confirmed=True,
    ),
    ProgramRule(
        id="CP-3",
        name="No payment or card details collected by text",
        source=_ATTENTIVE,
        authority="I/S",
        channels=_SMS,
        countries=_US,
        forbids=frozenset({PAYMENT_BY_REPLY}),
    ),
    ProgramRule(
        id="CP-4",
        name="Order-update consent does not cover cart reminders",
        source=(
            "ecommerce-cart-abandonment-sms.mytcrplus.com (cart reminders are promotional: "
            "they need their own express consent)"
        ),
        authority="S",
        channels=_SMS,
        countries=_US,
        purpose=Purpose.RECOVERY,
    ),
    ProgramRule(
        id="CP-5",
        name="The single text works best within the first hour (advice)",
        source=_ATTENTIVE,
        authority="S",
        channels=_SMS,
        countries=_US,
        best_within=timedelta(minutes=60),
    ),
    ProgramRule(
        id="CP-6",
        name="Marketing opt-out on WhatsApp ('Stop promotions')",
        source=(
            "clickatell.com help centre, 'Opt out of receiving marketing templates from my "
            "business' (setting rolled out from 2024-11-22); WA-9 sources"
        ),
        authority="P",
        channels=_WA,
        opt_out_replies=("stop promotions",),
    ),
    ProgramRule(
        id="CP-7",
        name="WhatsApp per-user marketing limit and re-engagement",
        source=(
            "Meta WhatsApp Business Platform: messaging limits (24-hour customer-service "
            "window; per-user marketing limit, error 131049)"
        ),
        authority="P",
        channels=_WA,
        codes=(
            PlatformCode("131049", "wait", wait=timedelta(hours=24)),
            PlatformCode("131047", "template"),
        ),
    ),
    ProgramRule(
        id="WA-10",
        name="WhatsApp marketing templates paused for US numbers since 2025-04-01",
        source=("AWS End User Messaging templates guide; Twilio and Zoho support notes"),
        authority="P",
        channels=_WA,
        countries=_US,
        blocks=True,
    ),
)

_BY_ID: Final = {rule.id: rule for rule in PROGRAM_RULES}


def program_rule(rule_id: str) -> ProgramRule:
    """The rule with this id; ``KeyError`` names the known ids."""
    try:
        return _BY_ID[rule_id]
    except KeyError:
        known = ", ".join(_BY_ID)
        msg = f"Unknown program rule {rule_id!r}; known rules: {known}"
        raise KeyError(msg) from None


@attrs.frozen
class ProgramRules:
    """The program rules for one channel and one recipient, combined (strictest wins)."""

    channel: Channel
    #: The country the rules were chosen for (``None`` when unknown).
    country: str | None
    #: Ids of the rules that apply, in table order.
    applied: tuple[str, ...] = ()
    #: Ids that would apply but the store turned off.
    disabled: tuple[str, ...] = ()
    max_sends: int | None = None
    deadline: timedelta | None = None
    #: The rule behind ``max_sends`` and ``deadline``.
    limit_rule: str | None = None
    purpose: Purpose | None = None
    purpose_rule: str | None = None
    require_confirmed: bool = False
    confirm_rule: str | None = None
    #: The rule that keeps recovery messages off this channel for this recipient.
    blocked_by: str | None = None
    forbids: Mapping[str, str] = attrs.field(factory=dict)
    codes: Mapping[str, tuple[str, PlatformCode]] = attrs.field(factory=dict)
    opt_out_replies: tuple[str, ...] = ()

    def code(self, code: str | None) -> tuple[str, PlatformCode] | None:
        """The (rule id, treatment) for a platform error code, if a rule names it."""
        return None if code is None else self.codes.get(code)


def _country(phone: PhoneNumber | str | None, country: str | None, treat_as_us: bool) -> str | None:
    number = PhoneNumber.parse(phone) if isinstance(phone, str) else phone
    if number is None:
        return country.upper() if country else None
    if treat_as_us and number.country_code == 1:
        return "US"
    return number.region


@functools.lru_cache(maxsize=1024)
def _combine(channel: Channel, country: str | None, disabled: frozenset[str]) -> ProgramRules:
    applied: list[str] = []
    off: list[str] = []
    values: dict[str, object] = {}
    forbids: dict[str, str] = {}
    codes: dict[str, tuple[str, PlatformCode]] = {}
    replies: list[str] = []
    for rule in PROGRAM_RULES:
        if not rule.applies_to(channel, country):
            continue
        if rule.id in disabled:
            off.append(rule.id)
            continue
        applied.append(rule.id)
        if rule.max_sends is not None:
            current = values.get("max_sends")
            if not isinstance(current, int) or rule.max_sends < current:
                values["max_sends"] = rule.max_sends
                values["limit_rule"] = rule.id
        if rule.deadline is not None:
            current_deadline = values.get("deadline")
            if not isinstance(current_deadline, timedelta) or rule.deadline < current_deadline:
                values["deadline"] = rule.deadline
                values["limit_rule"] = rule.id
        if rule.purpose is not None and "purpose" not in values:
            values["purpose"] = rule.purpose
            values["purpose_rule"] = rule.id
        if rule.require_confirmed and "confirm_rule" not in values:
            values["require_confirmed"] = True
            values["confirm_rule"] = rule.id
        if rule.blocks and "blocked_by" not in values:
            values["blocked_by"] = rule.id
        for what in rule.forbids:
            forbids.setdefault(what, rule.id)
        for treatment in rule.codes:
            codes.setdefault(treatment.code, (rule.id, treatment))
        replies.extend(rule.opt_out_replies)
    return ProgramRules(
        channel=channel,
        country=country,
        applied=tuple(applied),
        disabled=tuple(off),
        forbids=forbids,
        codes=codes,
        opt_out_replies=tuple(replies),
        **values,  # type: ignore[arg-type]
    )


def programs_for(
    channel: Channel | str,
    phone_number: PhoneNumber | str | None,
    *,
    country: str | None = None,
    treat_as_us: bool = False,
    disabled: Iterable[str] = frozenset(),
) -> ProgramRules:
    """The program rules for a recovery message on ``channel`` to this recipient.

    The country comes from the number (``+1`` numbers are told apart by area code:
    a Canadian number is not a US one); ``country`` is used when there is no number.
    ``treat_as_us`` makes every ``+1`` number count as US. ``disabled`` names rule ids
    the store has turned off; an unknown id is an error, so a typo never silently
    keeps a rule on.

    >>> rules = programs_for("sms", "+12125551234")
    >>> rules.max_sends, rules.deadline, rules.limit_rule
    (1, datetime.timedelta(days=2), 'CP-1')
    >>> programs_for("sms", "+14165551234").applied
    ()
    """
    names = frozenset(disabled)
    unknown = sorted(names - _BY_ID.keys())
    if unknown:
        msg = f"Unknown program rule id(s) {unknown}; known rules: {', '.join(_BY_ID)}"
        raise ValueError(msg)
    where = _country(phone_number, country, treat_as_us)
    return _combine(Channel(channel), where, names)


# -- sequences --------------------------------------------------------------------------------
@attrs.frozen
class SequenceFinding:
    """What a program rule will change in a planned sequence, said before it runs."""

    touch: int
    rule: str
    message: str


def lint_sequence(
    sequence: RecoverySequence,
    *,
    us: bool = True,
    fallback: Channel | None = Channel.EMAIL,
    disabled: Iterable[str] = frozenset(),
) -> list[SequenceFinding]:
    """Warn where a sequence plans more texts (or later ones) than US carriers allow.

    Touches with no channel of their own are assumed to go by text, the default
    primary channel. ``fallback`` is the channel later touches move to when the
    customer consented to it; ``None`` means they are skipped.

    >>> from recoverykit import presets
    >>> [f.message for f in lint_sequence(presets.get("sms-three-touch"))][0]
    'touch 2 moves to email: CP-1 allows one cart-reminder text per abandonment'
    """
    if not us:
        return []
    rules = _combine(Channel.SMS, "US", frozenset(disabled))
    if rules.limit_rule is None:
        return []
    findings: list[SequenceFinding] = []
    texts = 0
    for number, touch in enumerate(sequence.touches, start=1):
        if touch.channel not in (None, Channel.SMS):
            continue
        instead = f"moves to {fallback.value}" if fallback is not None else "is skipped"
        if rules.max_sends is not None and texts >= rules.max_sends:
            findings.append(
                SequenceFinding(
                    number,
                    rules.limit_rule,
                    f"touch {number} {instead}: {rules.limit_rule} allows "
                    f"{_count(rules.max_sends)} per abandonment",
                )
            )
            continue
        if rules.deadline is not None and touch.delay.earliest > rules.deadline:
            hours = int(rules.deadline.total_seconds() // 3600)
            findings.append(
                SequenceFinding(
                    number,
                    rules.limit_rule,
                    f"touch {number} {instead}: {rules.limit_rule} allows texts only in the "
                    f"first {hours} h after abandonment",
                )
            )
            continue
        texts += 1
    return findings


def _count(sends: int) -> str:
    return "one cart-reminder text" if sends == 1 else f"{sends} cart-reminder texts"

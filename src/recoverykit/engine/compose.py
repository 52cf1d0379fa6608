"""Choosing the channel and composing the words of one message.

Kept apart from the state machine so the machine reads as a table of decisions,
and this file as the rules of *who can be reached where* and *what we may say*.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from ..errors import MessageNotFound, RecoveryKitError, TemplateMismatch
from ..links import utm_tags, with_query
from ..messages.lint import GuardPolicy, guard
from ..messages.packs import MessagePack, Segment, cart_tier, format_hold_until, message_context
from ..messages.templates import Rendered, Template, render
from ..messages.whatsapp_templates import template_for_send
from ..policies.consent import ConsentAction, ConsentEvent, ConsentLedger, Purpose
from ..policies.discounts import IssuedDiscount, OfferKind
from ..policies.sequence import Touch, TouchPurpose
from ..policies.stock import evolve_checkout, low_stock, spoken_cart, unspeakable
from ..programs import ProgramRules, programs_for
from ..values.model import Channel, Checkout, Customer, Friction, Stage
from ..values.phone import PhoneNumber
from .commands import MessageKind, SendMessage
from .policy import Context, RecoveryPolicy

__all__ = [
    "Refusal",
    "Unsendable",
    "address_for",
    "channel_programs",
    "check_channel",
    "choose_channel",
    "compose_notice",
    "compose_reply",
    "compose_touch",
    "consented",
    "reachable",
]

_GUARD: Final = GuardPolicy()


class Unsendable(RecoveryKitError):
    """A message cannot be composed; the reason becomes a ``Skipped`` note."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


def address_for(customer: Customer, channel: Channel) -> str | None:
    """``customer.address_for(channel)``, for callers written before that method."""
    return customer.address_for(channel)


def channel_programs(customer: Customer, channel: Channel, policy: RecoveryPolicy) -> ProgramRules:
    """The carrier and platform rules for recovery messages to this customer on ``channel``."""
    return _programs(
        channel,
        customer.phone,
        customer.country,
        policy.programs_treat_as_us,
        policy.disabled_rules,
    )


@functools.lru_cache(maxsize=4096)
def _programs(
    channel: Channel,
    phone: str | None,
    country: str | None,
    treat_as_us: bool,
    disabled: frozenset[str],
) -> ProgramRules:
    """``programs_for`` by plain values, memoized: the rules depend on nothing else (the
    number is parsed from its E.164 text, the table is a constant), and one decision
    asks for the same channel's rules several times."""
    return programs_for(
        channel,
        None if phone is None else PhoneNumber.parse(phone),
        country=country,
        treat_as_us=treat_as_us,
        disabled=disabled,
    )


def reachable(customer: Customer, channel: Channel, policy: RecoveryPolicy | None = None) -> bool:
    """Can a recovery message on ``channel`` reach this customer at all?

    WhatsApp cart templates to US numbers are paused by the platform (WA-10); a
    store that turned the rule off by id reaches them again.
    """
    if customer.address_for(channel) is None:
        return False
    phone = customer.phone_number
    if channel is Channel.SMS:
        return phone is not None and phone.can_receive_sms
    if channel is Channel.WHATSAPP:
        if phone is None:
            return False
        disabled = policy.disabled_rules if policy is not None else frozenset()
        treat = policy.programs_treat_as_us if policy is not None else False
        # The country only counts when there is no number, and here there is one.
        rules = _programs(channel, customer.phone, None, treat, frozenset(disabled))
        return rules.blocked_by is None
    return True


def consented(
    ledger: ConsentLedger,
    customer: Customer,
    channel: Channel,
    at: datetime,
    policy: RecoveryPolicy,
) -> bool:
    """A current grant on this channel for this address (SEAMS 7), programs included."""
    return _consent_refusal(ledger, customer, channel, at, policy) is None


@attrs.frozen
class Refusal:
    """Why a channel cannot carry a recovery message now: ``program`` refusals name a rule."""

    reason: str
    detail: str
    rule: str | None = None
    #: The touch may move to another channel (a limit or a block, not missing consent).
    move: bool = False


def _consent_refusal(  # noqa: PLR0917 - a private helper, called in two places
    ledger: ConsentLedger,
    customer: Customer,
    channel: Channel,
    at: datetime,
    policy: RecoveryPolicy,
    programs: ProgramRules | None = None,
) -> Refusal | None:
    address = customer.address_for(channel)
    if address is None:
        return Refusal("no_consent", f"no {channel.value} address")
    rules = programs if programs is not None else channel_programs(customer, channel, policy)
    if rules.purpose is None and not rules.require_confirmed:
        if ledger.allows(customer.id, channel, Purpose.RECOVERY, at, address=address):
            return None
        withdrawn = ledger.withdrawal(customer.id, channel, Purpose.RECOVERY, at, address=address)
        if policy.marketing_consent_ok:
            marketing = ledger.status(customer.id, channel, Purpose.MARKETING, at, address=address)
            # An explicit "no reminders" wins over every marketing grant, older or newer
            # (SEAMS 7). A stop of marketing as a whole (WhatsApp's setting, 131050)
            # withdrew reminders only as part of marketing: a newer marketing grant (the
            # resume) lifts it with the rest.
            if marketing.allowed and (
                withdrawn is None
                or _lifted_by(marketing.decided_by, withdrawn, ledger, customer, address)
            ):
                return None
        if withdrawn is not None:
            return Refusal(
                "no_consent",
                f"recovery messages on {channel.value} were withdrawn; no marketing grant "
                "since covers them",
            )
        return Refusal("no_consent", f"no {channel.value} consent")
    status = ledger.status(
        customer.id,
        channel,
        Purpose.RECOVERY,
        at,
        address=address,
        require_confirmed=rules.require_confirmed,
    )
    if status.allowed:
        return None
    if status.pending_confirmation and rules.confirm_rule is not None:
        return Refusal(
            "program",
            f"{rules.confirm_rule}: the {channel.value} grant is not confirmed by double "
            "opt-in yet",
            rules.confirm_rule,
        )
    other = [
        purpose.value
        for purpose in (Purpose.MARKETING, Purpose.TRANSACTIONAL)
        if ledger.allows(customer.id, channel, purpose, at, address=address)
    ]
    if other:
        rule = rules.confirm_rule or rules.purpose_rule
        return Refusal(
            "program",
            f"{rule}: a {' and '.join(other)} grant does not cover cart reminders by "
            f"{channel.value}; they need a recovery grant confirmed by double opt-in",
            rule,
        )
    return Refusal("no_consent", f"no {channel.value} consent")


def _lifted_by(
    grant: ConsentEvent | None,
    withdrawn: ConsentEvent,
    ledger: ConsentLedger,
    customer: Customer,
    address: str,
) -> bool:
    """Whether a marketing ``grant`` lifts the recovery revocation ``withdrawn``.

    Only a newer grant, and only when the revocation was part of a stop of marketing:
    marketing was revoked at the same instant from the same source.
    """
    if grant is None or withdrawn.channel is None or grant.at <= withdrawn.at:
        return False
    then = ledger.status(
        customer.id, withdrawn.channel, Purpose.MARKETING, withdrawn.at, address=address
    ).decided_by
    return (
        then is not None
        and then.action is ConsentAction.REVOKED
        and then.at == withdrawn.at
        and then.source == withdrawn.source
    )


def check_channel(
    customer: Customer,
    channel: Channel,
    policy: RecoveryPolicy,
    context: Context,
    at: datetime,
    *,
    sends: Mapping[Channel, int] | None = None,
    abandoned_at: datetime | None = None,
) -> Refusal | None:
    """``None`` when a recovery message may go on ``channel`` at ``at``, else why not.

    ``sends`` (recovery messages already sent per channel for this abandonment) and
    ``abandoned_at`` let the per-abandonment limits and deadlines count (CP-1).
    """
    rules, refusal = _gate(
        channel,
        customer.phone,
        customer.country,
        customer.address_for(channel) is None,
        policy.programs_treat_as_us,
        policy.disabled_rules,
    )
    if refusal is not None:
        return refusal
    assert rules is not None
    refusal = _consent_refusal(context.consent, customer, channel, at, policy, rules)
    if refusal is not None:
        return refusal
    return program_limit(rules, channel, at, sends=sends, abandoned_at=abandoned_at)


@functools.lru_cache(maxsize=4096)
def _gate(  # noqa: PLR0917 - positional so lru_cache keys stay simple
    channel: Channel,
    phone: str | None,
    country: str | None,
    no_address: bool,
    treat_as_us: bool,
    disabled: frozenset[str],
) -> tuple[ProgramRules | None, Refusal | None]:
    """What ``check_channel`` decides before it asks the ledger: the channel's program
    rules for this recipient and a refusal that holds whatever the consent says (no
    address, a platform block, a number the channel cannot reach). Memoized: these are
    functions of the recipient's number, country and address alone, and of the policy's
    program switches."""
    if no_address:
        return None, Refusal("no_consent", f"no {channel.value} address")
    rules = _programs(channel, phone, country, treat_as_us, disabled)
    if rules.blocked_by is not None:
        return rules, Refusal(
            "program",
            f"{rules.blocked_by}: {channel.value} cart templates are paused for this number",
            rules.blocked_by,
            move=True,
        )
    number = None if phone is None else PhoneNumber.parse(phone)
    if channel is Channel.SMS:
        usable = number is not None and number.can_receive_sms
    elif channel is Channel.WHATSAPP:
        usable = (
            number is not None
            and _programs(channel, phone, None, treat_as_us, disabled).blocked_by is None
        )
    else:
        usable = True
    if not usable:
        return rules, Refusal("no_consent", f"{channel.value} cannot reach this number")
    return rules, None


def program_limit(
    rules: ProgramRules,
    channel: Channel,
    at: datetime,
    *,
    sends: Mapping[Channel, int] | None,
    abandoned_at: datetime | None,
) -> Refusal | None:
    """The per-abandonment count and deadline of ``rules`` (CP-1), as a refusal if reached."""
    rule = rules.limit_rule
    if rule is None:
        return None
    if rules.max_sends is not None and sends is not None:
        done = sends.get(channel, 0)
        if done >= rules.max_sends:
            return Refusal(
                "program",
                f"{rule}: {done} {channel.value} recovery message(s) already sent for this "
                f"abandonment; the limit is {rules.max_sends}",
                rule,
                move=True,
            )
    deadline = rules.deadline
    if deadline is not None and abandoned_at is not None and at > abandoned_at + deadline:
        return Refusal(
            "program",
            f"{rule}: {channel.value} recovery messages may go out only in the first "
            f"{_hours(deadline)} h after abandonment",
            rule,
            move=True,
        )
    return None


def _hours(span: timedelta) -> int:
    return int(span.total_seconds() // 3600)


def choose_channel(
    customer: Customer,
    policy: RecoveryPolicy,
    context: Context,
    at: datetime,
    *,
    exclude: frozenset[Channel] = frozenset(),
    sends: Mapping[Channel, int] | None = None,
    abandoned_at: datetime | None = None,
    refusals: list[Refusal] | None = None,
) -> Channel | None:
    """The first channel in the policy's order that the customer consented to and can receive.

    When ``refusals`` is given, the reason each skipped channel was refused is added to it.
    """
    phone = customer.phone_number
    region = phone.region if phone is not None else customer.country
    for channel in policy.channel_order(region):
        if channel in exclude:
            continue
        refusal = check_channel(
            customer, channel, policy, context, at, sends=sends, abandoned_at=abandoned_at
        )
        if refusal is None:
            return channel
        if refusals is not None:
            refusals.append(refusal)
    return None


def _segment(customer: Customer) -> Segment:
    return Segment.RETURNING if customer.returning else Segment.NEW


def _truthful(checkout: Checkout, now: datetime, spoken: Checkout | None) -> Checkout:
    """The checkout as it may be spoken of now: in-stock items and their total only,
    and a passed hold is no longer a deadline. ``spoken`` is ``spoken_cart(checkout)``
    when the caller has it already."""
    if spoken is None:
        spoken = spoken_cart(checkout)
    if spoken is None:
        raise Unsendable("unavailable", unspeakable(checkout))
    if spoken.hold_until is not None and spoken.hold_until <= now:
        return evolve_checkout(spoken, hold_until=None)  # no hold is always valid
    return spoken


def _link(checkout: Checkout, channel: Channel, touch_number: int, policy: RecoveryPolicy) -> str:
    """The cart link, tagged so the store's analytics see which touch brought the visit.

    SMS links stay bare: every character costs room there (SEAMS 12).
    """
    if channel is Channel.SMS or policy.utm_campaign is None:
        return checkout.link
    return _tagged(checkout.link, channel, touch_number, policy.utm_campaign)


@functools.lru_cache(maxsize=1024, typed=True)
def _tagged(link: str, channel: Channel, touch_number: int, campaign: str) -> str:
    """Memoized: a touch renders in each pass of a decision, and the tagged link is a
    function of these four values alone (typed, so ``True`` is refused as a touch
    number however often 1 was asked)."""
    return with_query(link, utm_tags(touch_number, channel, campaign=campaign))


def _truth_fields(
    values: dict[str, str],
    spoken: Checkout,
    *,
    policy: RecoveryPolicy,
    discount: IssuedDiscount | None,
    channel: Channel,
    zone: str,
    now: datetime,
    offer: OfferKind | None = None,
) -> None:
    """Add the fields that are true only now: units left, the code and its deadline, the gift."""
    customer = spoken.customer
    if policy.stock_lines:
        top = max(spoken.items, key=lambda item: item.unit_price.amount)
        left = low_stock(
            top, now, fresh_for=policy.stock_fresh_for, at_most=policy.low_stock_at_most
        )
        if left is not None:
            values["stock_left"] = str(left)
    if discount is not None:
        loc = customer.locale.replace("-", "_")
        values["discount_code"] = discount.code
        values["discount_expiry"] = format_hold_until(
            discount.expires_at, zone, loc, plain_spaces=channel is Channel.SMS
        )
    if offer is OfferKind.GIFT and policy.discounts is not None and policy.discounts.gift:
        values["gift"] = policy.discounts.gift


def _guard_errors(rendered: Rendered, store_name: str, hold_until_known: bool) -> str | None:
    """The guard's errors for a rendered touch, as one line (``None`` when it may go).

    Memoized: a runner decides a touch again with fresh stock and then with a code,
    and the text is often the same each time. The key holds everything the guard
    reads (the segment count is a function of the text and channel; the locale is not
    read), as plain strings whose hashes Python keeps, so a hit costs no hashing of
    the rendered value's fields; the guard policy here is a constant.
    """
    key = (
        rendered.text,
        rendered.key,
        rendered.channel.value,
        rendered.details,
        store_name,
        hold_until_known,
    )
    found = _GUARDED.get(key, _UNSEEN)
    if found is _UNSEEN:
        if len(_GUARDED) >= _GUARDED_LIMIT:
            _GUARDED.clear()
        found = _GUARDED[key] = _guard_line(rendered, store_name, hold_until_known)
    return found  # type: ignore[return-value]


_GUARDED: Final[dict[tuple[object, ...], str | None]] = {}
_GUARDED_LIMIT: Final = 1024
_UNSEEN: Final = object()


def _guard_line(rendered: Rendered, store_name: str, hold_until_known: bool) -> str | None:
    problems = [
        violation
        for violation in guard(
            rendered, _GUARD, store_name=store_name, hold_until_known=hold_until_known
        )
        if violation.level == "error"
    ]
    if not problems:
        return None
    return ", ".join(f"{v.code} {v.message}" for v in problems)


def compose_touch(
    *,
    checkout: Checkout,
    touch_number: int,
    touch: Touch,
    channel: Channel,
    attempt: int,
    zone: str,
    policy: RecoveryPolicy,
    variant: str | None,
    context: Context,
    now: datetime,
    discount: IssuedDiscount | None = None,
    spoken: Checkout | None = None,
    offer: OfferKind | None = None,
    payment_words: bool = True,
) -> SendMessage:
    """Render touch ``touch_number`` (1-based) for ``channel``; ``Unsendable`` if it cannot go.

    With an ``offer`` (``discount`` alone means a code off the price), the words come
    from the pack entry ``<message>.<suffix>`` (``final.discount``, ``final.gift``...);
    the caller falls back to the plain entry when the pack has none. A first touch for
    a checkout left at payment uses ``<message>.payment`` (the card and 3-D Secure
    line) where the pack has it, unless ``payment_words`` is off. ``spoken`` is
    ``spoken_cart(checkout)`` when the caller has worked it out already.
    """
    customer = checkout.customer
    pack = policy.pack_for(variant)
    spoken = _truthful(checkout, now, spoken)
    if offer is None and discount is not None:
        offer = OfferKind.CODE
    key = touch.message if offer is None else f"{touch.message}.{offer.pack_suffix}"
    if payment_words and offer is None and touch_number == 1 and payment_trouble(checkout):
        key = _payment_key(pack, key, channel, customer, context.window_open(channel, now))
    try:
        template = pack.find(
            key,
            channel,
            customer.locale,
            segment=_segment(customer),
            tier=cart_tier(spoken.total),
        )
        help_line = None
        if touch.purpose is TouchPurpose.HELP or key.endswith(f".{PAYMENT_SUFFIX}"):
            help_line = pack.friction_line(checkout.friction, customer.locale, checkout.stage)
        context_values = message_context(
            spoken,
            store_name=policy.store_name,
            channel=channel,
            zone=zone,
            link=_link(spoken, channel, touch_number, policy),
            help_line=help_line,
        )
        _truth_fields(
            context_values,
            spoken,
            policy=policy,
            discount=discount,
            channel=channel,
            zone=zone,
            now=now,
            offer=offer,
        )
        rendered = render(template, context_values)
    except RecoveryKitError as exc:
        raise Unsendable("template", str(exc)) from None
    problems = _guard_errors(rendered, policy.store_name, spoken.hold_until is not None)
    if problems:
        raise Unsendable("guard", problems)
    payload = None
    if channel is Channel.WHATSAPP and not context.window_open(channel, now):
        payload = _template_payload(pack, template, context_values, rendered, policy, customer)
    address = customer.address_for(channel)
    assert address is not None
    return SendMessage(
        idempotency_key=f"{checkout.id}:touch{touch_number}:{attempt}",
        checkout_id=checkout.id,
        customer_id=customer.id,
        channel=channel,
        to=address,
        kind=MessageKind.TOUCH,
        key=key,
        text=rendered.text,
        locale=customer.locale,
        touch=touch_number,
        attempt=attempt,
        segments=rendered.segments,
        whatsapp_payload=payload,
        discount_code=None if discount is None else discount.code,
    )


def _template_payload(  # noqa: PLR0917 - a private helper with one caller
    pack: MessagePack,
    template: Template,
    values: Mapping[str, str],
    rendered: Rendered,
    policy: RecoveryPolicy,
    customer: Customer,
) -> dict[str, Any]:
    """The approved template carrying exactly the checked text, outside the service window.

    The pack entry is the template (``messages.whatsapp_templates``); a template the
    store approved with other words, parameters or language refuses the send.
    """
    if pack.whatsapp_template(template.key, template.locale) is None:
        raise Unsendable(
            "platform",
            f"no approved WhatsApp template for {template.key!r} ({customer.locale}) "
            "and the 24 h service window is closed",
        )
    phone = customer.phone_number
    assert phone is not None
    try:
        send = template_for_send(
            pack, template, values, store_name=policy.store_name, to=phone.digits
        )
    except TemplateMismatch as exc:
        raise Unsendable("template_mismatch", str(exc)) from None
    except RecoveryKitError as exc:
        raise Unsendable("template", str(exc)) from None
    if send.text != rendered.text:  # the round trip the tests prove; never send other words
        raise Unsendable(
            "template_mismatch",
            f"template {send.template.name!r} would read {send.text!r:.80}, "
            f"not the checked {rendered.text!r:.80}",
        )
    return send.payload


#: The suffix of the first touch's words for a checkout left at payment.
PAYMENT_SUFFIX: Final = "payment"


def payment_trouble(checkout: Checkout) -> bool:
    """Whether the customer probably left over the payment: the card, 3-D Secure or the
    bank app. Told by the store (``payment_failed``) or read from the stage reached."""
    if checkout.friction is not None:
        return checkout.friction is Friction.PAYMENT_FAILED
    return checkout.stage is Stage.PAYMENT


def _payment_key(
    pack: MessagePack, key: str, channel: Channel, customer: Customer, window_open: bool
) -> str:
    """``<key>.payment`` where the pack words it for this channel (and, for WhatsApp
    outside the service window, maps it to an approved template); else ``key``."""
    payment = f"{key}.{PAYMENT_SUFFIX}"
    try:
        pack.find(payment, channel, customer.locale)
    except MessageNotFound:
        return key
    unapproved = pack.whatsapp_template(payment, customer.locale) is None
    if channel is Channel.WHATSAPP and not window_open and unapproved:
        return key
    return payment


def compose_notice(
    *,
    key: str,
    customer: Customer,
    channel: Channel,
    address: str,
    policy: RecoveryPolicy,
    event_id: str,
) -> SendMessage:
    """A reply that answers the customer outside any recovery (SEAMS 1).

    A STOP from someone whose recoveries are long over still gets its one
    confirmation (FCC-4); the wording may name only the store, since there is no
    cart to speak of.
    """
    pack = policy.pack_for(None)
    try:
        template = pack.find(key, channel, customer.locale, segment=_segment(customer))
        rendered = render(template, {"store_name": policy.store_name})
    except RecoveryKitError as exc:
        raise Unsendable("template", str(exc)) from None
    return _reply_message(
        f"customer:{customer.id}:reply:{event_id}", "", customer, channel, address, key, rendered
    )


def _reply_message(  # noqa: PLR0917 - a private constructor with two callers
    idempotency_key: str,
    checkout_id: str,
    customer: Customer,
    channel: Channel,
    address: str,
    key: str,
    rendered: Rendered,
) -> SendMessage:
    return SendMessage(
        idempotency_key=idempotency_key,
        checkout_id=checkout_id,
        customer_id=customer.id,
        channel=channel,
        to=address,
        kind=MessageKind.REPLY,
        key=key,
        text=rendered.text,
        locale=customer.locale,
        segments=rendered.segments,
    )


def compose_reply(
    *,
    key: str,
    checkout: Checkout,
    channel: Channel,
    zone: str,
    policy: RecoveryPolicy,
    variant: str | None,
    event_id: str,
) -> SendMessage:
    """A reply to the customer's own message (SEAMS 1): sent at once, never marketing."""
    customer = checkout.customer
    pack = policy.pack_for(variant)
    address = customer.address_for(channel)
    if address is None:
        raise Unsendable("address", f"no {channel.value} address for customer {customer.id!r}")
    try:
        template = pack.find(key, channel, customer.locale, segment=_segment(customer))
        values = message_context(checkout, store_name=policy.store_name, channel=channel, zone=zone)
        rendered = render(template, values)
    except RecoveryKitError as exc:
        raise Unsendable("template", str(exc)) from None
    return _reply_message(
        f"{checkout.id}:reply:{event_id}", checkout.id, customer, channel, address, key, rendered
    )

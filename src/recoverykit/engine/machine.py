"""The recovery engine: one pure function from (state, event) to a decision.

``decide`` never reads the clock, never performs I/O and never raises for an
event it does not expect: a late, duplicate or out-of-order webhook becomes an
``Ignored`` note and the state stays as it was. Which events a status accepts,
and where they may lead, is the ``TRANSITIONS`` table in ``_state.py``; this
module holds what happens along each edge.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Final, assert_never

import attrs

from ..errors import CurrencyMismatch, TransitionError
from ..jurisdictions import ContactRules
from ..policies.caps import ContactHistory, ContactRecord, SendKind
from ..policies.consent import (
    ConsentAction,
    ConsentEvent,
    Purpose,
    grant_for,
    provider_revocations,
    revocation_for,
)
from ..policies.discounts import (
    DiscountPolicy,
    DiscountRequest,
    IssuedDiscount,
    OfferKind,
    eligibility_refusal,
    guard_refusal,
)
from ..policies.replies import Intent
from ..policies.resolve import resolve_zones
from ..policies.schedule import earliest_send
from ..policies.sequence import LAST_TOUCH_MAX, Condition, Touch
from ..policies.stock import fresh_cart, items_total, spoken_cart, unspeakable
from ..programs import SERVICE_WINDOW
from ..values.model import Channel, Checkout
from ..values.text import first_name_problem
from ..values.time import require_aware
from ..values.zones import get_zone
from .commands import (
    Command,
    Finish,
    FinishReason,
    HandOff,
    HandOffReason,
    MessageKind,
    RecordConsent,
    ScheduleWakeup,
    SendMessage,
)
from .compose import (
    Refusal,
    Unsendable,
    channel_programs,
    check_channel,
    choose_channel,
    compose_reply,
    compose_touch,
    payment_trouble,
)
from .conversation import ConversationLine, Direction, remember
from .events import (
    CartEmptied,
    CartUpdated,
    CheckoutAbandoned,
    ConsentChanged,
    Event,
    LinkClicked,
    MessageDelivered,
    MessageFailed,
    MessageRead,
    OrderPlaced,
    RecoveryResumed,
    ReplyReceived,
    WakeupDue,
)
from .notes import DeferReason, Deferred, Ignored, IgnoreReason, Info, Note, Skipped
from .plan import compiled
from .policy import Context, RecoveryPolicy
from .state import TRANSITIONS, RecoveryState, RecoveryStatus, SentTouch

__all__ = ["Decision", "decide", "explain"]

_S = RecoveryStatus
#: How many event ids a state remembers to recognise replays.
_SEEN_LIMIT: Final = 64
#: How many notes a state keeps for ``explain`` (the event log keeps them all).
_NOTES_LIMIT: Final = 200
#: Menu digits offered in WhatsApp help messages, and the pack key each answers with.
MENU: Final = {1: "menu.shipping", 2: "menu.payment", 3: "menu.items"}


@attrs.frozen
class Decision:
    """What ``decide`` concluded: the new state, what to do, and why."""

    state: RecoveryState
    commands: tuple[Command, ...] = ()
    notes: tuple[Note, ...] = ()
    #: The touch being sent may carry a discount: ask for a code and decide again
    #: (``recoverykit.offer_discount``). Without that, the touch goes as it is.
    discount_request: DiscountRequest | None = None


# -- the entry point --------------------------------------------------------------------
def decide(
    state: RecoveryState | None,
    event: Event,
    *,
    now: datetime,
    policy: RecoveryPolicy,
    context: Context,
) -> Decision:
    """Apply ``event`` to ``state`` at ``now`` and say what to do next.

    ``state`` is ``None`` before a recovery starts; only ``CheckoutAbandoned``
    starts one. The result's state is what to store; its commands are what to
    execute, in order; its notes explain every deferral, skip and ignored event.
    """
    require_aware(now, "now")
    if state is None:
        state = _blank(event)
    name = type(event).__name__
    # Wake-ups are the engine's own timer, judged by ``wakeup_at``; only webhooks are
    # remembered by id (a wake-up may legitimately come twice for the same instant).
    remember = not isinstance(event, WakeupDue)
    if remember and event.id in state.seen:
        return _ignore(state, IgnoreReason.DUPLICATE, name, "already applied")
    allowed = TRANSITIONS.get((state.status, type(event)))
    if allowed is None:
        reason = IgnoreReason.FINISHED if state.status is _S.FINISHED else IgnoreReason.UNKNOWN
        return _ignore(state, reason, name, f"not expected while {state.status.value}")
    step = _Step(state, policy, context, now)
    _apply(step, event)
    final: dict[str, object] = {}
    if step.changed:
        final["updated_at"] = now
        if remember:
            final["seen"] = (*state.seen, event.id)[-_SEEN_LIMIT:]
    new_state = step.result(**final)
    if new_state.status not in allowed:  # pragma: no cover - guarded by the transition tests
        msg = f"{name} moved {state.status.value} to {new_state.status.value}, not in TRANSITIONS"
        raise TransitionError(msg)
    return Decision(new_state, tuple(step.commands), tuple(step.notes), step.discount_request)


def _blank(event: Event) -> RecoveryState:
    if isinstance(event, CheckoutAbandoned):
        return RecoveryState(checkout_id=event.checkout.id, customer_id=event.checkout.customer.id)
    checkout_id = getattr(event, "checkout_id", None) or ""
    customer_id = getattr(event, "customer_id", None) or ""
    return RecoveryState(checkout_id=checkout_id, customer_id=customer_id)


def _ignore(state: RecoveryState, reason: IgnoreReason, event: str, detail: str) -> Decision:
    note = Ignored(reason, event, detail)
    return Decision(attrs.evolve(state, notes=(*state.notes, note)[-_NOTES_LIMIT:]), (), (note,))


_STATE_FIELDS: Final = tuple(field.name for field in attrs.fields(RecoveryState))
_set = object.__setattr__


def _evolve(state: RecoveryState, changes: dict[str, object]) -> RecoveryState:
    """``attrs.evolve`` for the hot path: ``RecoveryState`` has no validators or
    converters, so copying its slots is the same thing at a fraction of the cost."""
    new = object.__new__(RecoveryState)
    for name in _STATE_FIELDS:
        _set(new, name, changes[name] if name in changes else getattr(state, name))
    return new


class _Step:
    """Accumulates one decision: the evolving state, commands and notes."""

    __slots__ = (
        "_changes",
        "_state",
        "changed",
        "commands",
        "context",
        "discount_request",
        "notes",
        "now",
        "plan",
        "policy",
    )

    def __init__(
        self, state: RecoveryState, policy: RecoveryPolicy, context: Context, now: datetime
    ) -> None:
        self._state = state
        self._changes: dict[str, object] = {}
        self.policy = policy
        self.plan = compiled(policy)
        self.context = context
        self.now = now
        self.commands: list[Command] = []
        self.notes: list[Note] = []
        self.changed = True
        self.discount_request: DiscountRequest | None = None

    def note(self, note: Note) -> None:
        self.notes.append(note)

    def emit(self, command: Command) -> None:
        self.commands.append(command)

    @property
    def state(self) -> RecoveryState:
        """The state with every pending change applied (evolved once, when read)."""
        if self._changes:
            self._state = _evolve(self._state, self._changes)
            self._changes = {}
        return self._state

    def get(self, name: str) -> Any:
        """One field of the state as ``state`` would show it, without evolving the state:
        reading a field or two between updates need not copy every field."""
        changes = self._changes
        return changes[name] if name in changes else getattr(self._state, name)

    def update(self, **changes: object) -> None:
        self._changes.update(changes)

    def ignore(self, reason: IgnoreReason, event: Event, detail: str = "") -> None:
        self.note(Ignored(reason, type(event).__name__, detail))
        self.changed = False

    def schedule(self, at: datetime) -> None:
        due = self.get("optin_due")
        if due is not None and due < at and self.get("status") is _S.ACTIVE:
            at = due  # the double opt-in request waits for an earlier moment
        at = max(at, self.now)
        self.update(wakeup_at=at)
        self.emit(ScheduleWakeup(self.get("checkout_id"), at))

    def finish(self, reason: FinishReason) -> None:
        changes: dict[str, object] = {
            "status": _S.FINISHED,
            "finish_reason": reason,
            "finished_at": self.now,
            "wakeup_at": None,
            "optin_due": None,
        }
        if reason is FinishReason.EXPIRED:
            # Personal data goes when its retention ends: the cart and the words.
            changes["checkout"] = None
            changes["conversation"] = ()
        self.update(**changes)
        self.emit(Finish(self.get("checkout_id"), reason))

    def result(self, **final: object) -> RecoveryState:
        """The new state: pending changes, the notes and ``final`` applied in one evolve."""
        if self.notes:
            notes = self._changes.get("notes", self._state.notes)
            assert isinstance(notes, tuple)
            final["notes"] = (*notes, *self.notes)[-_NOTES_LIMIT:]
        self._changes.update(final)
        return self.state


def _apply(step: _Step, event: Event) -> None:
    match event:
        case CheckoutAbandoned():
            _start(step, event)
        case WakeupDue():
            _wakeup(step, event)
        case OrderPlaced():
            step.finish(FinishReason.ORDERED)
        case CartEmptied():
            _cart_emptied(step, event)
        case CartUpdated():
            _cart_updated(step, event)
        case ReplyReceived():
            _reply(step, event)
        case MessageDelivered() | MessageRead():
            _receipt(step, event)
        case MessageFailed():
            _failed(step, event)
        case LinkClicked():
            if step.state.clicked:
                step.ignore(IgnoreReason.DUPLICATE, event, "link already clicked")
            else:
                step.update(clicked=True)
        case ConsentChanged():
            _consent_changed(step, event)
        case RecoveryResumed():
            _resume(step, "a person handed the recovery back")
        case _:  # pragma: no cover - exhaustiveness is checked by mypy
            assert_never(event)


# -- start ---------------------------------------------------------------------------------
def _start(step: _Step, event: CheckoutAbandoned) -> None:
    checkout = event.checkout
    policy = step.policy
    variant = policy.variant_for(checkout.id)
    variant_name = None if variant is None else variant.name
    sequence = policy.sequence_for(variant_name)
    resolution = resolve_zones(checkout.customer)
    step.update(
        status=_S.ACTIVE,
        checkout_id=checkout.id,
        customer_id=checkout.customer.id,
        checkout=checkout,
        sequence=sequence.name,
        sequence_version=sequence.version,
        variant=variant_name,
        zones=resolution.zones,
        zone_source=resolution.source.value,
    )
    name = checkout.customer.first_name
    name_problem = first_name_problem(name) if name is not None and name.strip() else None
    if name_problem is not None:
        step.note(Info("first_name", f"not used in messages ({name_problem}); no-name wording"))
    if policy.in_holdout(checkout.id):
        step.update(status=_S.HOLDOUT)
        step.note(Info("holdout", "held out to measure what messages add; never messaged"))
        step.schedule(checkout.abandoned_at + policy.retention)
        return
    refusals: list[Refusal] = []
    channel = choose_channel(
        checkout.customer,
        policy,
        step.context,
        step.now,
        sends=_sends(step.get("sent")),
        abandoned_at=checkout.abandoned_at,
        refusals=refusals,
    )
    asked = (
        policy.request_double_optin
        and _double_optin_pending(step, checkout, step.now)
        and _ask_double_optin(step, checkout)
    )
    if channel is None and not asked:
        program = _program_refusal(refusals)
        if program is not None:
            step.note(Skipped(1, "program", program.detail))
            step.finish(FinishReason.PROGRAM_LIMIT if program.move else FinishReason.NO_CONSENT)
            return
        step.note(Skipped(1, "no_consent", "no channel with consent that can reach the customer"))
        step.finish(FinishReason.NO_CONSENT)
        return
    step.update(channel=channel)
    _plan_next(step)


def _sends(sent_touches: tuple[SentTouch, ...]) -> dict[Channel, int]:
    """Recovery messages handed to each channel for this abandonment, failed ones included:
    a program limit counts what was sent, not what arrived."""
    counts: dict[Channel, int] = {}
    for sent in sent_touches:
        counts[sent.channel] = counts.get(sent.channel, 0) + 1
    return counts


def _program_refusal(refusals: Iterable[Refusal]) -> Refusal | None:
    return next((refusal for refusal in refusals if refusal.reason == "program"), None)


def _double_optin_pending(step: _Step, checkout: Checkout, at: datetime) -> bool:
    """A text grant for recovery exists but waits for its double opt-in (CP-2)."""
    customer = checkout.customer
    rules = channel_programs(customer, Channel.SMS, step.policy)
    if not rules.require_confirmed or customer.phone is None:
        return False
    status = step.context.consent.status(
        customer.id,
        Channel.SMS,
        Purpose.RECOVERY,
        at,
        address=customer.phone,
        require_confirmed=True,
    )
    return status.pending_confirmation


def _ask_double_optin(step: _Step, checkout: Checkout) -> bool:
    """Send the double opt-in request (pack key ``double_optin``), or plan it for later.

    Nobody asked for it, so it is no reply (SEAMS 1): it goes out like a touch, at the
    first moment the contact hours of every candidate zone and the caps allow, and
    counts against the caps. False when it cannot go at all.
    """
    state = step.state
    when = earliest_send(
        step.now,
        state.zones,
        _rules(state, checkout, step.policy),
        _delivered_history(state, _history(step)),
        channel=Channel.SMS,
    )
    if when.at is None:
        step.update(optin_due=None)
        step.note(Info("double_optin", "no request sent: no allowed hour in the next 14 days"))
        return False
    zone = state.zones[0] if state.zones else None
    if when.at > step.now:
        step.update(optin_due=when.at)
        rules = ", ".join(dict.fromkeys(move.rule for move in when.moves))
        step.note(
            Info("double_optin", f"the request waits until {_local(when.at, zone)} ({rules})")
        )
        return True
    try:
        reply = compose_reply(
            key="double_optin",
            checkout=checkout,
            channel=Channel.SMS,
            zone=zone or "UTC",
            policy=step.policy,
            variant=state.variant,
            event_id="double_optin",
        )
    except Unsendable as exc:
        step.update(optin_due=None)
        step.note(Info("double_optin", f"no request sent: {exc.detail}"))
        return False
    message = attrs.evolve(
        reply, kind=MessageKind.REQUEST, idempotency_key=f"{checkout.id}:double_optin"
    )
    step.update(optin_due=None, optin_sent_at=step.now)
    _said(step, message)
    step.emit(message)
    step.note(Info("double_optin", "asked the customer to confirm cart-reminder texts (CP-2)"))
    return True


def _confirmation_wait(step: _Step, checkout: Checkout) -> datetime | None:
    """Until when a touch with no channel waits for the double opt-in answer, if it does.

    Only while the request is due or out and the text grant still waits for its
    confirmation: until the request goes, then until the program's deadline for texts
    (CP-1, 48 h after abandonment) for the customer's "YES".
    """
    due: datetime | None = step.get("optin_due")
    if due is None and step.get("optin_sent_at") is None:
        return None
    if not _double_optin_pending(step, checkout, step.now):
        return None
    if due is not None:
        return due
    deadline = channel_programs(checkout.customer, Channel.SMS, step.policy).deadline
    until = checkout.abandoned_at + (deadline if deadline is not None else 2 * _DAY)
    return until if until > step.now else None


def _history(step: _Step) -> ContactHistory:
    """The customer's contact history with the capped messages this decision already sent."""
    history = step.context.history
    for command in step.commands:
        if isinstance(command, SendMessage) and command.kind.capped:
            history = history.add(
                ContactRecord(step.now, command.channel, command.checkout_id, SendKind.TOUCH)
            )
    return history


def _plan_next(step: _Step) -> None:
    """Schedule the wake-up for ``state.next_touch`` (or the end of the grace period)."""
    sequence = step.plan.sequence(step.get("variant"))
    next_touch: int = step.get("next_touch")
    if next_touch >= len(sequence.touches):
        sent: tuple[SentTouch, ...] = step.get("sent")
        base = sent[-1].at if sent else step.now
        step.schedule(base + step.policy.grace)
        return
    step.schedule(_planned_at(step, next_touch))


def _planned_at(step: _Step, index: int) -> datetime:
    """When touch ``index`` (0-based) is planned, before hours and caps move it: its own
    delay after abandonment, whatever became of the touches before it."""
    checkout: Checkout | None = step.get("checkout")
    assert checkout is not None
    return step.plan.planned_at(
        step.get("variant"), index, checkout.abandoned_at, checkout.id, checkout.total
    )


# -- wake-ups ------------------------------------------------------------------------------
def _wakeup(step: _Step, event: WakeupDue) -> None:
    state = step.state
    if state.wakeup_at is not None and step.now < state.wakeup_at:
        step.ignore(IgnoreReason.DUPLICATE, event, "a stale wake-up; the next one is later")
        return
    checkout = state.checkout
    if checkout is None or step.now >= checkout.abandoned_at + step.policy.retention:
        step.finish(FinishReason.EXPIRED)
        return
    if state.status is _S.PAUSED:
        paused_at = state.paused_at or step.now
        timeout = step.policy.handoff_timeout
        if timeout is None or step.now < paused_at + timeout:
            step.schedule(_pause_until(step, checkout, paused_at))
            return
        hours = (step.now - paused_at) / _HOUR
        _resume(step, f"resumed after {hours:g} h without an answer from the store")
        state = step.state
        if state.wakeup_at is not None and step.now < state.wakeup_at:
            return
    elif state.status is not _S.ACTIVE:
        # Held out: the only scheduled wake-up is the retention limit.
        step.schedule(checkout.abandoned_at + step.policy.retention)
        return
    if state.optin_due is not None and step.now >= state.optin_due:
        if _double_optin_pending(step, checkout, step.now):
            _ask_double_optin(step, checkout)
        else:
            step.update(optin_due=None)
            step.note(Info("double_optin", "no request sent: nothing waits for confirmation"))
    _next_touch(step, checkout)


def _next_touch(step: _Step, checkout: Checkout) -> None:
    policy = step.policy
    sequence = step.plan.sequence(step.state.variant)
    deadline = checkout.abandoned_at + LAST_TOUCH_MAX
    while True:
        state = step.state
        index = state.next_touch
        if index >= len(sequence.touches):
            step.finish(FinishReason.SEQUENCE_DONE)
            return
        number = index + 1
        touch = sequence.touches[index]
        due_at = _planned_at(step, index)
        if step.now < due_at:
            # A touch skipped just before (no consent, nothing to say, a condition) must
            # not pull this one forward: it keeps its own delay.
            step.schedule(due_at)
            return
        if step.now > deadline:
            step.note(Skipped(number, "expired", "more than 7 days after abandonment"))
            step.update(next_touch=len(sequence.touches))
            continue
        if touch.condition is Condition.PREVIOUS_UNREAD:
            unmet = _unread_condition(step, state)
            if unmet is not None:
                step.note(Skipped(number, "condition", unmet))
                step.update(next_touch=index + 1, attempt=0)
                continue
        skip: frozenset[Channel] = frozenset()
        while True:
            channel, refusals = _touch_channel(step, touch.channel, checkout, skip)
            if channel is None:
                break
            when = earliest_send(
                step.now,
                state.zones,
                _rules(state, checkout, policy),
                _delivered_history(state, _history(step)),
                channel=channel,
            )
            late = _past_program_deadline(step, checkout, channel, when.at)
            if late is None:
                break
            skip |= {channel}
        if channel is None:
            program = _program_refusal(refusals)
            until = _confirmation_wait(step, checkout)
            if program is not None and until is not None:
                zone = state.zones[0] if state.zones else None
                rule = program.rule or "CP-2"
                step.note(Deferred(number, DeferReason.PROGRAM, rule, step.now, until, zone))
                step.schedule(until)
                return
            if program is not None:
                step.note(Skipped(number, "program", program.detail))
                step.update(next_touch=index + 1, attempt=0)
                if _nothing_left(step, checkout):
                    step.finish(
                        FinishReason.PROGRAM_LIMIT if program.move else FinishReason.NO_CONSENT
                    )
                    return
                continue
            if touch.channel is not None:
                step.note(Skipped(number, "no_consent", f"{touch.channel.value} is not available"))
                step.update(next_touch=index + 1, attempt=0)
                continue
            step.note(Skipped(number, "no_consent", "no consented channel is left"))
            step.finish(FinishReason.NO_CONSENT)
            return
        planned = touch.channel if touch.channel is not None else state.channel
        program = _program_refusal(refusals)
        if program is not None and planned is not None and planned is not channel:
            step.note(
                Info(
                    "program",
                    f"touch {number} moves from {planned.value} to {channel.value}: "
                    f"{program.detail}",
                )
            )
        if when.at is None:
            step.note(Skipped(number, "contact_hours", "no allowed hour in the next 14 days"))
            step.update(next_touch=index + 1, attempt=0)
            continue
        if when.at > step.now:
            if when.at > deadline:
                step.note(Skipped(number, "expired", "the next allowed hour is past 7 days"))
                step.update(next_touch=index + 1, attempt=0)
                continue
            zone = state.zones[0] if state.zones else None
            for move in when.moves:
                step.note(
                    Deferred(number, DeferReason(move.reason), move.rule, move.from_, move.to, zone)
                )
            step.schedule(when.at)
            return
        checkout = _current_cart(step, checkout)
        spoken = spoken_cart(checkout)
        if spoken is None:
            step.note(Skipped(number, "unavailable", unspeakable(checkout)))
            step.update(next_touch=len(sequence.touches), attempt=0)
            step.finish(FinishReason.UNAVAILABLE)
            return
        offer, wants = _discount_for(step, spoken, touch.discount, number)
        try:
            message = _compose(step, checkout, spoken, number, touch, channel, offer)
        except Unsendable as exc:
            step.note(Skipped(number, exc.reason, exc.detail))
            step.update(next_touch=index + 1, attempt=0)
            continue
        if wants:
            step.discount_request = DiscountRequest(
                customer_id=checkout.customer.id,
                checkout_id=checkout.id,
                touch=number,
                channel=channel,
                total=spoken.total,
                at=step.now,
                valid_until=step.now + _discounts_of(policy).min_validity,
                offer=_discounts_of(policy).offer,
            )
        _note_disabled(step, checkout, channel, number)
        _record_send(step, message, number, channel)
        step.update(next_touch=index + 1, attempt=0)
        _plan_next(step)
        return


def _unread_condition(step: _Step, state: RecoveryState) -> str | None:
    """Why a touch sent "only if the previous message was not read" must not go, if it must not.

    "Not read" means something only on a channel whose reads reach the engine
    (``RecoveryPolicy.read_signals``): after a text, a Telegram message or an e-mail
    whose opens the store does not track, silence says nothing, and sending anyway
    would put one reminder on two channels. The touch is then skipped.
    """
    previous = state.last_sent()
    if previous is None:
        return None
    if not step.policy.reports_reads(previous.channel):
        what = "opened" if previous.channel is Channel.EMAIL else "read"
        return (
            f"{previous.channel.value} cannot tell whether touch {previous.touch} was {what} "
            "(not in the policy's read_signals), so the second channel stays silent"
        )
    if previous.read:
        what = "opened" if previous.channel is Channel.EMAIL else "read"
        return f"touch {previous.touch} was {what}"
    return None


def _current_cart(step: _Step, checkout: Checkout) -> Checkout:
    """The cart with the fresh availability the runner supplied folded in (and kept)."""
    if not step.context.stock:
        return checkout
    try:
        current = fresh_cart(checkout, step.context.stock)
    except CurrencyMismatch as exc:
        step.note(Info("stock", f"fresh stock data not used: {exc}"))
        return checkout
    if current != checkout:
        step.update(checkout=current)
    return current


def _discounts_of(policy: RecoveryPolicy) -> DiscountPolicy:
    assert policy.discounts is not None
    return policy.discounts


@attrs.frozen
class _Offer:
    """What a touch offers: its kind, and the code when the kind needs one."""

    kind: OfferKind
    issued: IssuedDiscount | None = None


def _discount_for(
    step: _Step, spoken: Checkout, allowed: bool, number: int
) -> tuple[_Offer | None, bool]:
    """The offer this touch carries, and whether to ask the runner for a code.

    Only a touch the sequence marks, under a discount policy, for an eligible cart
    (``spoken``: the cart as a message may speak of it); a code in the context must
    still be valid long enough and pass the guard. Instalments need no code and no
    guard: they are a way to pay, not a price anyone learns to abandon for.
    """
    rules = step.policy.discounts
    if not allowed or rules is None:
        return None, False
    refusal = eligibility_refusal(rules, spoken)
    if refusal is None and not rules.offer.needs_code:
        return _Offer(rules.offer), False
    issued = step.context.discount
    if refusal is None and issued is None:
        return None, True
    if refusal is None and issued is not None:
        history = step.context.discount_history
        if history is not None:
            refusal = guard_refusal(rules, history, step.now)
        if refusal is None and issued.expires_at < step.now + rules.min_validity:
            refusal = f"code {issued.code!r} expires too soon ({issued.expires_at.isoformat()})"
        if refusal is None:
            return _Offer(rules.offer, issued), False
    step.note(
        Info("discount", f"touch {number} goes without {_OFFER_WORDS[rules.offer]}: {refusal}")
    )
    return None, False


#: How a note names what a touch went without.
_OFFER_WORDS: Final = {
    OfferKind.CODE: "a discount",
    OfferKind.FREE_SHIPPING: "free delivery",
    OfferKind.GIFT: "a gift",
    OfferKind.INSTALMENTS: "the instalments offer",
}


def _compose(  # noqa: PLR0917 - a private helper with one caller
    step: _Step,
    checkout: Checkout,
    spoken: Checkout,
    number: int,
    touch: Touch,
    channel: Channel,
    offer: _Offer | None,
) -> SendMessage:
    """Render the touch, with the offer when there is one and the pack can say it."""
    zones: tuple[str, ...] = step.get("zones")
    context = step.context
    if _window_closed(step, channel):
        windows = {c: until for c, until in context.service_windows.items() if c is not channel}
        context = attrs.evolve(context, service_windows=windows)

    def render(offered: _Offer | None, *, payment_words: bool = True) -> SendMessage:
        return compose_touch(
            checkout=checkout,
            touch_number=number,
            touch=touch,
            channel=channel,
            attempt=max(step.get("attempt"), _next_attempt(step.get("sent"), number)),
            zone=zones[0] if zones else "UTC",
            policy=step.policy,
            variant=step.get("variant"),
            context=context,
            now=step.now,
            discount=None if offered is None else offered.issued,
            offer=None if offered is None else offered.kind,
            spoken=spoken,
            payment_words=payment_words,
        )

    if offer is None and number == 1 and payment_trouble(checkout):
        try:
            return render(None)
        except Unsendable as exc:
            # The payment words did not fit (a long store name or link in an SMS, a
            # WhatsApp template not approved): the plain reminder still helps.
            step.note(Info("payment", f"touch 1 goes without the payment line: {exc.detail}"))
            return render(None, payment_words=False)
    if offer is None:
        return render(None)
    try:
        return render(offer)
    except Unsendable as exc:
        words = _OFFER_WORDS[offer.kind]
        step.note(Info("discount", f"touch {number} goes without {words}: {exc.detail}"))
        return render(None)


def _window_closed(step: _Step, channel: Channel) -> bool:
    """The provider said ``channel``'s service window was closed, and the customer has not
    written since (a stored window opened after that report is a new one)."""
    closed: datetime | None = step.get("window_closed_at")
    if closed is None:
        return False
    until = step.context.service_windows.get(channel)
    return until is None or until - SERVICE_WINDOW <= closed


def _past_program_deadline(
    step: _Step, checkout: Checkout, channel: Channel, at: datetime | None
) -> Refusal | None:
    """A refusal when the next allowed hour falls after the channel's program deadline:
    the message is then not sent late (CP-1), it moves or is skipped."""
    if at is None or at <= step.now:
        return None
    rules = channel_programs(checkout.customer, channel, step.policy)
    if rules.deadline is None or at <= checkout.abandoned_at + rules.deadline:
        return None
    return Refusal(
        "program",
        f"{rules.limit_rule}: the next allowed hour is after the "
        f"{int(rules.deadline.total_seconds() // 3600)} h deadline",
        rules.limit_rule,
        move=True,
    )


def _nothing_left(step: _Step, checkout: Checkout) -> bool:
    """No channel can carry any recovery message any more for this abandonment."""
    return (
        choose_channel(
            checkout.customer,
            step.policy,
            step.context,
            step.now,
            exclude=step.state.failed_channels,
            sends=_sends(step.get("sent")),
            abandoned_at=checkout.abandoned_at,
        )
        is None
    )


def _note_disabled(step: _Step, checkout: Checkout, channel: Channel, number: int) -> None:
    """Say so every time a program rule the store turned off would have applied."""
    rules = channel_programs(checkout.customer, channel, step.policy)
    if rules.disabled:
        step.note(
            Info(
                "program",
                f"touch {number} on {channel.value} goes out with {', '.join(rules.disabled)} "
                "turned off by the store",
            )
        )


def _touch_channel(
    step: _Step, fixed: Channel | None, checkout: Checkout, skip: frozenset[Channel]
) -> tuple[Channel | None, list[Refusal]]:
    """The channel for a touch: its own if usable, else the primary (re-chosen if needed).

    A touch whose channel a program rule refuses (a limit reached, a deadline passed, a
    platform pause) moves to the next channel the programs allow; ``skip`` holds
    channels already refused for this touch. Missing consent never moves a fixed touch.
    """
    state = step.state
    customer = checkout.customer
    sends = _sends(state.sent)
    refusals: list[Refusal] = []

    def usable(channel: Channel) -> bool:
        if channel in skip:
            return False
        if channel in state.failed_channels:
            refusals.append(Refusal("no_consent", f"{channel.value} failed for good"))
            return False
        refusal = check_channel(
            customer,
            channel,
            step.policy,
            step.context,
            step.now,
            sends=sends,
            abandoned_at=checkout.abandoned_at,
        )
        if refusal is not None:
            refusals.append(refusal)
        return refusal is None

    first = fixed if fixed is not None else state.channel
    if first is not None and usable(first):
        return first, refusals
    if fixed is not None and fixed not in skip and not (refusals and refusals[-1].move):
        return None, refusals
    moving = fixed in skip or bool(refusals and refusals[-1].move)
    exclude = state.failed_channels | skip | ({first} if first is not None else frozenset())
    replacement = choose_channel(
        customer,
        step.policy,
        step.context,
        step.now,
        exclude=frozenset(exclude),
        sends=sends,
        abandoned_at=checkout.abandoned_at,
        refusals=refusals,
    )
    if (
        fixed is None
        and not moving
        and replacement is not None
        and replacement is not state.channel
    ):
        step.note(Info("channel", f"primary channel is now {replacement.value}"))
        step.update(channel=replacement)
    if skip:
        refusals.insert(0, Refusal("program", _skip_detail(step, checkout, skip), move=True))
    return replacement, refusals


def _skip_detail(step: _Step, checkout: Checkout, skip: frozenset[Channel]) -> str:
    channel = sorted(skip)[0]
    rules = channel_programs(checkout.customer, channel, step.policy)
    hours = 0 if rules.deadline is None else int(rules.deadline.total_seconds() // 3600)
    return (
        f"{rules.limit_rule}: the next allowed hour for {channel.value} is after the "
        f"{hours} h deadline"
    )


def _record_send(step: _Step, message: SendMessage, number: int, channel: Channel) -> None:
    sent = SentTouch(
        touch=number,
        channel=channel,
        at=step.now,
        key=message.key,
        attempt=message.attempt,
        discount_code=message.discount_code,
    )
    step.update(sent=(*step.state.sent, sent))
    _said(step, message)
    step.emit(message)


def _delivered_history(state: RecoveryState, history: ContactHistory) -> ContactHistory:
    """The history without this recovery's failed sends: a message that never arrived
    does not count against the customer's caps."""
    failed = {(sent.at, sent.channel) for sent in state.sent if sent.failed}
    if not failed:
        return history
    return ContactHistory(
        tuple(
            record
            for record in history.records
            if record.checkout_id != state.checkout_id or (record.at, record.channel) not in failed
        )
    )


def _rules(state: RecoveryState, checkout: Checkout, policy: RecoveryPolicy) -> ContactRules:
    customer = checkout.customer
    return compiled(policy).contact_rules(customer.phone, state.zones, customer.country)


# -- the cart ------------------------------------------------------------------------------
def _cart_emptied(step: _Step, event: CartEmptied) -> None:
    if event.checkout_id != step.state.checkout_id:
        step.ignore(IgnoreReason.UNKNOWN, event, f"for checkout {event.checkout_id!r}")
        return
    step.finish(FinishReason.CART_EMPTIED)


def _cart_updated(step: _Step, event: CartUpdated) -> None:
    state = step.state
    checkout = state.checkout
    sequence = step.policy.sequence_for(state.variant)
    if event.checkout_id != state.checkout_id or checkout is None:
        step.ignore(IgnoreReason.UNKNOWN, event, f"for checkout {event.checkout_id!r}")
        return
    if state.next_touch >= len(sequence.touches):
        step.ignore(IgnoreReason.LATE, event, "every touch has already gone out")
        return
    if not event.items:
        step.finish(FinishReason.CART_EMPTIED)
        return
    total = event.total if event.total is not None else items_total(event.items, checkout.total)
    step.update(checkout=attrs.evolve(checkout, items=event.items, total=total))
    step.note(Info("cart_updated", f"{len(event.items)} line(s), total {total}"))


# -- replies -------------------------------------------------------------------------------
#: The hand-off reason of a reply that pauses an active recovery, by its intent.
_HANDOFF_REASONS: Final = {
    Intent.HELP: HandOffReason.HELP,
    Intent.QUESTION: HandOffReason.QUESTION,
    Intent.OBJECTION: HandOffReason.OBJECTION,
    Intent.MENU_CHOICE: HandOffReason.MENU,
    Intent.UNKNOWN: HandOffReason.UNKNOWN,
}


def _reply(step: _Step, event: ReplyReceived) -> None:
    """When in doubt, a person reads it.

    Only a clear answer keeps the plan: a refusal ends it, a "yes" brings the link
    again. Anything else (a question, HELP, a menu digit, words nobody taught the
    classifier, a reply that may mean stop) pauses the recovery and hands the
    conversation to a person, after the canned help where there is one. While paused,
    every reply reaches that person; an opt-out still finishes.
    """
    state = step.state
    reply = event.reply
    intent = reply.intent
    if state.open:
        _heard(step, event)
    if intent in (Intent.OPT_OUT, Intent.OPT_OUT_ALL):
        was = state.status
        _opt_out(step, event)
        if was is _S.PAUSED:
            _hand_off(step, event, HandOffReason.FOLLOW_UP)
        elif reply.needs_review and was is not _S.FINISHED:
            _hand_off(step, event, HandOffReason.NEEDS_REVIEW)
        return
    if intent is Intent.OPT_IN:
        # Like a STOP, a START changes the ledger whatever the recovery's status: the
        # STOP that preceded it usually finished the recovery it is routed to (SEAMS 8).
        _opt_in(step, event)
        return
    if state.status is _S.FINISHED:
        step.ignore(IgnoreReason.FINISHED, event, f"a {intent.value} reply after the end")
        return
    if state.status is _S.HOLDOUT:
        if intent in (Intent.HELP, Intent.QUESTION, Intent.OBJECTION) or reply.needs_review:
            reason = HandOffReason.NEEDS_REVIEW if reply.needs_review else _HANDOFF_REASONS[intent]
            _hand_off(step, event, reason)
        else:
            step.note(Info("reply", f"{intent.value} from a holdout customer"))
        return
    if state.status is _S.PAUSED:
        _paused_reply(step, event)
        return
    if reply.needs_review:
        _hand_off(step, event, HandOffReason.NEEDS_REVIEW, pause=True)
        return
    match intent:
        case Intent.HELP:
            _answer(step, event, "help_reply")
            _hand_off(step, event, HandOffReason.HELP, pause=True)
        case Intent.QUESTION | Intent.OBJECTION | Intent.UNKNOWN:
            _hand_off(step, event, _HANDOFF_REASONS[intent], pause=True)
        case Intent.MENU_CHOICE:
            key = MENU.get(reply.choice or 0)
            if key is not None:
                _answer(step, event, key)
            _hand_off(step, event, HandOffReason.MENU, pause=True)
        case Intent.POSITIVE:
            if not _confirms_double_optin(step, event):
                _answer(step, event, "link_again")
        case Intent.ALREADY_PURCHASED | Intent.NOT_INTERESTED:
            _answer(step, event, "thanks")
            step.finish(FinishReason.REFUSED)
        case Intent.OPT_OUT | Intent.OPT_OUT_ALL | Intent.OPT_IN:  # pragma: no cover - above
            pass
        case _:  # pragma: no cover
            assert_never(intent)


def _paused_reply(step: _Step, event: ReplyReceived) -> None:
    """A person has the conversation: whatever the customer writes goes to them.

    A "yes" still confirms a pending double opt-in (that is consent, not talk), HELP
    still gets the help text (carriers require an answer to it every time) and a
    refusal still ends the recovery with its thanks; nothing else is answered
    automatically. The hand-off timeout counts again from this reply.
    """
    intent = event.reply.intent
    if intent is Intent.HELP:
        _answer(step, event, "help_reply")
    elif intent is Intent.POSITIVE:
        _confirms_double_optin(step, event)
    elif intent in (Intent.ALREADY_PURCHASED, Intent.NOT_INTERESTED):
        _answer(step, event, "thanks")
        step.finish(FinishReason.REFUSED)
    _hand_off(step, event, HandOffReason.FOLLOW_UP)
    if step.get("status") is _S.PAUSED:
        _pause(step)


def _confirms_double_optin(step: _Step, event: ReplyReceived) -> bool:
    """Confirm a pending double opt-in with this "yes", if one is pending (CP-2)."""
    checkout = step.state.checkout
    if (
        checkout is None
        or event.channel is not Channel.SMS
        or not _double_optin_pending(step, checkout, event.at)
    ):
        return False
    _confirm_double_optin(step, event)
    return True


def _recovery_consent(
    state: RecoveryState, event: ReplyReceived, action: ConsentAction, source: str
) -> RecordConsent:
    """Record a recovery grant or confirmation the customer gave by replying."""
    return RecordConsent(
        ConsentEvent(
            customer_id=state.customer_id,
            channel=event.channel,
            purpose=Purpose.RECOVERY,
            action=action,
            at=event.at,
            source=source,
            text=event.reply.text,
            address=_address(state, event.channel),
        )
    )


def _confirm_double_optin(step: _Step, event: ReplyReceived) -> None:
    """A "YES" while a double opt-in is pending confirms it, the reply kept as evidence."""
    state = step.state
    step.emit(_recovery_consent(state, event, ConsentAction.CONFIRMED, "double_optin_reply"))
    step.note(Info("double_optin", f"cart-reminder texts confirmed by {event.reply.text!r} (CP-2)"))
    _confirmed_now(step)


def _confirmed_now(step: _Step) -> None:
    """A touch that waited for the double opt-in answer need wait no longer: plan it anew."""
    state = step.state
    sequence = step.policy.sequence_for(state.variant)
    if state.status is not _S.ACTIVE or state.next_touch >= len(sequence.touches):
        return
    planned = _planned_at(step, state.next_touch)
    if state.wakeup_at is None or planned < state.wakeup_at:
        step.schedule(planned)


def _address(state: RecoveryState, channel: Channel) -> str | None:
    return None if state.checkout is None else state.checkout.customer.address_for(channel)


def _ledger_change(step: _Step, event: ReplyReceived) -> ConsentEvent | None:
    """The ledger event a STOP or a START stands for, bound to this recovery's address."""
    state = step.state
    address = _address(state, event.channel)
    args = (event.reply, state.customer_id, event.channel, event.at)
    return revocation_for(*args, address=address) or grant_for(*args, address=address)


def _opt_out(step: _Step, event: ReplyReceived) -> None:
    revocation = _ledger_change(step, event)
    if revocation is not None:
        step.emit(RecordConsent(revocation))
    _answer(step, event, "optout_confirm")
    if step.state.status is not _S.FINISHED:
        step.finish(FinishReason.OPTED_OUT)


def _opt_in(step: _Step, event: ReplyReceived) -> None:
    """Record the grant a START asks for; the plan of an open recovery is unchanged."""
    grant = _ledger_change(step, event)
    assert grant is not None
    step.emit(RecordConsent(grant))
    step.note(Info("opt_in", f"{event.channel.value} re-granted by {event.reply.text!r}"))


def _answer(step: _Step, event: ReplyReceived, key: str) -> None:
    state = step.state
    if state.checkout is None:
        step.note(Info("reply", f"no {key} sent: the personal data has expired"))
        return
    try:
        message = compose_reply(
            key=key,
            checkout=state.checkout,
            channel=event.channel,
            zone=state.zones[0] if state.zones else "UTC",
            policy=step.policy,
            variant=state.variant,
            event_id=event.id,
        )
    except Unsendable as exc:
        step.note(Info("reply", f"no {key} sent: {exc.detail}"))
        return
    step.update(replies_sent=state.replies_sent + 1)
    _said(step, message)
    step.emit(message)


def _said(step: _Step, message: SendMessage) -> None:
    """Keep the text of a message going out in the conversation (for hand-offs)."""
    line = ConversationLine(
        step.now, message.channel, Direction.OUT, message.text, message.key, message.touch
    )
    step.update(conversation=remember(step.get("conversation"), line))


def _heard(step: _Step, event: ReplyReceived) -> None:
    """Keep the customer's reply in the conversation (for hand-offs)."""
    line = ConversationLine(event.at, event.channel, Direction.IN, event.reply.text)
    step.update(conversation=remember(step.get("conversation"), line))


def _hand_off(
    step: _Step, event: ReplyReceived, reason: HandOffReason, *, pause: bool = False
) -> None:
    """Give the conversation to a person, with all they need; with ``pause``, an active
    recovery stops touching until the store resumes it or the timeout passes."""
    if pause and step.get("status") is _S.ACTIVE:
        _pause(step)
    state = step.state
    step.emit(
        HandOff(
            state.checkout_id,
            state.customer_id,
            event.channel,
            event.reply.text,
            reason,
            at=event.at,
            intent=event.reply.intent,
            to=_address(state, event.channel),
            checkout=state.checkout,
            conversation=state.conversation,
            paused=state.status is _S.PAUSED,
        )
    )


def _pause(step: _Step) -> None:
    """Pause (or keep paused) from now: wake at the hand-off timeout, or the retention end."""
    checkout: Checkout | None = step.get("checkout")
    assert checkout is not None
    step.update(status=_S.PAUSED, paused_at=step.now)
    step.schedule(_pause_until(step, checkout, step.now))


def _pause_until(step: _Step, checkout: Checkout, paused_at: datetime) -> datetime:
    """When a recovery paused at ``paused_at`` wakes: its timeout, or its retention end."""
    until = checkout.abandoned_at + step.policy.retention
    timeout = step.policy.handoff_timeout
    return until if timeout is None else min(until, paused_at + timeout)


def _resume(step: _Step, detail: str) -> None:
    """Back to the plan, one gap after the pause.

    The next touch keeps the spacing it has from the touch before it (or from the
    abandonment, for the first), counted from now: a customer who just talked to a
    person, or whose question went unanswered for a day, does not get the next
    reminder the same minute. Its own planned time still holds when that is later.
    """
    step.update(status=_S.ACTIVE, paused_at=None)
    sequence = step.policy.sequence_for(step.get("variant"))
    index: int = step.get("next_touch")
    if index >= len(sequence.touches):
        step.note(Info("resumed", detail))
        _plan_next(step)
        return
    checkout: Checkout | None = step.get("checkout")
    assert checkout is not None
    planned = _planned_at(step, index)
    before = _planned_at(step, index - 1) if index else checkout.abandoned_at
    at = max(planned, step.now + max(planned - before, timedelta(0)))
    zone = step.get("zones")[0] if step.get("zones") else None
    step.note(Info("resumed", f"{detail}; touch {index + 1} planned for {_local(at, zone)}"))
    step.schedule(at)


# -- delivery ------------------------------------------------------------------------------
def _find_sent(state: RecoveryState, touch: int, channel: Channel) -> int | None:
    for position in range(len(state.sent) - 1, -1, -1):
        sent = state.sent[position]
        if sent.touch == touch and sent.channel is channel:
            return position
    return None


def _receipt(step: _Step, event: MessageDelivered | MessageRead) -> None:
    state = step.state
    position = _find_sent(state, event.touch, event.channel)
    if position is None:
        step.ignore(IgnoreReason.UNKNOWN, event, f"no touch {event.touch} on {event.channel}")
        return
    sent = state.sent[position]
    if isinstance(event, MessageRead):
        if sent.read:
            step.ignore(IgnoreReason.DUPLICATE, event, "already read")
            return
        updated = attrs.evolve(sent, delivered=True, read=True)
    else:
        if sent.delivered:
            step.ignore(IgnoreReason.DUPLICATE, event, "already delivered")
            return
        updated = attrs.evolve(sent, delivered=True)
    step.update(sent=_replace(state.sent, position, updated))


def _replace(items: tuple[SentTouch, ...], position: int, item: SentTouch) -> tuple[SentTouch, ...]:
    return (*items[:position], item, *items[position + 1 :])


def _failed(step: _Step, event: MessageFailed) -> None:
    state = step.state
    position = _find_sent(state, event.touch, event.channel)
    if position is None:
        step.ignore(IgnoreReason.UNKNOWN, event, f"no touch {event.touch} on {event.channel}")
        return
    sent = state.sent[position]
    if sent.failed:
        step.ignore(IgnoreReason.DUPLICATE, event, "failure already recorded")
        return
    if sent.attempt != event.attempt or sent.delivered:
        step.ignore(IgnoreReason.LATE, event, "refers to an earlier attempt")
        return
    step.update(sent=_replace(state.sent, position, attrs.evolve(sent, failed=True)))
    if state.status is not _S.ACTIVE:
        return
    checkout = state.checkout
    assert checkout is not None
    if event.revoked:
        # A stop of marketing (WhatsApp 131050) withdraws marketing and recovery by
        # name; any other revoking code, every purpose on the channel.
        for change in provider_revocations(
            state.customer_id,
            event.channel,
            event.at,
            code=event.code,
            address=_address(state, event.channel),
        ):
            step.emit(RecordConsent(change))
        step.finish(FinishReason.OPTED_OUT)
        return
    later_sent = any(other.touch > event.touch for other in state.sent)
    if later_sent:
        step.note(Info("failed", f"touch {event.touch} failed after a later touch went out"))
        return
    index = event.touch - 1
    treatment = channel_programs(checkout.customer, event.channel, step.policy).code(event.code)
    if treatment is not None and treatment[1].action == "wait":
        _platform_limit(step, event, checkout, treatment[0], treatment[1].wait or _DAY)
        return
    if (
        treatment is not None
        and treatment[1].action == "template"
        and not _window_closed(step, event.channel)
    ):
        # Free text went outside the service window (131047): the number is good, only
        # the form was wrong. The same touch goes again at once, as its template. Had
        # the window been known closed already, the failed send was a template, and the
        # code is taken as it stands (permanent for this channel).
        step.note(
            Info(
                "program",
                f"touch {event.touch} goes again as a template: {treatment[0]}: the "
                f"{event.channel.value} service window was closed (code {event.code})",
            )
        )
        step.update(
            window_closed_at=event.at,
            next_touch=index,
            attempt=_next_attempt(state.sent, event.touch),
        )
        step.schedule(step.now)
        return
    if event.permanent:
        failed = state.failed_channels | {event.channel}
        step.update(failed_channels=failed)
        replacement = choose_channel(
            checkout.customer,
            step.policy,
            step.context,
            step.now,
            exclude=failed,
            sends=_sends(step.get("sent")),
            abandoned_at=checkout.abandoned_at,
        )
        if replacement is None:
            step.finish(FinishReason.UNDELIVERABLE)
            return
        step.note(
            Info("channel", f"{event.channel.value} failed for good; now {replacement.value}")
        )
        # A new attempt number gives the resend its own idempotency key.
        step.update(
            channel=replacement, next_touch=index, attempt=_next_attempt(state.sent, event.touch)
        )
        step.schedule(step.now)
        return
    backoff = step.policy.retry_backoff
    if sent.attempt < len(backoff):
        # Never sooner than the provider asked (an HTTP Retry-After, Telegram's retry_after).
        until = step.now + max(backoff[sent.attempt], event.retry_after or timedelta(0))
        step.note(Deferred(event.touch, DeferReason.RETRY, "retry", step.now, until))
        step.update(next_touch=index, attempt=_next_attempt(state.sent, event.touch))
        step.schedule(until)
        return
    step.note(Skipped(event.touch, "retry", f"gave up after {sent.attempt + 1} attempts"))


_DAY: Final = timedelta(hours=24)
_HOUR: Final = timedelta(hours=1)


def _next_attempt(sent: tuple[SentTouch, ...], touch: int) -> int:
    """The attempt number of the next send of ``touch``: one more than any send of it so far.

    The one counter for retries, channel fallbacks and platform limits alike, read from
    what was handed to a channel, so a resend can never reuse an earlier key (the outbox
    would refuse it as a duplicate and nothing would go).
    """
    return max((item.attempt + 1 for item in sent if item.touch == touch), default=0)


def _platform_limit(
    step: _Step, event: MessageFailed, checkout: Checkout, rule: str, wait: timedelta
) -> None:
    """A platform limit (WhatsApp 131049, CP-7): the number stays good. A touch on the
    primary channel moves to the next channel the programs allow; otherwise it waits."""
    state = step.state
    index = event.touch - 1
    sequence = step.policy.sequence_for(state.variant)
    fixed = sequence.touches[index].channel if index < len(sequence.touches) else None
    replacement = None
    if fixed is None:
        replacement = choose_channel(
            checkout.customer,
            step.policy,
            step.context,
            step.now,
            exclude=state.failed_channels | {event.channel},
            sends=_sends(state.sent),
            abandoned_at=checkout.abandoned_at,
        )
    if replacement is not None:
        step.note(
            Info(
                "program",
                f"touch {event.touch} moves from {event.channel.value} to {replacement.value}: "
                f"{rule}: platform limit (code {event.code}); the number is kept",
            )
        )
        attempt = _next_attempt(state.sent, event.touch)
        step.update(channel=replacement, next_touch=index, attempt=attempt)
        step.schedule(step.now)
        return
    until = step.now + wait
    step.note(Deferred(event.touch, DeferReason.PLATFORM_LIMIT, rule, step.now, until))
    step.update(next_touch=index, attempt=_next_attempt(state.sent, event.touch))
    step.schedule(until)


# -- consent -------------------------------------------------------------------------------
def _consent_changed(step: _Step, event: ConsentChanged) -> None:
    state = step.state
    change = event.event
    if change.customer_id != state.customer_id:
        step.ignore(IgnoreReason.UNKNOWN, event, "for another customer")
        return
    if change.action is not ConsentAction.REVOKED:
        step.note(Info("consent", f"{change.action.value} on {change.channel or 'every channel'}"))
        if change.action is ConsentAction.CONFIRMED:
            _confirmed_now(step)
        return
    checkout = state.checkout
    assert checkout is not None
    if state.channel is None or change.channel in (None, state.channel):
        replacement = choose_channel(
            checkout.customer,
            step.policy,
            step.context,
            step.now,
            exclude=state.failed_channels,
            sends=_sends(state.sent),
            abandoned_at=checkout.abandoned_at,
        )
        if replacement is None:
            step.finish(FinishReason.OPTED_OUT)
            return
        if replacement is not state.channel:
            step.note(Info("channel", f"consent withdrawn; now {replacement.value}"))
            step.update(channel=replacement)


# -- explanation ---------------------------------------------------------------------------
def explain(item: RecoveryState | Decision) -> list[str]:
    """Readable lines for every note of a state (its history) or of one decision."""
    if isinstance(item, Decision):
        notes: Iterable[Note] = item.notes
        zone = item.state.zones[0] if item.state.zones else None
    else:
        notes = item.notes
        zone = item.zones[0] if item.zones else None
    return [_line(note, zone) for note in notes]


def _local(at: datetime, zone: str | None) -> str:
    if zone is None:
        return at.strftime("%Y-%m-%d %H:%M UTC")
    return at.astimezone(get_zone(zone)).strftime("%Y-%m-%d %H:%M")


_REASON_WORDS: Final = {
    "contact_hours": "contact hours",
    "cap": "frequency cap",
    "program": "program rule",
    "platform_limit": "platform limit",
    "retry": "retry after a failure",
}


def _line(note: Note, zone: str | None) -> str:
    match note:
        case Deferred():
            where = f" {note.zone}" if note.zone else ""
            words = _REASON_WORDS.get(note.reason.value, note.reason.value)
            return (
                f"touch {note.touch} moved from {_local(note.from_, note.zone)} to "
                f"{_local(note.to, note.zone)}{where}: {words} ({note.rule})"
            )
        case Skipped():
            detail = f": {note.detail}" if note.detail else ""
            return f"touch {note.touch} skipped ({note.reason}){detail}"
        case Ignored():
            detail = f": {note.detail}" if note.detail else ""
            return f"{note.event} ignored ({note.reason.value}){detail}"
        case Info():
            detail = f": {note.detail}" if note.detail else ""
            return f"{note.what}{detail}"
        case _:  # pragma: no cover
            assert_never(note)


#: The contact rules (the policy's hours ∩ every applicable jurisdiction, and the caps)
#: a recovery's touches obey; the runtime's last look before a send reads the same.
contact_rules = _rules

"""The last look: may a touch decided earlier still go out now?

``decide`` judges a touch at the moment it decides it; the runtime hands it to a
channel later (after the commit, after the touches before it in the batch, after a
crash and a restart). In between the customer may have ordered, opted out, or the
clock may have crossed into the night. ``recheck`` asks the same questions again,
cheaply, against the state and context read just before the send (DESIGN: "where
the invariants must hold"). It never composes anything: a touch that may not go is
either dropped (``cancel``) or handed back to the engine to decide again
(``redecide``), never rewritten here.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from ..policies.caps import ContactHistory
from ..policies.schedule import earliest_send
from ..values.model import Channel
from .commands import SendMessage
from .compose import check_channel
from .machine import contact_rules
from .policy import Context, RecoveryPolicy
from .state import RecoveryState, RecoveryStatus, SentTouch

__all__ = ["Verdict", "VerdictKind", "recheck", "withdraw"]


class VerdictKind(enum.StrEnum):
    """What the last look concluded about one queued touch."""

    #: Still true: send it now.
    GO = "go"
    #: Never send it (the recovery ended, consent is gone, it was superseded).
    CANCEL = "cancel"
    #: Not now (contact hours, a cap, a program deadline): the engine decides again.
    REDECIDE = "redecide"


@attrs.frozen
class Verdict:
    """The last look's answer and, unless it is ``go``, why."""

    kind: VerdictKind
    reason: str = ""

    @property
    def go(self) -> bool:
        return self.kind is VerdictKind.GO


GO = Verdict(VerdictKind.GO)


def recheck(
    state: RecoveryState | None,
    message: SendMessage,
    *,
    now: datetime,
    policy: RecoveryPolicy,
    context: Context,
) -> Verdict:
    """Whether the touch ``message`` may be handed to its channel at ``now``.

    ``state`` is the recovery as stored now and ``context`` the customer's consent
    (address revocations from other customer records included) and contact history
    as stored now; the history still holds the record of this very send, which is
    left out when caps are counted.
    """
    if state is None:
        return Verdict(VerdictKind.CANCEL, "the recovery is gone")
    if state.status is not RecoveryStatus.ACTIVE:
        why = state.finish_reason.value if state.finish_reason is not None else "no reason"
        return Verdict(VerdictKind.CANCEL, f"the recovery is {state.status.value} ({why})")
    sent = _sent_touch(state, message)
    if sent is None or sent.failed:
        return Verdict(VerdictKind.CANCEL, "superseded: the recovery no longer plans this send")
    checkout = state.checkout
    if checkout is None:  # pragma: no cover - an active recovery always has its checkout
        return Verdict(VerdictKind.CANCEL, "the recovery has no checkout")
    others = tuple(other for other in state.sent if other is not sent)
    counts: dict[Channel, int] = {}
    for other in others:
        counts[other.channel] = counts.get(other.channel, 0) + 1
    refusal = check_channel(
        checkout.customer,
        message.channel,
        policy,
        context,
        now,
        sends=counts,
        abandoned_at=checkout.abandoned_at,
    )
    if refusal is not None:
        kind = VerdictKind.REDECIDE if refusal.move else VerdictKind.CANCEL
        return Verdict(kind, refusal.detail)
    history = _without(context.history, state, sent)
    when = earliest_send(
        now,
        state.zones,
        contact_rules(state, checkout, policy),
        history,
        channel=message.channel,
    )
    if when.at != now:
        moved = when.moves[0] if when.moves else None
        why = "no allowed hour soon" if moved is None else f"{moved.reason} ({moved.rule})"
        return Verdict(VerdictKind.REDECIDE, f"not allowed at the moment of sending: {why}")
    return GO


def withdraw(state: RecoveryState, message: SendMessage, now: datetime) -> RecoveryState | None:
    """The state with the send of ``message`` taken back, to be decided again at ``now``.

    The send is kept in ``sent`` marked failed (it never went: caps stop counting
    it) and the touch is planned again under the next attempt number, so the new
    decision gets its own idempotency key. ``None`` when a later touch already went
    out or the recovery is not active (nothing to decide again).
    """
    if state.status is not RecoveryStatus.ACTIVE:
        return None
    for position, sent in enumerate(state.sent):
        if not _same(sent, message):
            continue
        if any(other.touch > sent.touch for other in state.sent):
            return None
        items = (
            *state.sent[:position],
            attrs.evolve(sent, failed=True),
            *state.sent[position + 1 :],
        )
        return attrs.evolve(
            state,
            sent=items,
            next_touch=sent.touch - 1,
            attempt=sent.attempt + 1,
            wakeup_at=now,
        )
    return None


def _sent_touch(state: RecoveryState, message: SendMessage) -> SentTouch | None:
    for sent in state.sent:
        if _same(sent, message):
            return sent
    return None


def _same(sent: SentTouch, message: SendMessage) -> bool:
    """Whether ``sent`` records ``message``: the same touch, attempt and channel."""
    return (
        sent.touch == message.touch
        and sent.attempt == message.attempt
        and sent.channel is message.channel
    )


def _without(history: ContactHistory, state: RecoveryState, sent: SentTouch) -> ContactHistory:
    """The history without this send's own record (and this recovery's failed sends)."""
    skip = {(other.at, other.channel) for other in state.sent if other.failed or other is sent}
    return ContactHistory(
        tuple(
            record
            for record in history.records
            if record.checkout_id != state.checkout_id or (record.at, record.channel) not in skip
        )
    )

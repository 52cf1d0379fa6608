"""The second pass of a decision: fresh stock and a real discount code, just in time.

``decide`` is pure, so it cannot ask the store whether an item sold out an hour
ago or have a code created. Instead a runner decides once; when that decision
sends a touch it fetches fresh availability and decides again, and when the
touch may carry a discount (``Decision.discount_request``) it checks the abuse
guard, asks the issuer and decides once more. Deciding twice from the same state
is safe: nothing is executed until the runner applies the final decision.
``Runner`` and the testing kit's ``EngineDriver`` both go through these helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

import attrs

from ..policies.discounts import DiscountHistory, DiscountIssuer, IssuedDiscount, guard_refusal
from ..policies.sequence import LAST_TOUCH_MAX
from ..policies.stock import StockInfo, StockSource
from ..values.model import Checkout
from .commands import Finish, FinishReason, MessageKind, SendMessage
from .events import Event
from .machine import Decision, decide
from .notes import Info
from .policy import Context, RecoveryPolicy
from .state import RecoveryState

__all__ = [
    "decide_just_in_time",
    "discount_history",
    "offer_discount",
    "sends_touch",
    "with_fresh_stock",
]

#: The same bound ``decide`` keeps on a state's notes.
_NOTES_LIMIT = 200


def decide_just_in_time(
    state: RecoveryState | None,
    event: Event,
    *,
    now: datetime,
    policy: RecoveryPolicy,
    context: Context,
    stock: StockSource | None,
    issuer: DiscountIssuer | None,
    recoveries: Callable[[datetime], list[RecoveryState]],
) -> Decision:
    """``decide``, then, if it sends a touch, again with fresh stock and a real code.

    ``recoveries(since)`` lists the customer's recoveries abandoned since then (the
    store's ``customer_recoveries``); it is called only when a code is wanted.
    """
    decision = decide(state, event, now=now, policy=policy, context=context)
    if not sends_touch(decision):
        return decision

    def redecide(fresh: Context) -> Decision:
        return decide(state, event, now=now, policy=policy, context=fresh)

    decision, context = with_fresh_stock(
        decision,
        redecide=redecide,
        context=context,
        source=stock,
        checkout=decision.state.checkout,
        now=now,
    )
    rules = policy.discounts
    if decision.discount_request is None or rules is None:
        return decision
    customer_id = decision.discount_request.customer_id
    since = now - max(rules.once_per, rules.abandon_window)
    return offer_discount(
        decision,
        redecide=redecide,
        context=context,
        # A code given since ``since`` may come from a checkout abandoned up to the
        # sequence's 7-day limit earlier: the store lists recoveries by abandonment.
        history=lambda: discount_history(
            recoveries(since - LAST_TOUCH_MAX), customer_id=customer_id, since=since
        ),
        issuer=issuer,
        policy=policy,
        now=now,
    )


def sends_touch(decision: Decision) -> bool:
    """Whether the decision sends a sequence touch, or would end the recovery because
    the cart looks sold out: the two moments when fresh availability matters."""
    return any(
        (isinstance(command, SendMessage) and command.kind is MessageKind.TOUCH)
        or (isinstance(command, Finish) and command.reason is FinishReason.UNAVAILABLE)
        for command in decision.commands
    )


def with_fresh_stock(
    decision: Decision,
    *,
    redecide: Callable[[Context], Decision],
    context: Context,
    source: StockSource | None,
    checkout: Checkout | None,
    now: datetime,
) -> tuple[Decision, Context]:
    """Decide again with fresh availability when the decision sends a touch.

    A source that fails or knows nothing leaves the first decision as it was: the
    touch then makes no stock claim beyond what the cart already said.
    """
    if source is None or checkout is None or not sends_touch(decision):
        return decision, context
    try:
        stock: Mapping[str, StockInfo] = dict(source.stock(checkout, now=now))
    except Exception as exc:  # the store's code: any failure means "no fresh data"
        return _with_note(decision, Info("stock", f"no fresh stock data: {exc}")), context
    if not stock:
        return decision, context
    fresh = attrs.evolve(context, stock=stock)
    return redecide(fresh), fresh


def offer_discount(
    decision: Decision,
    *,
    redecide: Callable[[Context], Decision],
    context: Context,
    history: Callable[[], DiscountHistory],
    issuer: DiscountIssuer | None,
    policy: RecoveryPolicy,
    now: datetime,
) -> Decision:
    """Finish a decision that asked for a discount code (``decision.discount_request``).

    Checks the abuse guard against ``history()``, asks the policy's static code or
    ``issuer``, and returns the decision made again with the code in the context.
    When no code may or can be had, returns the first decision (the touch goes
    without a discount) with a note saying why. Never invents a code.
    """
    request = decision.discount_request
    rules = policy.discounts
    if request is None or rules is None:
        return decision
    past = history()
    refusal = guard_refusal(rules, past, now)
    issued: IssuedDiscount | None = None
    if refusal is None:
        source: DiscountIssuer | None = rules.static_code or issuer
        if source is None:
            refusal = "no discount issuer is configured"
        else:
            try:
                issued = source.issue(request)
            except Exception as exc:  # the store's code: any failure means no code
                refusal = f"the issuer gave no code ({type(exc).__name__}: {exc})"
            else:
                if not isinstance(issued, IssuedDiscount):
                    refusal = f"the issuer returned {type(issued).__name__}, not IssuedDiscount"
                    issued = None
    if issued is None:
        note = Info("discount", f"touch {request.touch} goes without a discount: {refusal}")
        return attrs.evolve(_with_note(decision, note), discount_request=None)
    again = redecide(attrs.evolve(context, discount=issued, discount_history=past))
    return attrs.evolve(again, discount_request=None)


def discount_history(
    states: list[RecoveryState], *, customer_id: str, since: datetime
) -> DiscountHistory:
    """What the discount guard needs, from a customer's recoveries since ``since``."""
    discounts: list[datetime] = []
    abandonments: list[datetime] = []
    for state in states:
        if state.customer_id != customer_id:
            continue
        if state.checkout is not None and state.checkout.abandoned_at >= since:
            abandonments.append(state.checkout.abandoned_at)
        discounts.extend(
            sent.at for sent in state.sent if sent.discount_code is not None and sent.at >= since
        )
    return DiscountHistory(tuple(sorted(discounts)), tuple(sorted(abandonments)))


def _with_note(decision: Decision, note: Info) -> Decision:
    state = decision.state
    notes = (*state.notes, note)[-_NOTES_LIMIT:]
    return attrs.evolve(
        decision, state=attrs.evolve(state, notes=notes), notes=(*decision.notes, note)
    )

"""Opt-outs a provider reports: each one reaches the ledger, whatever became of its recovery.

A revoking failure (Twilio 21610, WhatsApp 131050, an unsubscribed Viber user) is
the recipient's word, not a fact about one touch. The engine records it while the
recovery is active; when the recovery is paused, finished or gone, or the message
was a reply, nobody else would. ``record_provider_opt_out`` closes that gap for the
send loop and the status webhooks alike: it writes whatever the ledger does not hold
yet, as ``ConsentChanged`` events that also reach the customer's open recoveries.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..engine.commands import SendMessage
from ..engine.events import ConsentChanged, Event, event_id
from ..engine.machine import Decision
from ..policies.consent import provider_revocations
from ..protocols import Store

__all__ = ["record_provider_opt_out"]


def record_provider_opt_out(
    handle: Callable[[Event], list[Decision]],
    store: Store,
    message: SendMessage,
    *,
    code: str | None,
    at: datetime,
    ident: str,
) -> list[Decision]:
    """Record the revocation(s) a revoking failure of ``message`` stands for, once.

    ``ident`` names the failure (the status webhook's id, or the outbox key): the
    events derived from it are the same on every retry, so a replayed report changes
    nothing. An event the engine already recorded is not written again.
    """
    changes = provider_revocations(
        message.customer_id, message.channel, at, code=code, address=message.to
    )
    with store.transaction() as tx:
        held = set(tx.ledger(message.customer_id).events)
    decisions: list[Decision] = []
    for change in changes:
        if change in held:
            continue
        purpose = "all" if change.purpose is None else change.purpose.value
        decisions += handle(ConsentChanged(change, id=event_id("provider-opt-out", ident, purpose)))
    return decisions

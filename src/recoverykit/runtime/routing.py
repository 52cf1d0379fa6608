"""Routing: which recoveries an event reaches (SEAMS 2), written once for every driver.

Opt-outs, consent changes and orders reach every open recovery of the customer;
other replies reach the recovery last touched on that channel (else the newest
open one); everything else names its checkout. ``Runner``, the testing kit's
``EngineDriver`` and the command line all route through here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

import attrs

from ..engine.events import CheckoutAbandoned, ConsentChanged, Event, OrderPlaced, ReplyReceived
from ..engine.state import RecoveryState
from ..policies.replies import Intent
from ..programs import SERVICE_WINDOW
from ..protocols import Claimed, Transaction
from ..values.model import Channel, Customer
from .addresses import record_consent

__all__ = ["STOPPING", "Target", "answerable", "route"]

#: The intents that stop every recovery of the customer.
STOPPING: Final = frozenset({Intent.OPT_OUT, Intent.OPT_OUT_ALL})


@attrs.frozen
class Target:
    """A recovery to decide for: its stored state (``None`` if new) and version."""

    state: RecoveryState | None
    version: int | None
    customer_id: str

    @classmethod
    def of(cls, claimed: Claimed) -> Target:
        return cls(claimed.state, claimed.version, claimed.state.customer_id)

    @classmethod
    def new(cls, event: CheckoutAbandoned) -> Target:
        return cls(None, None, event.checkout.customer.id)


def customer_of(event: Event) -> str | None:
    """The customer an event names, when it names one."""
    if isinstance(event, CheckoutAbandoned):
        return event.checkout.customer.id
    if isinstance(event, ConsentChanged):
        return event.event.customer_id
    value = getattr(event, "customer_id", None)
    return value if isinstance(value, str) else None


def keep_chat_ids(customer: Customer, stored: Customer | None) -> Customer:
    """The customer a checkout names, keeping the chat ids bound earlier (a store's
    checkout rarely knows the Telegram chat a start link bound)."""
    if stored is None:
        return customer
    kept = {
        name: getattr(stored, name)
        for name in ("telegram_chat_id", "viber_id")
        if getattr(customer, name) is None and getattr(stored, name) is not None
    }
    return attrs.evolve(customer, **kept) if kept else customer


def last_touched(
    tx: Transaction, customer_id: str, since: datetime, channel: Channel | None
) -> str | None:
    """The checkout most recently messaged (on ``channel`` when given), from the history."""
    records = tx.history(customer_id, since=since).records
    for record in reversed(records):
        # A reply sent outside any recovery (a confirmed STOP) names no checkout.
        if record.checkout_id and (channel is None or record.channel is channel):
            return record.checkout_id
    return None


def route(
    tx: Transaction, event: Event, now: datetime, *, history_window: timedelta
) -> tuple[list[tuple[Event, Target]], Event]:
    """The recoveries an event concerns (SEAMS 2), each with the event as routed to it.

    Also returns the event itself as applied: a new checkout keeps the chat ids its
    customer bound earlier. Routing writes what belongs to the event before any
    decision (the customer record, a consent change, a reply's service window), so
    the decisions read it.
    """
    match event:
        case CheckoutAbandoned():
            named_customer = event.checkout.customer
            customer = keep_chat_ids(named_customer, tx.customer(named_customer.id))
            if customer is not named_customer:
                event = attrs.evolve(
                    event, checkout=attrs.evolve(event.checkout, customer=customer)
                )
            tx.save_customer(customer)
            existing = tx.load(event.checkout.id)
            target = Target.new(event) if existing is None else Target.of(existing)
            return [(event, target)], event
        case OrderPlaced():
            customer_id = event.customer_id
            named = tx.load(event.checkout_id)
            if customer_id is None and named is not None:
                customer_id = named.state.customer_id
            found = tx.open_recoveries(customer_id) if customer_id is not None else []
            if named is not None and all(
                c.state.checkout_id != named.state.checkout_id for c in found
            ):
                found.append(named)
            return [(event, Target.of(c)) for c in found], event
        case ConsentChanged():
            record_consent(tx, event.event)
            found = tx.open_recoveries(event.event.customer_id)
            return [(event, Target.of(c)) for c in found], event
        case ReplyReceived():
            return route_reply(tx, event, now, history_window=history_window), event
        case _:
            named = tx.load(event.checkout_id)
            return ([] if named is None else [(event, Target.of(named))]), event


def route_reply(
    tx: Transaction, event: ReplyReceived, now: datetime, *, history_window: timedelta
) -> list[tuple[Event, Target]]:
    """A reply goes to the recovery last touched on its channel, else the newest open one.

    An opt-out reaches every open recovery of the customer, the last touched first
    (it answers). With nothing open, the most recently messaged recovery takes it.
    """
    customer_id = event.customer_id
    if event.channel is not Channel.SMS:
        tx.open_service_window(customer_id, event.channel, event.at + SERVICE_WINDOW)
    if event.checkout_id is not None:
        named = tx.load(event.checkout_id)
        if named is not None:
            return [(event, Target.of(named))]
    open_ = tx.open_recoveries(customer_id)
    chosen: list[Claimed]
    last = last_touched(tx, customer_id, now - history_window, event.channel)
    if event.reply.intent in STOPPING:
        chosen = sorted(open_, key=lambda c: c.state.checkout_id != last)
    else:
        chosen = [c for c in open_ if c.state.checkout_id == last][:1] or open_[:1]
    if not chosen:
        # Nothing open: the most recent recovery answers (a late STOP gets its
        # one confirmation; other replies are noted as arriving after the end).
        last = last_touched(tx, customer_id, now - history_window, None)
        named = None if last is None else tx.load(last)
        chosen = [] if named is None else [named]
    return [(attrs.evolve(event, checkout_id=c.state.checkout_id), Target.of(c)) for c in chosen]


def answerable(
    tx: Transaction, customer_id: str, now: datetime, *, history_window: timedelta
) -> bool:
    """Whether reply routing finds a recovery: an open one, or one touched lately."""
    if tx.open_recoveries(customer_id):
        return True
    return last_touched(tx, customer_id, now - history_window, None) is not None

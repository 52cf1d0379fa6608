"""The runner's side of abandonment detection: shop facts in, recoveries out, crash-safely.

``recoverykit.detector`` decides; this module stores and routes, for ``Runner.observe``
(a shop fact from ``recoverykit.sources`` or the shop's own hook) and ``Runner.detect``
(the detector's tick). The store must keep detector state (``DetectorTransaction``).

* Checkout activity updates the checkout's watch in one transaction; its consent
  evidence then goes through ``Runner.handle`` as ``ConsentChanged`` events, so a
  Shopify "unsubscribed" stops open recoveries at once. When a recovery is already
  running for the checkout and the cart changed, it gets ``CartUpdated``: later
  touches speak of the new cart.
* An order is remembered (suppression reads it) and completes its checkout's
  watch; then every recovery it concerns gets ``OrderPlaced``: the checkout's (every
  cart version), the ordering customer's, and those of other customer records that
  share its phone or e-mail.
* The tick checks due watches and starts each abandonment in the **same**
  transaction that marks the watch, so a crash can neither lose nor repeat one.
  When a changed cart's earlier recovery is still running, that recovery carries
  the new cart instead of a second sequence starting (never two for one checkout).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from ..detector import (
    CheckoutActivity,
    CheckoutWatch,
    DetectorPolicy,
    ShopOrder,
    check,
    complete,
    observe,
    person_keys,
)
from ..engine.events import CartUpdated, ConsentChanged, Event
from ..engine.state import RecoveryStatus
from ..errors import StoreError
from ..protocols import DetectorTransaction, LogRecord, RecordKind, Transaction
from ..values.model import Channel

__all__ = ["DetectorRun", "detector_tx", "due_abandonments", "observe_activity", "observe_order"]


def detector_tx(tx: Transaction) -> DetectorTransaction:
    """``tx`` as a ``DetectorTransaction``, or ``StoreError`` saying the store keeps no
    detector state."""
    if not isinstance(tx, DetectorTransaction):
        msg = (
            f"{type(tx).__name__} keeps no abandonment-detector state; use MemoryStore, "
            "SQLiteStore or PostgresStore, or implement DetectorTransaction in your store"
        )
        raise StoreError(msg)
    return tx


def _open(tx: Transaction, checkout_id: str) -> bool:
    found = tx.load(checkout_id)
    return found is not None and found.state.status is not RecoveryStatus.FINISHED


def _engine_ids(watch: CheckoutWatch) -> list[str]:
    """The engine's checkout id of every cart version of ``watch`` emitted so far."""
    last = watch.emitted_version or 0
    return [attrs.evolve(watch, version=v).engine_checkout_id() for v in range(1, last + 1)]


def observe_activity(
    tx: Transaction, activity: CheckoutActivity, *, now: datetime, policy: DetectorPolicy
) -> list[Event]:
    """Fold ``activity`` into its watch; the events to hand to ``Runner.handle`` after commit.

    A replay (an activity id seen before) changes nothing and returns nothing.
    """
    dtx = detector_tx(tx)
    if not tx.mark_seen(activity.id):
        where = (activity.checkout_id, activity.customer.id)
        _log(tx, now, where, "duplicate", "checkout activity seen before")
        return []
    before = dtx.watch(activity.checkout_id)
    after = observe(before, activity, policy=policy)
    dtx.save_watch(after)
    events: list[Event] = [ConsentChanged(event) for event in activity.consent]
    if before is not None and before.emitted_version is not None and after.latest is activity:
        running = attrs.evolve(before, version=before.emitted_version).engine_checkout_id()
        changed = before.latest is None or (before.latest.items, before.latest.total) != (
            activity.items,
            activity.total,
        )
        if changed and _open(tx, running):
            events.append(
                CartUpdated(running, at=activity.at, items=activity.items, total=activity.total)
            )
    return events


def observe_order(tx: Transaction, order: ShopOrder, *, now: datetime) -> list[Event]:
    """Remember ``order`` and complete its checkout; the ``OrderPlaced`` events to hand to
    ``Runner.handle`` after commit. A replay changes nothing and returns nothing."""
    dtx = detector_tx(tx)
    if not dtx.add_order(order):
        _log(tx, now, (order.checkout_id, order.customer_id), "duplicate", "order seen before")
        return []
    base = order.event()
    events: list[Event] = [base]
    if order.checkout_id is not None:
        watch = complete(dtx.watch(order.checkout_id), order)
        dtx.save_watch(watch)
        events.extend(
            attrs.evolve(base, checkout_id=engine_id, id=f"{order.id}:{engine_id}")
            for engine_id in _engine_ids(watch)
            if engine_id != base.checkout_id
        )
    # Every record the person ordered as: those their watched checkouts name, and
    # those the store's address index knows (SEAMS 5: orders bind the person).
    others = set(dtx.customers_with(phone=order.phone, email=order.email))
    for channel, address in (
        (Channel.SMS, order.phone),
        (Channel.WHATSAPP, order.phone),
        (Channel.EMAIL, order.email),
    ):
        found = None if address is None else tx.customer_for(channel, address)
        if found is not None:
            others.add(found)
    others.discard(order.customer_id or "")
    events.extend(
        attrs.evolve(base, customer_id=customer_id, id=f"{order.id}:{customer_id}")
        for customer_id in sorted(others)
    )
    return events


@attrs.frozen
class DetectorRun:
    """What one detector tick found: the events to apply, and how many watches it checked."""

    events: list[Event]
    checked: int


def due_abandonments(
    tx: Transaction, *, now: datetime, policy: DetectorPolicy, limit: int
) -> DetectorRun:
    """Check up to ``limit`` due watches; the events to apply inside the same transaction.

    Each checked watch is saved with its new state before the events are returned,
    so applying them in ``tx`` makes the pair atomic.
    """
    dtx = detector_tx(tx)
    due = dtx.due_watches(now, limit=limit)
    events: list[Event] = []
    for watch in due:
        latest = watch.latest
        orders = []
        if latest is not None and watch.last_activity_at is not None:
            phone, email = person_keys(latest.customer)
            orders = dtx.orders_for(
                checkout_id=watch.checkout_id,
                customer_id=latest.customer.id,
                phone=phone,
                email=email,
                since=watch.last_activity_at - policy.suppress,
            )
        detection = check(watch, now=now, policy=policy, orders=orders)
        event = detection.abandoned
        saved = detection.watch
        if event is not None and watch.version > 1:
            earlier = [
                engine_id
                for engine_id in _engine_ids(attrs.evolve(watch, emitted_version=watch.version - 1))
                if _open(tx, engine_id)
            ]
            if earlier:
                # The earlier recovery of this checkout still runs: it takes the new cart.
                checkout = event.checkout
                events.append(
                    CartUpdated(
                        earlier[-1], at=event.at, items=checkout.items, total=checkout.total
                    )
                )
                detail = f"the running recovery {earlier[-1]} carries the changed cart"
                _log(tx, now, (watch.checkout_id, checkout.customer.id), "continued", detail)
                event = None
        dtx.save_watch(saved)
        if event is not None:
            events.append(event)
        elif detection.note is not None and detection.abandoned is None:
            customer_id = None if latest is None else latest.customer.id
            where = (watch.checkout_id, customer_id)
            _log(tx, now, where, detection.note.value, detection.detail)
    return DetectorRun(events, len(due))


def _log(
    tx: Transaction,
    now: datetime,
    where: tuple[str | None, str | None],
    outcome: str,
    detail: str,
) -> None:
    """A ``detect`` log line: what the detector made of a checkout, and why."""
    data: dict[str, Any] = {"outcome": outcome, "detail": detail}
    tx.log(LogRecord(now, RecordKind.DETECT, *where, data))

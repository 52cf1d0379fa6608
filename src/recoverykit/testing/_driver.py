"""A pure, in-process driver for the engine: the runner's job without a store.

``EngineDriver`` keeps one customer's recoveries, consent ledger, contact history
and service windows in memory, feeds events to ``decide`` in time order, and
applies the commands the way a runner would. Tests (ours and yours) use it to
check whole stories and invariants in microseconds per event.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime

import attrs

from ..engine.commands import Command, MessageKind, RecordConsent, ScheduleWakeup, SendMessage
from ..engine.events import CheckoutAbandoned, Event, OrderPlaced, ReplyReceived, WakeupDue
from ..engine.machine import Decision
from ..engine.offer import decide_just_in_time
from ..engine.policy import Context, RecoveryPolicy
from ..engine.state import RecoveryState
from ..policies.caps import ContactHistory, ContactRecord, SendKind
from ..policies.consent import ConsentEvent, ConsentLedger
from ..policies.discounts import DiscountIssuer
from ..policies.replies import Intent
from ..policies.stock import StockSource
from ..programs import SERVICE_WINDOW
from ..values.model import Channel

__all__ = ["EngineDriver", "Sent"]


@attrs.frozen
class Sent:
    """A message the driver "sent", with the instant it went out."""

    at: datetime
    message: SendMessage


class EngineDriver:
    """Drive ``decide`` for one store's customers without any I/O."""

    def __init__(
        self,
        policy: RecoveryPolicy,
        *,
        consent: Iterable[ConsentEvent] = (),
        stock: StockSource | None = None,
        discounts: DiscountIssuer | None = None,
    ) -> None:
        self.policy = policy
        #: Asked for fresh availability before each touch, as the runner does.
        self.stock = stock
        #: Asked for a code when a touch may carry a discount, as the runner does.
        self.discounts = discounts
        self.ledger = ConsentLedger().extend(consent)
        self.history: dict[str, ContactHistory] = {}
        self.windows: dict[tuple[str, Channel], datetime] = {}
        self.states: dict[str, RecoveryState] = {}
        self.sent: list[Sent] = []
        self.decisions: list[tuple[datetime, Event, Decision]] = []
        self.now: datetime | None = None

    # -- feeding ----------------------------------------------------------------------------
    def context(self, customer_id: str) -> Context:
        windows = {
            channel: until
            for (customer, channel), until in self.windows.items()
            if customer == customer_id
        }
        return Context(
            consent=self.ledger,
            history=self.history.get(customer_id, ContactHistory()),
            service_windows=windows,
        )

    def feed(self, event: Event, *, now: datetime | None = None) -> list[Decision]:
        """Apply ``event`` at ``now`` (default: its own time) to every recovery it reaches."""
        at = now if now is not None else event.at
        self._advance_to(at)
        return self._deliver(event, at)

    def run_until(self, until: datetime) -> None:
        """Fire every wake-up due up to ``until``, in time order."""
        while True:
            due = [
                (state.wakeup_at, checkout_id)
                for checkout_id, state in self.states.items()
                if state.open and state.wakeup_at is not None and state.wakeup_at <= until
            ]
            if not due:
                break
            at, checkout_id = min(due)
            assert at is not None
            self.now = max(self.now or at, at)
            before = self.states[checkout_id]
            self._deliver(WakeupDue(checkout_id, at), self.now)
            after = self.states[checkout_id]
            if after.open and after.wakeup_at == at and after.sent == before.sent:
                msg = f"the engine did not move on from the wake-up of {checkout_id} at {at}"
                raise AssertionError(msg)
        self.now = max(self.now or until, until)

    def _advance_to(self, at: datetime) -> None:
        self.run_until(at)

    # -- routing (SEAMS 2) ------------------------------------------------------------------
    def _targets(self, event: Event) -> list[str]:
        if isinstance(event, CheckoutAbandoned):
            return [event.checkout.id]
        if isinstance(event, OrderPlaced):
            customer = event.customer_id or self._customer_of(event.checkout_id)
            return [cid for cid, s in self.states.items() if s.customer_id == customer and s.open]
        if isinstance(event, ReplyReceived):
            mine = [cid for cid, s in self.states.items() if s.customer_id == event.customer_id]
            open_ones = [cid for cid in mine if self.states[cid].open]
            if event.reply.intent in (Intent.OPT_OUT, Intent.OPT_OUT_ALL):
                return open_ones or mine[-1:]
            if event.checkout_id is not None:
                return [event.checkout_id]
            return open_ones[-1:] or mine[-1:]
        checkout_id = getattr(event, "checkout_id", None)
        return [checkout_id] if checkout_id is not None else []

    def _customer_of(self, checkout_id: str) -> str | None:
        state = self.states.get(checkout_id)
        return None if state is None else state.customer_id

    def _deliver(self, event: Event, at: datetime) -> list[Decision]:
        if isinstance(event, ReplyReceived):
            self.windows[(event.customer_id, event.channel)] = event.at + SERVICE_WINDOW
        decisions = []
        for checkout_id in self._targets(event):
            state = self.states.get(checkout_id)
            customer_id = (
                event.checkout.customer.id
                if isinstance(event, CheckoutAbandoned)
                else state.customer_id
                if state is not None
                else ""
            )
            decision = decide_just_in_time(
                state,
                event,
                now=at,
                policy=self.policy,
                context=self.context(customer_id),
                stock=self.stock,
                issuer=self.discounts,
                recoveries=functools.partial(self._recoveries, customer_id),
            )
            self.states[checkout_id] = decision.state
            self.decisions.append((at, event, decision))
            for command in decision.commands:
                self._execute(command, at)
            decisions.append(decision)
        return decisions

    def _recoveries(self, customer_id: str, _since: datetime) -> list[RecoveryState]:
        return [state for state in self.states.values() if state.customer_id == customer_id]

    def _execute(self, command: Command, at: datetime) -> None:
        match command:
            case SendMessage():
                self.sent.append(Sent(at, command))
                history = self.history.get(command.customer_id, ContactHistory())
                kind = SendKind.TOUCH if command.kind.capped else SendKind.REPLY
                self.history[command.customer_id] = history.add(
                    ContactRecord(
                        at=at, channel=command.channel, checkout_id=command.checkout_id, kind=kind
                    )
                )
            case RecordConsent():
                self.ledger = self.ledger.append(command.event)
            case ScheduleWakeup():
                pass  # the state's wakeup_at carries it
            case _:
                pass

    # -- reading ----------------------------------------------------------------------------
    def touches(self, checkout_id: str | None = None) -> list[Sent]:
        return [
            sent
            for sent in self.sent
            if sent.message.kind is MessageKind.TOUCH
            and (checkout_id is None or sent.message.checkout_id == checkout_id)
        ]

    def replies(self, checkout_id: str | None = None) -> list[Sent]:
        return [
            sent
            for sent in self.sent
            if sent.message.kind is MessageKind.REPLY
            and (checkout_id is None or sent.message.checkout_id == checkout_id)
        ]

"""Outbox delivery and reconcile: committed entries handed to channels, one at a time.

Every entry goes through the same four steps, so a process that dies at any point
loses at most the one entry it was sending and never sends one twice (SEAMS 4, 6):

1. **the last look**: one read of the recovery, the customer's consent (with the
   address's own revocations) and contact history decides whether the entry may
   still go *now* (``engine.recheck``); one that may not is ``cancelled`` with its
   reason, and when only the moment is wrong the engine decides the touch again;
2. **mark attempted**, durably, just before this entry's own send;
3. **send**, passing the idempotency key; any exception from the adapter is this
   entry's failure alone;
4. **mark the outcome** at once: ``sent``, ``failed`` (with the error), or
   ``uncertain`` when the provider may have accepted it (HTTP 5xx, a timeout after
   the request left): never resent under a new key.

``reconcile`` finds what a dead process left: entries never handed over take the
same four steps (so a stale decision is looked at again, not sent); entries handed
over but never marked are asked about through the channel's optional
``lookup(key)``, and otherwise become ``uncertain`` until a delivery report names
their key (``Runner.receive`` settles them as ``sent``).
"""

from __future__ import annotations

import enum
import logging
from abc import abstractmethod
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Final

import attrs

from ..channels.errors import OUTCOME_UNKNOWN
from ..engine.commands import HandOff, MessageKind
from ..engine.events import Event, MessageFailed
from ..engine.machine import Decision
from ..engine.policy import Context, RecoveryPolicy
from ..engine.recheck import Verdict, VerdictKind, recheck, withdraw
from ..errors import ChannelError, ConflictError
from ..protocols import (
    ChannelAdapter,
    ChannelHealthSink,
    Claimed,
    Clock,
    HandOffSink,
    LogRecord,
    OutboxEntry,
    OutboxStatus,
    Receipt,
    Store,
    Transaction,
)
from ..values.model import Channel
from .addresses import address_ledger_id, address_revocations
from .apply import Pending
from .circuits import Circuits
from .optouts import record_provider_opt_out
from .records import CONFIRM_KEY, RecordKind, outbox_record

__all__ = ["Delivery"]

#: Pending entries one ``reconcile`` call looks at; call it again for more.
RECONCILE_BATCH: Final = 10_000
#: The runtime layer's logger (docs/reference/logging.md): no personal data at INFO+.
_log: Final = logging.getLogger("recoverykit.runtime")
#: The ``code`` of a failure that was an adapter's unexpected exception.
UNEXPECTED: Final = "unexpected_exception"


class Delivery(Circuits):
    """The part of ``Runner`` that hands committed outbox entries to channels."""

    policy: RecoveryPolicy
    store: Store
    channels: dict[Channel, ChannelAdapter]
    clock: Clock
    handoffs: HandOffSink | None
    health: ChannelHealthSink | None
    lease: timedelta
    history_window: timedelta

    @abstractmethod
    def handle(self, event: Event) -> list[Decision]:
        """Apply one engine event (``Runner.handle``)."""

    def _after_commit(self, pending: Pending) -> int:
        for handoff in pending.handoffs:
            self._hand_off(handoff)
        return self._deliver(pending.entries, pending.decided)

    def _hand_off(self, handoff: HandOff) -> None:
        """Give the sink its hand-off; a failing sink is logged and harms nothing else
        (the ``handoff`` log line was committed with the decision)."""
        if self.handoffs is None:
            return
        try:
            self.handoffs.hand_off(handoff)
        except Exception:
            _log.exception(
                "hand-off sink failed for checkout %s (%s); the log keeps the hand-off",
                handoff.checkout_id,
                handoff.reason.value,
                extra={"checkout_id": handoff.checkout_id, "reason": handoff.reason.value},
            )

    def _deliver(
        self, entries: list[OutboxEntry], decided: Mapping[str, Claimed] | None = None
    ) -> int:
        """Take each entry through look, mark, send, mark; return how many were accepted.

        An entry whose channel is down (between probes), whose recipient is held, or
        that the channel's send rate has no room for yet is left ``pending``: it waits
        for a later tick (``run_due`` takes the waiting ones first). ``decided`` holds
        the states the unit of work just committed: the last look uses one instead of
        reading and decoding it again while its version stands.
        """
        if not entries:
            return 0
        sent = 0
        failures: list[tuple[OutboxEntry, ChannelError]] = []
        gate = self._gate(self.clock.now())
        known = decided or {}
        for entry in entries:
            now = self.clock.now()
            if not gate.admits(entry.message, now):
                continue
            taken = self._take(entry, now, known.get(entry.message.checkout_id))
            if taken is _Taken.NO:
                continue
            self._claim_probe(gate, entry, now)
            if taken is _Taken.LOOKED:
                previous = (
                    {entry.key: entry.attempted_at} if entry.attempted_at is not None else None
                )
                if not self.store.mark_attempted([entry.key], at=now, previous=previous):
                    continue  # another process (a second reconcile) claimed it first
            gate.sending(entry.message.channel, now)
            outcome = self._send_one(entry)
            self._answered(gate, entry.message.channel, outcome, now)
            if isinstance(outcome, Receipt):
                self.store.mark_outbox(
                    entry.key, OutboxStatus.SENT, at=now, provider_id=outcome.provider_id
                )
                sent += 1
                continue
            if self._hold_back(gate, entry, outcome, now):
                continue  # the channel is down: the entry waits, its recovery is not told
            status = (
                OutboxStatus.UNCERTAIN if outcome.code == OUTCOME_UNKNOWN else OutboxStatus.FAILED
            )
            self.store.mark_outbox(entry.key, status, at=now, detail=str(outcome))
            self._log_failure(entry, outcome, status, now)
            if status is OutboxStatus.FAILED:
                failures.append((entry, outcome))
        self._tell_engine(failures)
        return sent

    # -- the last look -------------------------------------------------------------------------
    def _take(self, entry: OutboxEntry, now: datetime, known: Claimed | None = None) -> _Taken:
        """The last look, and with it the "attempted" mark: whether ``entry`` goes now.

        One transaction reads what could have changed since the decision. An entry
        that may still go is marked attempted in that same transaction when the store's
        transaction can (``attempt``), so its commit is the durable mark before the
        send (``MARKED``); otherwise the caller marks it through the store (``LOOKED``).
        An entry that may not go is logged and marked ``cancelled`` (``NO``); a touch
        whose moment is wrong is also handed back to the engine (its recovery due again
        now). ``known`` is the recovery as this process committed it, if it did.
        """
        message = entry.message
        if message.kind is MessageKind.REPLY and message.key == CONFIRM_KEY:
            return _Taken.LOOKED  # the one confirmation an opt-out gets, at once (FCC-4)
        detail = ""
        for attempt in (1, 2):
            try:
                with self.store.transaction() as tx:
                    verdict = self._look(tx, entry, now, known)
                    if verdict.go:
                        return _attempt_in(tx, entry, now)
                    detail = self._drop(tx, entry, verdict, now)
                break
            except ConflictError:
                if attempt == 2:
                    raise
        # A crash before this mark leaves the entry pending: the next look drops it again.
        self.store.mark_outbox(entry.key, OutboxStatus.CANCELLED, at=now, detail=detail)
        return _Taken.NO

    def _look(
        self, tx: Transaction, entry: OutboxEntry, now: datetime, known: Claimed | None = None
    ) -> Verdict:
        message = entry.message
        customer_id = message.customer_id
        ledger = tx.ledger(customer_id)
        shared = tx.ledger(address_ledger_id(message.channel, message.to))
        revoked = address_revocations(shared, customer_id, message.channel)
        if revoked:
            ledger = ledger.extend(revoked)
        if message.kind is not MessageKind.TOUCH:
            # A reply answers the customer now; the double opt-in request was judged
            # against hours and caps when decided. Both stop at an opt-out, and a
            # request also when its recovery has ended.
            if ledger.opted_out(customer_id, message.channel, now):
                return Verdict(VerdictKind.CANCEL, "the address opted out before the send")
            if message.kind is MessageKind.REQUEST:
                found = tx.load(message.checkout_id)
                if found is None or not found.state.open:
                    return Verdict(VerdictKind.CANCEL, "the recovery ended before the request")
            return Verdict(VerdictKind.GO)
        claimed = _current(tx, message.checkout_id, known)
        if claimed is None:
            return recheck(None, message, now=now, policy=self.policy, context=Context())
        history = tx.history(customer_id, since=now - self.history_window)
        context = Context(consent=ledger, history=history)
        return recheck(claimed.state, message, now=now, policy=self.policy, context=context)

    def _drop(self, tx: Transaction, entry: OutboxEntry, verdict: Verdict, now: datetime) -> str:
        """Log why ``entry`` does not go, and hand its touch back when only the moment is wrong."""
        message = entry.message
        detail = f"last look: {verdict.reason}"
        if verdict.kind is VerdictKind.REDECIDE:
            claimed = tx.load(message.checkout_id)
            again = None if claimed is None else withdraw(claimed.state, message, now)
            if claimed is not None and again is not None:
                tx.save(again, expected_version=claimed.version)
                detail += "; the touch is decided again"
        tx.log(outbox_record(now, entry, OutboxStatus.CANCELLED, detail))
        return detail

    # -- sending ---------------------------------------------------------------------------------
    def _send_one(self, entry: OutboxEntry) -> Receipt | ChannelError:
        """Hand one entry to its adapter; whatever goes wrong is this entry's failure alone."""
        message = entry.message
        adapter = self.channels.get(message.channel)
        if adapter is None:
            return ChannelError(
                f"No adapter for channel {message.channel.value!r}; "
                "pass one in Runner(channels=...)",
                permanent=True,
                code="no_adapter",
            )
        try:
            return adapter.send(message)
        except ChannelError as exc:
            return exc
        except Exception as exc:
            return ChannelError(
                f"{type(exc).__name__}: {exc}"[:500], permanent=False, code=UNEXPECTED
            )

    def _log_failure(
        self, entry: OutboxEntry, error: ChannelError, status: OutboxStatus, now: datetime
    ) -> None:
        message = entry.message
        _warn_operators(entry, error, status)
        with self.store.transaction() as tx:
            tx.log(
                LogRecord(now, RecordKind.OUTBOX, message.checkout_id, message.customer_id,
                          {"key": entry.key, "status": status.value,
                           "touch": message.touch, "channel": message.channel.value,
                           "permanent": error.permanent, "code": error.code,
                           "scope": error.scope.value,
                           "retry_after": _seconds(error.retry_after),
                           "detail": str(error)})
            )  # fmt: skip

    def _tell_engine(self, failures: Iterable[tuple[OutboxEntry, ChannelError]]) -> None:
        """Tell the engine about failed touches, so it retries or moves on.

        A failed reply (an opt-out confirmation, a help answer) has no touch to
        retry: replies answer one inbound message and are never resent later. An
        ``uncertain`` send is not a failure: the engine keeps it as sent. A revoking
        failure reaches the ledger whether or not a recovery took it (a reply's, or
        one whose recovery is paused or over).
        """
        for entry, error in failures:
            message = entry.message
            at = self.clock.now()
            if message.touch is not None:
                self.handle(
                    MessageFailed(
                        checkout_id=message.checkout_id,
                        touch=message.touch,
                        channel=message.channel,
                        at=at,
                        permanent=error.permanent,
                        code=error.code,
                        revoked=error.revoked,
                        attempt=message.attempt,
                        scope=error.scope,
                        retry_after=error.retry_after,
                    )
                )
            if error.revoked:
                record_provider_opt_out(
                    self.handle, self.store, message, code=error.code, at=at, ident=entry.key
                )

    def _deliver_waiting(self) -> int:
        """Send what waited in the outbox (a channel that was down, a held recipient, the
        send rate), oldest first, each after its own last look; return how many went.

        Only entries never handed over are taken: one handed over and not marked is
        ``reconcile``'s. Another worker's fresh entries may be among them; claiming
        (``mark_attempted``) lets exactly one of the two send each.
        """
        now = self.clock.now()
        waiting = [
            entry
            for entry in self.store.outbox(status=OutboxStatus.PENDING, limit=RECONCILE_BATCH)
            if entry.attempted_at is None and entry.created_at <= now
        ]
        return self._deliver(waiting)

    # -- after a crash ---------------------------------------------------------------------------
    def reconcile(self, *, older_than: timedelta | None = None) -> list[OutboxEntry]:
        """Finish what a dead process left pending; return the entries now ``uncertain``.

        Call it at start-up. Only entries created more than ``older_than`` ago
        (default: the lease) are touched, so a live worker's in-flight sends are
        left alone. Entries never handed over take the last look and are sent only
        if they may still go now (else ``cancelled``, or decided again); entries
        handed over but never marked are looked up through the adapter's
        ``lookup(key)`` when it has one, and otherwise marked ``uncertain``, logged,
        and never resent automatically.
        """
        now = self.clock.now()
        cutoff = now - (self.lease if older_than is None else older_than)
        to_send: list[OutboxEntry] = []
        uncertain: list[OutboxEntry] = []
        records: list[LogRecord] = []
        for entry in self.store.outbox(status=OutboxStatus.PENDING, limit=RECONCILE_BATCH):
            if entry.created_at > cutoff:
                continue
            if entry.attempted_at is None:
                to_send.append(entry)
                continue
            lookup = getattr(self.channels.get(entry.message.channel), "lookup", None)
            receipt = lookup(entry.key) if callable(lookup) else None
            if isinstance(receipt, Receipt):
                self.store.mark_outbox(
                    entry.key, OutboxStatus.SENT, at=now, provider_id=receipt.provider_id
                )
            elif callable(lookup):
                to_send.append(entry)  # the provider never saw it: safe to send
            else:
                detail = "the process stopped mid-send and the channel cannot be asked"
                self.store.mark_outbox(entry.key, OutboxStatus.UNCERTAIN, at=now, detail=detail)
                uncertain.append(attrs.evolve(entry, status=OutboxStatus.UNCERTAIN, detail=detail))
                records.append(outbox_record(now, entry, OutboxStatus.UNCERTAIN, detail))
        if records:
            with self.store.transaction() as tx:
                for record in records:
                    tx.log(record)
        resent = self._deliver(to_send)
        _log.info(
            "reconcile: %d pending messages sent, %d uncertain",
            resent,
            len(uncertain),
            extra={"resent": resent, "uncertain": len(uncertain)},
        )
        return uncertain


class _Taken(enum.Enum):
    """What the last look decided about one entry."""

    #: It does not go (cancelled, or another process claimed it).
    NO = "no"
    #: It goes, and the look's own transaction marked it attempted.
    MARKED = "marked"
    #: It goes; the store's transaction could not mark it, so the caller does.
    LOOKED = "looked"


def _attempt_in(tx: Transaction, entry: OutboxEntry, now: datetime) -> _Taken:
    """Mark ``entry`` attempted inside the look's transaction, if the store can; an entry
    another process (a second reconcile) claimed meanwhile does not go."""
    attempt = getattr(tx, "attempt", None)
    if not callable(attempt):
        return _Taken.LOOKED
    return _Taken.MARKED if attempt(entry.key, at=now, previous=entry.attempted_at) else _Taken.NO


def _current(tx: Transaction, checkout_id: str, known: Claimed | None) -> Claimed | None:
    """The recovery as stored now: ``known`` while the stored version is still its own
    (comparing one integer instead of reading and decoding the state), else read."""
    if known is not None:
        # ``getattr``, not ``batched``: an isinstance check against a runtime protocol
        # costs more than the query it would choose.
        version = getattr(tx, "version", None)
        stored = version(checkout_id) if callable(version) else _loaded_version(tx, checkout_id)
        if stored == known.version:
            return known
    return tx.load(checkout_id)


def _loaded_version(tx: Transaction, checkout_id: str) -> int | None:
    claimed = tx.load(checkout_id)
    return None if claimed is None else claimed.version


def _seconds(wait: timedelta | None) -> float | None:
    return None if wait is None else wait.total_seconds()


def _warn_operators(entry: OutboxEntry, error: ChannelError, status: OutboxStatus) -> None:
    """A failed or uncertain send, for operators: ids and codes at WARNING; the provider's
    own words (which may quote the number) only at DEBUG."""
    message = entry.message
    facts = {
        "checkout_id": message.checkout_id,
        "channel": message.channel.value,
        "touch": message.touch,
        "code": error.code,
        "permanent": error.permanent,
        "scope": error.scope.value,
        "outbox_key": entry.key,
    }
    what = "failed" if status is OutboxStatus.FAILED else "is uncertain"
    _log.warning(
        "send %s: checkout %s on %s, code %s", what, message.checkout_id,
        message.channel.value, error.code, extra=facts,
    )  # fmt: skip
    _log.debug(
        "provider detail for checkout %s: %s", message.checkout_id, error,
        extra={"checkout_id": message.checkout_id, "detail": str(error)},
    )  # fmt: skip

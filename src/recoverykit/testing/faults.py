"""Faults on purpose: a store and a channel that crash or misbehave where a test says.

The runtime has no crash hook of its own; tests wrap the real store and channels
instead, so what they prove is what production runs. ``CrashingStore`` stops the
process (``os._exit(137)``, as a kill would) or raises ``SimulatedCrash`` at one
of ``CRASH_STEPS``; ``CrashingChannel`` does it right after a provider accepted a
message. ``FaultyChannel`` answers each send as a script says: accept, a transient
or permanent refusal, an HTTP 5xx or a timeout after the request left (both
``outcome_unknown``: the provider may have the message), an unexpected exception,
or a slow accept. ``FaultyProvider`` plays provider trouble on a clock instead:
"the auth token is refused from t0 for an hour", "429 with retry_after 30 s", "this
one number is rate limited for 10 minutes", and records every request it was sent.
"""

from __future__ import annotations

import enum
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import attrs

from ..channels.errors import OutcomeUnknown
from ..engine.commands import SendMessage
from ..errors import ChannelError, FaultScope
from ..protocols import (
    ChannelAdapter,
    Claimed,
    OutboxEntry,
    OutboxMark,
    OutboxStatus,
    Receipt,
    Store,
    Transaction,
    batched,
)
from ..values.model import Channel

__all__ = [
    "CRASH_STEPS",
    "CrashStep",
    "CrashingChannel",
    "CrashingStore",
    "Fault",
    "FaultyChannel",
    "FaultyProvider",
    "ProviderFault",
    "SimulatedCrash",
]

CrashStep = Literal["after_claim", "after_commit", "after_attempted", "after_send", "after_mark"]
#: Where a crash can be injected, in the order a unit of work reaches them.
CRASH_STEPS: Final = frozenset(
    {"after_claim", "after_commit", "after_attempted", "after_send", "after_mark"}
)


class SimulatedCrash(BaseException):
    """The process "died" here (raised instead of exiting, for in-process tests).

    A ``BaseException``, so no ``except Exception`` in the runtime swallows it,
    just as nothing survives a kill.
    """


def _crash(step: str, *, exit_process: bool) -> None:
    if exit_process:
        os._exit(137)
    raise SimulatedCrash(step)


def _check(step: str | None) -> None:
    if step is not None and step not in CRASH_STEPS:
        choices = ", ".join(sorted(CRASH_STEPS))
        msg = f"Unknown crash step {step!r}; choose one of {choices}"
        raise ValueError(msg)


class CrashingStore:
    """A ``Store`` that crashes once, at ``crash_at``, and otherwise is ``store``.

    * ``after_claim``: ``claim_due`` returned claims;
    * ``after_commit``: a transaction that queued outbox entries committed;
    * ``after_attempted``: an entry was marked attempted (just before its send);
    * ``after_mark``: an entry's outcome was marked.

    ``exit_process=True`` ends the process as a kill would; otherwise
    ``SimulatedCrash`` is raised. ``armed`` turns it off and on.
    """

    def __init__(
        self, store: Store, crash_at: CrashStep | None, *, exit_process: bool = True
    ) -> None:
        _check(crash_at)
        self.store = store
        self.crash_at = crash_at
        self.exit_process = exit_process
        self.armed = crash_at is not None

    def _maybe(self, step: str) -> None:
        if self.armed and self.crash_at == step:
            self.armed = False
            _crash(step, exit_process=self.exit_process)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def claim_due(
        self, now: datetime, *, limit: int, lease: timedelta, worker: str
    ) -> list[Claimed]:
        claimed = self.store.claim_due(now, limit=limit, lease=lease, worker=worker)
        if claimed:
            self._maybe("after_claim")
        return claimed

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        queued: list[bool] = []
        attempted: list[bool] = []
        with self.store.transaction() as tx:
            yield _CountingTransaction(tx, queued, attempted)
        if any(queued):
            self._maybe("after_commit")
        if any(attempted):
            self._maybe("after_attempted")  # a last look that marked its entry committed

    def mark_attempted(
        self, keys: list[str], *, at: datetime, previous: Mapping[str, datetime] | None = None
    ) -> list[str]:
        won = self.store.mark_attempted(keys, at=at, previous=previous)
        if won:
            self._maybe("after_attempted")
        return won

    def mark_outbox(
        self,
        key: str,
        status: OutboxStatus,
        *,
        at: datetime,
        provider_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.store.mark_outbox(key, status, at=at, provider_id=provider_id, detail=detail)
        if status is not OutboxStatus.CANCELLED:
            self._maybe("after_mark")

    def mark_outbox_many(self, marks: list[OutboxMark], *, at: datetime) -> None:
        self.store.mark_outbox_many(marks, at=at)
        if marks:
            self._maybe("after_mark")

    def outbox(
        self, *, status: OutboxStatus = OutboxStatus.PENDING, limit: int = 1000
    ) -> list[OutboxEntry]:
        return self.store.outbox(status=status, limit=limit)


class _CountingTransaction:
    """A transaction that notes whether it queued an outbox entry."""

    def __init__(self, tx: Transaction, queued: list[bool], attempted: list[bool]) -> None:
        self._tx = tx
        self._queued = queued
        self._attempted = attempted
        if callable(getattr(tx, "attempt", None)):
            self.attempt = self._attempt  # only where the store's transaction has it

    def _attempt(self, key: str, *, at: datetime, previous: datetime | None = None) -> bool:
        claimed: bool = getattr(self._tx, "attempt")(key, at=at, previous=previous)  # noqa: B009
        self._attempted.append(claimed)
        return claimed

    def add_outbox(self, entry: OutboxEntry) -> bool:
        added = self._tx.add_outbox(entry)
        self._queued.append(added)
        return added

    def add_outbox_many(self, entries: Sequence[OutboxEntry]) -> set[str]:
        added = batched(self._tx).add_outbox_many(entries)
        self._queued.append(bool(added))
        return added

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)


class CrashingChannel:
    """A channel that crashes right after ``adapter`` accepted a message (``after_send``)."""

    def __init__(self, adapter: ChannelAdapter, *, exit_process: bool = True) -> None:
        self.adapter = adapter
        self.channel = adapter.channel
        self.exit_process = exit_process
        self.armed = True

    def send(self, message: SendMessage) -> Receipt:
        receipt = self.adapter.send(message)
        if self.armed:
            self.armed = False
            _crash("after_send", exit_process=self.exit_process)
        return receipt

    def __getattr__(self, name: str) -> Any:
        return getattr(self.adapter, name)


class Fault(enum.StrEnum):
    """What a ``FaultyChannel`` does with one send."""

    ACCEPT = "accept"
    #: Refused, worth a retry (a rate limit, a busy provider); nothing was delivered.
    TRANSIENT = "transient"
    #: Refused for good (a landline, an unknown chat); nothing was delivered.
    PERMANENT = "permanent"
    #: An HTTP 5xx after the provider took the request: it *was* delivered here.
    SERVER_ERROR = "server_error"
    #: The answer timed out after the request left: delivered here too.
    TIMEOUT_AFTER_SEND = "timeout_after_send"
    #: A bug in the adapter (``RuntimeError``), before anything left.
    EXCEPTION = "exception"
    #: Accepted after ``delay`` seconds (to widen the window a STOP can land in).
    SLOW = "slow"


class FaultyChannel:
    """A provider with a script: each send does the next ``Fault`` (then ``ACCEPT``).

    ``delivered`` lists every message that reached the "customer", whatever the
    runtime was told: a 5xx or a timeout after sending delivers, as it may in
    real life. ``on_send`` is called with each delivered message (a property test
    checks its invariants at the moment of sending there).
    """

    def __init__(
        self,
        channel: Channel,
        *,
        script: Callable[[SendMessage], Fault] | None = None,
        clock: Any = None,
        delay: float = 0.0,
        on_send: Callable[[SendMessage], None] | None = None,
    ) -> None:
        self.channel = Channel(channel)
        self.script = script or (lambda _message: Fault.ACCEPT)
        self.clock = clock
        self.delay = delay
        self.on_send = on_send
        self.delivered: list[SendMessage] = []

    def send(self, message: SendMessage) -> Receipt:
        fault = self.script(message)
        match fault:
            case Fault.TRANSIENT:
                raise ChannelError("provider busy (scripted)", permanent=False, code="busy")
            case Fault.PERMANENT:
                raise ChannelError(
                    "not a mobile number (scripted)", permanent=True, code="landline"
                )
            case Fault.EXCEPTION:
                msg = "the HTTP client was closed (scripted adapter bug)"
                raise RuntimeError(msg)
            case Fault.SLOW:
                time.sleep(self.delay)
            case _:
                pass
        self._deliver(message)
        if fault is Fault.SERVER_ERROR:
            raise OutcomeUnknown("HTTP 502 from the provider after the request was sent (scripted)")
        if fault is Fault.TIMEOUT_AFTER_SEND:
            raise OutcomeUnknown("read timed out after the request was sent (scripted)")
        now = getattr(self.clock, "now", None)
        return Receipt(
            provider_id=f"faulty-{message.idempotency_key}",
            accepted_at=now() if callable(now) else datetime.fromtimestamp(0).astimezone(),
        )

    def _deliver(self, message: SendMessage) -> None:
        if self.on_send is not None:
            self.on_send(message)
        self.delivered.append(message)


@attrs.frozen
class ProviderFault:
    """A stretch of provider trouble: from ``start`` for ``length`` every request (to ``to``
    only, when given) is refused with ``code`` and ``scope``, as the real provider would.

    With ``wait`` the refusal carries a ``retry_after`` of the time left in the stretch
    (what an HTTP ``Retry-After`` or Telegram's ``retry_after`` says).
    """

    start: datetime
    length: timedelta
    code: str
    scope: FaultScope
    detail: str
    wait: bool = False
    permanent: bool = False
    to: str | None = None

    @classmethod
    def auth_failure(cls, start: datetime, length: timedelta = timedelta(hours=1)) -> ProviderFault:
        """The account's credentials refused (Twilio 20003): the whole channel is down."""
        return cls(start, length, "20003", FaultScope.CHANNEL,
                   "the provider refused the account's credentials (scripted)")  # fmt: skip

    @classmethod
    def too_many_requests(
        cls, start: datetime, retry_after: timedelta = timedelta(seconds=30)
    ) -> ProviderFault:
        """HTTP 429 with ``Retry-After``: nothing is taken until ``retry_after`` has passed."""
        return cls(start, retry_after, "http_429", FaultScope.CHANNEL,
                   "too many requests; retry later (scripted)", wait=True)  # fmt: skip

    @classmethod
    def recipient_limit(cls, to: str, start: datetime, length: timedelta) -> ProviderFault:
        """Too many messages to one number (WhatsApp 131056), with the wait it asks for."""
        return cls(start, length, "131056", FaultScope.RECIPIENT,
                   "too many messages to this number (scripted)", wait=True, to=to)  # fmt: skip

    def covers(self, message: SendMessage, now: datetime) -> bool:
        """Whether this stretch refuses ``message`` sent at ``now``."""
        if not self.start <= now < self.start + self.length:
            return False
        return self.to is None or self.to == message.to

    def error(self, now: datetime) -> ChannelError:
        """The refusal a request at ``now`` gets."""
        left = self.start + self.length - now if self.wait else None
        return ChannelError(self.detail, permanent=self.permanent, code=self.code,
                            scope=self.scope, retry_after=left)  # fmt: skip


class FaultyProvider:
    """A provider that plays ``faults`` on ``clock``: each request inside a fault's stretch
    is refused with it (the first that covers it), every other one is accepted.

    ``requests`` lists every request with its time, refused or not (to prove that none
    came before a ``retry_after``), ``refused`` the refused ones with their error,
    ``accepted`` the accepted ones and ``delivered`` just their messages.
    """

    def __init__(
        self,
        channel: Channel,
        clock: Any,
        faults: Sequence[ProviderFault] = (),
    ) -> None:
        self.channel = Channel(channel)
        self.clock = clock
        self.faults = tuple(faults)
        self.requests: list[tuple[datetime, SendMessage]] = []
        self.refused: list[tuple[datetime, SendMessage, ChannelError]] = []
        self.accepted: list[tuple[datetime, SendMessage]] = []
        self.delivered: list[SendMessage] = []

    def send(self, message: SendMessage) -> Receipt:
        now: datetime = self.clock.now()
        self.requests.append((now, message))
        for fault in self.faults:
            if fault.covers(message, now):
                error = fault.error(now)
                self.refused.append((now, message, error))
                raise error
        self.accepted.append((now, message))
        self.delivered.append(message)
        return Receipt(provider_id=f"provider-{len(self.requests)}", accepted_at=now)

"""The state of one checkout's recovery, and the table of every transition.

Like h11's ``_state.py``, the rules of movement live in one place: ``TRANSITIONS``
maps (status, event type) to the statuses that event may lead to. The machine
consults it for every event and a test drives every pair through ``decide``;
``docs/reference/state-diagram.md`` is generated from it.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Final

import attrs

from ..values.model import Channel, Checkout
from .commands import FinishReason
from .conversation import ConversationLine
from .events import (
    CartEmptied,
    CartUpdated,
    CheckoutAbandoned,
    ConsentChanged,
    LinkClicked,
    MessageDelivered,
    MessageFailed,
    MessageRead,
    OrderPlaced,
    RecoveryResumed,
    ReplyReceived,
    WakeupDue,
)
from .notes import Note, note_from_dict

__all__ = [
    "STATE_VERSION",
    "TRANSITIONS",
    "RecoveryState",
    "RecoveryStatus",
    "SentTouch",
    "state_diagram",
]

STATE_VERSION: Final = 1


class RecoveryStatus(enum.StrEnum):
    """Where a recovery stands."""

    #: Not started: ``decide(None, CheckoutAbandoned(...))`` starts it.
    NEW = "new"
    #: Waiting for the next touch's wake-up.
    ACTIVE = "active"
    #: A person took over after a reply; no touches until ``RecoveryResumed`` or the
    #: policy's ``handoff_timeout``.
    PAUSED = "paused"
    #: In the holdout group: tracked to the end, never messaged.
    HOLDOUT = "holdout"
    #: Over; only measurement reads it now.
    FINISHED = "finished"


@attrs.frozen
class SentTouch:
    """A touch that went out, and what became of it."""

    touch: int
    channel: Channel
    at: datetime
    key: str
    attempt: int = 0
    delivered: bool = False
    read: bool = False
    failed: bool = False
    #: The discount code this touch carried (who got which code, for measurement).
    discount_code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "touch": self.touch,
            "channel": self.channel.value,
            "at": self.at.isoformat(),
            "key": self.key,
            "attempt": self.attempt,
            "delivered": self.delivered,
            "read": self.read,
            "failed": self.failed,
            **({"discount_code": self.discount_code} if self.discount_code else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SentTouch:
        return cls(
            touch=int(data["touch"]),
            channel=Channel(data["channel"]),
            at=datetime.fromisoformat(data["at"]),
            key=str(data["key"]),
            attempt=int(data.get("attempt", 0)),
            delivered=bool(data.get("delivered", False)),
            read=bool(data.get("read", False)),
            failed=bool(data.get("failed", False)),
            discount_code=data.get("discount_code"),
        )


@attrs.frozen
class RecoveryState:
    """Everything the engine remembers about one recovery; a value any store can keep.

    ``checkout`` is ``None`` once the retention period has passed: personal data
    is dropped, the ids and outcome stay for measurement.
    """

    checkout_id: str
    customer_id: str
    status: RecoveryStatus = RecoveryStatus.NEW
    checkout: Checkout | None = None
    #: The sequence's name and version this recovery follows.
    sequence: str = ""
    sequence_version: str = ""
    #: Experiment variant, or ``None`` when the policy runs no experiment.
    variant: str | None = None
    #: Candidate zones and where they came from.
    zones: tuple[str, ...] = ()
    zone_source: str = ""
    #: The channel touches go to unless a touch names its own.
    channel: Channel | None = None
    #: Channels that failed permanently; never tried again for this recovery.
    failed_channels: frozenset[Channel] = frozenset()
    #: 0-based index of the next touch to send.
    next_touch: int = 0
    #: Retry attempt of the next touch (0 for the first try).
    attempt: int = 0
    #: When the next wake-up is due; never moves backwards.
    wakeup_at: datetime | None = None
    #: The double opt-in request waits to go out at this instant (hours or caps held it).
    optin_due: datetime | None = None
    #: When the double opt-in request went out (touches that need its answer wait for it).
    optin_sent_at: datetime | None = None
    sent: tuple[SentTouch, ...] = ()
    #: When the provider said the WhatsApp service window was closed (131047): until
    #: the customer writes again, touches there go as templates whatever the stored
    #: window says.
    window_closed_at: datetime | None = None
    #: Sends per channel for this abandonment (program limits count these).
    replies_sent: int = 0
    #: When a person took the conversation over (``PAUSED``); the policy's
    #: ``handoff_timeout`` counts from here, or from the customer's latest reply since.
    paused_at: datetime | None = None
    #: The newest messages both ways (``engine.conversation``), for hand-offs.
    conversation: tuple[ConversationLine, ...] = ()
    clicked: bool = False
    finish_reason: FinishReason | None = None
    finished_at: datetime | None = None
    #: Ids of events already applied, newest last (duplicates are ignored).
    seen: tuple[str, ...] = ()
    #: Every note ever made, oldest first, for ``explain``.
    notes: tuple[Note, ...] = ()
    #: The instant of the newest event applied.
    updated_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.status not in (RecoveryStatus.FINISHED, RecoveryStatus.NEW)

    def sends_on(self, channel: Channel) -> int:
        return sum(1 for sent in self.sent if sent.channel is channel and not sent.failed)

    def last_sent(self) -> SentTouch | None:
        return self.sent[-1] if self.sent else None

    # -- serialisation -----------------------------------------------------------------
    def to_dict(self, *, notes: bool = True) -> dict[str, Any]:
        """A JSON-safe dict, versioned, that ``from_dict`` turns back into an equal state.

        ``notes=False`` leaves the ``notes`` key out, for a store that keeps the notes'
        JSON apart (they only grow, so their text is worth reusing).
        """
        data = {
            "version": STATE_VERSION,
            "checkout_id": self.checkout_id,
            "customer_id": self.customer_id,
            "status": self.status.value,
            "checkout": None if self.checkout is None else self.checkout.to_dict(),
            "sequence": self.sequence,
            "sequence_version": self.sequence_version,
            "variant": self.variant,
            "zones": list(self.zones),
            "zone_source": self.zone_source,
            "channel": None if self.channel is None else self.channel.value,
            "failed_channels": sorted(channel.value for channel in self.failed_channels),
            "next_touch": self.next_touch,
            "attempt": self.attempt,
            "wakeup_at": None if self.wakeup_at is None else self.wakeup_at.isoformat(),
            "optin_due": None if self.optin_due is None else self.optin_due.isoformat(),
            "optin_sent_at": None if self.optin_sent_at is None else self.optin_sent_at.isoformat(),
            "sent": [sent.to_dict() for sent in self.sent],
            "replies_sent": self.replies_sent,
            "paused_at": None if self.paused_at is None else self.paused_at.isoformat(),
            "conversation": [line.to_dict() for line in self.conversation],
            "clicked": self.clicked,
            "finish_reason": None if self.finish_reason is None else self.finish_reason.value,
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
            "seen": list(self.seen),
        }
        if self.window_closed_at is not None:
            data["window_closed_at"] = self.window_closed_at.isoformat()
        if notes:
            data["notes"] = [note.to_dict() for note in self.notes]
        data["updated_at"] = None if self.updated_at is None else self.updated_at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecoveryState:
        version = data.get("version")
        if version != STATE_VERSION:
            msg = f"Unsupported recovery state version {version!r} (this release reads 1)"
            raise ValueError(msg)

        def when(key: str) -> datetime | None:
            value = data.get(key)
            return None if value is None else datetime.fromisoformat(value)

        return cls(
            checkout_id=str(data["checkout_id"]),
            customer_id=str(data["customer_id"]),
            status=RecoveryStatus(data["status"]),
            checkout=None if data.get("checkout") is None else Checkout.from_dict(data["checkout"]),
            sequence=str(data.get("sequence", "")),
            sequence_version=str(data.get("sequence_version", "")),
            variant=data.get("variant"),
            zones=tuple(data.get("zones", ())),
            zone_source=str(data.get("zone_source", "")),
            channel=None if data.get("channel") is None else Channel(data["channel"]),
            failed_channels=frozenset(Channel(c) for c in data.get("failed_channels", ())),
            next_touch=int(data.get("next_touch", 0)),
            attempt=int(data.get("attempt", 0)),
            wakeup_at=when("wakeup_at"),
            optin_due=when("optin_due"),
            optin_sent_at=when("optin_sent_at"),
            sent=tuple(SentTouch.from_dict(item) for item in data.get("sent", ())),
            window_closed_at=when("window_closed_at"),
            replies_sent=int(data.get("replies_sent", 0)),
            paused_at=when("paused_at"),
            conversation=tuple(
                ConversationLine.from_dict(line) for line in data.get("conversation", ())
            ),
            clicked=bool(data.get("clicked", False)),
            finish_reason=None
            if data.get("finish_reason") is None
            else FinishReason(data["finish_reason"]),
            finished_at=when("finished_at"),
            seen=tuple(data.get("seen", ())),
            notes=tuple(note_from_dict(note) for note in data.get("notes", ())),
            updated_at=when("updated_at"),
        )


_S = RecoveryStatus
_OPEN: Final = frozenset({_S.ACTIVE, _S.PAUSED, _S.HOLDOUT})
_ANY_END: Final = frozenset({_S.FINISHED})

#: (status, event type) -> the statuses the event may lead to. A pair missing here
#: is an event the status does not expect: the machine answers it with ``Ignored``.
TRANSITIONS: Final[dict[tuple[RecoveryStatus, type[Any]], frozenset[RecoveryStatus]]] = {
    (_S.NEW, CheckoutAbandoned): frozenset({_S.ACTIVE, _S.HOLDOUT, _S.FINISHED}),
    # Waiting for the next touch.
    (_S.ACTIVE, WakeupDue): frozenset({_S.ACTIVE, _S.FINISHED}),
    (_S.ACTIVE, OrderPlaced): _ANY_END,
    # A cart emptied elsewhere (another checkout's id) is ignored: the status stays.
    (_S.ACTIVE, CartEmptied): frozenset({_S.ACTIVE, _S.FINISHED}),
    (_S.ACTIVE, CartUpdated): frozenset({_S.ACTIVE, _S.FINISHED}),
    (_S.ACTIVE, ReplyReceived): frozenset({_S.ACTIVE, _S.PAUSED, _S.FINISHED}),
    (_S.ACTIVE, MessageDelivered): frozenset({_S.ACTIVE}),
    (_S.ACTIVE, MessageRead): frozenset({_S.ACTIVE}),
    (_S.ACTIVE, MessageFailed): frozenset({_S.ACTIVE, _S.FINISHED}),
    (_S.ACTIVE, LinkClicked): frozenset({_S.ACTIVE}),
    (_S.ACTIVE, ConsentChanged): frozenset({_S.ACTIVE, _S.FINISHED}),
    # A person has the conversation.
    (_S.PAUSED, RecoveryResumed): frozenset({_S.ACTIVE, _S.FINISHED}),
    # The hand-off timeout resumes a recovery nobody handed back.
    (_S.PAUSED, WakeupDue): frozenset({_S.PAUSED, _S.ACTIVE, _S.FINISHED}),
    (_S.PAUSED, OrderPlaced): _ANY_END,
    (_S.PAUSED, CartEmptied): frozenset({_S.PAUSED, _S.FINISHED}),
    (_S.PAUSED, CartUpdated): frozenset({_S.PAUSED, _S.FINISHED}),
    (_S.PAUSED, ReplyReceived): frozenset({_S.PAUSED, _S.FINISHED}),
    (_S.PAUSED, MessageDelivered): frozenset({_S.PAUSED}),
    (_S.PAUSED, MessageRead): frozenset({_S.PAUSED}),
    (_S.PAUSED, MessageFailed): frozenset({_S.PAUSED}),
    (_S.PAUSED, LinkClicked): frozenset({_S.PAUSED}),
    (_S.PAUSED, ConsentChanged): frozenset({_S.PAUSED, _S.FINISHED}),
    # Tracked, never messaged.
    (_S.HOLDOUT, WakeupDue): frozenset({_S.HOLDOUT, _S.FINISHED}),
    (_S.HOLDOUT, OrderPlaced): _ANY_END,
    (_S.HOLDOUT, CartEmptied): frozenset({_S.HOLDOUT, _S.FINISHED}),
    (_S.HOLDOUT, CartUpdated): frozenset({_S.HOLDOUT, _S.FINISHED}),
    (_S.HOLDOUT, LinkClicked): frozenset({_S.HOLDOUT}),
    (_S.HOLDOUT, ReplyReceived): frozenset({_S.HOLDOUT, _S.FINISHED}),
    # Over: only a late STOP still gets its one confirmation.
    (_S.FINISHED, ReplyReceived): frozenset({_S.FINISHED}),
}

OPEN_STATUSES: Final = _OPEN


def state_diagram() -> str:
    """A Mermaid state diagram drawn from ``TRANSITIONS`` (the docs page is generated by it)."""
    lines = ["stateDiagram-v2", "    [*] --> new"]
    edges: dict[tuple[str, str], list[str]] = {}
    for (status, event), targets in TRANSITIONS.items():
        for target in sorted(targets, key=lambda item: item.value):
            if target is status and event.__name__ not in {"WakeupDue", "ReplyReceived"}:
                continue  # self-loops for bookkeeping events would drown the picture
            edges.setdefault((status.value, target.value), []).append(event.__name__)
    for (origin, goal), events in edges.items():
        lines.append(f"    {origin} --> {goal}: {', '.join(events)}")
    lines.append("    finished --> [*]")
    return "\n".join(lines) + "\n"

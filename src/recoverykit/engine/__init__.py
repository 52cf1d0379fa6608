"""The engine: events, commands, notes, recovery state, the policy and ``decide``.

Every name below is loaded on first use (``recoverykit._lazy``), so importing the
package costs nothing until a name is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .._lazy import exports

if TYPE_CHECKING:
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
    from .conversation import ConversationLine, Direction
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
        event_id,
    )
    from .machine import Decision, decide, explain
    from .notes import (
        DeferReason,
        Deferred,
        Ignored,
        IgnoreReason,
        Info,
        InfoTopic,
        Note,
        Skipped,
        SkipReason,
    )
    from .offer import (
        decide_just_in_time,
        discount_history,
        offer_discount,
        sends_touch,
        with_fresh_stock,
    )
    from .policy import Context, RecoveryPolicy, TimingScale, Variant
    from .state import (
        STATE_VERSION,
        TRANSITIONS,
        RecoveryState,
        RecoveryStatus,
        SentTouch,
        state_diagram,
    )

#: Submodule -> the names this package exports from it.
_EXPORTS: Final = {
    "commands": (
        "Command",
        "Finish",
        "FinishReason",
        "HandOff",
        "HandOffReason",
        "MessageKind",
        "RecordConsent",
        "ScheduleWakeup",
        "SendMessage",
    ),
    "conversation": ("ConversationLine", "Direction"),
    "events": (
        "CartEmptied",
        "CartUpdated",
        "CheckoutAbandoned",
        "ConsentChanged",
        "Event",
        "LinkClicked",
        "MessageDelivered",
        "MessageFailed",
        "MessageRead",
        "OrderPlaced",
        "RecoveryResumed",
        "ReplyReceived",
        "WakeupDue",
        "event_id",
    ),
    "machine": ("Decision", "decide", "explain"),
    "notes": (
        "DeferReason",
        "Deferred",
        "IgnoreReason",
        "Ignored",
        "Info",
        "InfoTopic",
        "Note",
        "SkipReason",
        "Skipped",
    ),
    "offer": (
        "decide_just_in_time",
        "discount_history",
        "offer_discount",
        "sends_touch",
        "with_fresh_stock",
    ),
    "policy": ("Context", "RecoveryPolicy", "TimingScale", "Variant"),
    "state": (
        "RecoveryState",
        "RecoveryStatus",
        "STATE_VERSION",
        "SentTouch",
        "TRANSITIONS",
        "state_diagram",
    ),
}

__all__ = [
    "CartEmptied",
    "CartUpdated",
    "CheckoutAbandoned",
    "Command",
    "ConsentChanged",
    "Context",
    "ConversationLine",
    "Decision",
    "DeferReason",
    "Deferred",
    "Direction",
    "Event",
    "Finish",
    "FinishReason",
    "HandOff",
    "HandOffReason",
    "IgnoreReason",
    "Ignored",
    "Info",
    "InfoTopic",
    "LinkClicked",
    "MessageDelivered",
    "MessageFailed",
    "MessageKind",
    "MessageRead",
    "Note",
    "OrderPlaced",
    "RecordConsent",
    "RecoveryPolicy",
    "RecoveryResumed",
    "RecoveryState",
    "RecoveryStatus",
    "ReplyReceived",
    "STATE_VERSION",
    "ScheduleWakeup",
    "SendMessage",
    "SentTouch",
    "SkipReason",
    "Skipped",
    "TRANSITIONS",
    "TimingScale",
    "Variant",
    "WakeupDue",
    "decide",
    "decide_just_in_time",
    "discount_history",
    "event_id",
    "explain",
    "offer_discount",
    "sends_touch",
    "state_diagram",
    "with_fresh_stock",
]

# Hidden from type checkers, which see the TYPE_CHECKING imports and flag any other name.
if not TYPE_CHECKING:
    __getattr__, __dir__ = exports(__name__, _EXPORTS)

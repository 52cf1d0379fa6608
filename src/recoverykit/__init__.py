"""recoverykit: win back abandoned checkouts over SMS, WhatsApp, Telegram, Viber and e-mail.

The core is pure: ``decide(state, event, now=..., policy=..., context=...)`` says
whether, when, on which channel and with which words to contact a customer, and
never opens a socket. ``Runner`` with ``SQLiteStore`` is the battery-included way
to run it. Everything a user needs is importable from here; ``recoverykit.errors``,
``recoverykit.presets``, ``recoverykit.jurisdictions``, ``recoverykit.links``,
``recoverykit.metrics``, ``recoverykit.protocols``, ``recoverykit.testing`` and
``recoverykit.testing.strategies`` are the purpose-named public modules.
"""

from __future__ import annotations

import contextlib

from . import presets
from ._version import __version__
from .channels import ConsoleChannel
from .engine.commands import (
    Finish,
    FinishReason,
    HandOff,
    MessageKind,
    RecordConsent,
    ScheduleWakeup,
    SendMessage,
)
from .engine.events import (
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
from .engine.machine import Decision, decide, explain
from .engine.notes import DeferReason, Deferred, Ignored, IgnoreReason, Info, Skipped
from .engine.offer import decide_just_in_time
from .engine.policy import Context, RecoveryPolicy, TimingScale, Variant
from .engine.state import RecoveryState, RecoveryStatus, SentTouch
from .errors import RecoveryKitError
from .jurisdictions import ContactRules, rules_for
from .messages.lint import GuardPolicy, Violation, guard, lint
from .messages.packs import (
    MessagePack,
    Segment,
    Tier,
    WhatsAppTemplateRef,
    cart_tier,
    default_pack,
    message_context,
)
from .messages.sms import smart_encode, sms_segments
from .messages.templates import Rendered, SegmentInfo, Template, render
from .messages.whatsapp import whatsapp_template_payload, whatsapp_text_payload
from .policies.caps import (
    DEFAULT_RECOVERY_CAPS,
    ContactHistory,
    ContactRecord,
    FrequencyCap,
    SendKind,
)
from .policies.consent import (
    ConsentAction,
    ConsentEvent,
    ConsentLedger,
    ConsentStatus,
    Purpose,
    grant_for,
    revocation_for,
)
from .policies.discounts import (
    DiscountHistory,
    DiscountIssuer,
    DiscountPolicy,
    DiscountRequest,
    IssuedDiscount,
    StaticCode,
)
from .policies.hours import ContactHours
from .policies.replies import Intent, Reply, classify_reply, normalize_reply
from .policies.resolve import ZoneResolution, ZoneSource, resolve_zones
from .policies.schedule import Moved, SendTime, earliest_send
from .policies.sequence import Condition, DelayWindow, Sequence, Touch, TouchPurpose
from .policies.stock import StockInfo, StockSource
from .protocols import SystemClock
from .runtime.runner import Runner
from .runtime.scenario import Scenario
from .stores import MemoryStore, SQLiteStore
from .values.model import Channel, Checkout, Customer, Friction, LineItem, Stage
from .values.money import Money
from .values.phone import PhoneNumber
from .values.zones import get_zone

__all__ = [
    "CartEmptied",
    "CartUpdated",
    "Channel",
    "Checkout",
    "CheckoutAbandoned",
    "Condition",
    "ConsentAction",
    "ConsentChanged",
    "ConsentEvent",
    "ConsentLedger",
    "ConsentStatus",
    "ConsoleChannel",
    "ContactHistory",
    "ContactHours",
    "ContactRecord",
    "ContactRules",
    "Context",
    "Customer",
    "DEFAULT_RECOVERY_CAPS",
    "Decision",
    "DeferReason",
    "Deferred",
    "DelayWindow",
    "DiscountHistory",
    "DiscountIssuer",
    "DiscountPolicy",
    "DiscountRequest",
    "Finish",
    "FinishReason",
    "FrequencyCap",
    "Friction",
    "GuardPolicy",
    "HandOff",
    "IgnoreReason",
    "Ignored",
    "Info",
    "Intent",
    "IssuedDiscount",
    "LineItem",
    "LinkClicked",
    "MemoryStore",
    "MessageDelivered",
    "MessageFailed",
    "MessageKind",
    "MessagePack",
    "MessageRead",
    "Money",
    "Moved",
    "OrderPlaced",
    "PhoneNumber",
    "Purpose",
    "RecordConsent",
    "RecoveryKitError",
    "RecoveryPolicy",
    "RecoveryResumed",
    "RecoveryState",
    "RecoveryStatus",
    "Rendered",
    "Reply",
    "ReplyReceived",
    "Runner",
    "SQLiteStore",
    "Scenario",
    "ScheduleWakeup",
    "Segment",
    "SegmentInfo",
    "SendKind",
    "SendMessage",
    "SendTime",
    "SentTouch",
    "Sequence",
    "Skipped",
    "Stage",
    "StaticCode",
    "StockInfo",
    "StockSource",
    "SystemClock",
    "Template",
    "Tier",
    "TimingScale",
    "Touch",
    "TouchPurpose",
    "Variant",
    "Violation",
    "WakeupDue",
    "WhatsAppTemplateRef",
    "ZoneResolution",
    "ZoneSource",
    "__version__",
    "cart_tier",
    "classify_reply",
    "decide",
    "decide_just_in_time",
    "default_pack",
    "earliest_send",
    "explain",
    "get_zone",
    "grant_for",
    "guard",
    "lint",
    "message_context",
    "normalize_reply",
    "presets",
    "render",
    "resolve_zones",
    "revocation_for",
    "rules_for",
    "smart_encode",
    "sms_segments",
    "whatsapp_template_payload",
    "whatsapp_text_payload",
]

_INTERNAL = (
    "recoverykit._",
    "recoverykit.values.",
    "recoverykit.policies.",
    "recoverykit.messages.",
    "recoverykit.engine.",
    "recoverykit.runtime.",
)
# Exported names report the public module, so reprs and docs show recoverykit.Checkout.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith(_INTERNAL):
        with contextlib.suppress(AttributeError, TypeError):
            _obj.__module__ = "recoverykit"
del _name, _obj, _INTERNAL

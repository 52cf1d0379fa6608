"""recoverykit: win back abandoned checkouts over SMS, WhatsApp, Telegram, Viber and e-mail.

The core is pure: ``decide(state, event, now=..., policy=..., context=...)`` says
whether, when, on which channel and with which words to contact a customer, and
never opens a socket. ``Runner`` with ``SQLiteStore`` is the battery-included way
to run it.

``__all__`` is what a store backend uses every day: the values, the policy,
``decide``, the events and commands, ``Runner`` and its stores, and the errors one
catches. Everything else lives in its layer's namespace: ``recoverykit.values``,
``recoverykit.policies`` (``earliest_send``, ``classify_reply``, ...),
``recoverykit.messages`` (``sms_segments``, ``render``, ``guard``, ...),
``recoverykit.engine`` (notes, ``offer_discount``, ...), ``recoverykit.runtime``,
``recoverykit.stores``, ``recoverykit.channels``, ``recoverykit.webhooks``,
``recoverykit.sources`` (Shopify, WooCommerce), ``recoverykit.metrics`` and
``recoverykit.testing``, beside the purpose-named modules ``errors``, ``protocols``,
``detector`` (when checkout activity counts as abandoned), ``jurisdictions``,
``programs``, ``presets`` and ``links``. Names that used to be listed here still
resolve, without a warning.

Nothing is imported until it is used (PEP 562): ``import recoverykit`` loads no
database driver, runner, webhook parser or holiday calendar.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from ._lazy import Deprecated, exports
from ._version import __version__

if TYPE_CHECKING:
    from . import presets

    # Names kept at the top for code written against earlier releases (not in __all__).
    from .channels.console import (
        ConsoleChannel as ConsoleChannel,
    )
    from .engine.commands import (
        Finish,
        FinishReason,
        HandOff,
        HandOffReason,
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
    from .engine.notes import (
        DeferReason as DeferReason,
    )
    from .engine.notes import (
        Deferred as Deferred,
    )
    from .engine.notes import (
        Ignored as Ignored,
    )
    from .engine.notes import (
        IgnoreReason as IgnoreReason,
    )
    from .engine.notes import (
        Info as Info,
    )
    from .engine.notes import (
        Skipped as Skipped,
    )
    from .engine.offer import (
        decide_just_in_time as decide_just_in_time,
    )
    from .engine.policy import Context, RecoveryPolicy
    from .engine.policy import (
        TimingScale as TimingScale,
    )
    from .engine.policy import (
        Variant as Variant,
    )
    from .engine.state import RecoveryState, RecoveryStatus
    from .engine.state import (
        SentTouch as SentTouch,
    )
    from .errors import (
        ChannelError,
        ConflictError,
        DefinitionError,
        FaultScope,
        InvalidInputError,
        RecoveryKitDeprecationWarning,
        RecoveryKitError,
        RecoveryKitWarning,
        StoreError,
    )
    from .jurisdictions import (
        ContactRules as ContactRules,
    )
    from .jurisdictions import (
        rules_for as rules_for,
    )
    from .messages.lint import (
        GuardPolicy as GuardPolicy,
    )
    from .messages.lint import (
        Violation as Violation,
    )
    from .messages.lint import (
        guard as guard,
    )
    from .messages.lint import (
        lint as lint,
    )
    from .messages.packs import (
        MessagePack as MessagePack,
    )
    from .messages.packs import (
        Segment as Segment,
    )
    from .messages.packs import (
        Tier as Tier,
    )
    from .messages.packs import (
        WhatsAppTemplateRef as WhatsAppTemplateRef,
    )
    from .messages.packs import (
        cart_tier as cart_tier,
    )
    from .messages.packs import (
        default_pack as default_pack,
    )
    from .messages.packs import (
        message_context as message_context,
    )
    from .messages.sms import (
        smart_encode as smart_encode,
    )
    from .messages.sms import (
        sms_segments as sms_segments,
    )
    from .messages.templates import (
        Rendered as Rendered,
    )
    from .messages.templates import (
        SegmentInfo as SegmentInfo,
    )
    from .messages.templates import (
        Template as Template,
    )
    from .messages.templates import (
        render as render,
    )
    from .messages.whatsapp import (
        whatsapp_template_payload as whatsapp_template_payload,
    )
    from .messages.whatsapp import (
        whatsapp_text_payload as whatsapp_text_payload,
    )
    from .policies.caps import (
        DEFAULT_RECOVERY_CAPS as DEFAULT_RECOVERY_CAPS,
    )
    from .policies.caps import (
        ContactHistory as ContactHistory,
    )
    from .policies.caps import (
        ContactRecord as ContactRecord,
    )
    from .policies.caps import FrequencyCap
    from .policies.caps import (
        SendKind as SendKind,
    )
    from .policies.consent import ConsentAction, ConsentEvent, ConsentLedger, Purpose
    from .policies.consent import (
        ConsentStatus as ConsentStatus,
    )
    from .policies.consent import (
        grant_for as grant_for,
    )
    from .policies.consent import (
        revocation_for as revocation_for,
    )
    from .policies.discounts import (
        DiscountHistory as DiscountHistory,
    )
    from .policies.discounts import (
        DiscountIssuer as DiscountIssuer,
    )
    from .policies.discounts import (
        DiscountPolicy as DiscountPolicy,
    )
    from .policies.discounts import (
        DiscountRequest as DiscountRequest,
    )
    from .policies.discounts import (
        IssuedDiscount as IssuedDiscount,
    )
    from .policies.discounts import (
        StaticCode as StaticCode,
    )
    from .policies.hours import ContactHours
    from .policies.replies import (
        Intent as Intent,
    )
    from .policies.replies import (
        Reply as Reply,
    )
    from .policies.replies import (
        classify_reply as classify_reply,
    )
    from .policies.replies import (
        normalize_reply as normalize_reply,
    )
    from .policies.resolve import (
        ZoneResolution as ZoneResolution,
    )
    from .policies.resolve import (
        ZoneSource as ZoneSource,
    )
    from .policies.resolve import (
        resolve_zones as resolve_zones,
    )
    from .policies.schedule import (
        Moved as Moved,
    )
    from .policies.schedule import (
        SendTime as SendTime,
    )
    from .policies.schedule import (
        earliest_send as earliest_send,
    )
    from .policies.sequence import (
        Condition as Condition,
    )
    from .policies.sequence import (
        DelayWindow as DelayWindow,
    )
    from .policies.sequence import RecoverySequence, Touch
    from .policies.sequence import (
        TouchPurpose as TouchPurpose,
    )
    from .policies.stock import (
        StockInfo as StockInfo,
    )
    from .policies.stock import (
        StockSource as StockSource,
    )
    from .policies.vocabulary import Vocabulary
    from .protocols import SystemClock
    from .runtime.runner import Runner
    from .runtime.scenario import (
        Scenario as Scenario,
    )
    from .stores.memory import MemoryStore
    from .stores.sqlite import SQLiteStore
    from .values.model import Channel, Checkout, Customer, Friction, LineItem, Stage
    from .values.money import Money
    from .values.phone import PhoneNumber
    from .values.zones import (
        get_zone as get_zone,
    )

#: Submodule -> the names of the daily API it provides.
_EXPORTS: Final = {
    "engine.commands": (
        "Finish",
        "FinishReason",
        "HandOff",
        "HandOffReason",
        "MessageKind",
        "RecordConsent",
        "ScheduleWakeup",
        "SendMessage",
    ),
    "engine.events": (
        "CartEmptied",
        "CartUpdated",
        "CheckoutAbandoned",
        "ConsentChanged",
        "LinkClicked",
        "MessageDelivered",
        "MessageFailed",
        "MessageRead",
        "OrderPlaced",
        "RecoveryResumed",
        "ReplyReceived",
        "WakeupDue",
    ),
    "engine.machine": ("Decision", "decide", "explain"),
    "engine.policy": ("Context", "RecoveryPolicy"),
    "engine.state": ("RecoveryState", "RecoveryStatus"),
    "errors": (
        "ChannelError",
        "ConflictError",
        "DefinitionError",
        "FaultScope",
        "InvalidInputError",
        "RecoveryKitDeprecationWarning",
        "RecoveryKitError",
        "RecoveryKitWarning",
        "StoreError",
    ),
    "policies.caps": ("FrequencyCap",),
    "policies.consent": ("ConsentAction", "ConsentEvent", "ConsentLedger", "Purpose"),
    "policies.hours": ("ContactHours",),
    "policies.sequence": ("RecoverySequence", "Touch"),
    "policies.vocabulary": ("Vocabulary",),
    "protocols": ("SystemClock",),
    "runtime.runner": ("Runner",),
    "stores.memory": ("MemoryStore",),
    "stores.sqlite": ("SQLiteStore",),
    "values.model": ("Channel", "Checkout", "Customer", "Friction", "LineItem", "Stage"),
    "values.money": ("Money",),
    "values.phone": ("PhoneNumber",),
}

#: Names listed here in earlier releases, now at home in their layer (not in __all__).
_KEPT: Final = {
    "channels.console": ("ConsoleChannel",),
    "engine.notes": ("DeferReason", "Deferred", "IgnoreReason", "Ignored", "Info", "Skipped"),
    "engine.offer": ("decide_just_in_time",),
    "engine.policy": ("TimingScale", "Variant"),
    "engine.state": ("SentTouch",),
    "jurisdictions": ("ContactRules", "rules_for"),
    "messages.lint": ("GuardPolicy", "Violation", "guard", "lint"),
    "messages.packs": (
        "MessagePack",
        "Segment",
        "Tier",
        "WhatsAppTemplateRef",
        "cart_tier",
        "default_pack",
        "message_context",
    ),
    "messages.sms": ("smart_encode", "sms_segments"),
    "messages.templates": ("Rendered", "SegmentInfo", "Template", "render"),
    "messages.whatsapp": ("whatsapp_template_payload", "whatsapp_text_payload"),
    "policies.caps": ("ContactHistory", "ContactRecord", "DEFAULT_RECOVERY_CAPS", "SendKind"),
    "policies.consent": ("ConsentStatus", "grant_for", "revocation_for"),
    "policies.discounts": (
        "DiscountHistory",
        "DiscountIssuer",
        "DiscountPolicy",
        "DiscountRequest",
        "IssuedDiscount",
        "StaticCode",
    ),
    "policies.replies": ("Intent", "Reply", "classify_reply", "normalize_reply"),
    "policies.resolve": ("ZoneResolution", "ZoneSource", "resolve_zones"),
    "policies.schedule": ("Moved", "SendTime", "earliest_send"),
    "policies.sequence": ("Condition", "DelayWindow", "TouchPurpose"),
    "policies.stock": ("StockInfo", "StockSource"),
    "runtime.scenario": ("Scenario",),
    "values.zones": ("get_zone",),
}

#: Old names that still work for a while, with a warning naming the new one.
_DEPRECATED: Final = {
    "Sequence": Deprecated(
        ".policies.sequence",
        "RecoverySequence",
        "recoverykit.Sequence is deprecated: use recoverykit.RecoverySequence "
        "(the old name shadowed collections.abc.Sequence)",
    ),
}

# A library never configures logging; this keeps "No handlers could be found" quiet
# and leaves every decision about output to the application (docs/reference/logging.md).
logging.getLogger("recoverykit").addHandler(logging.NullHandler())

__all__ = [
    "CartEmptied",
    "CartUpdated",
    "Channel",
    "ChannelError",
    "Checkout",
    "CheckoutAbandoned",
    "ConflictError",
    "ConsentAction",
    "ConsentChanged",
    "ConsentEvent",
    "ConsentLedger",
    "ContactHours",
    "Context",
    "Customer",
    "Decision",
    "DefinitionError",
    "FaultScope",
    "Finish",
    "FinishReason",
    "FrequencyCap",
    "Friction",
    "HandOff",
    "HandOffReason",
    "InvalidInputError",
    "LineItem",
    "LinkClicked",
    "MemoryStore",
    "MessageDelivered",
    "MessageFailed",
    "MessageKind",
    "MessageRead",
    "Money",
    "OrderPlaced",
    "PhoneNumber",
    "Purpose",
    "RecordConsent",
    "RecoveryKitDeprecationWarning",
    "RecoveryKitError",
    "RecoveryKitWarning",
    "RecoveryPolicy",
    "RecoveryResumed",
    "RecoverySequence",
    "RecoveryState",
    "RecoveryStatus",
    "ReplyReceived",
    "Runner",
    "SQLiteStore",
    "ScheduleWakeup",
    "SendMessage",
    "Stage",
    "StoreError",
    "SystemClock",
    "Touch",
    "Vocabulary",
    "WakeupDue",
    "__version__",
    "decide",
    "explain",
    "presets",
]

# Hidden from type checkers, which see the TYPE_CHECKING imports and flag any other name.
if not TYPE_CHECKING:
    __getattr__, __dir__ = exports(__name__, _EXPORTS, also=_KEPT, deprecated=_DEPRECATED)

"""Policies: consent, contact hours, caps, schedules, replies, sequences, discounts and stock.

Every name below is loaded on first use (``recoverykit._lazy``), so importing the
package costs nothing until a name is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .._lazy import Deprecated, exports

if TYPE_CHECKING:
    from .caps import (
        DEFAULT_RECOVERY_CAPS,
        MAX_CAP_PERIOD,
        ContactHistory,
        ContactRecord,
        FrequencyCap,
        SendKind,
        caps_earliest,
    )
    from .consent import (
        ConsentAction,
        ConsentEvent,
        ConsentLedger,
        ConsentStatus,
        Purpose,
        grant_for,
        revocation_for,
    )
    from .discounts import (
        DiscountHistory,
        DiscountIssuer,
        DiscountPolicy,
        DiscountRequest,
        IssuedDiscount,
        StaticCode,
        eligibility_refusal,
        guard_refusal,
        load_discount_policy,
    )
    from .hours import ContactHours, DateList, DaySource, HolidayCalendar, StatuteDays
    from .keywords import KEYWORDS, Intent, Keyword, KeywordKind, KeywordStatus
    from .replies import MAX_REPLY_CHARS, MatchMode, Reply, classify_reply, normalize_reply
    from .resolve import ZoneResolution, ZoneSource, resolve_zones
    from .schedule import ContactRules, Moved, SendTime, earliest_send
    from .sequence import (
        FIRST_TOUCH_MIN,
        LAST_TOUCH_MAX,
        MAX_TOUCHES,
        Condition,
        DelayWindow,
        RecoverySequence,
        Touch,
        TouchPurpose,
        parse_duration,
    )
    from .stock import (
        StockInfo,
        StockSource,
        evolve_checkout,
        fresh_cart,
        items_total,
        low_stock,
        spoken_cart,
    )
    from .vocabulary import ReplyClassifier, Vocabulary, VocabularyIssue

#: Submodule -> the names this package exports from it.
_EXPORTS: Final = {
    "caps": (
        "ContactHistory",
        "ContactRecord",
        "DEFAULT_RECOVERY_CAPS",
        "FrequencyCap",
        "MAX_CAP_PERIOD",
        "SendKind",
        "caps_earliest",
    ),
    "consent": (
        "ConsentAction",
        "ConsentEvent",
        "ConsentLedger",
        "ConsentStatus",
        "Purpose",
        "grant_for",
        "revocation_for",
    ),
    "discounts": (
        "DiscountHistory",
        "DiscountIssuer",
        "DiscountPolicy",
        "DiscountRequest",
        "IssuedDiscount",
        "StaticCode",
        "eligibility_refusal",
        "guard_refusal",
        "load_discount_policy",
    ),
    "hours": ("ContactHours", "DateList", "DaySource", "HolidayCalendar", "StatuteDays"),
    "keywords": ("Intent", "KEYWORDS", "Keyword", "KeywordKind", "KeywordStatus"),
    "replies": ("MAX_REPLY_CHARS", "MatchMode", "Reply", "classify_reply", "normalize_reply"),
    "resolve": ("ZoneResolution", "ZoneSource", "resolve_zones"),
    "vocabulary": ("ReplyClassifier", "Vocabulary", "VocabularyIssue"),
    "schedule": ("ContactRules", "Moved", "SendTime", "earliest_send"),
    "sequence": (
        "Condition",
        "DelayWindow",
        "FIRST_TOUCH_MIN",
        "LAST_TOUCH_MAX",
        "MAX_TOUCHES",
        "RecoverySequence",
        "Touch",
        "TouchPurpose",
        "parse_duration",
    ),
    "stock": (
        "StockInfo",
        "StockSource",
        "evolve_checkout",
        "fresh_cart",
        "items_total",
        "low_stock",
        "spoken_cart",
    ),
}
#: Old names that still work for a while, with a warning naming the new one.
_DEPRECATED: Final = {
    "Sequence": Deprecated(
        ".sequence",
        "RecoverySequence",
        "recoverykit.policies.Sequence is deprecated: use RecoverySequence "
        "(the old name shadowed collections.abc.Sequence)",
    ),
}

__all__ = [
    "Condition",
    "ConsentAction",
    "ConsentEvent",
    "ConsentLedger",
    "ConsentStatus",
    "ContactHistory",
    "ContactHours",
    "ContactRecord",
    "ContactRules",
    "DEFAULT_RECOVERY_CAPS",
    "DateList",
    "DaySource",
    "DelayWindow",
    "DiscountHistory",
    "DiscountIssuer",
    "DiscountPolicy",
    "DiscountRequest",
    "FIRST_TOUCH_MIN",
    "FrequencyCap",
    "HolidayCalendar",
    "Intent",
    "IssuedDiscount",
    "KEYWORDS",
    "Keyword",
    "KeywordKind",
    "KeywordStatus",
    "LAST_TOUCH_MAX",
    "MAX_CAP_PERIOD",
    "MAX_REPLY_CHARS",
    "MAX_TOUCHES",
    "MatchMode",
    "Moved",
    "Purpose",
    "RecoverySequence",
    "Reply",
    "ReplyClassifier",
    "SendKind",
    "SendTime",
    "StaticCode",
    "StatuteDays",
    "StockInfo",
    "StockSource",
    "Touch",
    "TouchPurpose",
    "Vocabulary",
    "VocabularyIssue",
    "ZoneResolution",
    "ZoneSource",
    "caps_earliest",
    "classify_reply",
    "earliest_send",
    "eligibility_refusal",
    "evolve_checkout",
    "fresh_cart",
    "grant_for",
    "guard_refusal",
    "items_total",
    "load_discount_policy",
    "low_stock",
    "normalize_reply",
    "parse_duration",
    "resolve_zones",
    "revocation_for",
    "spoken_cart",
]

# Hidden from type checkers, which see the TYPE_CHECKING imports and flag any other name.
if not TYPE_CHECKING:
    __getattr__, __dir__ = exports(__name__, _EXPORTS, deprecated=_DEPRECATED)

"""Notes: why the engine did (or did not do) something, as values.

A deferral or a suppressed send is never an exception. Notes are kept with the
state so ``explain`` can answer "why was this sent at 09:00?" days later.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, TypeAlias

import attrs

__all__ = [
    "DeferReason",
    "Deferred",
    "IgnoreReason",
    "Ignored",
    "Info",
    "InfoTopic",
    "Note",
    "SkipReason",
    "Skipped",
]


class _OpenStrEnum(enum.StrEnum):
    """A string enum that still reads a value it does not list.

    The engine writes only listed members (a test checks every literal it passes);
    a state stored by another release, or a note a store of your own made, may hold
    a word this list lacks, and must load rather than lose the recovery. Such a
    value becomes a member of its own, outside the list, equal to its string.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value.upper() or "_"
        member._value_ = value
        return member


class DeferReason(enum.StrEnum):
    CONTACT_HOURS = "contact_hours"
    CAP = "cap"
    PROGRAM = "program"
    PLATFORM_LIMIT = "platform_limit"
    RETRY = "retry"


class IgnoreReason(enum.StrEnum):
    DUPLICATE = "duplicate"
    LATE = "late"
    UNKNOWN = "unknown"
    FINISHED = "finished"


class SkipReason(_OpenStrEnum):
    """Why a touch was skipped for good (``Skipped.reason``); reports group by it."""

    #: The carrier or platform program forbids it (limit, deadline, consent kind).
    PROGRAM = "program"
    #: No channel with consent (or the touch's own channel) can reach the customer.
    NO_CONSENT = "no_consent"
    #: Past the 7-day limit after abandonment.
    EXPIRED = "expired"
    #: The touch's condition did not hold (e.g. the previous message was read).
    CONDITION = "condition"
    #: No allowed contact hour in the days searched.
    CONTACT_HOURS = "contact_hours"
    #: Nothing left to sell: every item in the cart is sold out.
    UNAVAILABLE = "unavailable"
    #: The send failed and the retries are used up.
    RETRY = "retry"
    #: The customer has no address on the channel.
    ADDRESS = "address"
    #: The words could not be rendered from the pack.
    TEMPLATE = "template"
    #: The guard blocked the rendered words (a forbidden field, no opt-out line, ...).
    GUARD = "guard"
    #: The platform refuses this message (e.g. no approved WhatsApp template).
    PLATFORM = "platform"
    #: The WhatsApp template the store had approved says other words than the pack.
    TEMPLATE_MISMATCH = "template_mismatch"


class InfoTopic(_OpenStrEnum):
    """What an ``Info`` note is about (``Info.what``)."""

    RESUMED = "resumed"
    FIRST_NAME = "first_name"
    HOLDOUT = "holdout"
    DOUBLE_OPTIN = "double_optin"
    OPT_IN = "opt_in"
    STOCK = "stock"
    DISCOUNT = "discount"
    CHANNEL = "channel"
    CART_UPDATED = "cart_updated"
    REPLY = "reply"
    FAILED = "failed"
    CONSENT = "consent"
    PROGRAM = "program"
    PAYMENT = "payment"


@attrs.frozen
class Deferred:
    """A touch moved later: from ``from_`` to ``to`` because of ``reason`` (``rule``)."""

    touch: int
    reason: DeferReason
    rule: str
    from_: datetime
    to: datetime
    zone: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "deferred",
            "touch": self.touch,
            "reason": self.reason.value,
            "rule": self.rule,
            "from": self.from_.isoformat(),
            "to": self.to.isoformat(),
            "zone": self.zone,
        }


@attrs.frozen
class Skipped:
    """A touch was not sent and will not be: ``reason`` says why."""

    touch: int
    reason: SkipReason = attrs.field(converter=SkipReason)
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "skipped",
            "touch": self.touch,
            "reason": self.reason.value,
            "detail": self.detail,
        }


@attrs.frozen
class Ignored:
    """An event that changed nothing: a duplicate, a late webhook, a finished recovery."""

    reason: IgnoreReason
    event: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "ignored",
            "reason": self.reason.value,
            "event": self.event,
            "detail": self.detail,
        }


@attrs.frozen
class Info:
    """Something worth knowing that changed no plan (an unknown reply, a holdout assignment)."""

    what: InfoTopic = attrs.field(converter=InfoTopic)
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"type": "info", "what": self.what.value, "detail": self.detail}


Note: TypeAlias = Deferred | Skipped | Ignored | Info


def note_from_dict(data: dict[str, Any]) -> Note:
    """Rebuild a note saved with ``to_dict``."""
    kind = data.get("type")
    if kind == "deferred":
        return Deferred(
            touch=int(data["touch"]),
            reason=DeferReason(data["reason"]),
            rule=str(data["rule"]),
            from_=datetime.fromisoformat(data["from"]),
            to=datetime.fromisoformat(data["to"]),
            zone=data.get("zone"),
        )
    if kind == "skipped":
        return Skipped(int(data["touch"]), str(data["reason"]), str(data.get("detail", "")))
    if kind == "ignored":
        return Ignored(
            IgnoreReason(data["reason"]), str(data["event"]), str(data.get("detail", ""))
        )
    if kind == "info":
        return Info(str(data["what"]), str(data.get("detail", "")))
    msg = f"unknown note type {kind!r}"
    raise ValueError(msg)

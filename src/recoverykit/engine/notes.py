"""Notes: why the engine did (or did not do) something, as values.

A deferral or a suppressed send is never an exception. Notes are kept with the
state so ``explain`` can answer "why was this sent at 09:00?" days later.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, TypeAlias

import attrs

__all__ = ["DeferReason", "Deferred", "IgnoreReason", "Ignored", "Info", "Note", "Skipped"]


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
    reason: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "skipped",
            "touch": self.touch,
            "reason": self.reason,
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

    what: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"type": "info", "what": self.what, "detail": self.detail}


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

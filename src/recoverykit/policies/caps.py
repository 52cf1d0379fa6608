"""Frequency caps: how many touches a customer may receive in any sliding window.

A customer's contact history spans every channel and every checkout, so two
abandoned carts on one evening still share one cap. Replies (an opt-out
confirmation, a HELP answer) are recorded but never counted (SEAMS 1).
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from ..errors import InvalidPolicy
from ..values import checks
from ..values.loading import (
    Problems,
    expect_list,
    expect_mapping,
    field,
    to_datetime,
    to_str,
    unknown_keys,
)
from ..values.model import Channel
from ..values.time import to_utc

__all__ = [
    "DEFAULT_RECOVERY_CAPS",
    "ContactHistory",
    "ContactRecord",
    "MAX_CAP_PERIOD",
    "FrequencyCap",
    "SendKind",
    "caps_earliest",
]


class SendKind(enum.StrEnum):
    """Whether a sent message was a sequence touch or a reply to the customer."""

    #: A step of a recovery sequence; counts against caps.
    TOUCH = "touch"
    #: An answer to the customer's own message; recorded, never counted.
    REPLY = "reply"


def _utc(value: datetime) -> datetime:
    return to_utc(value, "ContactRecord.at")


@attrs.frozen
class ContactRecord:
    """One message that went out to the customer."""

    at: datetime = attrs.field(converter=_utc)
    channel: Channel = attrs.field(converter=Channel)
    checkout_id: str
    kind: SendKind = attrs.field(default=SendKind.TOUCH, converter=SendKind)

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "channel": str(self.channel),
            "checkout_id": self.checkout_id,
            "kind": str(self.kind),
        }


def _sorted_records(records: Any) -> tuple[ContactRecord, ...]:
    return tuple(sorted(records, key=lambda record: record.at))


@attrs.frozen
class ContactHistory:
    """Every message sent to one customer, on all channels, oldest first."""

    records: tuple[ContactRecord, ...] = attrs.field(default=(), converter=_sorted_records)

    def add(self, record: ContactRecord) -> ContactHistory:
        """A new history with ``record`` in its place by time."""
        return ContactHistory((*self.records, record))

    def touches(self, channels: frozenset[Channel] | None = None) -> tuple[datetime, ...]:
        """Times of the touches (replies left out) on ``channels`` (all when ``None``)."""
        return tuple(
            record.at
            for record in self.records
            if record.kind is SendKind.TOUCH and (channels is None or record.channel in channels)
        )

    def to_dict(self) -> dict[str, Any]:
        return {"records": [record.to_dict() for record in self.records]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContactHistory:
        """Load ``{"records": [{"at", "channel", "checkout_id", "kind"?}, ...]}``."""
        problems = Problems()
        records: list[ContactRecord] = []
        root = expect_mapping(data, "$", problems)
        if root is not None:
            unknown_keys(root, frozenset({"records"}), "$", problems)
            items = expect_list(root.get("records", []), "$.records", problems) or []
            for index, item in enumerate(items):
                record = _load_record(item, f"$.records[{index}]", problems)
                if record is not None:
                    records.append(record)
        problems.raise_if_any("Invalid contact history")
        return cls(tuple(records))


def _load_record(raw: Any, path: str, problems: Problems) -> ContactRecord | None:
    item = expect_mapping(raw, path, problems)
    if item is None:
        return None
    unknown_keys(item, frozenset({"at", "channel", "checkout_id", "kind"}), path, problems)
    at = field(item, "at", path, problems, to_datetime)
    channel = field(item, "channel", path, problems, _to_channel)
    checkout_id = field(item, "checkout_id", path, problems, to_str)
    kind = field(item, "kind", path, problems, _to_kind, default=SendKind.TOUCH)
    if at is None or channel is None or checkout_id is None or kind is None:
        return None
    return ContactRecord(at=at, channel=channel, checkout_id=checkout_id, kind=kind)


def _to_channel(value: Any) -> Channel:
    try:
        return Channel(to_str(value))
    except ValueError:
        choices = ", ".join(str(channel) for channel in Channel)
        msg = f"unknown channel {value!r}; use one of {choices}"
        raise ValueError(msg) from None


def _to_kind(value: Any) -> SendKind:
    try:
        return SendKind(to_str(value))
    except ValueError:
        msg = f"unknown send kind {value!r}; use 'touch' or 'reply'"
        raise ValueError(msg) from None


#: The longest window a cap may count over: a year. Longer ones overflow date
#: arithmetic long before they mean anything to a customer.
MAX_CAP_PERIOD: Final = timedelta(days=366)


def _positive_limit(_inst: object, _attribute: attrs.Attribute[int], value: int) -> None:
    checks.positive_int("FrequencyCap", "limit", value)


def _positive_period(
    _inst: object, _attribute: attrs.Attribute[timedelta], value: timedelta
) -> None:
    checks.positive_duration("FrequencyCap", "per", value)
    if value > MAX_CAP_PERIOD:
        msg = f"FrequencyCap.per must be at most 366 days (got {value!r})"
        raise InvalidPolicy(msg)


def _channel_set(value: Any) -> frozenset[Channel] | None:
    if value is None:
        return None
    return checks.non_empty(
        "FrequencyCap",
        "channels",
        frozenset(Channel(channel) for channel in value),
        why="the cap would count nothing",
        fix="name the channels it counts, or pass None for every channel",
    )


@attrs.frozen
class FrequencyCap:
    """At most ``limit`` touches in any window of length ``per``.

    ``channels`` are counted together (``None``: every channel). Only touches
    count; replies never do.
    """

    limit: int = attrs.field(validator=_positive_limit)
    per: timedelta = attrs.field(validator=_positive_period)
    channels: frozenset[Channel] | None = attrs.field(default=None, converter=_channel_set)
    rule_id: str = "recovery-cap"

    def covers(self, channel: Channel | None) -> bool:
        """True if a touch on ``channel`` counts here (any cap covers ``None``)."""
        return channel is None or self.channels is None or channel in self.channels

    def earliest(self, instant: datetime, history: ContactHistory) -> datetime:
        """The first instant at or after ``instant`` where one more touch keeps the cap.

        Every window ``[x, x + per)`` must hold at most ``limit`` touches, the new
        one included. The answer is ``instant`` itself (in UTC) or the moment an
        earlier touch leaves the window.
        """
        start = to_utc(instant, "instant")
        times = history.touches(self.channels)
        if self._fits(start, times):
            return start
        for candidate in sorted({moment + self.per for moment in times}):
            if candidate > start and self._fits(candidate, times):
                return candidate
        # Unreachable: after the last touch's window closes the new one always fits.
        return times[-1] + self.per  # pragma: no cover

    def _fits(self, moment: datetime, times: tuple[datetime, ...]) -> bool:
        """Whether a touch at ``moment`` leaves every window within ``limit``."""
        low = bisect.bisect_right(times, moment - self.per)
        high = bisect.bisect_left(times, moment + self.per)
        near = times[low:high]
        if len(near) < self.limit:
            return True
        # Windows holding ``moment`` start in (moment - per, moment]; the fullest
        # one starts just after ``moment - per``, at ``moment`` or at one of the touches.
        if sum(1 for t in near if t <= moment) + 1 > self.limit:
            return False
        for begin in (moment, *(t for t in near if t <= moment)):
            if sum(1 for t in near if begin <= t < begin + self.per) + 1 > self.limit:
                return False
        return True


def caps_earliest(
    caps: tuple[FrequencyCap, ...] | list[FrequencyCap],
    instant: datetime,
    history: ContactHistory,
) -> tuple[datetime, FrequencyCap | None]:
    """The first instant every cap allows, and the cap that moved it last (or ``None``)."""
    moment = to_utc(instant, "instant")
    mover: FrequencyCap | None = None
    changed = True
    while changed:
        changed = False
        for cap in caps:
            following = cap.earliest(moment, history)
            if following != moment:
                moment, mover, changed = following, cap, True
    return moment, mover


_PERSONAL: Final = frozenset(channel for channel in Channel if channel.personal)

#: SEAMS 10: one recovery touch per customer per 12 h on the personal channels
#: together (SMS, WhatsApp, Telegram, Viber), and e-mail counted on its own.
DEFAULT_RECOVERY_CAPS: Final[tuple[FrequencyCap, ...]] = (
    FrequencyCap(1, timedelta(hours=12), channels=_PERSONAL, rule_id="recovery-cap"),
    FrequencyCap(
        1, timedelta(hours=12), channels=frozenset({Channel.EMAIL}), rule_id="recovery-cap"
    ),
)

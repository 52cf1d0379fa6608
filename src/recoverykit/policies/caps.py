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
    "DEFAULT_CHANNEL_GAP",
    "DEFAULT_RECOVERY_CAPS",
    "ContactHistory",
    "ContactRecord",
    "MAX_CAP_PERIOD",
    "FrequencyCap",
    "SendKind",
    "caps_earliest",
    "channel_gap_caps",
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


def _optional_channels(value: Any, name: str, why: str, fix: str) -> frozenset[Channel] | None:
    """An optional, non-empty set of channels (``None`` stays ``None``)."""
    if value is None:
        return None
    channels = frozenset(Channel(channel) for channel in value)
    return checks.non_empty("FrequencyCap", name, channels, why=why, fix=fix)


def _channel_set(value: Any) -> frozenset[Channel] | None:
    why = "the cap would count nothing"
    fix = "name the channels it counts, or pass None for every channel"
    return _optional_channels(value, "channels", why, fix)


def _governed_set(value: Any) -> frozenset[Channel] | None:
    why = "the cap would hold back nothing"
    fix = "name the channels whose sends it governs, or pass None for the counted ones"
    return _optional_channels(value, "applies_to", why, fix)


@attrs.frozen
class FrequencyCap:
    """At most ``limit`` touches in any window of length ``per``.

    ``channels`` are counted together (``None``: every channel). Only touches
    count; replies never do. ``applies_to`` names the channels whose sends the cap
    holds back, when they differ from the counted ones: a cap that counts e-mail and
    applies to texts keeps a text away from a recent e-mail (``channel_gap_caps``).
    The send being judged always counts as one more touch.
    """

    limit: int = attrs.field(validator=_positive_limit)
    per: timedelta = attrs.field(validator=_positive_period)
    channels: frozenset[Channel] | None = attrs.field(default=None, converter=_channel_set)
    rule_id: str = "recovery-cap"
    applies_to: frozenset[Channel] | None = attrs.field(default=None, converter=_governed_set)

    def covers(self, channel: Channel | None) -> bool:
        """True if a send on ``channel`` is held back here (any cap covers ``None``)."""
        if channel is None:
            return True
        if self.applies_to is not None:
            return channel in self.applies_to
        return self.channels is None or channel in self.channels

    def counts(self, channel: Channel) -> bool:
        """True if an earlier touch on ``channel`` counts against this cap."""
        return self.channels is None or channel in self.channels

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
_EMAIL: Final = frozenset({Channel.EMAIL})

#: SEAMS 10 (revised for the Polish practice's second touch 6-12 h after the first):
#: on the personal channels together (SMS, WhatsApp, Telegram, Viber) one recovery
#: touch per 6 h and at most two a day; e-mail counted on its own, one per 12 h.
#: A customer "contacted recently" is deferred, never dropped.
DEFAULT_RECOVERY_CAPS: Final[tuple[FrequencyCap, ...]] = (
    FrequencyCap(1, timedelta(hours=6), channels=_PERSONAL, rule_id="recovery-cap"),
    FrequencyCap(2, timedelta(hours=24), channels=_PERSONAL, rule_id="recovery-cap"),
    FrequencyCap(1, timedelta(hours=12), channels=_EMAIL, rule_id="recovery-cap"),
)

#: How long a touch on a personal channel waits after an e-mail touch, and the other
#: way round: a text five minutes after an e-mail is the same reminder twice.
DEFAULT_CHANNEL_GAP: Final = timedelta(hours=12)


def channel_gap_caps(gap: timedelta) -> tuple[FrequencyCap, FrequencyCap]:
    """The minimum gap between personal channels and e-mail, as two caps.

    One counts e-mail touches and holds back texts and chats; the other counts the
    personal channels and holds back e-mail. Touches on the same side are left to
    the ordinary caps.
    """
    return (
        FrequencyCap(1, gap, channels=_EMAIL, applies_to=_PERSONAL, rule_id="channel-gap"),
        FrequencyCap(1, gap, channels=_PERSONAL, applies_to=_EMAIL, rule_id="channel-gap"),
    )

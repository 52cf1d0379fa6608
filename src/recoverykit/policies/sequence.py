"""Sequences: the touches of a recovery, their timing windows, channels and words.

``RecoverySequence.from_dict`` is a loading boundary: it checks the rules a humane
sequence keeps (delays grow, nothing sooner than 5 minutes, at most 5 touches,
no discount on the first, everything within 7 days) and reports every problem
at once with its path.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import re
import warnings
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from ..errors import InvalidInputError, InvalidPolicy
from ..values import checks
from ..values.loading import (
    Problems,
    expect_list,
    expect_mapping,
    field,
    load_or_raise,
    to_bool,
    to_enum,
    to_str,
    unknown_keys,
)
from ..values.model import Channel

__all__ = [
    "FIRST_TOUCH_MIN",
    "LAST_TOUCH_MAX",
    "MAX_TOUCHES",
    "Condition",
    "DelayWindow",
    "RecoverySequence",
    "Touch",
    "TouchPurpose",
    "parse_duration",
]

#: A reminder sooner than this after leaving feels like being watched (DOMAIN.md).
FIRST_TOUCH_MIN: Final = timedelta(minutes=5)
#: After a week the customer has bought elsewhere or forgotten; nothing is sent later.
LAST_TOUCH_MAX: Final = timedelta(days=7)
#: More touches than this is pestering, whatever the sequence says.
MAX_TOUCHES: Final = 5


class TouchPurpose(enum.StrEnum):
    """What a touch is for: remind, remove doubt, or a calm last note."""

    REMIND = "remind"
    HELP = "help"
    FINAL = "final"


class Condition(enum.StrEnum):
    """When a touch goes out only if something did not happen."""

    #: Only if the previous message was not read (or, for e-mail, not opened).
    PREVIOUS_UNREAD = "previous_unread"


_DURATION: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS: Final = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: str | int | timedelta) -> timedelta:
    """``"30m"``, ``"18h"``, ``"3d"`` or a number of seconds, as a ``timedelta``."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return timedelta(seconds=float(match[1]) * _UNITS[match[2].lower()])
    msg = f"Invalid duration: {value!r}; write e.g. '30m', '18h' or '3d'"
    raise InvalidInputError(msg)


def _format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@attrs.frozen
class DelayWindow:
    """A delay after abandonment given as a window, e.g. 30–60 minutes.

    The engine sends at a point inside the window chosen from the checkout id, so
    a thousand carts abandoned at 12:00 do not all wake at 12:30.
    """

    earliest: timedelta
    latest: timedelta

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.earliest, timedelta) or not isinstance(self.latest, timedelta):
            msg = (
                f"A delay window is two timedeltas (got {self.earliest!r}, {self.latest!r}); "
                "write e.g. DelayWindow(timedelta(minutes=30), timedelta(hours=1))"
            )
            raise InvalidPolicy(msg)
        if self.earliest < timedelta(0) or self.latest < self.earliest:
            msg = (
                f"Invalid delay window {_format_duration(self.earliest)}–"
                f"{_format_duration(self.latest)}: it must start at zero or later and not end "
                "before it starts"
            )
            raise InvalidPolicy(msg)

    def point(self, seed: str) -> timedelta:
        """A deterministic point inside the window for ``seed`` (a checkout id and touch)."""
        span = int((self.latest - self.earliest).total_seconds())
        if span <= 0:
            return self.earliest
        digest = hashlib.blake2b(seed.encode("utf-8", "replace"), digest_size=8).digest()
        return self.earliest + timedelta(seconds=int.from_bytes(digest, "big") % (span + 1))

    def scaled(self, factor: float) -> DelayWindow:
        return DelayWindow(self.earliest * factor, self.latest * factor)

    def to_dict(self) -> list[str]:
        return [_format_duration(self.earliest), _format_duration(self.latest)]

    def __str__(self) -> str:
        if self.earliest == self.latest:
            return _format_duration(self.earliest)
        return f"{_format_duration(self.earliest)}–{_format_duration(self.latest)}"


@attrs.frozen
class Touch:
    """One step of a sequence."""

    delay: DelayWindow
    purpose: TouchPurpose = attrs.field(converter=TouchPurpose)
    #: The pack key of the words (``remind``, ``help``, ``final``, ``nudge``).
    message: str = attrs.field()
    #: A fixed channel, or ``None`` for the customer's primary channel.
    channel: Channel | None = attrs.field(
        default=None, converter=attrs.converters.optional(Channel)
    )
    #: Whether a discount may appear (never on the first touch).
    discount: bool = False
    condition: Condition | None = attrs.field(
        default=None, converter=attrs.converters.optional(Condition)
    )

    @message.validator
    def _key(self, _attribute: attrs.Attribute[str], value: str) -> None:
        checks.text("Touch", "message", value)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.delay, DelayWindow):
            msg = f"Touch.delay must be a DelayWindow (got {self.delay!r})"
            raise InvalidPolicy(msg)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "delay": self.delay.to_dict(),
            "purpose": self.purpose.value,
            "message": self.message,
        }
        if self.channel is not None:
            data["channel"] = self.channel.value
        if self.discount:
            data["discount"] = True
        if self.condition is not None:
            data["condition"] = self.condition.value
        return data


def _touch_tuple(value: Iterable[Touch]) -> tuple[Touch, ...]:
    return tuple(value)


@attrs.frozen
class RecoverySequence:
    """Ordered touches with a name and a version (message edits are product changes)."""

    name: str
    touches: tuple[Touch, ...] = attrs.field(converter=_touch_tuple)
    version: str = "1"
    #: A sentence for people reading ``plan`` output: what the sequence is for.
    description: str = ""

    def __attrs_post_init__(self) -> None:
        checks.text("RecoverySequence", "name", self.name)
        problems = _check_touches(self.touches, "$")
        problems.raise_if_any(f"Invalid sequence {self.name!r}")

    def planned_at(
        self, index: int, abandoned_at: datetime, seed: str, scale: float = 1.0
    ) -> datetime:
        """When touch ``index`` (0-based) falls before hours and caps move it."""
        window = self.touches[index].delay
        if scale != 1.0:
            window = _scaled(window, scale)
        delay = window.point(f"{seed}:{index}")
        delay = max(FIRST_TOUCH_MIN, min(delay, LAST_TOUCH_MAX))
        return abandoned_at + delay

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "touches": [touch.to_dict() for touch in self.touches],
        }
        if self.description:
            data["description"] = self.description
        return data

    @classmethod
    def from_dict(cls, data: Any) -> RecoverySequence:
        """Load a sequence; every problem is reported at once with its JSON path."""
        return load_or_raise(load_sequence, data, "Invalid sequence")


@functools.lru_cache(maxsize=1024, typed=True)
def _scaled(window: DelayWindow, factor: float) -> DelayWindow:
    """``window.scaled(factor)``, memoized: a policy has a few windows and a few factors."""
    return window.scaled(factor)


def _check_touches(
    touches: tuple[Touch, ...], path: str, indexes: tuple[int, ...] | None = None
) -> Problems:
    """Check the sequence rules; ``indexes`` maps loaded touches to their document positions."""
    problems = Problems()
    positions = indexes if indexes is not None else tuple(range(len(touches)))
    if not touches and indexes is None:
        problems.add(f"{path}.touches", "a sequence needs at least one touch")
    if len(touches) > MAX_TOUCHES:
        problems.add(
            f"{path}.touches", f"has {len(touches)} touches; at most {MAX_TOUCHES} are allowed"
        )
    previous: Touch | None = None
    for index, touch in zip(positions, touches, strict=True):
        here = f"{path}.touches[{index}]"
        if index == 0 and touch.delay.earliest < FIRST_TOUCH_MIN:
            problems.add(
                f"{here}.delay",
                f"the first touch must wait at least 5m after abandonment (got {touch.delay})",
            )
        if index == 0 and touch.discount:
            problems.add(
                f"{here}.discount",
                "no discount on the first touch: customers learn to abandon for a code",
            )
        if index == 0 and touch.condition is Condition.PREVIOUS_UNREAD:
            problems.add(
                f"{here}.condition",
                "the first touch has no previous message, so 'previous_unread' never holds",
            )
        if touch.delay.latest > LAST_TOUCH_MAX:
            problems.add(f"{here}.delay", f"must end within 7d of abandonment (got {touch.delay})")
        if previous is not None and touch.delay.earliest <= previous.delay.latest:
            problems.add(
                f"{here}.delay",
                f"delays must grow: {touch.delay} does not start after the previous "
                f"touch's {previous.delay}",
            )
        previous = touch
    return problems


_SEQUENCE_KEYS: Final = frozenset({"name", "version", "description", "touches"})
_TOUCH_KEYS: Final = frozenset({"delay", "purpose", "message", "channel", "discount", "condition"})


def _window(value: Any) -> DelayWindow:
    if isinstance(value, list | tuple) and len(value) == 2:
        return DelayWindow(parse_duration(value[0]), parse_duration(value[1]))
    if isinstance(value, str | int):
        single = parse_duration(value)
        return DelayWindow(single, single)
    msg = f"a delay is a duration ('1h') or a window (['30m', '60m']), got {value!r:.60}"
    raise InvalidInputError(msg)


def _channel_or_primary(value: Any) -> Channel | None:
    if value == "primary":
        return None
    return to_enum(Channel)(value)


def load_touch(data: Any, path: str, problems: Problems) -> Touch | None:
    mapping = expect_mapping(data, path, problems)
    if mapping is None:
        return None
    unknown_keys(mapping, _TOUCH_KEYS, path, problems)
    before = len(problems.items)
    delay = field(mapping, "delay", path, problems, _window)
    purpose = field(mapping, "purpose", path, problems, to_enum(TouchPurpose))
    message = field(mapping, "message", path, problems, to_str, default=None)
    channel = field(mapping, "channel", path, problems, _channel_or_primary, default=None)
    discount = field(mapping, "discount", path, problems, to_bool, default=False)
    condition = field(mapping, "condition", path, problems, to_enum(Condition), default=None)
    if len(problems.items) > before or delay is None or purpose is None:
        return None
    return Touch(
        delay=delay,
        purpose=purpose,
        message=message or purpose.value,
        channel=channel,
        discount=bool(discount),
        condition=condition,
    )


def load_sequence(data: Any, path: str, problems: Problems) -> RecoverySequence | None:
    mapping = expect_mapping(data, path, problems)
    if mapping is None:
        return None
    unknown_keys(mapping, _SEQUENCE_KEYS, path, problems)
    name = field(mapping, "name", path, problems, to_str, default="custom")
    version = field(mapping, "version", path, problems, _version, default="1")
    description = field(mapping, "description", path, problems, to_str, default="")
    raw = expect_list(mapping.get("touches", []), f"{path}.touches", problems) or []
    touches: list[Touch] = []
    loaded_at: list[int] = []
    for index, item in enumerate(raw):
        touch = load_touch(item, f"{path}.touches[{index}]", problems)
        if touch is not None:
            touches.append(touch)
            loaded_at.append(index)
    if not raw:
        problems.add(f"{path}.touches", "a sequence needs at least one touch")
    problems.items.extend(_check_touches(tuple(touches), path, tuple(loaded_at)).items)
    if problems:
        return None
    return RecoverySequence(
        name=name or "custom",
        touches=tuple(touches),
        version=version or "1",
        description=description or "",
    )


def _version(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return to_str(value)


def __getattr__(name: str) -> Any:
    """``Sequence``, the old name of ``RecoverySequence``, still resolves, with a warning."""
    if name == "Sequence":
        from ..errors import RecoveryKitDeprecationWarning  # noqa: PLC0415 - only when used

        msg = (
            "recoverykit.policies.sequence.Sequence is deprecated: use RecoverySequence "
            "(the old name shadowed collections.abc.Sequence)"
        )
        warnings.warn(msg, RecoveryKitDeprecationWarning, stacklevel=2)
        return RecoverySequence
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)

"""The last few messages of a recovery's conversation, kept so a person can pick it up.

A hand-off is only useful if whoever reads it sees what the customer was sent and
what they wrote back, without searching another system. The state keeps the newest
``CONVERSATION_LIMIT`` lines (touches and replies out, the customer's replies in),
each text cut at ``LINE_CHARS``: enough to read the thread, small enough that every
stored state stays cheap. The lines are personal data and go with the checkout when
its retention ends.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Final

import attrs

from ..values.model import Channel

__all__ = ["CONVERSATION_LIMIT", "LINE_CHARS", "ConversationLine", "Direction", "remember"]

#: How many lines a state (and so a hand-off) carries: the newest ones.
CONVERSATION_LIMIT: Final = 5
#: Longer texts (an e-mail body, a pasted essay) are cut to this many characters.
LINE_CHARS: Final = 1000


class Direction(enum.StrEnum):
    """Who wrote a line: the store (``out``) or the customer (``in``)."""

    OUT = "out"
    IN = "in"


@attrs.frozen
class ConversationLine:
    """One message of the conversation, as a person taking over would read it."""

    at: datetime
    channel: Channel
    direction: Direction
    text: str
    #: The pack key of a message the store sent (``remind``, ``menu.shipping``);
    #: ``None`` for the customer's own lines.
    key: str | None = None
    #: The touch number of a sequence step; ``None`` for replies either way.
    touch: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "at": self.at.isoformat(),
            "channel": self.channel.value,
            "direction": self.direction.value,
            "text": self.text,
        }
        if self.key is not None:
            data["key"] = self.key
        if self.touch is not None:
            data["touch"] = self.touch
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationLine:
        touch = data.get("touch")
        return cls(
            at=datetime.fromisoformat(data["at"]),
            channel=Channel(data["channel"]),
            direction=Direction(data["direction"]),
            text=str(data["text"]),
            key=data.get("key"),
            touch=None if touch is None else int(touch),
        )


def _cut(text: str) -> str:
    return text if len(text) <= LINE_CHARS else text[: LINE_CHARS - 1] + "…"


def remember(
    lines: tuple[ConversationLine, ...], line: ConversationLine
) -> tuple[ConversationLine, ...]:
    """``lines`` with ``line`` added (its text cut to ``LINE_CHARS``), the newest kept."""
    if len(line.text) > LINE_CHARS:
        line = attrs.evolve(line, text=_cut(line.text))
    return (*lines, line)[-CONVERSATION_LIMIT:]

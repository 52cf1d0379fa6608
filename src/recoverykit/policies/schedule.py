"""One answer to "when may the next touch go out?", with the reasons it moved.

Contact hours and frequency caps pull a send time in different directions: a
cap may push a touch past tonight's window, and the next window may open while
the cap still holds. :func:`earliest_send` alternates between them until both
hold, and records each move, so "why did this go out at 09:00?" has an answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final, Literal

import attrs

from ..values.model import Channel
from ..values.time import to_utc
from .caps import ContactHistory, FrequencyCap
from .hours import ContactHours

__all__ = ["ContactRules", "Moved", "SendTime", "earliest_send"]

MoveReason = Literal["contact_hours", "cap"]

#: Rounds of hours-then-caps before giving up; each round moves forward, so this
#: is only a guard against a pathological rule set.
_MAX_ROUNDS: Final = 1_000


@attrs.frozen
class ContactRules:
    """Everything that limits when one recipient may be contacted, combined.

    ``recoverykit.jurisdictions.rules_for`` builds it from the rules that apply.
    """

    #: The base hours narrowed by every applicable rule.
    hours: ContactHours
    #: The store's caps plus every applicable rule's caps.
    caps: tuple[FrequencyCap, ...]
    #: Rule ids combined, the base first, e.g. ``("polite", "US-TCPA", "US-FL")``.
    applied: tuple[str, ...]
    #: Each applied id with its own hours, so a note can say which rule moved a send.
    parts: tuple[tuple[str, ContactHours], ...] = ()


@attrs.frozen
class Moved:
    """A send time was pushed later by one rule."""

    #: ``contact_hours`` or ``cap`` (the defer reasons of SEAMS 16).
    reason: MoveReason
    #: The rule that moved it, e.g. ``"polite"``, ``"US-FL"``, ``"recovery-cap"``.
    rule: str
    #: When the send would have gone out (UTC).
    from_: datetime
    #: When it may go out instead (UTC).
    to: datetime


@attrs.frozen
class SendTime:
    """The earliest allowed instant (UTC), or ``None`` if none is within the horizon."""

    at: datetime | None
    moves: tuple[Moved, ...] = ()


def earliest_send(
    instant: datetime,
    zones: Sequence[str],
    rules: ContactRules,
    history: ContactHistory,
    *,
    channel: Channel | None = None,
    horizon: timedelta = timedelta(days=14),
) -> SendTime:
    """The first instant at or after ``instant`` that every window and cap allows.

    Only caps that count ``channel`` are consulted (all of them when ``channel``
    is ``None``). The answer is ``None`` when no such instant lies within
    ``horizon`` of ``instant``; the moves made so far are still reported.
    """
    moment = to_utc(instant, "instant")
    deadline = moment + horizon
    caps = [cap for cap in rules.caps if cap.covers(channel)]
    moves: list[Moved] = []
    for _ in range(_MAX_ROUNDS):
        opened = rules.hours.earliest(moment, zones, horizon=deadline - moment)
        if opened is None:
            return SendTime(None, tuple(moves))
        if opened != moment:
            moves.append(Moved("contact_hours", _blame(rules, moment, zones), moment, opened))
            moment = opened
        capped = False
        for cap in caps:
            allowed = cap.earliest(moment, history)
            if allowed != moment:
                moves.append(Moved("cap", cap.rule_id, moment, allowed))
                moment, capped = allowed, True
        if moment > deadline:
            return SendTime(None, tuple(moves))
        if not capped:
            # ``moment`` is where the hours opened (or already were), and no cap moved
            # it: a window's own answer is inside it, so another round would move nothing.
            return SendTime(moment, tuple(moves))
    return SendTime(None, tuple(moves))  # pragma: no cover - guard only


def _blame(rules: ContactRules, moment: datetime, zones: Sequence[str]) -> str:
    """The rule whose own window opens last after ``moment``: the one that held it back."""
    if not rules.parts:
        return rules.applied[-1] if rules.applied else "contact_hours"
    latest: tuple[datetime, str] | None = None
    for rule_id, hours in rules.parts:
        if hours.allows(moment, zones):
            continue
        opens = hours.earliest(moment, zones)
        key = opens if opens is not None else datetime.max.replace(tzinfo=moment.tzinfo)
        if latest is None or key > latest[0]:
            latest = (key, rule_id)
    if latest is None:
        # Each window alone allows it; only their combination does not.
        return "+".join(rule_id for rule_id, _ in rules.parts)
    return latest[1]

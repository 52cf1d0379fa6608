"""Built-in sequences, looked up by name (``recoverykit.presets.get("three-touch")``).

Timings follow the practitioner guides summarised in the project's domain notes:
a reminder within the first hour, a helpful second touch the next day, a calm
last note two to three days later, then silence.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from .policies.sequence import Condition, DelayWindow, RecoverySequence, Touch, TouchPurpose
from .values.model import Channel

__all__ = ["DEFAULT", "PRESETS", "get", "names"]


def _w(earliest: timedelta, latest: timedelta | None = None) -> DelayWindow:
    return DelayWindow(earliest, earliest if latest is None else latest)


_M = timedelta(minutes=1)
_H = timedelta(hours=1)
_D = timedelta(days=1)


def _three(name: str, channel: Channel | None, description: str) -> RecoverySequence:
    return RecoverySequence(
        name=name,
        description=description,
        touches=(
            Touch(_w(30 * _M, 60 * _M), TouchPurpose.REMIND, "remind", channel),
            Touch(_w(18 * _H, 24 * _H), TouchPurpose.HELP, "help", channel),
            Touch(_w(48 * _H, 72 * _H), TouchPurpose.FINAL, "final", channel),
        ),
    )


PRESETS: Final[dict[str, RecoverySequence]] = {
    "three-touch": _three(
        "three-touch",
        None,
        "Remind within the hour, offer help the next day, a calm last note after two to "
        "three days; on the customer's primary channel.",
    ),
    "sms-three-touch": _three(
        "sms-three-touch",
        Channel.SMS,
        "The three-touch plan by text. US numbers get one cart-reminder text per "
        "abandonment (carrier rule CP-1); later touches move to another consented channel "
        "or are skipped.",
    ),
    "whatsapp-three-touch": _three(
        "whatsapp-three-touch",
        Channel.WHATSAPP,
        "The three-touch plan on WhatsApp, with approved templates outside the 24 h window.",
    ),
    "messenger-escalation": RecoverySequence(
        name="messenger-escalation",
        description="Messenger pacing: 1–2 h, a day, then 3–5 days; a discount only on the "
        "last touch and only with a real deadline.",
        touches=(
            Touch(_w(1 * _H, 2 * _H), TouchPurpose.REMIND, "remind"),
            Touch(_w(24 * _H, 26 * _H), TouchPurpose.HELP, "help"),
            Touch(_w(3 * _D, 5 * _D), TouchPurpose.FINAL, "final", discount=True),
        ),
    ),
    "help-first": RecoverySequence(
        name="help-first",
        description="E-mail leads: an e-mail at 1 h; a short text 12 h after it only if that "
        "e-mail was not opened, which needs a store that tracks opens (otherwise the text is "
        "skipped, never sent blind); helpful e-mails the next day and at 3 days.",
        touches=(
            Touch(_w(1 * _H), TouchPurpose.REMIND, "remind", Channel.EMAIL),
            Touch(
                _w(13 * _H, 14 * _H),
                TouchPurpose.REMIND,
                "nudge",
                Channel.SMS,
                condition=Condition.PREVIOUS_UNREAD,
            ),
            Touch(_w(26 * _H, 28 * _H), TouchPurpose.HELP, "help", Channel.EMAIL),
            Touch(_w(3 * _D), TouchPurpose.FINAL, "final", Channel.EMAIL),
        ),
    ),
}

DEFAULT: Final = "three-touch"


def names() -> tuple[str, ...]:
    return tuple(PRESETS)


def get(name: str) -> RecoverySequence:
    """The preset called ``name``; a ``KeyError``-free error that lists the choices."""
    try:
        return PRESETS[name]
    except KeyError:
        choices = ", ".join(sorted(PRESETS))
        msg = f"Unknown sequence preset: {name!r}; choose one of {choices}"
        raise ValueError(msg) from None

"""A one-line progress bar on stderr for long ``recoverykit simulate`` runs.

A short run prints nothing extra: the bar appears only once a run has taken more
than a couple of seconds, and only when stderr is a terminal, so a log file or a
pipe never receives carriage returns. It redraws at most a few times a second and
erases itself when the run ends, leaving the terminal as it found it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import datetime
from typing import Final, TextIO

__all__ = ["Progress"]

#: How long a run goes before the bar appears (seconds of wall time).
SHOW_AFTER: Final = 2.0
#: Least time between two redraws (seconds).
REDRAW_EVERY: Final = 0.2
#: Width of the bar itself, in characters.
BAR: Final = 30


class Progress:
    """How far the virtual clock has come from ``start`` to ``end``, as a bar.

    ``update`` is cheap enough to call after every step of a simulation. The bar
    is drawn on ``stream`` only when ``stream.isatty()`` and the run has lasted
    ``show_after`` seconds (default `SHOW_AFTER`; ``timer`` reads wall time).
    """

    def __init__(
        self,
        stream: TextIO,
        start: datetime,
        end: datetime,
        *,
        show_after: float | None = None,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.start = start
        self.end = end
        self.show_after = SHOW_AFTER if show_after is None else show_after
        self.timer = timer
        self.enabled = _is_terminal(stream)
        self.began = timer()
        self.drawn_at: float | None = None
        #: Steps seen so far (shown beside the bar).
        self.steps = 0
        self._width = 0

    def update(self, now: datetime) -> None:
        """Note that the virtual clock reached ``now``; redraw when it is time."""
        self.steps += 1
        if not self.enabled:
            return
        wall = self.timer()
        if wall - self.began < self.show_after:
            return
        if self.drawn_at is not None and wall - self.drawn_at < REDRAW_EVERY:
            return
        self.drawn_at = wall
        self._draw(self.line(now, wall - self.began))

    def line(self, now: datetime, elapsed: float) -> str:
        """The bar's text for virtual time ``now`` after ``elapsed`` wall seconds."""
        span = (self.end - self.start).total_seconds()
        done = 1.0 if span <= 0 else (now - self.start).total_seconds() / span
        done = min(max(done, 0.0), 1.0)
        filled = round(done * BAR)
        bar = "#" * filled + "." * (BAR - filled)
        return (
            f"simulating [{bar}] {done * 100:3.0f} %  at {now:%a %d %b %H:%M} UTC  "
            f"{self.steps:,} steps  {elapsed:.0f} s".replace(",", " ")
        )

    def close(self) -> None:
        """Erase the bar, if one was drawn."""
        if self.drawn_at is not None:
            self._draw("")
            self.drawn_at = None

    def _draw(self, text: str) -> None:
        padding = " " * max(self._width - len(text), 0)
        with contextlib.suppress(OSError, ValueError):
            self.stream.write(f"\r{text}{padding}" + ("" if text else "\r"))
            self.stream.flush()
        self._width = len(text)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False

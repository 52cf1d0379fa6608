"""Channel holds in SQL: the ``HealthTransaction`` methods both SQL stores share.

One row per held channel (``recipient`` empty: its circuit) or held recipient on a
channel (``recipient``: a digest of the address). The table is tiny (a row per outage),
so every call reads or writes one row by its key, or all of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, LiteralString, Protocol

from ..protocols import WHOLE_CHANNEL, ChannelHold
from ..values.model import Channel
from ._sql import Cursor, Dialect, Statements

__all__ = ["SQLHolds"]


class HoldStatements:
    """The holds SQL rendered for one dialect."""

    def __init__(self, d: Dialect) -> None:
        self.all = d.sql(
            "SELECT channel, recipient, opened_at, next_probe_at, probes, code, reason"
            " FROM channel_holds ORDER BY channel, recipient"
        )
        self.one = d.sql(
            "SELECT channel, recipient, opened_at, next_probe_at, probes, code, reason"
            " FROM channel_holds WHERE channel = ? AND recipient = ?"
        )
        insert: LiteralString = (
            "INSERT INTO channel_holds"
            " (channel, recipient, opened_at, next_probe_at, probes, code, reason)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, recipient) DO "
        )
        self.open = d.sql(insert + "NOTHING")
        self.save = d.sql(
            insert + "UPDATE SET opened_at = excluded.opened_at,"
            " next_probe_at = excluded.next_probe_at, probes = excluded.probes,"
            " code = excluded.code, reason = excluded.reason"
        )
        self.drop = d.sql("DELETE FROM channel_holds WHERE channel = ? AND recipient = ?")
        self.release = d.sql(
            "UPDATE outbox SET attempted_at = NULL"
            " WHERE key = ? AND status = 'pending' AND attempted_at = ?"
        )


class _SQLTransaction(Protocol):
    _q: Statements

    def _execute(self, sql: LiteralString, params: Any = ()) -> Cursor: ...


_STATEMENTS: dict[int, HoldStatements] = {}


def _statements(tx: _SQLTransaction) -> HoldStatements:
    dialect = tx._q.dialect
    found = _STATEMENTS.get(id(dialect))
    if found is None:
        found = _STATEMENTS[id(dialect)] = HoldStatements(dialect)
    return found


def _hold(d: Dialect, row: Any) -> ChannelHold:
    channel, recipient, opened_at, next_probe_at, probes, code, reason = row
    return ChannelHold(
        channel=Channel(channel),
        opened_at=d.time_out(opened_at),
        next_probe_at=d.time_out(next_probe_at),
        reason=reason,
        code=code,
        probes=int(probes),
        recipient=recipient,
    )


def _row(d: Dialect, hold: ChannelHold) -> tuple[Any, ...]:
    return (hold.channel.value, hold.recipient, d.time_in(hold.opened_at),
            d.time_in(hold.next_probe_at), hold.probes, hold.code, hold.reason)  # fmt: skip


class SQLHolds:
    """``HealthTransaction`` for an ``SQLTransaction`` subclass (mixed in before it)."""

    __slots__ = ()

    def holds(self: _SQLTransaction) -> list[ChannelHold]:
        d = self._q.dialect
        return [_hold(d, row) for row in self._execute(_statements(self).all).fetchall()]

    def open_hold(self: _SQLTransaction, hold: ChannelHold) -> bool:
        row = _row(self._q.dialect, hold)
        return self._execute(_statements(self).open, row).rowcount == 1

    def save_hold(self: _SQLTransaction, hold: ChannelHold) -> None:
        self._execute(_statements(self).save, _row(self._q.dialect, hold))

    def drop_hold(
        self: _SQLTransaction, channel: Channel, recipient: str = WHOLE_CHANNEL
    ) -> ChannelHold | None:
        q = _statements(self)
        key = (Channel(channel).value, recipient)
        row = self._execute(q.one, key).fetchone()
        if row is None or self._execute(q.drop, key).rowcount != 1:
            return None
        return _hold(self._q.dialect, row)

    def release_attempt(self: _SQLTransaction, key: str, attempted_at: datetime) -> bool:
        moment = self._q.dialect.time_in(attempted_at)
        return self._execute(_statements(self).release, (key, moment)).rowcount == 1

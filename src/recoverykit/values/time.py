"""Small time helpers shared by every layer: awareness checks and UTC normalisation."""

from __future__ import annotations

from datetime import UTC, datetime

from ..errors import NaiveDatetimeError

__all__ = ["require_aware", "to_utc"]


def require_aware(value: datetime, what: str = "datetime") -> datetime:
    """Return ``value`` unchanged if it carries a zone; raise ``NaiveDatetimeError`` if not."""
    if not isinstance(value, datetime):
        msg = f"{what} must be a datetime (got {type(value).__name__} {value!r})"
        raise TypeError(msg)
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(what, value)
    return value


def to_utc(value: datetime, what: str = "datetime") -> datetime:
    """The same instant expressed in UTC; naive input is refused."""
    return require_aware(value, what).astimezone(UTC)

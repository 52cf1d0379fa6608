"""The errors every bundled store raises, worded once.

``MemoryStore``, ``SQLiteStore`` and ``PostgresStore`` refuse the same misuses with
the same words, so a caller (or a test) never learns which store it talks to from
an error message.
"""

from __future__ import annotations

from ..errors import ConflictError, StoreError

__all__ = [
    "TransactionGuard",
    "batch_conflict",
    "newer_schema",
    "recovery_exists",
    "unknown_outbox_key",
    "version_conflict",
]


class TransactionGuard:
    """What a store's transaction object shares: it is dead once its block ends."""

    __slots__ = ("_open",)

    def __init__(self) -> None:
        self._open = True

    def _check_open(self) -> None:
        if not self._open:
            msg = "This transaction has ended; open a new one with store.transaction()"
            raise StoreError(msg)

    def _end(self) -> None:
        self._open = False


def recovery_exists(checkout_id: str) -> ConflictError:
    """An insert (``expected_version=None``) of a recovery the store already has."""
    msg = (
        f"Recovery {checkout_id!r} already exists; load it and save with "
        "its expected_version to change it"
    )
    return ConflictError(msg)


def version_conflict(checkout_id: str, expected: int, stored: int | None) -> ConflictError:
    """A save whose ``expected_version`` is not the stored one (``None``: not stored)."""
    found = "it is not stored" if stored is None else f"the stored version is {stored}"
    msg = (
        f"Recovery {checkout_id!r} was expected at version {expected} "
        f"but {found}; load it again and redo the decision"
    )
    return ConflictError(msg)


def batch_conflict(count: int, changed: int) -> ConflictError:
    """A set-based save that found fewer rows at their expected versions than it was given."""
    msg = (
        f"A batch save of {count} recoveries found only {changed} at the versions it expected: "
        "someone else saved one meanwhile; load the batch again and redo its decisions"
    )
    return ConflictError(msg)


def unknown_outbox_key(key: str) -> StoreError:
    """A mark for an outbox entry the store does not have."""
    msg = f"No outbox entry with key {key!r}; add it with add_outbox first"
    return StoreError(msg)


def newer_schema(where: str, found: int, known: int) -> StoreError:
    """A database written by a newer release: refused rather than misread."""
    msg = (
        f"{where} has schema version {found}, but this release of recoverykit knows "
        f"versions up to {known}; upgrade recoverykit to open it"
    )
    return StoreError(msg)

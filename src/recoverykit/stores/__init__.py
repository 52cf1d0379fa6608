"""Stores that keep recoveries, consent, contact history, the outbox and the event log.

``MemoryStore`` lives in memory (tests, examples); ``SQLiteStore`` is the embedded
default for production on one machine. Both implement ``recoverykit.protocols.Store``
and pass ``recoverykit.testing.store_contract.StoreContract``.
"""

from __future__ import annotations

from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = ["MemoryStore", "SQLiteStore"]

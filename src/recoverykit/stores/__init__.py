"""Stores that keep recoveries, consent, contact history, the outbox and the event log.

``MemoryStore`` lives in memory (tests, examples); ``SQLiteStore`` is the embedded
default for production on one machine; ``recoverykit.stores.postgres.PostgresStore``
(the ``postgres`` extra, imported only when asked for) serves many workers on one
database. All implement ``recoverykit.protocols.Store`` and pass
``recoverykit.testing.store_contract.StoreContract``. ``open_store(db)`` opens a file
path or a ``postgresql://`` URL.
"""

from __future__ import annotations

from ._open import open_store
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = ["MemoryStore", "SQLiteStore", "open_store"]

"""Test doubles for code that embeds recoverykit.

``FakeClock`` and ``FakeChannel`` stand in for time and a provider; ``MemoryStore``
keeps everything in memory; ``EngineDriver`` runs whole stories through the real
runtime core on a virtual clock; ``recoverykit.testing.faults`` crashes a store or a
channel on purpose. Hypothesis strategies live in
``recoverykit.testing.strategies``; the store contract suite in
``recoverykit.testing.store_contract`` (it needs pytest). In a test run that has
imported Hypothesis, importing this package also registers the strategies, so
``st.from_type(Checkout)`` works.
"""

from __future__ import annotations

import sys

from ..runtime.driver import EngineDriver, Sent
from ..stores.memory import MemoryStore
from .fakes import FakeChannel, FakeClock, FakeDiscountIssuer, FakeLookupChannel

__all__ = [
    "EngineDriver",
    "FakeChannel",
    "FakeClock",
    "FakeDiscountIssuer",
    "FakeLookupChannel",
    "MemoryStore",
    "Sent",
]

if "hypothesis" in sys.modules:
    from . import strategies  # noqa: F401 - registers st.from_type strategies on import

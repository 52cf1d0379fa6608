"""Test doubles for code that embeds recoverykit, and a property suite for your policy.

``FakeClock`` and ``FakeChannel`` stand in for time and a provider; ``MemoryStore``
keeps everything in memory; ``EngineDriver`` runs whole stories through the real
runtime core on a virtual clock; ``recoverykit.testing.faults`` crashes a store or a
channel on purpose. ``check_policy`` and ``PolicySuite`` prove a store's own policy
through the real ``Runner`` (they need Hypothesis, the ``hypothesis`` extra, and are
imported only when used). Hypothesis strategies live in
``recoverykit.testing.strategies``; the store contract suite in
``recoverykit.testing.store_contract`` (it needs pytest). In a test run that has
imported Hypothesis, importing this package also registers the strategies, so
``st.from_type(Checkout)`` works.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from ..runtime.driver import EngineDriver, Sent
from ..stores.memory import MemoryStore
from .fakes import FakeChannel, FakeClock, FakeDiscountIssuer, FakeLookupChannel

if TYPE_CHECKING:
    from .policy_check import PolicySuite, PolicyViolation, check_policy

__all__ = [
    "EngineDriver",
    "FakeChannel",
    "FakeClock",
    "FakeDiscountIssuer",
    "FakeLookupChannel",
    "MemoryStore",
    "PolicySuite",
    "PolicyViolation",
    "Sent",
    "check_policy",
]

if "hypothesis" in sys.modules:
    from . import strategies  # noqa: F401 - registers st.from_type strategies on import

_NEEDS_HYPOTHESIS = frozenset({"PolicySuite", "PolicyViolation", "check_policy"})


def __getattr__(name: str) -> Any:
    if name in _NEEDS_HYPOTHESIS:
        from . import policy_check  # noqa: PLC0415 - Hypothesis only when asked for

        return getattr(policy_check, name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)

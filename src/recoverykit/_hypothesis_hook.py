"""Registered under Hypothesis' entry point; cheap for everyone who does not use recoverykit.

Hypothesis calls the hook while it is being imported, in every project that has
recoverykit installed. Importing the strategies there would cost every such test
run the import of recoverykit, phonenumbers, babel and holidays, so the hook only
registers them when recoverykit is already in use (this module sits outside
``recoverykit.testing`` so that loading it loads nothing else).

Otherwise it waits: a small finder on ``sys.meta_path`` notices when a module that
defines one of the public types is imported, and registers a deferred strategy for
each of its types right after the module has loaded. The real strategies are
imported on the first draw, when every module is complete. So a test module that
only does ``from recoverykit import RecoveryPolicy`` gets ``st.from_type`` too.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any, Final

#: Every type ``recoverykit.testing.strategies`` registers, by the module defining it
#: (a test keeps this table equal to what ``register_type_strategies`` registers).
TYPES: Final[dict[str, tuple[str, ...]]] = {
    "recoverykit.values.model": ("Channel", "Checkout", "Customer", "LineItem"),
    "recoverykit.values.money": ("Money",),
    "recoverykit.values.phone": ("PhoneNumber",),
    "recoverykit.policies.hours": ("ContactHours",),
    "recoverykit.policies.caps": ("ContactHistory", "ContactRecord", "FrequencyCap"),
    "recoverykit.policies.consent": ("ConsentEvent", "ConsentLedger"),
    "recoverykit.policies.replies": ("Reply",),
    "recoverykit.policies.sequence": ("DelayWindow", "RecoverySequence", "Touch"),
    "recoverykit.policies.discounts": (
        "DiscountHistory",
        "DiscountPolicy",
        "DiscountRequest",
        "IssuedDiscount",
        "StaticCode",
    ),
    "recoverykit.policies.stock": ("StockInfo",),
    "recoverykit.messages.lint": ("GuardPolicy",),
    "recoverykit.engine.policy": ("Context", "RecoveryPolicy", "TimingScale", "Variant"),
    "recoverykit.engine.state": ("RecoveryState",),
    "recoverykit.engine.events": (
        "CartEmptied",
        "CartUpdated",
        "CheckoutAbandoned",
        "ConsentChanged",
        "LinkClicked",
        "MessageDelivered",
        "MessageFailed",
        "MessageRead",
        "OrderPlaced",
        "RecoveryResumed",
        "ReplyReceived",
        "WakeupDue",
    ),
}


def _hypothesis_setup_hook() -> None:
    if "recoverykit.testing" in sys.modules or "recoverykit.values.model" in sys.modules:
        from .testing import strategies  # noqa: F401, PLC0415 - registers on import

        return
    if not any(isinstance(finder, _Watcher) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Watcher())


class _Watcher(importlib.abc.MetaPathFinder):
    """Wraps the loader of each module in ``TYPES``; answers "not mine" for the rest."""

    def __init__(self) -> None:
        self._waiting = set(TYPES)

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname not in self._waiting:
            return None
        self._waiting.discard(fullname)
        if not self._waiting and self in sys.meta_path:
            sys.meta_path.remove(self)
        for finder in sys.meta_path:
            if finder is self:
                continue
            find = getattr(finder, "find_spec", None)
            spec: ModuleSpec | None = find(fullname, path, target) if find else None
            if spec is not None and spec.loader is not None:
                spec.loader = _ThenRegister(spec.loader)
                return spec
        return None


class _ThenRegister(importlib.abc.Loader):
    """Runs the real loader, then registers deferred strategies for the module's types."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        if "recoverykit.testing.strategies" in sys.modules:
            return  # the real strategies are registered already
        from hypothesis import strategies as st  # noqa: PLC0415 - loaded by now

        for name in TYPES.get(module.__name__, ()):
            st.register_type_strategy(getattr(module, name), _real)


def _real(thing: type[Any]) -> Any:
    """Resolved when a strategy for ``thing`` is first needed: every module is loaded."""
    from hypothesis import strategies as st  # noqa: PLC0415

    importlib.import_module("recoverykit.testing.strategies")  # registers the real ones
    return st.from_type(thing)

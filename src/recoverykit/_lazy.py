"""Lazy exports (PEP 562): a package names what it offers, and a module loads on first use.

``import recoverykit`` should cost almost nothing: no database driver, no runner,
no webhook parser and no holiday calendar until something asks for them. Each
package therefore lists its exports as ``{submodule: names}`` and gets a module
``__getattr__`` that imports the submodule the first time one of its names is
read, then keeps the value in the package so the next read is a plain lookup.
Type checkers see the same names through an ``if TYPE_CHECKING:`` import block,
which ``tests/unit/test_public_api.py`` keeps equal to the table.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["Deprecated", "exports"]


class Deprecated:
    """An old name kept for a while: reading it warns and gives the new one."""

    __slots__ = ("message", "module", "name")

    def __init__(self, module: str, name: str, message: str) -> None:
        self.module = module
        self.name = name
        self.message = message


def exports(
    package: str,
    table: Mapping[str, Iterable[str]],
    *,
    deprecated: Mapping[str, Deprecated] | None = None,
    also: Mapping[str, Iterable[str]] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``.

    ``table`` maps a submodule (relative, without the dot) to the names the package
    exports from it, which its literal ``__all__`` lists too (type checkers read that).
    ``also`` lists more names that resolve the same way but stay out of ``__all__``
    and ``__dir__`` (names kept for code written against an earlier layout).
    ``deprecated`` names resolve with a ``RecoveryKitDeprecationWarning``. Any other
    attribute that is a submodule of the package is imported on first use.
    """
    where: dict[str, str] = {}
    for source in (also or {}), table:
        for module, names in source.items():
            for name in names:
                where[name] = module
    shown = {name for names in table.values() for name in names}
    old = dict(deprecated or {})

    def __getattr__(name: str) -> Any:  # noqa: N807 - the PEP 562 hook
        namespace = sys.modules[package].__dict__
        if name in old:
            entry = old[name]
            from .errors import RecoveryKitDeprecationWarning  # noqa: PLC0415 - cheap, rare

            warnings.warn(entry.message, RecoveryKitDeprecationWarning, stacklevel=2)
            return getattr(importlib.import_module(entry.module, package), entry.name)
        module = where.get(name)
        if module is not None:
            value = getattr(importlib.import_module(f".{module}", package), name)
            namespace[name] = value
            return value
        if not name.startswith("__") and importlib.util.find_spec(f"{package}.{name}") is not None:
            return importlib.import_module(f".{name}", package)
        msg = f"module {package!r} has no attribute {name!r}"
        raise AttributeError(msg)

    def __dir__() -> list[str]:  # noqa: N807 - the PEP 562 hook
        return sorted(sys.modules[package].__dict__.get("__all__", shown))

    return __getattr__, __dir__

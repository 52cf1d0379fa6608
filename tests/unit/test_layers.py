"""The layers stay honest: no reaching into another package's private parts.

``lint-imports`` (run by ``make test``) checks the layers contract in
``pyproject.toml``; these tests add what it cannot say. A name or module that starts
with ``_`` belongs to its package: other packages use what it makes public, and
tests, examples, benchmarks and docs import only public modules.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
PACKAGE = SRC / "recoverykit"


def _private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def _module_of(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, list[str]]]:
    """Each imported dotted path (``a.b.name`` for ``from a.b import name``), absolute."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = (node.module or "").split(".") if node.module else []
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                target = base[: len(base) - (node.level - 1)] + target
            for alias in node.names:
                yield node.lineno, [*target, alias.name]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")


def _reaches_in(importer: str, path: list[str]) -> str | None:
    """The private part ``path`` reaches into from outside its package, if any."""
    if path[0] != "recoverykit":
        return None
    for index, part in enumerate(path[1:], start=1):
        if _private(part):
            # A private module belongs to its package; a private name of a module, to
            # the package that module sits in (its sibling modules may use it).
            parent = path[:index]
            if not (SRC.joinpath(*parent) / "__init__.py").exists():
                parent = parent[:-1]
            owner = ".".join(parent)
            inside = importer == owner or importer.startswith(owner + ".")
            return None if inside else ".".join(path[: index + 1])
    return None


def _source_violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module, is_package = _module_of(path)
        for line, imported in _imports(ast.parse(path.read_text("utf-8")), module, is_package):
            reached = _reaches_in(module, imported)
            if reached is not None:
                found.append(f"{path.relative_to(ROOT)}:{line} uses {reached}")
    return found


def test_no_module_uses_another_packages_private_names() -> None:
    """Inside ``src``, a ``_``-prefixed module or name is used only within its own package
    (a module's private name by the other modules of its package)."""
    assert _source_violations() == []


def test_the_check_catches_a_reach_into_another_package() -> None:
    """The checker itself flags both kinds of reach (a private module, a private name)
    and lets a package use its own private parts."""
    assert _reaches_in("recoverykit.runtime.runner", ["recoverykit", "webhooks", "_reading"]) == (
        "recoverykit.webhooks._reading"
    )
    assert _reaches_in("recoverykit.engine.machine", ["recoverykit", "values", "zones", "_x"]) == (
        "recoverykit.values.zones._x"
    )
    assert _reaches_in("recoverykit.webhooks.meta", ["recoverykit", "webhooks", "_reading"]) is None
    assert _reaches_in("recoverykit.values.zones", ["recoverykit", "values", "zones", "_x"]) is None
    assert _reaches_in("recoverykit.values.model", ["recoverykit", "values", "zones", "_x"]) is None
    assert _reaches_in("recoverykit.stores.sqlite", ["recoverykit", "stores", "_sql"]) is None
    assert _reaches_in("recoverykit.runtime.cli", ["recoverykit", "stores", "_sql"]) == (
        "recoverykit.stores._sql"
    )


#: Test files that exercise a module's own private functions on purpose (equivalence
#: tests of a faster rewrite against the reference it replaced). They import private
#: names of public modules, never private modules.
_WHITE_BOX_NAMES = re.compile(r"^_[A-Za-z]")


def _outside_files() -> Iterator[Path]:
    for folder in ("tests", "examples", "benchmarks"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_tests_examples_and_benchmarks_import_only_public_modules() -> None:
    """Outside the package, every ``recoverykit`` module imported is public."""
    found = []
    for path in _outside_files():
        for line, imported in _imports(ast.parse(path.read_text("utf-8")), "outside", False):
            if imported[0] != "recoverykit":
                continue
            modules = imported[:-1] if _WHITE_BOX_NAMES.match(imported[-1]) else imported
            if any(_private(part) for part in modules[1:]):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {'.'.join(imported)}")
    assert found == []


_DOTTED = re.compile(r"recoverykit(?:\.\w+)+")


def _doc_files() -> Iterator[Path]:
    yield ROOT / "README.md"
    yield from sorted((ROOT / "docs").rglob("*.md"))


def test_docs_name_no_private_module() -> None:
    """No page sends a reader to a ``_``-prefixed module or name of recoverykit."""
    found = [
        f"{path.relative_to(ROOT)}: {match}"
        for path in _doc_files()
        for match in _DOTTED.findall(path.read_text("utf-8"))
        if any(_private(part) for part in match.split(".")[1:])
    ]
    assert found == []


def _layer_names() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["importlinter"]
    (layers,) = [c for c in config["contracts"] if c["type"] == "layers"]
    assert layers["containers"] == ["recoverykit"]
    return {name.strip() for layer in layers["layers"] for name in re.split(r"[|:]", layer)}


@pytest.mark.parametrize(
    "child", sorted(p.stem if p.is_file() else p.name for p in PACKAGE.iterdir())
)
def test_every_part_of_the_package_sits_in_a_layer(child: str) -> None:
    """Each subpackage and top-level module is named in the layers contract, so nothing
    new escapes it (the package's own ``__init__``, ``__main__`` and version aside)."""
    if child in {"__init__", "__main__", "_version", "py", "__pycache__"}:
        return
    assert child in _layer_names()

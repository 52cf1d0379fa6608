"""The public face: a short daily ``__all__``, every layer's names in its own namespace,
and nothing imported before it is used."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import recoverykit
from recoverykit.errors import RecoveryKitDeprecationWarning

PACKAGE = Path(recoverykit.__file__).parent
#: Packages whose names load on first use (``recoverykit._lazy``).
LAZY = ["recoverykit", *(f"recoverykit.{name}" for name in ("values", "policies", "messages",
        "engine", "runtime", "stores"))]  # fmt: skip


def test_all_is_sorted_and_short() -> None:
    """``__all__`` is kept sorted, and holds the daily API only (it had 110 names)."""
    assert sorted(recoverykit.__all__) == recoverykit.__all__
    assert len(recoverykit.__all__) <= 60


def test_dir_is_all() -> None:
    """``dir(recoverykit)`` shows the daily API, not every name that still resolves."""
    assert sorted(recoverykit.__all__) == dir(recoverykit)


@pytest.mark.parametrize("package", LAZY)
def test_every_listed_name_resolves(package: str) -> None:
    """Each name in a package's ``__all__`` can be read from it."""
    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, name


def _type_checking_names(path: Path) -> set[str]:
    """The names the ``if TYPE_CHECKING:`` block of ``path`` imports."""
    tree = ast.parse(path.read_text("utf-8"))
    (block,) = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
    ]
    return {
        alias.asname or alias.name
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


@pytest.mark.parametrize("package", LAZY)
def test_type_checkers_see_what_runs(package: str) -> None:
    """The names type checkers import (``TYPE_CHECKING``) are exactly the names the lazy
    table loads, and ``__all__`` lists the table's daily part, so the three never drift."""
    module = importlib.import_module(package)
    table = {name for names in module._EXPORTS.values() for name in names}
    kept = {name for names in getattr(module, "_KEPT", {}).values() for name in names}
    seen = _type_checking_names(Path(module.__file__ or ""))
    assert table | kept | ({"presets"} if package == "recoverykit" else set()) == seen
    assert set(module.__all__) - {"__version__", "presets"} == table
    for names_module, names in module._EXPORTS.items():
        home = importlib.import_module(f"{package}.{names_module}")
        for name in names:
            assert getattr(module, name) is getattr(home, name)


def test_names_listed_here_before_still_resolve_silently() -> None:
    """Code written against the old flat API keeps working, without warnings; the
    names live in their layer now and are not in ``__all__``."""
    from recoverykit.messages import sms_segments
    from recoverykit.policies import earliest_send

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert recoverykit.sms_segments is sms_segments
        assert recoverykit.earliest_send is earliest_send
    assert "sms_segments" not in recoverykit.__all__


def test_layer_namespaces_offer_their_names() -> None:
    """What docs send users to is public where they look for it."""
    from recoverykit.channels.errors import NOT_SENT, OUTCOME_UNKNOWN, OutcomeUnknown
    from recoverykit.engine import offer_discount
    from recoverykit.engine.offer import offer_discount as home

    assert offer_discount is home
    assert (NOT_SENT, OUTCOME_UNKNOWN) == ("not_sent", "outcome_unknown")
    assert issubclass(OutcomeUnknown, recoverykit.ChannelError)


@pytest.mark.parametrize(
    "spelling",
    ["recoverykit", "recoverykit.policies", "recoverykit.policies.sequence"],
)
def test_sequence_is_a_deprecated_alias(spelling: str) -> None:
    """``Sequence`` (which shadowed ``collections.abc.Sequence``) is ``RecoverySequence``
    with a warning that names the new name."""
    module = importlib.import_module(spelling)
    with pytest.warns(RecoveryKitDeprecationWarning, match="use .*RecoverySequence"):
        old = module.Sequence
    assert old is recoverykit.RecoverySequence
    assert "Sequence" not in dir(module)


def test_an_unknown_name_is_an_attribute_error() -> None:
    """A typo is an ``AttributeError`` naming the package, as for any module."""
    with pytest.raises(AttributeError, match="'recoverykit' has no attribute 'Sequnce'"):
        _ = recoverykit.Sequnce  # type: ignore[attr-defined]


#: What ``import recoverykit`` must not load: drivers, the runner, parsers, calendars.
HEAVY = (
    "sqlite3",
    "holidays",
    "babel",
    "phonenumbers",
    "recoverykit.runtime.runner",
    "recoverykit.webhooks",
    "recoverykit.stores.sqlite",
)


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return set(run.stdout.split())


def test_import_recoverykit_loads_nothing_heavy() -> None:
    """``import recoverykit`` loads the package's table and version, nothing more."""
    loaded = _loaded_after("import recoverykit")
    assert [name for name in HEAVY if name in loaded] == []
    assert {name for name in loaded if name.startswith("recoverykit")} == {
        "recoverykit",
        "recoverykit._lazy",
        "recoverykit._version",
    }


def test_a_name_loads_only_its_own_layer() -> None:
    """Reading ``recoverykit.MemoryStore`` loads no SQLite and no runner."""
    loaded = _loaded_after("import recoverykit\nrecoverykit.MemoryStore")
    assert "sqlite3" not in loaded
    assert "recoverykit.runtime.runner" not in loaded


def test_hypothesis_does_not_pull_recoverykit_in() -> None:
    """Importing Hypothesis in a project that merely has recoverykit installed runs
    the entry point, which loads nothing of recoverykit's values or strategies."""
    loaded = _loaded_after("import hypothesis")
    assert "recoverykit.testing.strategies" not in loaded
    assert "recoverykit.values.model" not in loaded

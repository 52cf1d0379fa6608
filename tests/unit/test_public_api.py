"""The curated public API: complete, sorted, and importable."""

from __future__ import annotations

import recoverykit


def test_all_is_sorted() -> None:
    """__all__ is kept sorted so additions are easy to review."""
    assert sorted(recoverykit.__all__) == recoverykit.__all__


def test_all_is_complete() -> None:
    """Every public name defined in the package namespace is listed in __all__."""
    public = {
        name
        for name in dir(recoverykit)
        if not name.startswith("_")
        and not isinstance(getattr(recoverykit, name), type(recoverykit))
        and name not in {"annotations", "contextlib"}
    }
    modules = {name for name in recoverykit.__all__ if name == "presets"}
    assert public == set(recoverykit.__all__) - {"__version__"} - modules


def test_every_name_resolves() -> None:
    """Each listed name can be imported from the top-level package."""
    for name in recoverykit.__all__:
        assert getattr(recoverykit, name) is not None

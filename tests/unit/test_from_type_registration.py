"""st.from_type knows every public type, also in a project that never imports our testing kit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from recoverykit import _hypothesis_hook
from recoverykit.testing import strategies

FRESH_TEST = """
from hypothesis import given, strategies as st
from recoverykit import FrequencyCap, RecoveryPolicy, TimingScale

@given(st.from_type(RecoveryPolicy), st.from_type(FrequencyCap), st.from_type(TimingScale))
def test_values_a_store_could_configure(policy, cap, scale):
    assert policy.store_name.strip() and cap.limit >= 1 and 0.25 <= scale.low_factor <= 1
"""


def test_a_fresh_project_gets_from_type_without_importing_the_testing_kit(
    tmp_path: Path,
) -> None:
    """Hypothesis loads first (pytest's plugin), recoverykit later: from_type still works."""
    (tmp_path / "test_fresh.py").write_text(FRESH_TEST, "utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_fresh.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert 0 == run.returncode, run.stdout[-2000:]


def test_the_hooks_table_names_every_registered_type() -> None:
    """The entry point's table of types and the strategies' registrations agree."""
    from hypothesis.strategies._internal.types import _global_type_lookup

    listed = {
        getattr(__import__(module, fromlist=[name]), name)
        for module, names in _hypothesis_hook.TYPES.items()
        for name in names
    }
    ours = {
        cls
        for cls in _global_type_lookup
        if getattr(cls, "__module__", "").startswith("recoverykit")
        and cls is not strategies.ClockJump
    }
    assert ours == listed

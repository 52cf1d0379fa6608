"""The examples and the README snippet run, and say what the docs claim they say."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_first_recovery_example() -> None:
    """The tutorial's example: touch 1 waits for 09:00 Warsaw, the order stops the rest."""
    namespace = runpy.run_path(str(ROOT / "examples" / "first_recovery.py"))
    lines = namespace["main"]()
    assert "2026-03-03 08:00 UTC" in lines[0]
    assert any("moved from" in line and "09:00 Europe/Warsaw" in line for line in lines)
    assert "finished: ordered" == lines[-1]
    assert 2 == sum(1 for line in lines if line.endswith("STOP'"))


def test_readme_snippet_runs(capsys: object) -> None:
    """The README's ten-line example runs as written and schedules a wake-up."""
    readme = (ROOT / "README.md").read_text("utf-8")
    code = re.search(r"```python\n(.*?)```", readme, re.S)
    assert code is not None
    exec(compile(code.group(1), "README.md", "exec"), {})
    printed = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "ScheduleWakeup" in printed

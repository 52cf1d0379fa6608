"""The command line on truthful messages: the example story, and lint of links and codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recoverykit.runtime.cli import main

ROOT = Path(__file__).parents[2]
STORY = ROOT / "examples" / "truthful" / "scenario.json"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().out


def test_the_truthful_example_gives_one_code_and_refuses_the_second(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The first abandonment's last touch carries a code; the second, 35 days on, none."""
    code, out = run(["simulate", str(STORY), "--format", "jsonl"], capsys)
    assert 0 == code
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    sends = [line for line in lines if line.get("kind") == "send"]
    codes = [(s["checkout"], s["discount_code"]) for s in sends]
    assert ("first", "SIM-0001") in codes
    assert all(code is None for checkout, code in codes if checkout == "second")
    assert any("35 day(s) ago" in json.dumps(line) for line in lines)


def test_lint_of_a_scenario_flags_credential_links_and_a_shared_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """LINK00x for a link that could sign someone in, RK114 for one code for everyone."""
    data = json.loads(STORY.read_text("utf-8"))
    data["checkouts"][0]["link"] = "http://shop.example/c/1?sid=abc"
    data["policy"]["discounts"]["static_code"] = {
        "code": "SAVE10",
        "expires_at": "2026-12-31T23:00:00+00:00",
    }
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(data), "utf-8")
    code, out = run(["lint", str(path)], capsys)
    assert 1 == code
    assert "checkout 'first': error LINK002" in out
    assert "checkout 'first': error LINK004" in out
    assert "policy: warning RK114" in out
    assert out.rstrip().endswith("2 error(s), 1 warning(s)")


def test_lint_of_the_clean_example_finds_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped example's links are https and carry no credentials."""
    code, out = run(["lint", str(STORY)], capsys)
    assert 0 == code
    assert out.rstrip().endswith("0 error(s), 0 warning(s)")

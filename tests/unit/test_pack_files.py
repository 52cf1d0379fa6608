"""A single language's pack file (the built-in layout) loads and lints on its own."""

from __future__ import annotations

import json
from pathlib import Path

from recoverykit import Channel, MessagePack
from recoverykit.runtime.cli import main

PACKS = Path(__file__).parents[2] / "src" / "recoverykit" / "messages" / "builtin"


def test_single_language_file_loads_with_its_name_as_language() -> None:
    """packs/pl.json is read as the Polish language of a pack named 'pl'."""
    pack = MessagePack.load(PACKS / "pl.json")
    assert "pl" == pack.find("remind", Channel.SMS, "pl").locale


def test_cli_lint_accepts_builtin_language_files() -> None:
    """`recoverykit lint` passes every built-in language file."""
    for language in ("en", "pl", "ru", "fr"):
        assert 0 == main(["lint", str(PACKS / f"{language}.json")])


def test_cli_lint_fails_on_a_pushy_template(tmp_path: Path) -> None:
    """A language file whose reminder shouts and blames fails lint (exit 1)."""
    data = json.loads((PACKS / "en.json").read_text("utf-8"))
    data["messages"]["remind"]["sms"] = "{store_name}: you abandoned your cart! BUY NOW {link}"
    path = tmp_path / "en.json"
    path.write_text(json.dumps(data), "utf-8")
    assert 1 == main(["lint", str(path)])

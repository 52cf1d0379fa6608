"""Every Python block in README.md and docs/ runs as written, unless it is marked a fragment.

A page is read top to bottom, so its blocks run in order in one namespace, the
way a reader pastes them into one interpreter; each page starts fresh, in its own
process and an empty working folder. A block that cannot run on its own (it
needs a provider account, a web framework's project, a server) says so with an
HTML comment on the line before its fence, which readers never see:

    <!-- fragment: needs a Django project -->
    ```python
    ...
    ```

A block whose fence follows ``<!-- file: NAME -->`` is written to ``NAME`` in
that folder first, so a page can load the JSON it has just shown.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```(\S*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
FRAGMENT = re.compile(r"<!--\s*fragment\b[^>]*-->\s*\Z")
FILE = re.compile(r"<!--\s*file:\s*([\w.-]+)\s*-->\s*\Z")
#: How long one page's blocks may take together.
TIMEOUT_SECONDS = 120


def python_blocks(text: str) -> tuple[list[tuple[int, str]], int]:
    """The page's runnable Python blocks as (line, code), and how many are fragments."""
    runnable: list[tuple[int, str]] = []
    fragments = 0
    for match in FENCE.finditer(text):
        if match.group(1) != "python":
            continue
        before = text[: match.start()].rstrip(" \t")
        if FRAGMENT.search(before):
            fragments += 1
            continue
        runnable.append((text.count("\n", 0, match.start()) + 2, match.group(2)))
    return runnable, fragments


def files(text: str) -> dict[str, str]:
    """The blocks the page names as files, by name."""
    named: dict[str, str] = {}
    for match in FENCE.finditer(text):
        found = FILE.search(text[: match.start()].rstrip(" \t"))
        if found:
            named[found.group(1)] = match.group(2)
    return named


def _script(page: Path, blocks: list[tuple[int, str]]) -> str:
    """One program: each block compiled under its page and line, so a traceback points there."""
    parts = ["import sys\n_ns = {'__name__': '__main__'}\n"]
    for line, code in blocks:
        padded = "\n" * (line - 1) + code
        parts.append(
            f"print({f'--- {page.name}:{line}'!r}, flush=True)\n"
            f"exec(compile({padded!r}, {str(page)!r}, 'exec'), _ns)\n"
        )
    return "".join(parts)


def test_the_extractor_skips_fragments_and_other_languages() -> None:
    """A marked block and a JSON block are not run; the next Python block is, with its line."""
    text = (
        "Intro\n\n<!-- fragment: needs a server -->\n```python\nboom()\n```\n\n"
        "```json\n{}\n```\n\n```python\nx = 1\n```\n"
    )
    assert ([(13, "x = 1\n")], 1) == python_blocks(text)


def test_a_named_block_becomes_a_file() -> None:
    """A block after a ``file:`` comment is returned under its name."""
    text = 'See:\n\n<!-- file: pack.json -->\n```json\n{"name": "x"}\n```\n'
    assert {"pack.json": '{"name": "x"}\n'} == files(text)


def _with_code() -> list[Path]:
    return [page for page in PAGES if python_blocks(page.read_text("utf-8"))[0]]


def test_the_tutorial_and_readme_have_runnable_code() -> None:
    """The pages a newcomer reads first carry code that is run, not only fragments."""
    names = {str(page.relative_to(ROOT)) for page in _with_code()}
    assert {"README.md", "docs/tutorial/first-recovery.md"} <= names


@pytest.mark.parametrize("page", _with_code(), ids=lambda page: str(page.relative_to(ROOT)))
def test_python_blocks_run(page: Path, tmp_path: Path) -> None:
    """The page's runnable Python blocks run in order without an error."""
    text = page.read_text("utf-8")
    blocks, _ = python_blocks(text)
    for name, content in files(text).items():
        (tmp_path / name).write_text(content, "utf-8")
    result = subprocess.run(
        [sys.executable, "-c", _script(page, blocks)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert 0 == result.returncode, result.stdout[-2000:] + result.stderr[-4000:]

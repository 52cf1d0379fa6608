"""The command line under fuzzing: any arguments, any file contents, never a traceback.

The rule (issue 19): every failure is a message and a documented exit status: 0 ok,
1 lint findings, 2 bad input, 3 store unavailable. Status 4 (an internal error) or
a traceback on stderr is a bug. Inputs are argument lists drawn from the commands'
own vocabulary, pointing at files that hold random bytes, random JSON, or a valid
scenario with one value replaced by something of another type.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from recoverykit.runtime.cli import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK, EXIT_STORE, main

from ..unit.test_cli import SCENARIO

ALLOWED = {EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT, EXIT_STORE}

texts = st.text(max_size=20)
scalars = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | texts
    | st.sampled_from(["1e400", "-1", "NaN", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
                       "\ud800", "+48601234567", "pl", "sms", "granted", "https://x.example/r"])
)  # fmt: skip
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


def _paths(document: Any, trail: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    items = (
        document.items() if isinstance(document, dict)
        else enumerate(document) if isinstance(document, list) else ()
    )  # fmt: skip
    for key, value in items:
        found.append((*trail, key))
        found.extend(_paths(value, (*trail, key)))
    return found


SCENARIO_PATHS = _paths(SCENARIO)


@st.composite
def mutated_scenarios(draw: st.DrawFn) -> Any:
    """The valid scenario with one value, anywhere in it, replaced."""
    document = copy.deepcopy(SCENARIO)
    where = draw(st.sampled_from(SCENARIO_PATHS))
    parent = document
    for step in where[:-1]:
        parent = parent[step]
    parent[where[-1]] = draw(documents)
    return document


contents = (
    st.binary(max_size=200).map(lambda raw: ("bytes", raw))
    | documents.map(lambda doc: ("json", doc))
    | mutated_scenarios().map(lambda doc: ("json", doc))
)
options = st.sampled_from([
    [], ["--format", "jsonl"], ["--format", "csv"], ["--format", "xml"], ["--until", "2026-03-12"],
    ["--until", "2026-03-12T00:00:00Z"], ["--since", "yesterday"], ["--by", "touch,nope"],
    ["--append"], ["--prices", "{file}"], ["--db", "{file}"], ["--db", "{dir}"],
    ["--db", "{dir}/new.db"], ["--db", "{dir}/none/x.db"], ["--db", "{store}"],
    ["--db", "{foreign}"], ["--db", "postgresql://127.0.0.1:9/none"], ["--bogus"],
])  # fmt: skip
commands = st.sampled_from([
    ["simulate", "{file}"], ["plan", "{file}"], ["lint", "{file}"], ["lint", "default"],
    ["explain", "k1"], ["report"], ["nope"], [],
])  # fmt: skip


def _write(path: Path, content: tuple[str, Any]) -> None:
    kind, value = content
    if kind == "bytes":
        path.write_bytes(value)
    else:
        path.write_text(json.dumps(value), "utf-8", errors="surrogatepass")


@given(command=commands, extra=st.lists(options, max_size=3), content=contents)
def test_any_command_line_ends_in_a_documented_status_without_a_traceback(
    command: list[str], extra: list[list[str]], content: tuple[str, Any]
) -> None:
    """Exit status 0, 1, 2 or 3 and no traceback, whatever the arguments and files say."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        file = folder / "input.json"
        _write(file, content)
        foreign = folder / "foreign.sqlite3"
        conn = sqlite3.connect(foreign)
        conn.execute("CREATE TABLE customers (id TEXT)")
        conn.commit()
        conn.close()
        names = {"file": str(file), "dir": scratch, "store": str(folder / "run.db"),
                 "foreign": str(foreign)}  # fmt: skip
        argv = [part.format(**names) for part in command + [p for o in extra for p in o]]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    assert code in ALLOWED, (argv, err.getvalue())
    assert "Traceback" not in err.getvalue()
    assert "internal error" not in err.getvalue(), (argv, err.getvalue())


@given(document=mutated_scenarios(), format_=st.sampled_from(["text", "jsonl"]))
def test_simulate_and_plan_of_a_damaged_scenario_end_in_a_status(
    document: Any, format_: str
) -> None:
    """A valid scenario with one value replaced: simulate and lint run it or refuse it."""
    with tempfile.TemporaryDirectory() as scratch:
        file = Path(scratch) / "scenario.json"
        _write(file, ("json", document))
        for argv in (["simulate", str(file), "--format", format_], ["lint", str(file)]):
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(argv)
            assert code in ALLOWED, (argv, err.getvalue())
            assert "internal error" not in err.getvalue(), (argv, err.getvalue())

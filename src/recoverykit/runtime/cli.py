"""The ``recoverykit`` command line: simulate, plan, lint, explain, report, tick, templates,
resume.

Every command reads files (or the store ``--db`` names), never anything else. No
failure ever shows a traceback: each is one clear message on stderr and an exit
status a script can act on:

* ``0`` success;
* ``1`` ``lint`` found errors (and only that);
* ``2`` bad input: a file with problems (each printed with its JSON path), a
  missing file, a ``--db`` that is not a recoverykit store, a bad option value;
* ``3`` the store is unavailable: PostgreSQL unreachable, an SQLite file that
  cannot be opened or written;
* ``4`` an internal error (a bug in recoverykit: please report it).

``report`` and ``explain`` open the store read-only; ``simulate --db`` creates a new
store, and adds to an existing one only with ``--append``; ``tick`` runs one round of
production work (reconcile, detect, run_due) on an existing store through the
runner your own factory builds (``--runner module:function``), and ``resume`` hands a
recovery paused for a person back to its plan through that runner.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import re
import sqlite3
import sys
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TextIO

from .._version import __version__
from ..engine.commands import MessageKind, SendMessage
from ..engine.events import CheckoutAbandoned, RecoveryResumed
from ..engine.machine import explain
from ..engine.notes import Deferred, Info, Skipped
from ..engine.policy import RecoveryPolicy
from ..engine.state import RecoveryStatus
from ..errors import DefinitionError, ForeignDatabase, RecoveryKitError, StoreError
from ..metrics.cost import PriceTable
from ..metrics.report import FORMATS, Report, render
from ..metrics.scorecard import DIMENSIONS
from ..policies.consent import ConsentEvent
from ..policies.resolve import resolve_zones
from ..protocols import LogRecord, Store
from ..stores.memory import MemoryStore
from ..values.loading import read_json_file, to_datetime
from ..values.model import Checkout, Customer
from ..values.zones import get_zone
from .driver import EngineDriver
from .playback import make_runner, play
from .progress import Progress
from .records import MESSAGE_KINDS, RecordKind
from .runner import Runner
from .scenario import Scenario, load_plan_input
from .story import StoryBook, scorecard_lines
from .templates_cli import add_templates_command

__all__ = ["main"]

#: Exit statuses: success, findings (lint errors), bad input, store unavailable, a bug.
EXIT_OK: Final = 0
EXIT_FINDINGS: Final = 1
EXIT_BAD_INPUT: Final = 2
EXIT_STORE: Final = 3
EXIT_INTERNAL: Final = 4
#: How long ``--db postgresql://...`` waits for the server before giving up (seconds).
_CONNECT_TIMEOUT: Final = 5.0

#: Log kinds ``simulate`` prints; ``event`` lines show what the customer did.
_SHOWN: Final = frozenset(
    {"send", "confirm", "reply", "defer", "skip", "handoff", "finish", "ignored", "info", "event",
     "outbox"}
)  # fmt: skip
#: How far ``plan`` looks ahead: past the sequence's 7-day limit.
_PLAN_HORIZON: Final = timedelta(days=8)
_PRICES_HELP: Final = "price table JSON file: adds spend and cost per order to the report"
#: Where ``tick`` finds ``--runner`` when the option is not given.
_RUNNER_ENV: Final = "RECOVERYKIT_RUNNER"


class UsageError(RecoveryKitError, ValueError):
    """A command-line argument that cannot be used as given (exit 2)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status instead of exiting.

    Whatever happens, the result is an exit status and at most a few lines on
    stderr: never a traceback.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_BAD_INPUT if exc.code not in (0, None) else EXIT_OK
    command = f"recoverykit {args.command}"
    try:
        return int(args.run(args, sys.stdout))
    except BrokenPipeError:
        return _reader_left()
    except KeyboardInterrupt:
        _say(f"{command}: interrupted")
        return 130
    except DefinitionError as exc:
        _say(str(exc))
        return EXIT_BAD_INPUT
    except ForeignDatabase as exc:
        _say(f"{command}: {exc}")
        return EXIT_BAD_INPUT
    except StoreError as exc:
        _say(f"{command}: the store is unavailable: {exc}")
        return EXIT_STORE
    except sqlite3.Error as exc:
        _say(f"{command}: the store is unavailable: SQLite: {exc}")
        return EXIT_STORE
    except (RecoveryKitError, ValueError) as exc:
        _say(f"{command}: {exc}")
        return EXIT_BAD_INPUT
    except ArithmeticError as exc:
        _say(
            f"{command}: a number in the input is out of range ({type(exc).__name__}); "
            'write amounts as plain decimals such as "84.00", without huge exponents'
        )
        return EXIT_BAD_INPUT
    except RecursionError:
        _say(f"{command}: the input is nested too deeply to read")
        return EXIT_BAD_INPUT
    except MemoryError:
        _say(f"{command}: the input is too large to read in memory")
        return EXIT_BAD_INPUT
    except OSError as exc:
        where = f" {exc.filename!r}" if exc.filename else ""
        _say(f"{command}: cannot use{where}: {exc.strerror or exc}")
        return EXIT_BAD_INPUT
    except Exception as exc:  # the last line of defence against a traceback
        _say(
            f"{command}: internal error ({type(exc).__name__}: {exc}); this is a bug in "
            "recoverykit, please report it with the command that caused it"
        )
        return EXIT_INTERNAL


def _say(message: str) -> None:
    """One message on stderr; a closed stderr is not worth a traceback either."""
    with contextlib.suppress(OSError, ValueError):
        print(message, file=sys.stderr)


def _reader_left() -> int:
    """The reader of stdout went away (``| head``): stop quietly, as Unix tools do.

    Python would report the unflushed output at exit; pointing stdout at /dev/null
    first keeps that quiet too.
    """
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recoverykit",
        description="Recover abandoned checkouts kindly: simulate, plan, lint, explain and report.",
    )
    parser.add_argument("--version", action="version", version=f"recoverykit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    simulate = commands.add_parser(
        "simulate", help="play a scenario through the real runner on a virtual clock"
    )
    simulate.add_argument("scenario", type=Path, help="scenario JSON file")
    simulate.add_argument("--until", help="stop at this ISO 8601 instant (default: the file's)")
    simulate.add_argument(
        "--db",
        help="a new SQLite file or postgresql:// URL to keep the run in (default: a "
        "temporary file); an existing store needs --append",
    )
    simulate.add_argument(
        "--append",
        action="store_true",
        help="add this run to the existing recoverykit store --db names",
    )
    simulate.add_argument("--format", choices=("text", "jsonl"), default="text")
    simulate.add_argument(
        "--verbose",
        action="store_true",
        help="print the whole event log and the full report instead of the one-screen summary",
    )
    simulate.add_argument("--prices", type=Path, help=_PRICES_HELP)
    simulate.set_defaults(run=_simulate)

    plan = commands.add_parser(
        "plan", help="the touches one checkout would get if nothing happened"
    )
    plan.add_argument(
        "checkout", type=Path, help="JSON file with checkout, customer, policy, store"
    )
    plan.set_defaults(run=_plan)

    lint = commands.add_parser("lint", help="lint a message pack or check a sequence file")
    lint.add_argument("path", type=Path)
    lint.set_defaults(run=_lint)

    explain_ = commands.add_parser("explain", help="why one checkout's recovery went as it did")
    explain_.add_argument("checkout_id")
    explain_.add_argument("--db", required=True, help="SQLite file or postgresql:// URL of a run")
    explain_.set_defaults(run=_explain)

    report = commands.add_parser(
        "report", help="the recovery scorecard, lift against the holdout, and warnings"
    )
    report.add_argument("--db", required=True, help="SQLite file or postgresql:// URL of a run")
    report.add_argument("--since", help="first ISO 8601 instant to read (inclusive)")
    report.add_argument("--until", help="ISO 8601 instant to stop reading at (exclusive)")
    report.add_argument(
        "--by",
        default=",".join(DIMENSIONS),
        help=f"comma-separated breakdowns (default: {','.join(DIMENSIONS)})",
    )
    report.add_argument("--format", choices=FORMATS, default="text")
    report.add_argument("--prices", type=Path, help=_PRICES_HELP)
    report.add_argument(
        "--min-effect",
        type=float,
        default=5.0,
        metavar="POINTS",
        help="smallest lift worth a verdict, in percentage points (default: 5)",
    )
    report.set_defaults(run=_report)

    tick = commands.add_parser(
        "tick", help="one round of production work for cron: reconcile, detect, run_due"
    )
    tick.add_argument("--db", required=True, help="SQLite file or postgresql:// URL of the store")
    tick.add_argument(
        "--runner",
        default=os.environ.get(_RUNNER_ENV),
        metavar="MODULE:FUNCTION",
        help="a function that takes the opened store and returns your Runner (its policy "
        f"and channel adapters); default: ${_RUNNER_ENV}",
    )
    tick.add_argument("--limit", type=int, default=500, help="most recoveries per batch")
    tick.add_argument("--no-reconcile", action="store_true", help="skip settling interrupted sends")
    tick.set_defaults(run=_tick)
    add_templates_command(commands)

    resume = commands.add_parser(
        "resume", help="hand a recovery paused for a person back to its plan"
    )
    resume.add_argument("checkout_id")
    resume.add_argument("--db", required=True, help="SQLite file or postgresql:// URL of the store")
    resume.add_argument(
        "--runner",
        default=os.environ.get(_RUNNER_ENV),
        metavar="MODULE:FUNCTION",
        help=f"a function that takes the opened store and returns your Runner; default: "
        f"${_RUNNER_ENV}",
    )
    resume.set_defaults(run=_resume)
    return parser


# -- simulate --------------------------------------------------------------------------------
def _is_url(db: str) -> bool:
    return "://" in db


def _open_store(db: str | Path, *, read_only: bool = False) -> Store:
    """An SQLite file path or a ``postgresql://`` URL (with the ``postgres`` extra)."""
    from ..stores import open_store  # noqa: PLC0415 - only the commands that need it

    return open_store(str(db), read_only=read_only, connect_timeout=_CONNECT_TIMEOUT)


def _existing_file(db: str) -> None:
    """Refuse, as bad input, an SQLite path that names no file a store could be read from."""
    if _is_url(db):
        return
    path = Path(db)
    if path.is_dir():
        msg = f"--db {db!r} is a directory; name the store's file"
        raise UsageError(msg)
    if not path.exists():
        msg = f"no database at {db!r}; name a store kept by simulate --db or by production"
        raise UsageError(msg)


def _new_file(db: str, *, append: bool) -> None:
    """Refuse an SQLite path simulate cannot create a store at, or may not add to."""
    if _is_url(db):
        return
    path = Path(db)
    if path.is_dir():
        msg = f"--db {db!r} is a directory; name a file to create, e.g. {db.rstrip('/')}/run.db"
        raise UsageError(msg)
    if not path.parent.is_dir():
        msg = f"--db {db!r}: the directory {str(path.parent)!r} does not exist; create it first"
        raise UsageError(msg)
    if append and not (path.exists() and path.stat().st_size > 0):
        msg = f"--append adds to an existing store, but there is none at {db!r}"
        raise UsageError(msg)
    if not append and path.exists() and path.stat().st_size > 0:
        msg = (
            f"--db {db!r} already exists; pass --append to add this run to that store, "
            "or name a new file"
        )
        raise UsageError(msg)


def _existing_run(store: Store, db: str) -> None:
    """Without ``--append``, a PostgreSQL store must be empty: runs never merge silently."""
    if next(iter(store.events()), None) is not None:
        msg = (
            f"--db {_shown(db)!r} already holds a run; pass --append to add this run to it, "
            "or name a new database"
        )
        raise UsageError(msg)


def _shown(db: str) -> str:
    """``db`` without a password, for messages."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", db)


def _prices(args: argparse.Namespace) -> PriceTable | None:
    """The ``--prices`` table, loaded before any work so a bad file fails fast."""
    return None if args.prices is None else PriceTable.load(args.prices)


def _simulate(args: argparse.Namespace, out: TextIO) -> int:
    if args.prices is not None and args.format != "text":
        msg = (
            "--prices adds costs to the text report; with --format jsonl read them with "
            "recoverykit report --db ... --prices ... --format json"
        )
        raise UsageError(msg)
    if args.append and args.db is None:
        msg = "--append needs --db naming the store to add to"
        raise UsageError(msg)
    scenario = Scenario.load(args.scenario)
    prices = _prices(args)
    until = scenario.until if args.until is None else _instant(args.until, "--until")
    if args.db is not None:
        _new_file(args.db, append=args.append)
        store = _open_store(args.db)
        try:
            if _is_url(str(args.db)) and not args.append:
                _existing_run(store, str(args.db))
            runner = make_runner(scenario, store)
            progress = Progress(sys.stderr, scenario.start, until)
            try:
                for at in play(scenario, runner, until=until):
                    progress.update(at)
            finally:
                progress.close()
            return _show(args, out, scenario, store.events(), prices)
        finally:
            store.close()
    # Without --db the run lives in memory: each log line is shown (or counted) as soon
    # as its step commits, and finished recoveries are packed, so memory follows the
    # open recoveries rather than the length of the run.
    lines: deque[LogRecord] = deque()
    memory = MemoryStore(log_to=lines.append, pack_finished=True)
    runner = make_runner(scenario, memory)

    def records(progress: Progress) -> Iterator[LogRecord]:
        for at in play(scenario, runner, until=until):
            progress.update(at)
            while lines:
                yield lines.popleft()
        progress.close()

    progress = Progress(sys.stderr, scenario.start, until)
    try:
        return _show(args, out, scenario, records(progress), prices)
    finally:
        progress.close()


def _show(
    args: argparse.Namespace,
    out: TextIO,
    scenario: Scenario,
    records: Iterable[LogRecord],
    prices: PriceTable | None,
) -> int:
    """Print a run's log as it streams past: stories and scorecard, or every line."""
    min_effect = scenario.policy.min_effect
    if args.format == "text" and not args.verbose:
        book = StoryBook(scenario.stories)
        report = Report.from_events(book.reading(records), prices=prices, min_effect=min_effect)
        _one_screen(out, scenario, book, report)
        return EXIT_OK
    printer = _JsonLines(out, scenario) if args.format == "jsonl" else _Text(out, scenario)
    summary = _Summary()

    def shown() -> Iterator[LogRecord]:
        for record in records:
            if record.kind in _SHOWN:
                printer.line(record)
            summary.add(record)
            yield record

    if args.format == "text":
        report = Report.from_events(shown(), prices=prices, min_effect=min_effect)
        printer.summary(summary)
        out.write("\n" + render(report, "text"))
    else:
        for _ in shown():
            pass
        printer.summary(summary)
    return EXIT_OK


def _one_screen(out: TextIO, scenario: Scenario, book: StoryBook, report: Report) -> None:
    """The stories of the scenario's own checkouts, then the short scorecard."""
    title = scenario.description or f"{scenario.store_name}: a simulated run"
    out.write(f"{title}\n\n")
    if scenario.stories:
        out.write(
            "What happened to each customer (times are the customer's own; for a number that may"
            " be in several zones,\nthe zone whose night held a message back)\n"
        )
        out.writelines(line + "\n" for line in book.lines(scenario))
        out.write("\n")
    out.writelines(line + "\n" for line in scorecard_lines(report, scenario))
    out.write("Every message and decision: add --verbose.\n")


class _Printer:
    def __init__(self, out: TextIO, scenario: Scenario) -> None:
        self.out = out
        self.customers = {customer.id: customer for customer in scenario.customers}
        self.known: dict[str, tuple[str, ...]] = {}

    def zones(self, customer_id: str | None) -> tuple[str, ...]:
        """The customer's candidate zones, worked out once per customer."""
        if customer_id is None:
            return ()
        found = self.known.get(customer_id)
        if found is None:
            customer = self.customers.get(customer_id)
            found = () if customer is None else _zones(customer)
            self.known[customer_id] = found
        return found

    def line(self, record: LogRecord) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def summary(self, summary: _Summary) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class _JsonLines(_Printer):
    def line(self, record: LogRecord) -> None:
        data = record.data
        row: dict[str, Any] = {
            "at": _utc(record.at),
            "kind": record.kind,
            "checkout": record.checkout_id,
            "customer": record.customer_id,
        }
        zones = self.zones(record.customer_id)
        if zones:
            row["local"] = _local(record.at, zones[0])
            row["zones"] = list(zones)
        row.update({key: value for key, value in data.items() if key not in row})
        self.out.write(json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n")

    def summary(self, summary: _Summary) -> None:
        row = {"kind": "summary", **summary.result()}
        self.out.write(json.dumps(row, ensure_ascii=False) + "\n")


class _Text(_Printer):
    def line(self, record: LogRecord) -> None:
        zones = self.zones(record.customer_id)
        zone = zones[0] if zones else None
        local = f"{_local(record.at, zone)} {zone}" if zone else "local time unknown"
        if len(zones) > 1:
            local += f" (+{len(zones) - 1} zones)"
        head = f"{_stamp(record.at)} | {local:<36} | "
        who = f"{record.checkout_id or '-'} ({record.customer_id or '-'})"
        self.out.write(head + f"{record.kind:<8} {who}: {_describe(record)}\n")

    def summary(self, summary: _Summary) -> None:
        result = summary.result()
        self.out.write("\nSummary\n")
        self.out.write(
            f"  sent: {result['sent']} touches, {result['confirmations']} opt-out "
            f"confirmations, {result['replies']} other replies\n"
        )
        deferred = ", ".join(f"{k} {v}" for k, v in result["deferred_by"].items()) or "none"
        self.out.write(f"  deferred: {result['deferred']} ({deferred})\n")
        stopped = ", ".join(f"{k} {v}" for k, v in result["finished_by"].items()) or "none"
        self.out.write(f"  stopped: {stopped}\n")
        self.out.write(
            f"  handed to a person: {result['handoffs']}; held out: {result['holdout']}\n"
        )
        for checkout, outcome in result["checkouts"].items():
            self.out.write(f"  {checkout}: {outcome}\n")


def _describe(record: LogRecord) -> str:
    data = record.data
    kind = record.kind
    if kind in MESSAGE_KINDS:
        touch = f"touch {data.get('touch')}" if data.get("touch") is not None else "reply"
        sms = ""
        if data.get("segments") is not None:
            sms = f" [{data['segments']} × {data['encoding']}]"
        return f"{data.get('channel')} → {data.get('to')} {touch}{sms}: {_flat(data.get('text'))}"
    if kind == RecordKind.DEFER:
        return (
            f"touch {data.get('touch')} moved to {_stamp(_parse(data['to']))} "
            f"({data.get('reason')}, {data.get('rule')})"
        )
    if kind == RecordKind.SKIP:
        return f"touch {data.get('touch')} skipped ({data.get('reason')}): {data.get('detail')}"
    if kind == RecordKind.FINISH:
        return f"recovery finished: {data.get('reason')}"
    if kind == RecordKind.IGNORED:
        return f"{data.get('event')} ignored ({data.get('reason')}): {data.get('detail', '')}"
    if kind == RecordKind.HANDOFF:
        return f"to a person ({data.get('reason')}): {data.get('text')!r}"
    if kind == RecordKind.INFO:
        return f"{data.get('what')}: {data.get('detail')}"
    if kind == RecordKind.OUTBOX:
        return f"outbox {data.get('status')} touch {data.get('touch')}: {data.get('detail')}"
    summary = data.get("type", "event")
    if "intent" in data:
        return f"{summary} on {data.get('channel')} ({data['intent']}): {_flat(data.get('text'))}"
    return str(summary)


class _Summary:
    """The counts ``--verbose`` and ``--format jsonl`` end with, gathered line by line."""

    def __init__(self) -> None:
        self.kinds: Counter[str] = Counter()
        self.deferred_by: Counter[Any] = Counter()
        self.finished_by: Counter[Any] = Counter()
        self.holdout = 0
        self.outcome: dict[str, dict[str, Any]] = {}

    def add(self, record: LogRecord) -> None:
        kind = record.kind
        self.kinds[kind] += 1
        held = kind == RecordKind.INFO and record.data.get("what") == "holdout"
        if kind == RecordKind.DEFER:
            self.deferred_by[record.data.get("reason", "?")] += 1
        elif kind == RecordKind.FINISH:
            self.finished_by[record.data.get("reason", "?")] += 1
        self.holdout += held
        if record.checkout_id is None:
            return
        entry = self.outcome.setdefault(record.checkout_id, {"touches": 0, "end": "open"})
        if kind == RecordKind.SEND:
            entry["touches"] += 1
        elif kind == RecordKind.FINISH:
            entry["end"] = record.data.get("reason", "?")
        elif held:
            entry["holdout"] = True

    def result(self) -> dict[str, Any]:
        kinds = self.kinds
        checkouts = {
            checkout: f"{entry['touches']} touch(es), {entry['end']}"
            + (" (holdout)" if entry.get("holdout") else "")
            for checkout, entry in self.outcome.items()
        }
        return {
            "sent": kinds["send"],
            "confirmations": kinds["confirm"],
            "replies": kinds["reply"],
            "deferred": kinds["defer"],
            "deferred_by": dict(sorted(self.deferred_by.items())),
            "finished_by": dict(sorted(self.finished_by.items())),
            "handoffs": kinds["handoff"],
            "ignored": kinds["ignored"],
            "holdout": self.holdout,
            "checkouts": checkouts,
        }


# -- plan ------------------------------------------------------------------------------------
def _plan(args: argparse.Namespace, out: TextIO) -> int:
    data = read_json_file(args.checkout, "Invalid checkout file")
    plan = load_plan_input(data, what=f"Invalid checkout file {str(args.checkout)!r}")
    checkout = plan.checkout
    zones = _zones(checkout.customer)
    zone = zones[0] if zones else None
    out.write(f"Plan for checkout {checkout.id} ({plan.policy.sequence.name}), ")
    out.write(f"abandoned {_stamp(checkout.abandoned_at)}")
    out.write(f"; zones: {', '.join(zones) or 'unknown'}\n")
    if plan.assumed_consent:
        out.write(
            "  (no consent in the file: assuming a recovery grant on every reachable channel)\n"
        )
    for when, line in plan_lines(plan.policy, checkout, plan.consent):
        local = f"{_local(when, zone)} {zone}" if zone else "local time unknown"
        out.write(f"  {local} ({_stamp(when)})  {line}\n")
    return EXIT_OK


def plan_lines(
    policy: RecoveryPolicy, checkout: Checkout, consent: Iterable[ConsentEvent]
) -> Iterator[tuple[datetime, str]]:
    """The plan of one checkout as (instant, line) pairs.

    The checkout runs through the real runtime core (``EngineDriver``: routing,
    applying decisions, the last look before each send) on a virtual clock, with
    nothing but its abandonment happening, until it finishes or 8 days pass.
    """
    driver = EngineDriver(policy, consent=consent)
    start = checkout.abandoned_at
    driver.feed(CheckoutAbandoned(checkout, start))
    driver.run_until(start + _PLAN_HORIZON)
    for at, _event, decision in driver.decisions:
        for note in decision.notes:
            if isinstance(note, Deferred):
                yield at, f"touch {note.touch} moved ({note.reason.value}, {note.rule})"
            elif isinstance(note, Skipped):
                yield at, f"touch {note.touch} skipped ({note.reason}): {note.detail}"
            elif isinstance(note, Info) and note.what in {"program", "double_optin"}:
                yield at, note.detail
        for command in decision.commands:
            if isinstance(command, SendMessage) and command.kind is MessageKind.TOUCH:
                yield at, f"touch {command.touch} on {command.channel.value}: {command.text!r}"
    state = driver.states[checkout.id]
    if state.status is RecoveryStatus.FINISHED:
        yield state.finished_at or driver.now or start, f"finished: {state.finish_reason}"
    elif state.status is RecoveryStatus.HOLDOUT:
        yield start, "held out: never messaged (measures what messages add)"


# -- lint ------------------------------------------------------------------------------------
def _lint(args: argparse.Namespace, out: TextIO) -> int:
    from ..messages.packs import MessagePack  # noqa: PLC0415
    from ..policies.sequence import RecoverySequence  # noqa: PLC0415

    path = Path(args.path)
    if str(args.path) == "default" and not path.exists():
        return _lint_pack(MessagePack.load("default"), "default", out)
    data = read_json_file(path, "Invalid file")
    if isinstance(data, dict) and "touches" in data:
        from ..programs import lint_sequence  # noqa: PLC0415

        sequence = RecoverySequence.from_dict(data)
        out.write(f"{path}: sequence {sequence.name!r} v{sequence.version} is valid\n")
        for finding in lint_sequence(sequence):
            out.write(f"{path}: touch {finding.touch}: warning {finding.rule}: for US numbers, ")
            out.write(f"{finding.message}\n")
        return EXIT_OK
    if isinstance(data, dict) and ("checkouts" in data or "checkout" in data):
        return _lint_setup(path, data, out)
    if isinstance(data, dict) and "entries" in data:
        return _lint_vocabulary(path, data, out)
    return _lint_pack(MessagePack.load(path), str(path), out)


def _lint_vocabulary(path: Path, data: Any, out: TextIO) -> int:
    """A store vocabulary (``{"entries": [...]}``): loaded (exit 2 with every problem),
    then linted like a pack; exit 1 when a finding is an error."""
    from ..policies.vocabulary import Vocabulary  # noqa: PLC0415

    findings = Vocabulary.from_dict(data).lint()
    for issue in findings:
        out.write(f"{path}: {issue.path}: {issue.severity} {issue.code}: {issue.message}\n")
    errors = sum(1 for issue in findings if issue.severity == "error")
    out.write(f"{path}: {errors} error(s), {len(findings) - errors} warning(s)\n")
    return EXIT_FINDINGS if errors else EXIT_OK


def _lint_pack(pack: Any, path: str, out: TextIO) -> int:
    """Every template of ``pack`` through the linter; exit 1 when any finding is an error."""
    from ..messages.lint import lint  # noqa: PLC0415

    errors = warnings = 0
    for template in pack.templates():
        for violation in lint(template):
            errors += violation.level == "error"
            warnings += violation.level == "warning"
            out.write(f"{path}: {template.label}: {violation.level} {violation.code}: ")
            out.write(f"{violation.message}\n")
    out.write(f"{path}: {errors} error(s), {warnings} warning(s)\n")
    return EXIT_FINDINGS if errors else EXIT_OK


def _lint_setup(path: Path, data: Any, out: TextIO) -> int:
    """A scenario or plan file: the links the store supplies and how it issues discounts."""
    from ..links import lint_link  # noqa: PLC0415
    from ..messages.lint import lint_discounts  # noqa: PLC0415

    if "checkouts" in data:
        scenario = Scenario.load(path)
        policy, checkouts = scenario.policy, scenario.checkouts
    else:
        plan = load_plan_input(data)
        policy, checkouts = plan.policy, (plan.checkout,)
    findings: list[tuple[str, str, str, str]] = [
        (f"checkout {checkout.id!r}", problem.level, problem.code, problem.message)
        for checkout in checkouts
        for problem in lint_link(checkout.link)
    ]
    findings += [("policy", v.level, v.code, v.message) for v in lint_discounts(policy.discounts)]
    if "vocabulary" in data:
        from ..policies.vocabulary import Vocabulary  # noqa: PLC0415

        words = Vocabulary.from_dict(data["vocabulary"], path="$.vocabulary")
        findings += [(f"vocabulary {i.path}", i.severity, i.code, i.message) for i in words.lint()]
    for where, level, code, message in findings:
        out.write(f"{path}: {where}: {level} {code}: {message}\n")
    errors = sum(1 for finding in findings if finding[1] == "error")
    out.write(f"{path}: {errors} error(s), {len(findings) - errors} warning(s)\n")
    return EXIT_FINDINGS if errors else EXIT_OK


# -- explain ---------------------------------------------------------------------------------
def _explain(args: argparse.Namespace, out: TextIO) -> int:
    _existing_file(args.db)
    store = _open_store(args.db, read_only=True)
    try:
        with store.transaction() as tx:
            found = tx.load(args.checkout_id)
        if found is None:
            print(
                f"recoverykit explain: no recovery for checkout {args.checkout_id!r}",
                file=sys.stderr,
            )
            return EXIT_BAD_INPUT
        state = found.state
        records = [r for r in store.events() if r.checkout_id == args.checkout_id]
    finally:
        store.close()
    out.write(f"Checkout {state.checkout_id} (customer {state.customer_id}): {state.status.value}")
    if state.finish_reason is not None:
        out.write(f", {state.finish_reason.value}")
    out.write(f"; zones: {', '.join(state.zones) or 'unknown'} ({state.zone_source})\n")
    out.write("Decisions:\n")
    # A program note is made again each time its touch is planned (when deferred, when
    # sent); it says the same thing, so it is printed once.
    out.writelines(f"  {line}\n" for line in dict.fromkeys(explain(state)))
    out.write("Log:\n")
    said: set[str] = set()
    for record in records:
        text = _describe(record)
        if record.kind == "info" and text in said:
            continue
        said.add(text)
        out.write(f"  {_stamp(record.at)} {record.kind:<8} {text}\n")
    return EXIT_OK


# -- report ----------------------------------------------------------------------------------
def _report(args: argparse.Namespace, out: TextIO) -> int:
    since = None if args.since is None else _instant(args.since, "--since")
    until = None if args.until is None else _instant(args.until, "--until")
    by = tuple(name.strip() for name in str(args.by).split(",") if name.strip())
    prices = _prices(args)
    if not 0 < args.min_effect < 100:
        print(
            f"recoverykit report: --min-effect must be between 0 and 100 points "
            f"(got {args.min_effect:g}); try --min-effect 5",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    _existing_file(args.db)
    store = _open_store(args.db, read_only=True)
    try:
        report = Report.from_events(
            store.events(since=since, until=until),
            by=by,
            prices=prices,
            min_effect=args.min_effect / 100,
        )
    finally:
        store.close()
    out.write(render(report, args.format))
    return EXIT_OK


# -- tick ------------------------------------------------------------------------------------
def _tick(args: argparse.Namespace, out: TextIO) -> int:
    """Settle interrupted sends, start recoveries of quiet checkouts, send what is due."""
    if isinstance(args.limit, bool) or args.limit < 1:
        msg = f"--limit must be a positive number of recoveries (got {args.limit}); try 500"
        raise UsageError(msg)
    with _opened_runner(args, "tick") as runner:
        uncertain = [] if args.no_reconcile else runner.reconcile()
        started = runner.detect(limit=args.limit)
        sent = runner.run_due(limit=args.limit)
    for entry in uncertain:
        _say(
            f"recoverykit tick: uncertain send {entry.key} on {entry.message.channel.value}: "
            "ask the provider whether it went out; it is never resent automatically"
        )
    out.write(f"started {started}, sent {sent}, uncertain {len(uncertain)}\n")
    return EXIT_OK


def _resume(args: argparse.Namespace, out: TextIO) -> int:
    """Apply ``RecoveryResumed`` through the store's own runner (its policy plans the rest)."""
    with _opened_runner(args, "resume") as runner:
        decisions = runner.handle(RecoveryResumed(args.checkout_id, runner.clock.now()))
        with runner.store.transaction() as tx:
            found = tx.load(args.checkout_id)
    if found is None:
        msg = f"no recovery for checkout {args.checkout_id!r} in {_shown(args.db)}"
        raise UsageError(msg)
    state = found.state
    resumed = decisions and any(
        isinstance(note, Info) and note.what == "resumed" for note in decisions[0].notes
    )
    if not resumed:
        msg = f"{args.checkout_id} is {state.status.value}, not paused: nothing to resume"
        raise UsageError(msg)
    due = (
        "nothing left to send"
        if state.wakeup_at is None
        else f"next wake-up {_utc(state.wakeup_at)}"
    )
    out.write(f"resumed {args.checkout_id}: {due}\n")
    return EXIT_OK


@contextlib.contextmanager
def _opened_runner(args: argparse.Namespace, command: str) -> Iterator[Runner]:
    """The store at ``--db`` and the runner ``--runner`` makes of it, closed afterwards."""
    factory = _runner_factory(args.runner, command)
    _existing_file(args.db)
    store = _open_store(args.db)
    try:
        runner = factory(store)
    except BaseException:
        store.close()
        raise
    if not isinstance(runner, Runner):
        store.close()
        msg = f"--runner {args.runner!r} returned {type(runner).__name__}, not a Runner"
        raise UsageError(msg)
    with runner:
        yield runner


def _runner_factory(spec: str | None, command: str = "tick") -> Any:
    """The function ``--runner module:function`` names (imported, not yet called)."""
    if not spec:
        msg = (
            f"{command} needs your runner: pass --runner module:function (or set "
            f"${_RUNNER_ENV}), a function that takes the store and returns a Runner with your "
            "policy and adapters"
        )
        raise UsageError(msg)
    module_name, colon, name = spec.partition(":")
    if not colon or not module_name or not name.isidentifier():
        msg = f"--runner {spec!r} must look like module:function, e.g. myshop.recovery:runner"
        raise UsageError(msg)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        msg = f"--runner {spec!r}: cannot import {module_name!r} ({exc}); check PYTHONPATH"
        raise UsageError(msg) from None
    factory = getattr(module, name, None)
    if not callable(factory):
        msg = f"--runner {spec!r}: {module_name!r} has no function {name!r}"
        raise UsageError(msg)
    return factory


# -- small helpers -------------------------------------------------------------------------
def _instant(text: str, option: str) -> datetime:
    """An option's ISO 8601 instant; the message names the option."""
    try:
        return to_datetime(text)
    except (TypeError, ValueError) as exc:
        msg = f"{option}: {exc}"
        raise UsageError(msg) from None


def _flat(text: object) -> str:
    """A message on one line: line breaks shown as ' ⏎ ', no-break spaces as spaces."""
    return "«" + str(text).replace("\n", " ⏎ ").replace("\xa0", " ").replace("\u202f", " ") + "»"


def _zones(customer: Customer) -> tuple[str, ...]:
    return resolve_zones(customer).zones


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _stamp(moment: datetime) -> str:
    """``2026-03-10 10:15 UTC``: the one way text output writes an instant."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _local(moment: datetime, zone: str | None) -> str:
    if zone is None:
        return _stamp(moment)
    return moment.astimezone(get_zone(zone)).strftime("%Y-%m-%d %H:%M")

"""The ``recoverykit`` command line: simulate, plan, lint, explain, report.

Every command reads files, never the network. Bad input (a scenario with
problems, a missing file) prints every problem with its JSON path to stderr
and exits with status 2; ``lint`` exits with 1 when a template has errors.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TextIO

from .._version import __version__
from ..channels.console import ConsoleChannel
from ..engine.commands import SendMessage
from ..engine.events import CheckoutAbandoned, WakeupDue
from ..engine.machine import decide, explain
from ..engine.notes import Deferred, Info, Skipped
from ..engine.policy import Context, RecoveryPolicy
from ..engine.state import RecoveryStatus
from ..errors import DefinitionError, RecoveryKitError
from ..metrics.cost import PriceTable
from ..metrics.report import FORMATS, Report, render
from ..metrics.scorecard import DIMENSIONS
from ..policies.caps import ContactHistory, ContactRecord, SendKind
from ..policies.consent import ConsentEvent, ConsentLedger
from ..policies.resolve import resolve_zones
from ..protocols import ChannelAdapter, LogRecord, Store
from ..values.loading import to_datetime
from ..values.model import Channel, Checkout, Customer
from ..values.zones import get_zone
from .runner import Runner
from .scenario import DeliveryReport, Scenario, ScenarioEvent, load_plan_input
from .simulated import FakeClock, FakeDiscountIssuer

__all__ = ["main"]

#: Exit statuses: success, findings (lint errors), bad input.
EXIT_OK: Final = 0
EXIT_FINDINGS: Final = 1
EXIT_BAD_INPUT: Final = 2

#: Log kinds ``simulate`` prints; ``event`` lines show what the customer did.
_SHOWN: Final = frozenset(
    {"send", "confirm", "reply", "defer", "skip", "handoff", "finish", "ignored", "info", "event",
     "outbox"}
)  # fmt: skip
#: Safety stop for a simulation loop that makes no progress (a store bug, not a scenario's).
_MAX_STEPS: Final = 1_000_000
_PRICES_HELP: Final = "price table JSON file: adds spend and cost per order to the report"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status instead of exiting."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_BAD_INPUT if exc.code not in (0, None) else EXIT_OK
    try:
        return int(args.run(args, sys.stdout))
    except DefinitionError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    except (OSError, RecoveryKitError, ValueError) as exc:
        print(f"recoverykit {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


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
        "--db", help="an SQLite file or postgresql:// URL to keep (default: a temporary file)"
    )
    simulate.add_argument("--format", choices=("text", "jsonl"), default="text")
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
    return parser


# -- simulate --------------------------------------------------------------------------------
def _is_url(db: str) -> bool:
    return "://" in db


def _open_store(db: str | Path) -> Store:
    """An SQLite file path or a ``postgresql://`` URL (with the ``postgres`` extra)."""
    from ..stores import open_store  # noqa: PLC0415 - only the commands that need it

    return open_store(str(db))


def _missing(db: str) -> bool:
    return not _is_url(db) and not Path(db).exists()


def _prices(args: argparse.Namespace) -> PriceTable | None:
    """The ``--prices`` table, loaded before any work so a bad file fails fast."""
    return None if args.prices is None else PriceTable.load(args.prices)


def _simulate(args: argparse.Namespace, out: TextIO) -> int:
    scenario = Scenario.load(args.scenario)
    prices = _prices(args)
    until = scenario.until if args.until is None else to_datetime(args.until)
    with tempfile.TemporaryDirectory(prefix="recoverykit-") as scratch:
        db = args.db if args.db is not None else Path(scratch) / "simulate.sqlite3"
        store = _open_store(db)
        try:
            run_scenario(scenario, store, until=until)
            records = list(store.events())
        finally:
            store.close()
    printer = _JsonLines(out, scenario) if args.format == "jsonl" else _Text(out, scenario)
    for record in records:
        if record.kind in _SHOWN:
            printer.line(record)
    printer.summary(records)
    if args.format == "text":
        report = Report.from_events(records, prices=prices, min_effect=scenario.policy.min_effect)
        out.write("\n" + render(report, "text"))
    return EXIT_OK


def run_scenario(scenario: Scenario, store: Store, *, until: datetime | None = None) -> Runner:
    """Play ``scenario`` against ``store`` with the real runner on a virtual clock.

    Scenario events and due wake-ups are taken in time order (an event first
    when both fall on the same instant), until ``until``.
    """
    end = scenario.until if until is None else until
    clock = FakeClock(scenario.start)
    channels: dict[Channel, ChannelAdapter] = {
        channel: ConsoleChannel(channel, clock=clock) for channel in Channel
    }
    # A simulation has no store system to create codes in: a clearly named fake makes
    # single-use codes (``SIM-0001``...) so the run shows where a real one would go.
    issuer = FakeDiscountIssuer() if scenario.policy.discounts is not None else None
    runner = Runner(scenario.policy, store, channels, clock, discounts=issuer)
    with store.transaction() as tx:
        for customer in scenario.customers:
            tx.save_customer(customer)
        for grant in scenario.consent:
            tx.append_consent(grant)
    timeline = scenario.timeline()
    position = 0
    for _ in range(_MAX_STEPS):
        upcoming = timeline[position] if position < len(timeline) else None
        due = store.next_due()
        if due is not None and (upcoming is None or due < upcoming.at):
            if due > end:
                break
            clock.set(max(due, clock.now()))
            runner.run_due()
            continue
        if upcoming is None or upcoming.at > end:
            break
        clock.set(max(upcoming.at, clock.now()))
        runner.handle(_resolve(upcoming, store))
        position += 1
    return runner


def _resolve(event: ScenarioEvent, store: Store) -> Any:
    """Turn a delivery report into an engine event on the channel the touch went out on."""
    if not isinstance(event, DeliveryReport):
        return event
    channel = event.channel
    if channel is None:
        with store.transaction() as tx:
            found = tx.load(event.checkout_id)
        sent = [] if found is None else [s for s in found.state.sent if s.touch == event.touch]
        channel = sent[-1].channel if sent else Channel.SMS
    return event.resolve(channel)


class _Printer:
    def __init__(self, out: TextIO, scenario: Scenario) -> None:
        self.out = out
        self.zones = {c.id: _zones(c) for c in scenario.customers}

    def line(self, record: LogRecord) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def summary(self, records: list[LogRecord]) -> None:  # pragma: no cover - overridden
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
        zones = self.zones.get(record.customer_id or "", ())
        if zones:
            row["local"] = _local(record.at, zones[0])
            row["zones"] = list(zones)
        row.update({key: value for key, value in data.items() if key not in row})
        self.out.write(json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n")

    def summary(self, records: list[LogRecord]) -> None:
        row = {"kind": "summary", **_summarise(records)}
        self.out.write(json.dumps(row, ensure_ascii=False) + "\n")


class _Text(_Printer):
    def line(self, record: LogRecord) -> None:
        zones = self.zones.get(record.customer_id or "", ())
        zone = zones[0] if zones else None
        local = f"{_local(record.at, zone)} {zone}" if zone else "local time unknown"
        if len(zones) > 1:
            local += f" (+{len(zones) - 1} zones)"
        head = f"{_utc(record.at)[:16].replace('T', ' ')} UTC | {local:<36} | "
        who = f"{record.checkout_id or '-'} ({record.customer_id or '-'})"
        self.out.write(head + f"{record.kind:<8} {who}: {_describe(record)}\n")

    def summary(self, records: list[LogRecord]) -> None:
        summary = _summarise(records)
        self.out.write("\nSummary\n")
        self.out.write(
            f"  sent: {summary['sent']} touches, {summary['confirmations']} opt-out "
            f"confirmations, {summary['replies']} other replies\n"
        )
        deferred = ", ".join(f"{k} {v}" for k, v in summary["deferred_by"].items()) or "none"
        self.out.write(f"  deferred: {summary['deferred']} ({deferred})\n")
        stopped = ", ".join(f"{k} {v}" for k, v in summary["finished_by"].items()) or "none"
        self.out.write(f"  stopped: {stopped}\n")
        self.out.write(
            f"  handed to a person: {summary['handoffs']}; held out: {summary['holdout']}\n"
        )
        for checkout, outcome in summary["checkouts"].items():
            self.out.write(f"  {checkout}: {outcome}\n")


def _describe(record: LogRecord) -> str:
    data = record.data
    kind = record.kind
    if kind in ("send", "confirm", "reply"):
        touch = f"touch {data.get('touch')}" if data.get("touch") is not None else "reply"
        sms = ""
        if data.get("segments") is not None:
            sms = f" [{data['segments']} × {data['encoding']}]"
        return f"{data.get('channel')} → {data.get('to')} {touch}{sms}: {_flat(data.get('text'))}"
    if kind == "defer":
        return (
            f"touch {data.get('touch')} moved to {_utc(_parse(data['to']))[:16]}Z "
            f"({data.get('reason')}, {data.get('rule')})"
        )
    if kind == "skip":
        return f"touch {data.get('touch')} skipped ({data.get('reason')}): {data.get('detail')}"
    if kind == "finish":
        return f"recovery finished: {data.get('reason')}"
    if kind == "ignored":
        return f"{data.get('event')} ignored ({data.get('reason')}): {data.get('detail', '')}"
    if kind == "handoff":
        return f"to a person ({data.get('reason')}): {data.get('text')!r}"
    if kind == "info":
        return f"{data.get('what')}: {data.get('detail')}"
    if kind == "outbox":
        return f"outbox {data.get('status')} touch {data.get('touch')}: {data.get('detail')}"
    summary = data.get("type", "event")
    if "intent" in data:
        return f"{summary} on {data.get('channel')} ({data['intent']}): {_flat(data.get('text'))}"
    return str(summary)


def _summarise(records: list[LogRecord]) -> dict[str, Any]:
    kinds = Counter(record.kind for record in records)
    deferred_by = Counter(r.data.get("reason", "?") for r in records if r.kind == "defer")
    finished_by = Counter(r.data.get("reason", "?") for r in records if r.kind == "finish")
    holdout = sum(1 for r in records if r.kind == "info" and r.data.get("what") == "holdout")
    outcome: dict[str, dict[str, Any]] = {}
    for record in records:
        if record.checkout_id is None:
            continue
        entry = outcome.setdefault(record.checkout_id, {"touches": 0, "end": "open"})
        if record.kind == "send":
            entry["touches"] += 1
        elif record.kind == "finish":
            entry["end"] = record.data.get("reason", "?")
        elif record.kind == "info" and record.data.get("what") == "holdout":
            entry["holdout"] = True
    checkouts = {
        checkout: f"{entry['touches']} touch(es), {entry['end']}"
        + (" (holdout)" if entry.get("holdout") else "")
        for checkout, entry in outcome.items()
    }
    return {
        "sent": kinds["send"],
        "confirmations": kinds["confirm"],
        "replies": kinds["reply"],
        "deferred": kinds["defer"],
        "deferred_by": dict(sorted(deferred_by.items())),
        "finished_by": dict(sorted(finished_by.items())),
        "handoffs": kinds["handoff"],
        "ignored": kinds["ignored"],
        "holdout": holdout,
        "checkouts": checkouts,
    }


# -- plan ------------------------------------------------------------------------------------
def _plan(args: argparse.Namespace, out: TextIO) -> int:
    try:
        data = json.loads(Path(args.checkout).read_text("utf-8"))
    except json.JSONDecodeError as exc:
        print(f"recoverykit plan: {args.checkout}: not JSON ({exc})", file=sys.stderr)
        return EXIT_BAD_INPUT
    plan = load_plan_input(data, what=f"Invalid checkout file {str(args.checkout)!r}")
    checkout = plan.checkout
    zones = _zones(checkout.customer)
    zone = zones[0] if zones else None
    out.write(f"Plan for checkout {checkout.id} ({plan.policy.sequence.name}), ")
    out.write(f"abandoned {_utc(checkout.abandoned_at)[:16]}Z")
    out.write(f"; zones: {', '.join(zones) or 'unknown'}\n")
    if plan.assumed_consent:
        out.write(
            "  (no consent in the file: assuming a recovery grant on every reachable channel)\n"
        )
    for when, line in plan_lines(plan.policy, checkout, plan.consent):
        local = f"{_local(when, zone)} {zone}" if zone else "local time unknown"
        out.write(f"  {local} ({_utc(when)[:16]}Z)  {line}\n")
    return EXIT_OK


def plan_lines(
    policy: RecoveryPolicy, checkout: Checkout, consent: Iterable[ConsentEvent]
) -> Iterator[tuple[datetime, str]]:
    """The plan of one checkout as (instant, line) pairs: a pure loop over ``decide``."""
    ledger = ConsentLedger(tuple(consent))
    history = ContactHistory()
    now = checkout.abandoned_at
    context = Context(consent=ledger, history=history)
    decision = decide(
        None, CheckoutAbandoned(checkout, now), now=now, policy=policy, context=context
    )
    for _ in range(64):
        for note in decision.notes:
            if isinstance(note, Deferred):
                yield now, f"touch {note.touch} moved ({note.reason.value}, {note.rule})"
            elif isinstance(note, Skipped):
                yield now, f"touch {note.touch} skipped ({note.reason}): {note.detail}"
            elif isinstance(note, Info) and note.what in {"program", "double_optin"}:
                yield now, note.detail
        for command in decision.commands:
            if isinstance(command, SendMessage):
                history = history.add(
                    ContactRecord(now, command.channel, checkout.id, SendKind.TOUCH)
                )
                yield now, f"touch {command.touch} on {command.channel.value}: {command.text!r}"
        state = decision.state
        if state.status is RecoveryStatus.FINISHED:
            yield now, f"finished: {state.finish_reason}"
            return
        if state.status is RecoveryStatus.HOLDOUT:
            yield now, "held out: never messaged (measures what messages add)"
            return
        if state.wakeup_at is None:
            return
        now = state.wakeup_at
        context = Context(consent=ledger, history=history)
        decision = decide(
            state, WakeupDue(checkout.id, now), now=now, policy=policy, context=context
        )


# -- lint ------------------------------------------------------------------------------------
def _lint(args: argparse.Namespace, out: TextIO) -> int:
    from ..messages.lint import lint  # noqa: PLC0415
    from ..messages.packs import MessagePack  # noqa: PLC0415
    from ..policies.sequence import Sequence  # noqa: PLC0415

    path = Path(args.path)
    try:
        data = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        print(f"recoverykit lint: {path}: not JSON ({exc})", file=sys.stderr)
        return EXIT_BAD_INPUT
    if isinstance(data, dict) and "touches" in data:
        from ..programs import lint_sequence  # noqa: PLC0415

        sequence = Sequence.from_dict(data)
        out.write(f"{path}: sequence {sequence.name!r} v{sequence.version} is valid\n")
        for finding in lint_sequence(sequence):
            out.write(f"{path}: touch {finding.touch}: warning {finding.rule}: for US numbers, ")
            out.write(f"{finding.message}\n")
        return EXIT_OK
    if isinstance(data, dict) and ("checkouts" in data or "checkout" in data):
        return _lint_setup(path, out)
    pack = MessagePack.load(path)
    errors = warnings = 0
    for template in pack.templates():
        for violation in lint(template):
            errors += violation.level == "error"
            warnings += violation.level == "warning"
            out.write(f"{path}: {template.label}: {violation.level} {violation.code}: ")
            out.write(f"{violation.message}\n")
    out.write(f"{path}: {errors} error(s), {warnings} warning(s)\n")
    return EXIT_FINDINGS if errors else EXIT_OK


def _lint_setup(path: Path, out: TextIO) -> int:
    """A scenario or plan file: the links the store supplies and how it issues discounts."""
    from ..links import lint_link  # noqa: PLC0415
    from ..messages.lint import lint_discounts  # noqa: PLC0415

    data = json.loads(path.read_text("utf-8"))
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
    for where, level, code, message in findings:
        out.write(f"{path}: {where}: {level} {code}: {message}\n")
    errors = sum(1 for finding in findings if finding[1] == "error")
    out.write(f"{path}: {errors} error(s), {len(findings) - errors} warning(s)\n")
    return EXIT_FINDINGS if errors else EXIT_OK


# -- explain ---------------------------------------------------------------------------------
def _explain(args: argparse.Namespace, out: TextIO) -> int:
    if _missing(args.db):
        print(f"recoverykit explain: no database at {str(args.db)!r}", file=sys.stderr)
        return EXIT_BAD_INPUT
    store = _open_store(args.db)
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
    for line in explain(state):
        out.write(f"  {line}\n")
    out.write("Log:\n")
    for record in records:
        out.write(f"  {_utc(record.at)[:16]}Z {record.kind:<8} {_describe(record)}\n")
    return EXIT_OK


# -- report ----------------------------------------------------------------------------------
def _report(args: argparse.Namespace, out: TextIO) -> int:
    if _missing(args.db):
        print(f"recoverykit report: no database at {str(args.db)!r}", file=sys.stderr)
        return EXIT_BAD_INPUT
    since = None if args.since is None else to_datetime(args.since)
    until = None if args.until is None else to_datetime(args.until)
    by = tuple(name.strip() for name in str(args.by).split(",") if name.strip())
    prices = _prices(args)
    if not 0 < args.min_effect < 100:
        print(
            f"recoverykit report: --min-effect must be between 0 and 100 points "
            f"(got {args.min_effect:g}); try --min-effect 5",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    store = _open_store(args.db)
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


# -- small helpers -------------------------------------------------------------------------
def _flat(text: object) -> str:
    """A message on one line: line breaks shown as ' ⏎ ', no-break spaces as spaces."""
    return "«" + str(text).replace("\n", " ⏎ ").replace("\xa0", " ").replace("\u202f", " ") + "»"


def _zones(customer: Customer) -> tuple[str, ...]:
    return resolve_zones(customer).zones


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _local(moment: datetime, zone: str | None) -> str:
    if zone is None:
        return _utc(moment)
    return moment.astimezone(get_zone(zone)).strftime("%Y-%m-%d %H:%M")

"""How fast ``recoverykit simulate`` plays a scenario, beside ``run_due`` on the same store.

Run with ``python -m benchmarks.bench_simulate [--sizes 1500,6000] [--file]``.
Each size is a scenario of generated traffic (with receipts, replies and orders)
played end to end by the command line in a fresh process, which reports its own CPU
time and peak resident memory (``resource.getrusage``), so one run's memory never
hides another's. The floor, measured in the same run, is ``Runner.run_due`` over a
``MemoryStore`` (the store ``simulate`` uses) deciding and sending one due touch per
recovery for the same number of recoveries: simulate per send beside run_due per
send. A simulation also decides every receipt, reply and deferral, so it cannot
reach 1×; the ratio says how much the playing itself adds. ``--file`` writes every
checkout into the scenario file instead (``benchmarks.make_scenario``), to measure
loading a big file too. Prints figures only; it never asserts on time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

_CHILD = """
import contextlib, io, json, resource, sys, time
from recoverykit.runtime.cli import main
out = io.StringIO()
start = time.process_time()
with contextlib.redirect_stdout(out):
    code = main(["simulate", sys.argv[1], "--format", "jsonl"])
cpu = time.process_time() - start
summary = json.loads(out.getvalue().splitlines()[-1])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
# Linux carries ru_maxrss over fork and exec, so after a big benchmark in the parent it
# would report the parent's peak; VmHWM belongs to this process's memory alone.
with contextlib.suppress(OSError), open("/proc/self/status") as status:
    peak = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:"))
print(json.dumps({"code": code, "cpu": cpu, "sends": summary["sent"], "peak_kib": peak}))
"""

_FLOOR = """
import json, resource, sys, time
from datetime import timedelta
from benchmarks.bench_runner import POLICY, T0, populate
from recoverykit.runtime.runner import Runner
from recoverykit.stores import MemoryStore
from recoverykit.testing.fakes import FakeChannel, FakeClock
from recoverykit.values.model import Channel
n = int(sys.argv[1])
store = MemoryStore(log_to=lambda line: None, pack_finished=True)
populate(store, n)
clock = FakeClock(T0 + timedelta(hours=2))
runner = Runner(POLICY, store, {Channel.SMS: FakeChannel(Channel.SMS, clock=clock)}, clock)
start = time.process_time()
sent = 0
while True:
    sent += runner.run_due(limit=500)
    due = store.next_due()
    if due is None or due > clock.now():
        break
cpu = time.process_time() - start
print(json.dumps({"cpu": cpu, "sends": sent}))
"""


def _child(code: str, *args: str) -> dict[str, Any]:
    root = Path(__file__).parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, cwd=root
    )
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def _scenario(folder: Path, checkouts: int, *, spelled_out: bool) -> Path:
    path = folder / f"scenario-{checkouts}.json"
    if spelled_out:
        from benchmarks.make_scenario import write_scenario  # noqa: PLC0415

        with path.open("w", encoding="utf-8") as out:
            write_scenario(out, checkouts)
        return path
    data = {
        "store": {"name": "Bench Shop", "locale": "en"},
        "policy": {"holdout": 0.1, "channels": ["sms", "whatsapp", "email"]},
        "traffic": {"checkouts": checkouts, "seed": 7, "days": 7},
        "receipts": {"seed": 7},
        "start": "2026-03-10T00:00:00Z",
    }
    path.write_text(json.dumps(data), "utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_simulate")
    parser.add_argument("--sizes", default="1500,6000", help="checkouts per scenario")
    parser.add_argument(
        "--file", action="store_true", help="write every checkout into the file (big files)"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    kind = "spelled out in the file" if args.file else "generated traffic"
    print(f"recoverykit simulate end to end ({kind}), CPU time in a fresh process:")
    with tempfile.TemporaryDirectory(prefix="bench-simulate-") as scratch:
        for checkouts in sizes:
            path = _scenario(Path(scratch), checkouts, spelled_out=args.file)
            run = _child(_CHILD, str(path))
            floor = _child(_FLOOR, str(checkouts))
            per_send = run["cpu"] / max(run["sends"], 1)
            floor_per_send = floor["cpu"] / max(floor["sends"], 1)
            print(
                f"  {checkouts:>7,} checkouts: {run['sends']:>7,} sends in {run['cpu']:6.1f} s = "
                f"{run['sends'] / run['cpu']:6,.0f} sends/s, {run['cpu'] / checkouts * 1e3:5.2f} ms"
                f" per checkout, peak {run['peak_kib'] / 1024:5.0f} MiB"
            )
            print(
                f"  {'':>18} {per_send * 1e6:8.1f} µs per send "
                f"{per_send / floor_per_send:5.1f}× floor (run_due on a MemoryStore: "
                f"{floor_per_send * 1e6:,.1f} µs per send)"
            )


if __name__ == "__main__":
    main()

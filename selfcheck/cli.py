"""``python -m selfcheck``: every fault against its selection, the clean runs, the table, the exit status."""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from emulator.faults import FAULTS

from . import output
from .catalogue import SELECTIONS, checks
from .runner import FIELD_OPTIONS, ROOT, Run, RunResult, execute_all
from .verdict import CAUGHT, clean_verdict, fault_verdict, harness_verdict

DEFAULT_OUT = ROOT / "reports" / "out" / "selfcheck"
#: a run that takes longer has hung (the slowest selection takes well under a minute)
RUN_TIME_LIMIT_S = 300.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m selfcheck", description=__doc__)
    ap.add_argument("--fault", action="append", default=[], metavar="NAME",
                    help="check only this fault (repeatable); default: every fault of the emulator")
    ap.add_argument("--jobs", "-j", type=int, default=(os.cpu_count() or 1) + 1,
                    help="pytest runs at a time (default: CPUs + 1; the runs mostly wait on timers)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT,
                    help="where selfcheck.json, selfcheck.md and each run's results go")
    ap.add_argument("--run-time-limit", type=float, default=RUN_TIME_LIMIT_S, metavar="S",
                    help="kill a run that takes longer and count its fault as missed")
    ap.add_argument("--field", action="store_true",
                    help="every run against the emulator with its field knobs on (python -m emulator --field: "
                         "USB re-enumeration behind its PTY symlink, URCs at any moment, byte-at-a-time delivery, "
                         "slow registration, a SIM PIN, PDP drops; radio delay, RRC promotion, NAT rebinding, a "
                         "first datagram after idle lost): every fault must still be caught and every clean "
                         "selection pass")
    ap.add_argument("--python", default=sys.executable, metavar="PATH",
                    help="the interpreter each run's `PATH -m pytest` starts with (default: this one)")
    ap.add_argument("--list", action="store_true", help="print each fault's selection and exit")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.field and args.out == DEFAULT_OUT:
        args.out = DEFAULT_OUT.with_name("selfcheck-field")  # the kind run's results stay
    try:
        todo = checks(FAULTS, args.fault or None)
    except KeyError as exc:
        print(f"selfcheck: {exc.args[0]}", file=sys.stderr)
        return 2
    if args.list:
        for c in todo:
            print(f"{c.fault:<30} {c.selection_name:<22} pytest {' '.join(c.selection.args())}")
        return 0
    used = list(dict.fromkeys(c.selection_name for c in todo if not c.harness))
    extra = FIELD_OPTIONS if args.field else ()
    runs = [Run(f"{'harness' if c.harness else 'fault'}-{c.fault}", c.selection, None if c.harness else c.fault, extra)
            for c in todo]
    runs += [Run(f"clean-{name}", SELECTIONS[name], extra=extra) for name in used]
    runs_dir = args.out / "runs"
    print(f"selfcheck{' --field' if args.field else ''}: {len(todo)} faults, {len(used)} clean selections, "
          f"{len(runs)} pytest runs, "
          f"{args.jobs} at a time; results in {runs_dir}", file=sys.stderr)

    def progress(r: RunResult) -> None:
        what = r.problem or f"{len(r.failing)} failing of {len(r.outcomes)}"
        print(f"  {r.run.name}: {what} ({r.duration:.1f} s)", file=sys.stderr, flush=True)

    started = time.monotonic()
    results = {r.run.name: r for r in execute_all(runs, runs_dir, args.jobs, args.run_time_limit, progress,
                                                            args.python)}
    wall = time.monotonic() - started
    faults = [harness_verdict(c, results[f"harness-{c.fault}"]) if c.harness else
              fault_verdict(c, results[f"fault-{c.fault}"], results[f"clean-{c.selection_name}"]) for c in todo]
    cleans = [clean_verdict(name, results[f"clean-{name}"]) for name in used]
    print(output.terminal(faults, cleans, wall))
    js, md = output.write(args.out, faults, cleans, wall, {n: SELECTIONS[n].args() for n in used})
    print(f"\nwritten: {js.relative_to(ROOT) if js.is_relative_to(ROOT) else js}, "
          f"{md.relative_to(ROOT) if md.is_relative_to(ROOT) else md}")
    ok = all(v.status == CAUGHT for v in faults) and all(c.ok for c in cleans)
    return 0 if ok else 1

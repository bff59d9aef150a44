"""Running one pytest selection in a subprocess against an emulator with (or without) a fault.

Each run is a separate ``python -m pytest`` whose fixtures start their own emulator (with
``--emulator-arg=--fault --emulator-arg=NAME``) and reference server, so runs share nothing
and go in parallel. The reports plugin writes ``<dir>/<name>.json`` with per-test outcomes.
Their emulators fork from one warm server this process starts (``emulator/launcher.py``).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from emulator.launcher import share_fork_server

from .catalogue import Selection

ROOT = Path(__file__).resolve().parent.parent
FAILING = ("failed", "error")
RESULTS = "results"  # each run's own directory holds results.json, pytest.log and transcripts/
#: plugins a one-process run of a few suite tests does not need: half of pytest's start-up time
LEAN = ("-p", "no:cacheprovider", "-p", "no:html", "-p", "no:junitxml", "-p", "no:xdist",
        "-p", "no:hypothesispytest")


@dataclass(frozen=True)
class Run:
    """One pytest invocation: a selection, against the clean emulator (fault None) or a faulty one."""

    name: str  # file stem of its results: "fault-mid-little-endian", "clean-msgid-wire"
    selection: Selection
    fault: str | None = None
    extra: tuple[str, ...] = ()  # pytest options every run of this self-check takes (--field's)

    def command(self, report_dir: Path, python: str = sys.executable) -> list[str]:
        cmd = [python, "-m", "pytest", *self.selection.args(), "-q", *LEAN,
               f"--report-dir={report_dir}", f"--report-name={RESULTS}"]
        if self.fault:
            cmd += ["--emulator-arg=--fault", f"--emulator-arg={self.fault}"]
        return cmd + list(self.extra)


#: ``--field``: every run against the emulator with every field knob on, over its PTY symlink
#: (PDP drops every 8 module hours on average, as ``./suite field`` has them)
FIELD_OPTIONS = ("--emulator-transport=pty", "--emulator-arg=--field", "--emulator-arg=--field-pdp-drop=28800")


@dataclass
class RunResult:
    """What a run left: per-test outcomes from its JSON, pytest's exit status, how long it took."""

    run: Run
    exitstatus: int | None  # None: killed at the time limit
    duration: float
    outcomes: dict[str, str] = field(default_factory=dict)  # nodeid -> outcome
    complete: bool = False  # the JSON says the session finished
    problem: str = ""  # why the run says nothing (no JSON, nothing collected, usage error, hung)
    log: Path | None = None

    @property
    def failing(self) -> list[str]:
        return [n for n, o in self.outcomes.items() if o in FAILING]


def read_outcomes(path: Path) -> tuple[dict[str, str], bool]:
    doc = json.loads(path.read_text())
    return {t["nodeid"]: t["outcome"] for t in doc.get("tests", [])}, bool(doc.get("complete"))


def execute(run: Run, out_dir: Path, time_limit: float, python: str = sys.executable) -> RunResult:
    """Run it to the end (or kill its process group at ``time_limit``) and read its results."""
    report_dir = out_dir / run.name
    shutil.rmtree(report_dir, ignore_errors=True)  # nothing of an earlier self-check mixes in
    report_dir.mkdir(parents=True)
    log = report_dir / "pytest.log"
    json_path = report_dir / f"{RESULTS}.json"
    started = time.monotonic()
    with open(log, "wb") as sink:
        proc = subprocess.Popen(run.command(report_dir, python), cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
                                start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            status: int | None = proc.wait(timeout=time_limit)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the run's own group: pytest and its emulator
            proc.wait()
            status = None
    result = RunResult(run, status, time.monotonic() - started, log=log)
    if status is None:
        result.problem = f"hung: killed after {time_limit:.0f} s"
    if json_path.exists():
        try:
            result.outcomes, result.complete = read_outcomes(json_path)
        except (OSError, ValueError, KeyError) as exc:
            result.problem = result.problem or f"unreadable results {json_path.name}: {exc}"
    elif not result.problem:
        result.problem = f"no results file (pytest exit {status})"
    if not result.problem:
        if status == 5 or not result.outcomes:
            result.problem = "no test selected"
        elif status not in (0, 1) or not result.complete:
            result.problem = f"pytest exit {status} (interrupted, internal or usage error)"
    return result


def execute_all(runs: list[Run], out_dir: Path, jobs: int, time_limit: float,
                done: Callable[[RunResult], None] | None = None, python: str = sys.executable) -> list[RunResult]:
    """Every run, ``jobs`` at a time, the longest expected first; results in the order given."""
    order = sorted(range(len(runs)), key=lambda i: -runs[i].selection.estimate)
    results: list[RunResult | None] = [None] * len(runs)
    share_fork_server()  # its address goes into the environment the runs inherit

    def one(i: int) -> None:
        results[i] = execute(runs[i], out_dir, time_limit, python)
        if done is not None:
            done(results[i])  # type: ignore[arg-type]

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(one, order))
    return [r for r in results if r is not None]

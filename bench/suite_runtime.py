"""The full conformance run against the emulator: wall time, cases, cases per second."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_once(workers: str | None, dist: str | None = None) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "pytest", "suites", "-q", "-p", "no:cacheprovider",
               "--report-dir", out, "--report-name", "bench"]
        if workers:
            cmd += ["-n", workers]
        if dist:
            cmd += ["--dist", dist]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - start
        results = json.loads((Path(out) / "bench.json").read_text())
    cases = len(results["tests"])
    label = (workers or "1") + (f" --dist {dist}" if dist else "")
    return {"workers": label, "exit": proc.returncode, "wall_seconds": wall, "cases": cases,
            "cases_per_second": cases / wall, "target_seconds": 60}


def run() -> list[dict[str, object]]:
    """Serial, -n auto (one worker per core), and ./suite's default (4 workers, work stealing)."""
    return [run_once(None), run_once("auto"), run_once("4", "worksteal")]

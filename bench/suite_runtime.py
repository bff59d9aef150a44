"""The two set-up commands as a user runs them: ``./suite conformance`` and ``./suite test``.

Wall time of each (the README's commands as they are, with their default workers, against the
emulator), the number of cases, and the size of the conformance report a release review opens.
"""
from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

from lab.estimate import write_harness_durations
from reports.size import measure

ROOT = Path(__file__).resolve().parent.parent

#: seconds on the 2-core machine kind CI runs on
TARGETS = {"conformance": 45.0, "test": 100.0}


def run_once(command: str, extra: list[str] | None = None) -> dict[str, object]:
    """``./suite COMMAND`` with its results in a temporary folder; the report size for conformance."""
    with tempfile.TemporaryDirectory() as out:
        cmd = ["./suite", command, f"--report-dir={out}", f"--report-name={command}", *(extra or [])]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - start
        results_file = Path(out) / f"{command}.json"
        tests = json.loads(results_file.read_text())["tests"] if results_file.exists() else []
        cases = len(tests)
        if command == "test" and proc.returncode == 0:
            write_harness_durations(tests)
        html = Path(out) / f"{command}.html"
        size = measure(html) if html.exists() else None
    row: dict[str, object] = {"command": f"./suite {command}", "exit": proc.returncode, "wall_seconds": wall,
                              "cases": cases, "target_seconds": TARGETS[command],
                              "tail": (proc.stdout + proc.stderr)[-1500:]}
    if size is not None and command == "conformance":
        row["html_bytes"] = size.total
        row["html_limit_bytes"] = size.limit
        row["html_within"] = size.within
    return row


def run() -> list[dict[str, object]]:
    return [run_once("conformance"), run_once("test")]

"""Does every test tagged with a judged requirement assert something about the module's behaviour?

The static reading is reports.assertions' (the report's "judged by" uses the same); here it runs
over a collect-only pytest run. ``python -m tests.conformance_audit`` prints, per requirement, its
verdict class and the checks that judge it, as JSON.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from reports.assertions import checks_of

from .forked_pytest import run_pytest as run_forked

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Collected:
    nodeid: str
    file: str
    function: str
    requirements: list[str]
    verdict: str


def collect(paths: list[str], ini: str | None = None) -> list[Collected]:
    """The tests under ``paths`` with their markers, from a collect-only pytest run."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "collected.json"
        env = {**os.environ, "BG96_COLLECT_OUT": str(out), "PYTHONPATH": str(ROOT)}
        run = run_forked(["--collect-only", "-q", "-p", "no:cacheprovider", "-p", "tests.collect_requirements",
                          *(["-c", ini] if ini else []), *paths], env=env, timeout=300)
        if not out.exists():
            raise RuntimeError(f"collection failed: {run.stdout[-2000:]}{run.stderr[-2000:]}")
        return [Collected(**row) for row in json.loads(out.read_text())]


def judged_requirement(rid: str) -> bool:
    from spec import REQUIREMENTS_BY_ID
    from spec.verdicts import JUDGED
    r = REQUIREMENTS_BY_ID.get(rid)
    return r is not None and r.verdict in JUDGED


def unjudged_tests(tests: list[Collected]) -> list[str]:
    """Tests tagged with a judged requirement whose body (and helpers) checks nothing of the module."""
    out = []
    for t in tests:
        judged = [r for r in t.requirements if judged_requirement(r)]
        if judged and not checks_of(t.file, t.function):
            out.append(f"{t.nodeid} ({', '.join(judged)})")
    return out


def judged_by(tests: list[Collected]) -> dict[str, dict[str, object]]:
    """Per requirement: its verdict class, the reason where the document is silent, and the checks."""
    from spec import REQUIREMENTS
    rows: dict[str, dict[str, object]] = {
        r.id: {"verdict": r.verdict.value, "silent_reason": r.silent_reason, "judged_by": r.judged_by, "checks": {}}
        for r in REQUIREMENTS}
    for t in tests:
        checks = checks_of(t.file, t.function)
        for rid in t.requirements:
            if rid in rows and checks:
                rows[rid]["checks"].setdefault(t.nodeid.split("[")[0], list(checks[:3]))  # type: ignore[union-attr]
    return rows


if __name__ == "__main__":
    print(json.dumps(judged_by(collect(["suites"])), indent=1))

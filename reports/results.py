"""The run's results as data: one record per test, traceability, response times, the JSON file.

Lives on the controller (the only process that writes files under xdist). Records are built from
test reports alone (not from items), so reports from several workers or rigs merge the same way.
"""
from __future__ import annotations

import json
import os
import statistics
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Sequence

import spec

SCHEMA = "bg96-coap-results/1"
FAILING = ("failed", "error")


@dataclass
class TestRecord:
    """One test as the review reads it; filled phase by phase from its reports."""

    nodeid: str
    outcome: str = "unknown"  # passed failed error skipped xfailed xpassed
    duration: float = 0.0
    verdict: str = ""
    requirements: list[str] = field(default_factory=list)
    td: list[str] = field(default_factory=list)
    worker: str = ""
    observations: list[dict[str, str]] = field(default_factory=list)
    timings: list[dict[str, Any]] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pcap: str | None = None
    longrepr: str = ""

    def as_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _RECORD_FIELDS}  # shallow: values are plain data

    def json_text(self) -> str:
        """The record as compact JSON text (cached by the controller once the test is over)."""
        return json.dumps(self.as_json(), separators=(",", ":"))


_RECORD_FIELDS = tuple(f.name for f in fields(TestRecord))


def phase_outcome(when: str, outcome: str, wasxfail: bool) -> str:
    """The verdict one phase report contributes (pytest's own terminal categories)."""
    if outcome == "failed":
        return "failed" if when == "call" else "error"
    if outcome == "skipped":
        return "xfailed" if wasxfail else "skipped"
    if outcome == "passed" and wasxfail:
        return "xpassed"
    return outcome


def merge_outcome(current: str, when: str, new: str) -> str:
    """Setup decides unless it passed; call decides next; a failing teardown turns a pass into an error."""
    if when == "setup" or current == "unknown":
        return new
    if when == "call":
        return new if current == "passed" else current
    if new == "error" and current not in FAILING:
        return "error"
    return current


def no_checks(nodeid: str) -> Sequence[str]:
    return ()


def traceability(records: list[TestRecord],
                 checks: Callable[[str], Sequence[str]] = no_checks) -> list[dict[str, Any]]:
    """Every requirement of spec.REQUIREMENTS with its tests; ids tests name but spec lacks come last.
    ``checks`` gives the assertions that judge a test (by node id), for the "judged by" column."""
    by_req: dict[str, list[TestRecord]] = {}
    for rec in records:
        for rid in rec.requirements:
            by_req.setdefault(rid, []).append(rec)
    rows = []
    for req in spec.REQUIREMENTS:
        tests = by_req.pop(req.id, [])
        rows.append(_trace_row(req.id, req.section, req.text, req.verdict.value, tests)
                    | {"silent_reason": req.silent_reason, "judged_by": judged_by(req.judged_by, tests, checks)})
    for rid, tests in sorted(by_req.items()):
        rows.append(_trace_row(rid, "", "(not a requirement id of spec/)", "", tests, unknown=True))
    return rows


def judged_by(stated: str, tests: list[TestRecord], checks: Callable[[str], Sequence[str]]) -> dict[str, Any]:
    """What judges a requirement: the document's criterion where spec/ states one, and per test
    function (parameters folded) the assertions its source holds on the module's behaviour."""
    found: dict[str, list[str]] = {}
    for rec in tests:
        function = rec.nodeid.split("[")[0]
        if function not in found and (asserts := list(checks(rec.nodeid))):
            found[function] = asserts
    return {"criterion": stated, "checks": [{"test": t, "asserts": c} for t, c in found.items()]}


def requirement_status(outcomes: list[str]) -> str:
    """A requirement's status from the outcomes of the tests that check it."""
    if not outcomes:
        return "uncovered"
    if any(o in FAILING or o == "xpassed" for o in outcomes):
        return "failed"
    if all(o == "passed" for o in outcomes):
        return "passed"
    if any(o == "passed" for o in outcomes):
        return "partial"  # some passed, others skipped or xfailed
    return "not run"


def _trace_row(rid: str, section: str, text: str, verdict: str, tests: list[TestRecord],
               unknown: bool = False) -> dict[str, Any]:
    status = requirement_status([t.outcome for t in tests])
    return {"id": rid, "section": section, "text": text, "verdict": verdict, "status": status,
            "unknown_id": unknown,
            "tests": [{"nodeid": t.nodeid, "outcome": t.outcome} for t in tests]}


def response_times(records: list[TestRecord]) -> list[dict[str, Any]]:
    """Per command: count, min, median, max of the measured times against the documented maximum."""
    by_cmd: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        for t in rec.timings:
            by_cmd.setdefault(t["command"], []).append(t)
    rows = []
    for cmd in sorted(by_cmd):
        timings = by_cmd[cmd]
        elapsed = [float(t["elapsed"]) for t in timings]
        command = spec.COMMANDS_BY_NAME.get(cmd)
        documented = command.max_response_time if command else max(float(t["maximum"]) for t in timings)
        over = sum(1 for t in timings if float(t["elapsed"]) > float(t.get("maximum") or documented))
        rows.append({"command": cmd, "count": len(elapsed), "min": min(elapsed),
                     "median": statistics.median(elapsed), "max": max(elapsed),
                     "documented_max": documented, "over": over})
    return rows


def observations(records: list[TestRecord]) -> list[dict[str, str]]:
    return [{"key": o["key"], "value": o["value"], "note": o.get("note", ""), "test": rec.nodeid}
            for rec in records for o in rec.observations]


def errata() -> list[dict[str, Any]]:
    return [{"id": e.id, "where": e.where, "document_says": e.document_says, "reading": e.reading,
             "related": list(e.related)} for e in spec.ERRATA]


def summary(records: list[TestRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for rec in records:
        counts[rec.outcome] = counts.get(rec.outcome, 0) + 1
    return dict(sorted(counts.items()))


def write_json_atomic(path: Path, data: dict[str, Any], tests_json: list[str] | None = None) -> None:
    """Write to a temporary file in the same directory, then os.replace: readers never see half a file.

    ``tests_json`` holds the already-serialised test records (the file is rewritten as tests
    end, so each record is serialised once, not once per rewrite); they become ``data["tests"]``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            if tests_json is None:  # dumps, not dump: json.dump runs the pure-Python encoder
                f.write(json.dumps(data, separators=(",", ":")))
            else:
                head = json.dumps({k: v for k, v in data.items() if k != "tests"}, separators=(",", ":"))
                f.write(head[:-1] + ',"tests":[' + ",".join(tests_json) + "]}")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

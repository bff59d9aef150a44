"""The release verdict: does this firmware conform, and if not, where (data, from a results document).

Works on the JSON results (``results`` builds them; ``compare`` loads them from files), so the
report and the release comparison judge a run the same way.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import spec

from .failure import reason
from .results import requirement_status

CLASSES = ("conformance", "rfc7252", "observation")
BUCKETS = ("passed", "failed", "skipped", "not run")
BUCKET_OF = {"passed": "passed", "xpassed": "passed", "failed": "failed", "error": "failed",
             "skipped": "skipped", "xfailed": "skipped"}
JUDGED = ("conformance", "rfc7252")  # a failure of these is a deviation; observations are recorded
FIRMWARE = (("module", "Module"), ("firmware", "Firmware"), ("revision", "Revision"), ("imei", "IMEI"),
            ("rig", "Rig"), ("profile", "Profile"))
#: document sections that are not a command or URC of spec/ (those are named from spec/)
SECTION_TITLES = {"3.1.2": "AT command syntax", "4": "Summary of result codes (Table 4)",
                  "5.1": "Example: CoAP without DTLS", "5.2": "Example: CoAP with DTLS",
                  "RFC 7252": "RFC 7252, where the document defers to it"}


def section_titles() -> dict[str, str]:
    titles = {c.section: c.name for c in spec.COMMANDS}
    for u in spec.URCS:
        titles.setdefault(u.section, u.name)  # +QCOAPOPEN: is 3.3.2's result, 3.3.2 is AT+QCOAPOPEN
    return titles | SECTION_TITLES


def section_of(section: str) -> str:
    """``3.3.6 Table 3`` -> ``3.3.6``; ``RFC 7252 4.2`` -> ``RFC 7252``."""
    if section.startswith("RFC"):
        return "RFC 7252"
    m = re.match(r"\d+(\.\d+)*", section)
    return m.group(0) if m else section or "(none)"


def _section_key(section: str) -> tuple[int, list[int]]:
    if section.startswith("RFC"):
        return 1, []
    return 0, [int(x) for x in re.findall(r"\d+", section)]


@dataclass(frozen=True)
class SectionRow:
    section: str
    title: str
    total: int
    passed: int
    failed: int
    not_checked: int


@dataclass(frozen=True)
class FailedRequirement:
    id: str
    section: str
    text: str
    verdict: str
    reason: str
    nodeid: str  # the first failing test: its evidence


@dataclass
class Assessment:
    state: str  # "conforms" | "does not conform" | "incomplete"
    why: str
    firmware: list[tuple[str, str]]
    counts: dict[str, dict[str, int]]  # verdict class -> bucket -> tests
    sections: list[SectionRow]
    failed: list[FailedRequirement]
    incomplete: list[str] = field(default_factory=list)
    run: dict[str, Any] = field(default_factory=dict)

    @property
    def css(self) -> str:
        return {"conforms": "good", "does not conform": "bad"}.get(self.state, "warn")


def firmware(run: dict[str, Any]) -> list[tuple[str, str]]:
    info = run.get("info", {}) or {}
    rows = [(label, " | ".join(info.get(key, [])) or "(not reported)") for key, label in FIRMWARE]
    rows += [("Suite version", str(run.get("suite_version", "?"))), ("Date", str(run.get("started", "?")))]
    return rows


def counts(data: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Tests per verdict class and outcome bucket; tests of no class (harness tests) are left out."""
    out = {c: dict.fromkeys(BUCKETS, 0) for c in CLASSES}
    for t in data.get("tests", []):
        if t.get("verdict") in out:
            out[t["verdict"]][BUCKET_OF.get(t.get("outcome", ""), "not run")] += 1
    for t in data.get("not_run", []) or []:
        if t.get("verdict") in out:
            out[t["verdict"]]["not run"] += 1
    return out


def sections(trace: list[dict[str, Any]]) -> list[SectionRow]:
    titles = section_titles()
    acc: dict[str, list[int]] = {}
    for r in trace:
        if r.get("unknown_id"):
            continue
        row = acc.setdefault(section_of(r.get("section", "")), [0, 0, 0, 0])
        row[0] += 1
        status = r.get("status")
        row[1 if status in ("passed", "partial") else 2 if status == "failed" else 3] += 1
    return [SectionRow(s, titles.get(s, ""), *acc[s]) for s in sorted(acc, key=_section_key)]


def failed_requirements(data: dict[str, Any]) -> list[FailedRequirement]:
    tests = {t.get("nodeid"): t for t in data.get("tests", [])}
    out = []
    for r in data.get("traceability", []):
        if r.get("status") != "failed":
            continue
        bad = [t["nodeid"] for t in r.get("tests", []) if t.get("outcome") in ("failed", "error", "xpassed")]
        nodeid = bad[0] if bad else ""
        why = reason(tests.get(nodeid, {}).get("longrepr", "")) or f"{len(bad)} test(s) failed"
        if len(bad) > 1:
            why += f" (and {len(bad) - 1} more test(s))"
        out.append(FailedRequirement(r["id"], r.get("section", ""), r.get("text", ""), r.get("verdict", ""), why, nodeid))
    judged_first = sorted(out, key=lambda f: (f.verdict not in JUDGED, _section_key(section_of(f.section))))
    return judged_first


def current_traceability(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The matrix with each test's outcome as the tests list has it now (a file edited or merged
    after the run, e.g. a re-run test, stays consistent)."""
    outcome = {t.get("nodeid"): t.get("outcome", "") for t in data.get("tests", [])}
    rows = []
    for r in data.get("traceability", []):
        tests = [t | {"outcome": outcome.get(t.get("nodeid"), t.get("outcome", ""))} for t in r.get("tests", [])]
        rows.append(r | {"tests": tests, "status": requirement_status([t["outcome"] for t in tests])})
    return rows


def assess(data: dict[str, Any]) -> Assessment:
    """The verdict line and everything the verdict page shows."""
    data = data | {"traceability": current_traceability(data)}
    tally = counts(data)
    failed = failed_requirements(data)
    trace = data["traceability"]
    deviations = [f for f in failed if f.verdict in JUDGED]
    failing_tests = sum(tally[c]["failed"] for c in JUDGED)
    errors = sum(1 for t in data.get("tests", []) if t.get("outcome") == "error")
    incomplete = []
    if not data.get("complete", True):
        incomplete.append("the run was interrupted")
    not_run = sum(v["not run"] for v in tally.values())
    if not_run:
        incomplete.append(f"{not_run} test(s) not run")
    if errors:
        incomplete.append(f"{errors} test(s) could not be judged (set-up or teardown error)")
    unchecked = [r["id"] for r in trace if r.get("verdict") in JUDGED and r.get("status") in ("uncovered", "not run")]
    if unchecked:
        incomplete.append(f"{len(unchecked)} requirement(s) not checked ({', '.join(unchecked[:3])}"
                          f"{', ...' if len(unchecked) > 3 else ''})")
    if deviations or failing_tests:
        where = sorted({section_of(f.section) for f in deviations}, key=_section_key)
        state = "does not conform"
        why = (f"{len(deviations)} requirement(s) of the document or RFC 7252 failed"
               + (f", in {', '.join(where)}" if where else "") + f" ({failing_tests} failing test(s))")
        if incomplete:
            why += "; also incomplete: " + "; ".join(incomplete)
    elif incomplete:
        state, why = "incomplete", "; ".join(incomplete)
    else:
        checked = sum(1 for r in trace if r.get("verdict") in JUDGED)
        state, why = "conforms", f"all {checked} requirements checked, every test of them passed"
    observed = [f for f in failed if f.verdict not in JUDGED]
    if observed:
        why += f"; {len(observed)} observation requirement(s) with a failing test (recorded, not judged)"
    return Assessment(state, why, firmware(data.get("run", {})), tally, sections(trace), failed,
                      incomplete, data.get("run", {}))

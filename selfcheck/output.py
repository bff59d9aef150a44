"""The fault table as terminal text, Markdown and JSON."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .verdict import CAUGHT, CleanVerdict, FaultVerdict

SHOWN = 3  # test names listed per fault; the JSON has them all


def short(nodeid: str) -> str:
    """``suites/test_x.py::test_y[p]`` -> ``test_x::test_y[p]``."""
    path, _, rest = nodeid.partition("::")
    return f"{Path(path).stem}::{rest}" if rest else nodeid


def caught_text(v: FaultVerdict) -> str:
    if v.problem:
        return v.problem
    if not v.caught_by:
        return f"no test failed ({v.selected} ran)"
    names = ", ".join(short(n) for n in v.caught_by[:SHOWN])
    more = len(v.caught_by) - SHOWN
    return f"{len(v.caught_by)}: {names}" + (f", +{more} more" if more > 0 else "")


def clean_text(c: CleanVerdict) -> str:
    if c.problem:
        return c.problem
    bad = [f"{short(n)} {o}" for n, o in c.not_passed if o in ("failed", "error")]
    skipped = [n for n, o in c.not_passed if o not in ("failed", "error")]
    text = f"{c.passed} passed" + (f", {len(skipped)} not run/skipped" if skipped else "")
    return text + ("; " + ", ".join(bad[:SHOWN]) if bad else "")


def terminal(faults: list[FaultVerdict], cleans: list[CleanVerdict], wall: float) -> str:
    w_fault = max([len(v.fault) for v in faults] + [5])
    lines = [f"{'fault':<{w_fault}}  {'verdict':<7}  tests that caught it (failed)"]
    lines.append("-" * (w_fault + 60))
    for v in faults:
        lines.append(f"{v.fault:<{w_fault}}  {v.status:<7}  {caught_text(v)}")
    lines.append("")
    w_sel = max([len(c.selection) for c in cleans] + [9])
    lines.append(f"{'clean run':<{w_sel}}  {'verdict':<7}  tests")
    lines.append("-" * (w_sel + 40))
    for c in cleans:
        lines.append(f"{c.selection:<{w_sel}}  {'pass' if c.ok else 'FAIL':<7}  {clean_text(c)}")
    caught = sum(v.status == CAUGHT for v in faults)
    lines += ["", f"{caught}/{len(faults)} faults caught, "
              f"{sum(c.ok for c in cleans)}/{len(cleans)} clean selections pass, {wall:.0f} s"]
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(faults: list[FaultVerdict], cleans: list[CleanVerdict], wall: float) -> str:
    out = ["# Self-check: emulator faults against the suites", "",
           "| fault | what the faulty firmware does | selection | verdict | tests that caught it |",
           "| --- | --- | --- | --- | --- |"]
    for v in faults:
        tests = "<br>".join(_md(short(n)) for n in v.caught_by) or _md(caught_text(v))
        out.append(f"| `{v.fault}` | {_md(v.description)} | {v.selection} | {v.status} | {tests} |")
    out += ["", "| clean selection | verdict | tests |", "| --- | --- | --- |"]
    for c in cleans:
        out.append(f"| {c.selection} | {'pass' if c.ok else 'FAIL'} | {_md(clean_text(c))} |")
    caught = sum(v.status == CAUGHT for v in faults)
    out += ["", f"{caught}/{len(faults)} faults caught; {sum(c.ok for c in cleans)}/{len(cleans)} "
            f"clean selections pass; wall time {wall:.0f} s.", ""]
    return "\n".join(out)


def document(faults: list[FaultVerdict], cleans: list[CleanVerdict], wall: float,
             selections: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "schema": "bg96-selfcheck/1",
        "ok": all(v.status == CAUGHT for v in faults) and all(c.ok for c in cleans),
        "wall_time": round(wall, 1),
        "faults": [{**asdict(v), "status": v.status} for v in faults],
        "clean": [{**asdict(c), "ok": c.ok} for c in cleans],
        "selections": selections,
    }


def write(out_dir: Path, faults: list[FaultVerdict], cleans: list[CleanVerdict], wall: float,
          selections: dict[str, list[str]]) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    js, md = out_dir / "selfcheck.json", out_dir / "selfcheck.md"
    js.write_text(json.dumps(document(faults, cleans, wall, selections), indent=1) + "\n")
    md.write_text(markdown(faults, cleans, wall))
    return js, md

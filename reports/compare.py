"""Release-to-release comparison of two JSON results files (what changed with the new firmware).

A regression is a test that passed and now fails or errors; it is the only thing that makes the
comparison fail. Observations and response times are reported, not judged: the document is silent
on the former and the latter drift with the bench.
"""
from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import charts, html_verdict
from .html_sections import STYLE
from .text import h
from .verdict import assess

GOOD = ("passed", "xfailed")
BAD = ("failed", "error")


class UnreadableResults(Exception):
    """The file is missing, not JSON, or not a results file."""


@dataclass(frozen=True)
class OutcomeChange:
    nodeid: str
    old: str
    new: str
    longrepr: str = ""


@dataclass(frozen=True)
class ObservationChange:
    key: str
    old: str | None  # None: only in the new run
    new: str | None  # None: only in the old run
    tests: tuple[str, ...] = ()


@dataclass(frozen=True)
class TimingChange:
    kind: str  # "command" (median response time) or "test" (duration)
    name: str
    old: float
    new: float

    @property
    def relative(self) -> float:
        return (self.new - self.old) / self.old if self.old else float("inf")


@dataclass
class Comparison:
    old_run: dict[str, Any]
    new_run: dict[str, Any]
    regressions: list[OutcomeChange] = field(default_factory=list)
    fixes: list[OutcomeChange] = field(default_factory=list)
    other_changes: list[OutcomeChange] = field(default_factory=list)  # e.g. passed -> skipped
    new: list[OutcomeChange] = field(default_factory=list)
    removed: list[OutcomeChange] = field(default_factory=list)
    observations: list[ObservationChange] = field(default_factory=list)
    timings: list[TimingChange] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)  # which inputs were interrupted runs

    @property
    def exit_status(self) -> int:
        return 1 if self.regressions else 0


def load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableResults(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        raise UnreadableResults(f"{path}: not a results file (no 'tests' list)")
    return data


def _tests(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["nodeid"]: t for t in data["tests"] if isinstance(t, dict) and "nodeid" in t}


def _observations(data: dict[str, Any]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """key -> (value, tests); several distinct values of one key are joined with ' | '."""
    values: dict[str, list[str]] = {}
    tests: dict[str, list[str]] = {}
    for t in data["tests"]:
        for o in t.get("observations", []) or []:
            vs = values.setdefault(o["key"], [])
            if o["value"] not in vs:
                vs.append(o["value"])
            tests.setdefault(o["key"], []).append(t.get("nodeid", ""))
    return {k: (" | ".join(sorted(v)), tuple(tests[k])) for k, v in values.items()}


def _medians(data: dict[str, Any]) -> dict[str, float]:
    by_cmd: dict[str, list[float]] = {}
    for t in data["tests"]:
        for timing in t.get("timings", []) or []:
            by_cmd.setdefault(timing["command"], []).append(float(timing["elapsed"]))
    return {cmd: statistics.median(v) for cmd, v in by_cmd.items()}


def compare(old: dict[str, Any], new: dict[str, Any], timing_threshold: float = 0.2,
            min_duration: float = 0.05) -> Comparison:
    """Tests durations under ``min_duration`` seconds in both runs are noise and not compared."""
    result = Comparison(old.get("run", {}), new.get("run", {}))
    result.incomplete = [name for name, d in (("old", old), ("new", new)) if not d.get("complete", False)]
    old_tests, new_tests = _tests(old), _tests(new)
    for nodeid, n in new_tests.items():
        o = old_tests.get(nodeid)
        if o is None:
            result.new.append(OutcomeChange(nodeid, "", n.get("outcome", ""), n.get("longrepr", "")))
            continue
        before, after = o.get("outcome", ""), n.get("outcome", "")
        change = OutcomeChange(nodeid, before, after, n.get("longrepr", ""))
        if before in GOOD and after in BAD:
            result.regressions.append(change)
        elif before in BAD and after in GOOD:
            result.fixes.append(change)
        elif before != after:
            result.other_changes.append(change)
        od, nd = float(o.get("duration") or 0), float(n.get("duration") or 0)
        if max(od, nd) >= min_duration and od > 0 and abs(nd - od) / od > timing_threshold:
            result.timings.append(TimingChange("test", nodeid, od, nd))
    result.removed = [OutcomeChange(k, t.get("outcome", ""), "") for k, t in old_tests.items()
                      if k not in new_tests]
    old_obs, new_obs = _observations(old), _observations(new)
    for key in sorted(set(old_obs) | set(new_obs)):
        ov, nv = old_obs.get(key), new_obs.get(key)
        if ov is None or nv is None or ov[0] != nv[0]:
            tests = (nv or ov or ("", ()))[1]
            result.observations.append(ObservationChange(key, ov[0] if ov else None, nv[0] if nv else None, tests))
    old_med, new_med = _medians(old), _medians(new)
    for cmd in sorted(set(old_med) & set(new_med)):
        change = TimingChange("command", cmd, old_med[cmd], new_med[cmd])
        if old_med[cmd] > 0 and abs(change.relative) > timing_threshold:
            result.timings.append(change)
    return result


def text_summary(c: Comparison) -> str:
    lines = [f"regressions: {len(c.regressions)}, fixes: {len(c.fixes)}, new: {len(c.new)}, "
             f"removed: {len(c.removed)}, observation changes: {len(c.observations)}, "
             f"timing changes: {len(c.timings)}"]
    lines += [f"  REGRESSION {x.nodeid}: {x.old} -> {x.new}" for x in c.regressions]
    lines += [f"  fixed      {x.nodeid}: {x.old} -> {x.new}" for x in c.fixes]
    lines += [f"  observation {x.key}: {x.old} -> {x.new}" for x in c.observations]
    lines += [f"  timing {x.kind} {x.name}: {x.old:.3f} s -> {x.new:.3f} s ({x.relative:+.0%})" for x in c.timings]
    if c.incomplete:
        lines.append(f"  warning: incomplete (interrupted) run(s): {', '.join(c.incomplete)}")
    return "\n".join(lines)


def _run_label(run: dict[str, Any]) -> str:
    info = run.get("info", {})
    revision = " | ".join(info.get("revision", [])) or "unknown revision"
    return f"{revision} ({run.get('started', '?')}, suite {run.get('suite_version', '?')})"


def _section(sid: str, title: str, headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    if not rows:
        body = "<p>None.</p>"
    else:
        head = "".join(f"<th>{h(x)}</th>" for x in headers)
        trs = "".join(f'<tr class="{cls}">' + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
        body = f"<table><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>"
    return f'<section id="{sid}"><h2>{h(title)} ({len(rows)})</h2>{body}</section>'


def _pre(text: str) -> str:
    return f"<details><summary>log</summary><pre>{h(text)}</pre></details>" if text else ""


def _releases(old: dict[str, Any] | None, new: dict[str, Any] | None) -> str:
    """The verdict header of each release, side by side, and their response times in one chart."""
    if old is None or new is None:
        return ""
    heads = (f'<div class="bg96-releases">{html_verdict.header(assess(old), "Old release")}'
             f'{html_verdict.header(assess(new), "New release")}</div>')
    chart = charts.response_times_compared(old.get("response_times", []), new.get("response_times", []))
    return heads + (f'<section id="response-times"><h2>Response times</h2>{chart}</section>' if chart else "")


def to_html(c: Comparison, old: dict[str, Any] | None = None, new: dict[str, Any] | None = None,
            new_report: str = "") -> str:
    """A standalone page; section ids: regressions fixes new removed observations timings.

    With both results documents, each release's verdict header and the response-time chart lead;
    with ``new_report`` (the new run's HTML, relative to this page) each test links to its evidence.
    """
    link = (lambda nodeid: html_verdict.evidence_link(nodeid, h(nodeid), new_report)) if new_report else h
    outcome_rows = lambda xs: [[link(x.nodeid), h(x.old), h(x.new), _pre(x.longrepr)] for x in xs]  # noqa: E731
    obs_rows = [[f"<code>{h(x.key)}</code>", h(x.old if x.old is not None else "(absent)"),
                 h(x.new if x.new is not None else "(absent)"), h(", ".join(x.tests))] for x in c.observations]
    timing_rows = [[h(x.kind), h(x.name), f"{x.old:.3f}", f"{x.new:.3f}",
                    f'<span class="{"bad" if x.relative > 0 else "good"}">{x.relative:+.0%}</span>'] for x in c.timings]
    warning = (f'<p class="bad">Incomplete (interrupted) run(s): {h(", ".join(c.incomplete))}</p>'
               if c.incomplete else "")
    verdict = (f'<p class="bad">{len(c.regressions)} regression(s)</p>' if c.regressions
               else '<p class="good">No regressions</p>')
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>BG96 CoAP release comparison</title><style>
body{{font-family:sans-serif;font-size:13px;margin:20px}}table{{border-collapse:collapse}}
th,td{{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}}th{{background:#eee}}
.bad{{color:#b00000;font-weight:bold}}.good{{color:#006b00}}tr.regression td{{background:#fbe3e3}}
tr.fix td{{background:#e4f5e4}}.bg96-releases{{display:grid;grid-template-columns:1fr 1fr;gap:24px}}
.bg96-releases h2{{margin:4px 0}}
</style>{STYLE}</head><body>
<h1>Release comparison</h1>
<p>Old: {h(_run_label(c.old_run))}<br>New: {h(_run_label(c.new_run))}</p>{warning}{verdict}
{_releases(old, new)}
{_section("regressions", "Regressions", ["test", "old", "new", ""], outcome_rows(c.regressions), "regression")}
{_section("fixes", "Fixes", ["test", "old", "new", ""], outcome_rows(c.fixes), "fix")}
{_section("changed", "Other outcome changes", ["test", "old", "new", ""], outcome_rows(c.other_changes))}
{_section("new", "New tests", ["test", "old", "new", ""], outcome_rows(c.new))}
{_section("removed", "Removed tests", ["test", "old", "new", ""], outcome_rows(c.removed))}
{_section("observations", "Changed observations", ["key", "old", "new", "tests"], obs_rows)}
{_section("timings", "Response-time and duration changes", ["kind", "name", "old (s)", "new (s)", "change"], timing_rows)}
</body></html>
"""

"""The verdict page: the first screen of the report (and, twice, of the release comparison)."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from . import charts
from .text import h
from .verdict import BUCKETS, CLASSES, Assessment

STATE_TEXT = {"conforms": "Conforms", "does not conform": "Does not conform", "incomplete": "Incomplete"}
CLASS_TEXT = {"conformance": "conformance (the document)", "rfc7252": "RFC 7252", "observation": "observation"}


def evidence_link(nodeid: str, text: str, report: str = "") -> str:
    """A link that opens the test's row and evidence (in this page, or in ``report``)."""
    return (f'<a class="bg96-ev-link" data-nodeid="{h(nodeid)}" href="{h(report)}#{quote(nodeid, safe="/:")}" '
            f'title="{h(nodeid)}">{text}</a>')


def verdict_line(a: Assessment) -> str:
    return (f'<div id="verdict-line" class="bg96-verdict-line bg96-state-{a.css}">'
            f'<b>{h(STATE_TEXT.get(a.state, a.state))}</b><span>{h(a.why)}</span></div>')


def firmware(a: Assessment) -> str:
    cells = "".join(f'<div><span>{h(label)}</span><b title="{h(value)}">{h(value)}</b></div>'
                    for label, value in a.firmware)
    return f'<div id="run-header" class="bg96-firmware">{cells}</div>'


def counts_table(a: Assessment) -> str:
    head = "".join(f"<th>{h(b)}</th>" for b in BUCKETS)
    rows = []
    for c in CLASSES:
        n = a.counts[c]
        cells = "".join(f'<td class="bg96-n{" bg96-nbad" if b == "failed" and n[b] else ""}">{n[b]}</td>'
                        for b in BUCKETS)
        rows.append(f"<tr><th>{h(CLASS_TEXT[c])}</th>{cells}</tr>")
    return (f'<table id="verdict-counts" class="bg96-table bg96-compact"><thead><tr><th>tests by verdict class</th>'
            f'{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _bar(passed: int, failed: int, rest: int) -> str:
    total = max(1, passed + failed + rest)
    return ('<div class="bg96-bar">' + "".join(
        f'<i class="bg96-bar-{cls}" style="width:{n * 100 / total:.1f}%"></i>'
        for cls, n in (("pass", passed), ("fail", failed), ("rest", rest)) if n) + "</div>")


def sections_table(a: Assessment) -> str:
    rows = []
    for s in a.sections:
        cls = "bg96-row-failed" if s.failed else ""
        rows.append(f'<tr class="{cls}"><td>{h(s.section)}</td><td>{h(s.title)}</td><td class="bg96-n">{s.total}</td>'
                    f'<td class="bg96-n">{s.passed}</td><td class="bg96-n{" bg96-nbad" if s.failed else ""}">{s.failed}</td>'
                    f'<td class="bg96-n">{s.not_checked}</td><td>{_bar(s.passed, s.failed, s.not_checked)}</td></tr>')
    return ('<table id="verdict-sections" class="bg96-table bg96-compact"><thead><tr><th>section</th><th></th>'
            "<th>req.</th><th>passed</th><th>failed</th><th>not checked</th><th></th></tr></thead>"
            f'<tbody>{"".join(rows)}</tbody></table>')


def failed_list(a: Assessment, report: str = "") -> str:
    if not a.failed:
        return '<p id="failed-requirements" class="bg96-good">No requirement failed.</p>'
    items = "".join(
        f'<li class="bg96-failed-req{"" if f.verdict in ("conformance", "rfc7252") else " bg96-obs"}">'
        f'{evidence_link(f.nodeid, f"<code>{h(f.id)}</code>", report) if f.nodeid else f"<code>{h(f.id)}</code>"}'
        f' <span class="bg96-muted">{h(f.section)}</span> {h(f.reason)}</li>' for f in a.failed)
    return f'<ol id="failed-requirements" class="bg96-failed-list">{items}</ol>'


def header(a: Assessment, title: str = "") -> str:
    """Verdict line, firmware, counts and sections: what both pages show for a release."""
    caption = f"<h2>{h(title)}</h2>" if title else ""
    return (f'<div class="bg96-verdict-head">{caption}{verdict_line(a)}{firmware(a)}'
            f'<div class="bg96-verdict-tables">{counts_table(a)}{sections_table(a)}</div></div>')


def baseline_changes(changes: Any, report: str = "") -> str:
    """Regressions, fixes and changed observations since the ``--baseline`` run."""
    if changes is None:
        return ""
    regressions = "".join(f"<li>{evidence_link(x.nodeid, h(x.nodeid), report)}: {h(x.old)} &rarr; "
                          f'<b class="bg96-bad">{h(x.new)}</b></li>' for x in changes.regressions)
    fixes = "".join(f"<li>{h(x.nodeid)}: {h(x.old)} &rarr; {h(x.new)}</li>" for x in changes.fixes)
    obs = "".join(f"<li><code>{h(x.key)}</code>: {h(x.old if x.old is not None else '(absent)')} &rarr; "
                  f"{h(x.new if x.new is not None else '(absent)')}</li>" for x in changes.observations)
    parts = [(f"Regressions ({len(changes.regressions)})", regressions),
             (f"Fixes ({len(changes.fixes)})", fixes), (f"Changed observations ({len(changes.observations)})", obs)]
    body = "".join(f"<h4>{t}</h4><ul>{items}</ul>" if items else f"<h4>{t}</h4>" for t, items in parts)
    label = changes.old_run.get("info", {}).get("firmware") or changes.old_run.get("info", {}).get("revision") or ["?"]
    return (f'<div id="baseline" class="bg96-baseline"><h3>Since the baseline '
            f'({h(" | ".join(label))}, {h(changes.old_run.get("started", "?"))})</h3>{body}</div>')


def errata_note(errata: list[dict[str, Any]]) -> str:
    ids = ", ".join(f"<code>{h(e['id'])}</code>" for e in errata)
    return (f'<p class="bg96-errata-note"><a href="#errata">{len(errata)} document errata</a> are read as '
            f"listed, not failed: {ids}.</p>")


def verdict_page(a: Assessment, data: dict[str, Any], changes: Any = None) -> str:
    """The first screen: verdict, firmware, counts, sections, failed requirements; then the chart."""
    n = len(a.failed)
    return (f'<section id="verdict" class="bg96-section bg96-verdict">{verdict_line(a)}{firmware(a)}'
            f'<div class="bg96-verdict-grid"><div>{counts_table(a)}{sections_table(a)}</div>'
            f'<div><h3>Failed requirements ({n})</h3>{failed_list(a)}{baseline_changes(changes)}'
            f'{errata_note(data.get("errata", []))}'
            f'{charts.response_times(data.get("response_times", []), width=740)}</div></div></section>')

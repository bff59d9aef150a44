"""The review sections after the results table, and the run header before it."""
from __future__ import annotations

from typing import Any

from .text import h

STYLE = """<style id="bg96-style">
.bg96-section{margin:24px 0}.bg96-section h2{margin-bottom:6px}
.bg96-table{border-collapse:collapse;font-size:12px;margin:4px 0 10px}
.bg96-table th,.bg96-table td{border:1px solid #ccc;padding:2px 6px;vertical-align:top;text-align:left}
.bg96-table pre{margin:0;font-size:11px}.bg96-table th{background:#eee}
.bg96-bad{color:#b00000;font-weight:bold}.bg96-good{color:#006b00}
tr.bg96-row-failed td,tr.bg96-row-uncovered td{background:#fbe3e3}
tr.bg96-row-passed td{background:#e4f5e4}tr.bg96-row-over td.bg96-over{background:#fbe3e3;font-weight:bold}
</style>"""

RUN_FIELDS = (("module", "Module"), ("revision", "Revision"), ("imei", "IMEI"), ("rig", "Rig"),
              ("dut_url", "DUT URL"), ("reference_server", "Reference server"),
              ("time_scale", "Time scale"))


def _table(headers: list[str], rows: list[tuple[str, list[str]]]) -> str:
    """rows: (tr class, cells already HTML)."""
    head = "".join(f"<th>{h(x)}</th>" for x in headers)
    body = "".join(f'<tr class="{cls}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
                   for cls, cells in rows)
    return f'<table class="bg96-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def run_header(run: dict[str, Any]) -> str:
    """Module, revision, IMEI, rig... suite version, date and duration, as a small table."""
    info = run.get("info", {})
    rows = [("", [h(label), h(" | ".join(info.get(key, [])) or "(not reported)")]) for key, label in RUN_FIELDS]
    rows += [("", [h("Suite version"), h(run.get("suite_version"))]),
             ("", [h("Date"), h(run.get("started"))]),
             ("", [h("Duration"), h(f"{run.get('duration', 0.0):.1f} s")])]
    return STYLE + f'<div id="run-header" class="bg96-section"><h3>Device under test</h3>{_table(["", ""], rows)}</div>'


def traceability(rows: list[dict[str, Any]]) -> str:
    out = []
    for r in rows:
        status = r["status"]
        cls = {"uncovered": "bg96-row-uncovered", "failed": "bg96-row-failed", "passed": "bg96-row-passed"}.get(status, "")
        tests = "<br>".join(f"{h(t['nodeid'])} <b>{h(t['outcome'])}</b>" for t in r["tests"])
        rid = f"<code>{h(r['id'])}</code>" + (' <span class="bg96-bad">unknown id</span>' if r["unknown_id"] else "")
        status_html = f'<span class="bg96-bad">{h(status)}</span>' if status in ("failed", "uncovered") else h(status)
        out.append((cls, [rid, h(r["section"]), h(r["text"]), h(r["verdict"]), status_html, tests]))
    covered = sum(1 for r in rows if r["status"] != "uncovered" and not r["unknown_id"])
    total = sum(1 for r in rows if not r["unknown_id"])
    return (f'<section id="traceability" class="bg96-section"><h2>Traceability matrix</h2>'
            f"<p>{covered} of {total} requirements checked by at least one test.</p>"
            + _table(["requirement", "section", "text", "verdict", "status", "tests"], out) + "</section>")


def observations(rows: list[dict[str, str]]) -> str:
    body = [("", [f"<code>{h(r['key'])}</code>", h(r["value"]), h(r["note"]), h(r["test"])]) for r in rows]
    return ('<section id="observations" class="bg96-section"><h2>Observations</h2>'
            + (_table(["key", "value", "note", "test"], body) if rows else "<p>No observations recorded.</p>")
            + "</section>")


def errata(rows: list[dict[str, Any]]) -> str:
    body = [("", [f"<code>{h(r['id'])}</code>", h(r["where"]), f"<code>{h(r['document_says'])}</code>",
                  h(r["reading"]), h(", ".join(r["related"]))]) for r in rows]
    return ('<section id="errata" class="bg96-section"><h2>Document errata</h2>'
            "<p>Listed, not failed: how the suite reads each inconsistency of the document.</p>"
            + _table(["id", "where", "the document says", "the suite reads", "requirements"], body) + "</section>")


def response_times(rows: list[dict[str, Any]]) -> str:
    body = []
    for r in rows:
        over = r["over"] > 0
        body.append(("bg96-row-over" if over else "", [
            h(r["command"]), h(r["count"]), f"{r['min']:.3f}", f"{r['median']:.3f}", f"{r['max']:.3f}",
            f"{r['documented_max']:.3f}",
            f'<span class="{"bg96-bad" if over else "bg96-good"}">{r["over"]}</span>']))
    cells = ["command", "count", "min (s)", "median (s)", "max (s)", "documented max (s)", "over max"]
    table = _table(cells, body) if rows else "<p>No response times measured.</p>"
    # mark the over cell for the row style
    table = table.replace('<td><span class="bg96-bad">', '<td class="bg96-over"><span class="bg96-bad">')
    return ('<section id="response-times" class="bg96-section"><h2>Response times</h2>' + table + "</section>")


def all_sections(data: dict[str, Any]) -> str:
    return (STYLE + '<div id="bg96-sections">' + traceability(data["traceability"])
            + observations(data["observations"]) + errata(data["errata"])
            + response_times(data["response_times"]) + "</div>")

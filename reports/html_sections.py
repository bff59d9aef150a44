"""The review sections after the results table, and the run header before it."""
from __future__ import annotations

from typing import Any

from spec.verdicts import JUDGED

from .text import h

JUDGED_VALUES = frozenset(v.value for v in JUDGED)

STYLE = """<style id="bg96-style">
.bg96-section{margin:24px 0}.bg96-section h2{margin-bottom:6px}
.bg96-table{border-collapse:collapse;font-size:12px;margin:4px 0 10px}
.bg96-table th,.bg96-table td{border:1px solid #ccc;padding:2px 6px;vertical-align:top;text-align:left}
.bg96-table pre{margin:0;font-size:11px}.bg96-table th{background:#eee;color:#222}
.bg96-bad{color:#b00000;font-weight:bold}.bg96-good{color:#006b00}.bg96-muted{color:#666}
tr.bg96-row-failed td,tr.bg96-row-uncovered td{background:#fbe3e3}
tr.bg96-row-passed td{background:#e4f5e4}tr.bg96-row-over td.bg96-over{background:#fbe3e3;font-weight:bold}
.bg96-verdict{margin:8px 0 18px;color:#222}.bg96-verdict td,.bg96-verdict th{color:#222}
.bg96-verdict a,.bg96-failure a{color:#0b57a4}.bg96-verdict h3{margin:4px 0 6px;font-size:14px}
.bg96-verdict-line{display:flex;gap:14px;align-items:baseline;padding:9px 14px;border-radius:6px;font-size:15px;
 border-left:8px solid}.bg96-verdict-line b{font-size:21px;white-space:nowrap}
.bg96-state-bad{background:#fde8e8;border-color:#c0002a;color:#7a0019}
.bg96-state-good{background:#e6f4e6;border-color:#2e8b2e;color:#1d5a1d}
.bg96-state-warn{background:#fff4dc;border-color:#d89200;color:#6b4a00}
.bg96-firmware{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:2px 16px;margin:8px 0 10px;font-size:12px}
.bg96-firmware div{display:flex;gap:6px;overflow:hidden;white-space:nowrap}.bg96-firmware span{color:#666}
.bg96-firmware b{overflow:hidden;text-overflow:ellipsis}
.bg96-verdict-grid{display:grid;grid-template-columns:minmax(0,610px) minmax(0,1fr);gap:22px;align-items:start}
.bg96-compact{font-size:12px;margin:0 0 8px;width:100%}.bg96-compact td,.bg96-compact th{padding:1px 6px}
td.bg96-n{text-align:right;font-variant-numeric:tabular-nums}td.bg96-nbad{color:#b00000;font-weight:bold}
.bg96-bar{display:flex;width:110px;height:10px;margin-top:3px;background:#eee;border-radius:2px;overflow:hidden}
.bg96-bar i{display:block;height:100%}.bg96-bar-pass{background:#4c9a4c}.bg96-bar-fail{background:#c0002a}
.bg96-bar-rest{background:#c8c8c8}
.bg96-failed-list{margin:0;padding-left:22px;font-size:12.5px;max-height:430px;overflow:auto}
.bg96-failed-list li{margin:0 0 4px}.bg96-failed-list li.bg96-obs{color:#555}
.bg96-errata-note,.bg96-baseline{font-size:12px}.bg96-baseline h4{margin:6px 0 2px}
.bg96-chart{margin:12px 0}.bg96-chart svg{max-width:100%;height:auto}
.bg96-verdict-tables{display:grid;grid-template-columns:minmax(0,1fr);gap:6px}
.bg96-failure{border:1px solid #e4a0a0;background:#fff6f6;border-radius:6px;padding:6px 12px;margin:6px 0 10px}
.bg96-failure h4{margin:4px 0}.bg96-failure dl{display:grid;grid-template-columns:110px 1fr;gap:4px 10px;margin:4px 0}
.bg96-failure dt{font-weight:bold;color:#7a0019}.bg96-failure dd{margin:0}.bg96-failure ul{margin:0;padding-left:18px}
.bg96-failure pre{white-space:pre-wrap;margin:4px 0;font-size:11.5px}
.bg96-msc,.bg96-rtx{margin:6px 0 12px}.bg96-msc figcaption,.bg96-rtx figcaption{font-weight:bold;font-size:12.5px;margin:2px 0}
.bg96-msc-svg,.bg96-rtx-svg{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:11px;background:#fff;
 border:1px solid #ddd;border-radius:4px;max-width:100%;height:auto}
.msc-lane rect{fill:#26456e}.msc-lane text{fill:#fff;font-weight:bold;font-family:sans-serif;font-size:12px}
.msc-lane line{stroke:#9aa9bd;stroke-width:1.5;stroke-dasharray:4 3}
.msc-time,.msc-gap{fill:#777}.msc-gap{font-style:italic}
.bg96-msc-svg g line{stroke-width:1.4}.bg96-msc-svg g text{text-anchor:middle}
.msc-cmd line{stroke:#1f4e79}.msc-cmd path,.msc-cmd text{fill:#1f4e79}
.msc-resp line{stroke:#6b6b6b}.msc-resp path,.msc-resp text{fill:#555}
.msc-urc line{stroke:#c46a00}.msc-urc path,.msc-urc text{fill:#b35f00;font-weight:bold}
.msc-bad line{stroke:#c0002a}.msc-bad path,.msc-bad text{fill:#c0002a;font-weight:bold}
.msc-dgram line{stroke:#2e7d32;stroke-width:2}.msc-dgram path,.msc-dgram text{fill:#1b5e20}
.msc-dtls line{stroke:#6a3d9a;stroke-width:2}.msc-dtls path,.msc-dtls text{fill:#4a2a70}
.msc-violation line{stroke:#c0002a;stroke-dasharray:5 3}.msc-violation text{fill:#c0002a}
rect.msc-badge{fill:#6a3d9a}text.msc-badge-text{fill:#fff;font-size:8.5px;font-family:sans-serif}
rect.msc-hl{fill:#fff1a8;stroke:#e0b800}
.msc-band rect{fill:#f1f1f1;stroke:#ddd}.msc-band text{fill:#666;font-family:sans-serif;font-size:11px}
.rtx-axis{stroke:#444}.rtx-grid{stroke:#eee}.rtx-tick,.rtx-label,.rtx-legend text{fill:#444}
.rtx-window.rtx-ok{fill:#cfe8cf;stroke:#4c9a4c}.rtx-window.rtx-bad{fill:#f8d4d4;stroke:#c0002a}
.rtx-copy.rtx-ok{fill:#2e7d32}.rtx-copy.rtx-bad{fill:#c0002a}.rtx-expected{stroke:#333;stroke-width:1.5}
.rtx-ind{fill:#fff;stroke:#c46a00;stroke-width:2}
.bg96-lazy{color:#666;font-style:italic}.bg96-lazy[data-state=done]{color:inherit;font-style:normal}
.bg96-folded summary{cursor:pointer;font-weight:bold;margin:6px 0}
#environment-header{margin-top:24px}
@media print{.controls,.filters,.summary__reload{display:none}}
</style>"""

def _table(headers: list[str], rows: list[tuple[str, list[str]]]) -> str:
    """rows: (tr class, cells already HTML)."""
    head = "".join(f"<th>{h(x)}</th>" for x in headers)
    body = "".join(f'<tr class="{cls}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
                   for cls, cells in rows)
    return f'<table class="bg96-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def traceability(rows: list[dict[str, Any]]) -> str:
    out = []
    for r in rows:
        status = r["status"]
        cls = {"uncovered": "bg96-row-uncovered", "failed": "bg96-row-failed", "passed": "bg96-row-passed"}.get(status, "")
        tests = "<br>".join(f"{h(t['nodeid'])} <b>{h(t['outcome'])}</b>" for t in r["tests"])
        rid = f"<code>{h(r['id'])}</code>" + (' <span class="bg96-bad">unknown id</span>' if r["unknown_id"] else "")
        status_html = f'<span class="bg96-bad">{h(status)}</span>' if status in ("failed", "uncovered") else h(status)
        out.append((cls, [rid, h(r["section"]), h(r["text"]), verdict_cell(r), judged_by_cell(r), status_html, tests]))
    covered = sum(1 for r in rows if r["status"] != "uncovered" and not r["unknown_id"])
    total = sum(1 for r in rows if not r["unknown_id"])
    return (f'<section id="traceability" class="bg96-section"><h2>Traceability matrix</h2>'
            f"<p>{covered} of {total} requirements checked by at least one test.</p>"
            + _table(["requirement", "section", "text", "verdict", "judged by", "status", "tests"], out) + "</section>")


#: test functions and assertions per function the matrix names; the rest are counted
SHOWN_TESTS = 3
SHOWN_ASSERTS = 2


def verdict_cell(row: dict[str, Any]) -> str:
    """The verdict class, and for an observation why the document leaves it open."""
    reason = row.get("silent_reason", "")
    return h(row["verdict"]) + (f'<br><small>silent: {h(reason)}</small>' if reason else "")


def judged_by_cell(row: dict[str, Any]) -> str:
    """The document's criterion where spec/ states one, then the assertions of the first tests."""
    judged = row.get("judged_by") or {}
    parts = [f"<i>{h(judged['criterion'])}</i>"] if judged.get("criterion") else []
    checks = judged.get("checks", [])
    for entry in checks[:SHOWN_TESTS]:
        name = entry["test"].rsplit("::", 1)[-1]
        asserts = "<br>".join(f"<code>{h(a)}</code>" for a in entry["asserts"][:SHOWN_ASSERTS])
        parts.append(f"<b>{h(name)}</b>: {asserts}")
    if len(checks) > SHOWN_TESTS:
        parts.append(f"<small>and {len(checks) - SHOWN_TESTS} more test(s)</small>")
    if not checks and row.get("tests") and row.get("verdict") in JUDGED_VALUES:
        parts.append('<span class="bg96-bad">no assertion on the module found</span>')
    return "<br>".join(parts)


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
    return ('<div id="bg96-sections">' + traceability(data["traceability"])
            + observations(data["observations"]) + errata(data["errata"])
            + response_times(data["response_times"]) + "</div>")

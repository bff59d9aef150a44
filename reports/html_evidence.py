"""One test's evidence as an HTML fragment for pytest-html's extras (rendered on the controller)."""
from __future__ import annotations

from typing import Any

from .failure import expected_and_seen
from .retransmission_chart import timeline
from .sequence_chart import sequence_chart
from .text import h
from .wire_label import datagram_label

PCAP_MIME = "application/vnd.tcpdump.pcap"


def _t(value: object) -> str:
    return f"{value:+.3f}" if isinstance(value, (int, float)) else ""


def _table(title: str, headers: list[str], rows: list[list[Any]], cls: str = "") -> str:
    head = "".join(f"<th>{h(x)}</th>" for x in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (f'<div class="bg96-evidence {cls}"><h4>{h(title)}</h4><table class="bg96-table">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


def transcript(entries: list[dict[str, Any]]) -> str:
    rows = [[_t(e.get("t")), "&rarr; DUT" if e.get("direction") == "tx" else "&larr; DUT",
             f"<code>{h(e.get('text'))}</code>"] for e in entries]
    return _table("AT transcript", ["t (s)", "dir", "bytes"], rows, "bg96-transcript")


def _options(options: list[dict[str, Any]]) -> str:
    return "<br>".join(f"{h(o['number'])} {h(o['name'])}: <code>{h(o['value'])}</code>" for o in options)


def datagrams(items: list[dict[str, Any]]) -> str:
    rows = []
    for i, d in enumerate(items, 1):
        m = d.get("message") or {}
        hexes = f"<pre>{h(_spaced(d.get('wire_hex', '')))}</pre>"
        if d.get("plaintext_hex"):
            hexes += f"<div>plaintext</div><pre>{h(_spaced(d['plaintext_hex']))}</pre>"
        records = "<br>".join(
            f"{h(r.get('content_type'))} v{h(r.get('version'))} e{h(r.get('epoch'))} "
            f"s{h(r.get('sequence'))} len {h(r.get('length'))}" for r in d.get("dtls_records", []))
        violations = "<br>".join(f'<span class="bg96-bad">{h(v)}</span>' for v in d.get("violations", []))
        rows.append([str(i), _t(d.get("t")), "&rarr; DUT" if d.get("direction") == "tx" else "&larr; DUT",
                     h(d.get("peer")), f"<code>{h(datagram_label(d))}</code>", h(m.get("type")), h(m.get("code")), h(m.get("mid")),
                     f"<code>{h(m.get('token'))}</code>", _options(m.get("options", [])),
                     f"<code>{h(m.get('payload'))}</code>" if m else "(not CoAP)", records, violations, hexes])
    headers = ["#", "t (s)", "dir", "peer", "info", "type", "code", "MID", "token", "options", "payload",
               "DTLS records", "violations", "hex"]
    return _table("Datagrams (reference server)", headers, rows, "bg96-datagrams")


def _spaced(hexstr: str) -> str:
    pairs = [hexstr[i:i + 2] for i in range(0, len(hexstr), 2)]
    return "\n".join(" ".join(pairs[i:i + 16]) for i in range(0, len(pairs), 16))


def pcap(info: dict[str, Any] | None) -> str:
    if not info:
        return ""
    name = info.get("name") or "capture.pcap"
    if info.get("base64"):
        return (f'<div class="bg96-evidence bg96-pcap"><a class="bg96-pcap-link" download="{h(name)}" '
                f'href="data:{PCAP_MIME};base64,{info["base64"]}">Download capture {h(name)} '
                f'({h(info.get("size"))} bytes)</a></div>')
    why = info.get("error") or f"{info.get('size')} bytes, too large to embed"
    return f'<div class="bg96-evidence bg96-pcap">Capture at <code>{h(info.get("path"))}</code> ({h(why)})</div>'


def timings(items: list[dict[str, Any]]) -> str:
    rows = []
    for t in items:
        over = t["elapsed"] > t["maximum"]
        cls = "bg96-bad" if over else "bg96-good"
        rows.append([h(t["command"]), f"<code>{h(t['line'])}</code>",
                     f'<span class="{cls}">{t["elapsed"] * 1000:.1f}</span>', f"{t['maximum'] * 1000:.0f}"])
    return _table("Response times", ["command", "line", "elapsed (ms)", "maximum (ms)"], rows, "bg96-timings")


def observations(items: list[dict[str, Any]]) -> str:
    rows = [[f"<code>{h(o['key'])}</code>", h(o["value"]), h(o.get("note"))] for o in items]
    return _table("Observations", ["key", "value", "note"], rows, "bg96-observations")


def _outside_call(phase: object) -> bool:
    return phase in ("setup", "teardown")


def folded(ev: dict[str, Any]) -> str:
    """Set-up and teardown steps (the client reset, the bring-up, the close) under their own heading."""
    entries = [e for e in ev.get("transcript", []) if _outside_call(e.get("phase"))]
    steps = [t for t in ev.get("timings", []) if _outside_call(t.get("phase"))]
    if not entries and not steps:
        return ""
    inner = (timings(steps) if steps else "") + (transcript(entries) if entries else "")
    return (f'<details class="bg96-evidence bg96-folded"><summary>Set-up and teardown: {len(steps)} command(s), '
            f"{len(entries)} transcript chunk(s)</summary>{inner}</details>")


def evidence_html(ev: dict[str, Any], requirements: list[str] | None = None, longrepr: str = "",
                  outcome: str = "") -> str:
    """One test's evidence in the order a reviewer reads it.

    A failure first, in the document's terms; then the pictures (sequence chart, retransmission
    timeline); then notes, observations and tables; then the decoded datagrams and the test's own
    transcript and response times; set-up and teardown steps last, folded.
    """
    parts = []
    pointer = None
    if outcome in ("failed", "error") and longrepr:
        block, pointer = expected_and_seen(list(requirements or []), longrepr, ev, outcome)
        parts.append(block)
    parts.append(sequence_chart(ev, pointer.key if pointer else None))
    parts += [timeline(t, ev) for t in ev.get("tables", [])]
    if ev.get("notes"):
        parts.append('<div class="bg96-evidence"><h4>Notes</h4><ul>'
                     + "".join(f"<li>{h(n)}</li>" for n in ev["notes"]) + "</ul></div>")
    if ev.get("observations"):
        parts.append(observations(ev["observations"]))
    for t in ev.get("tables", []):
        parts.append(_table(t["title"], t["headers"], [[h(c) for c in row] for row in t["rows"]]))
    if ev.get("datagrams"):
        parts.append(datagrams(ev["datagrams"]))
    own = [e for e in ev.get("transcript", []) if not _outside_call(e.get("phase"))]
    if own:
        parts.append(transcript(own))
    own_times = [t for t in ev.get("timings", []) if not _outside_call(t.get("phase"))]
    if own_times:
        parts.append(timings(own_times))
    parts.append(folded(ev))
    parts.append(pcap(ev.get("pcap")))
    return "".join(p for p in parts if p)

"""The retransmission timeline: each copy's offset against its RFC 7252 window, drawn as SVG.

Reads what the retransmission tests put in their evidence: a table with ``window low`` and
``window high`` columns and the measured ``offset s`` (or ``measured s``) per copy. Where the
transcript holds ``+QCOAPIND`` URCs, each one's arrival after the first copy is drawn too: the
module's own clock of the same retransmissions, as the host saw it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .text import h

IND = re.compile(r"^\+QCOAPIND: *\d+,\d+,(\d+),(\d+),")
WIDTH, LEFT, ROW = 1000, 120, 26


@dataclass(frozen=True)
class Copy:
    label: str
    offset: float
    low: float
    high: float
    expected: float | None
    holds: bool
    ind: float | None = None  # +QCOAPIND arrival after the first copy


def _float(value: object) -> float | None:
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def copies(table: dict[str, Any]) -> list[Copy]:
    """The table's copies with a measured time and a window (the fitted-T0 row is left out)."""
    headers = [str(x) for x in table.get("headers", [])]
    col = {name: i for i, name in enumerate(headers)}
    measured = col.get("offset s", col.get("measured s"))
    if measured is None or "window low" not in col or "window high" not in col:
        return []
    out = []
    for n, row in enumerate(table.get("rows", []), start=1):
        first = str(row[0]) if row else ""
        if first.startswith("T0"):
            continue
        values = [_float(row[i]) if i < len(row) else None for i in (measured, col["window low"], col["window high"])]
        if None in values:
            continue
        offset, low, high = values
        low = max(0.0, low)  # a window around a tiny fitted T0 can start before the first copy
        expected = _float(row[col["expected offset s"]]) if "expected offset s" in col else None
        label = f"copy {first}" if "copy" in col else f"interval {n}"
        out.append(Copy(label, offset, low, high, expected, low <= offset <= high))
    return out


def ind_offsets(ev: dict[str, Any]) -> dict[int, float]:
    """retry_times -> +QCOAPIND arrival after the first copy of its message on the wire."""
    first: dict[int, float] = {}
    for d in ev.get("datagrams") or []:
        mid = (d.get("message") or {}).get("mid")
        if d.get("direction") == "rx" and isinstance(mid, int) and d.get("t") is not None:
            first.setdefault(mid, float(d["t"]))
    out = {}
    for line in ev.get("lines") or []:
        m = IND.match(str(line.get("text", "")))
        if m and line.get("t") is not None and int(m.group(1)) in first:
            out.setdefault(int(m.group(2)), float(line["t"]) - first[int(m.group(1))])
    return out


def timeline(table: dict[str, Any], ev: dict[str, Any]) -> str:
    """One ``<figure>`` per retransmission table ("" for any other table)."""
    items = copies(table)
    if not items:
        return ""
    inds = ind_offsets(ev) if "copy" in [str(x) for x in table.get("headers", [])] else {}
    items = [Copy(c.label, c.offset, c.low, c.high, c.expected, c.holds,
                  inds.get(int(c.label.split()[-1])) if c.label.split()[-1].isdigit() else None) for c in items]
    span = max(max(c.high, c.offset, c.ind or 0.0) for c in items) * 1.06 or 1.0
    scale = (WIDTH - LEFT - 20) / span
    x = lambda v: LEFT + v * scale  # noqa: E731
    height = 40 + ROW * len(items) + 30
    ticks = _ticks(span)
    parts = [f'<line class="rtx-axis" x1="{LEFT}" y1="{height - 28}" x2="{WIDTH - 10}" y2="{height - 28}"/>']
    for v in ticks:
        parts.append(f'<line class="rtx-grid" x1="{x(v):.1f}" y1="30" x2="{x(v):.1f}" y2="{height - 28}"/>'
                     f'<text class="rtx-tick" x="{x(v):.1f}" y="{height - 14}" text-anchor="middle">{v:g}</text>')
    for i, c in enumerate(items):
        y = 40 + i * ROW
        state = "ok" if c.holds else "bad"
        parts.append(f'<text class="rtx-label" x="{LEFT - 8}" y="{y + 4}" text-anchor="end">{h(c.label)}</text>'
                     f'<rect class="rtx-window rtx-{state}" x="{x(c.low):.1f}" y="{y - 8}" '
                     f'width="{max(2.0, (c.high - c.low) * scale):.1f}" height="16" rx="3">'
                     f'<title>window {c.low:.4f} to {c.high:.4f} s</title></rect>')
        if c.expected is not None:
            parts.append(f'<line class="rtx-expected" x1="{x(c.expected):.1f}" y1="{y - 10}" '
                         f'x2="{x(c.expected):.1f}" y2="{y + 10}"/>')
        parts.append(f'<circle class="rtx-copy rtx-{state}" cx="{x(c.offset):.1f}" cy="{y}" r="5">'
                     f'<title>{h(c.label)}: {c.offset:.4f} s on the wire '
                     f'({"inside" if c.holds else "OUTSIDE"} {c.low:.4f}-{c.high:.4f} s)</title></circle>')
        if c.ind is not None:
            parts.append(f'<path class="rtx-ind" d="M{x(c.ind):.1f},{y - 6} l6,6 l-6,6 l-6,-6 z">'
                         f'<title>+QCOAPIND retry {h(c.label.split()[-1])}: {c.ind:.4f} s</title></path>')
    legend = ('<g class="rtx-legend" transform="translate(120,16)"><rect class="rtx-window rtx-ok" x="0" y="-9" '
              'width="22" height="11" rx="2"/><text x="28" y="0">RFC 7252 window (with the rig tolerance)</text>'
              '<circle class="rtx-copy rtx-ok" cx="330" cy="-4" r="5"/><text x="340" y="0">copy on the wire</text>'
              '<line class="rtx-expected" x1="470" y1="-10" x2="470" y2="2"/><text x="478" y="0">expected</text>'
              + ('<path class="rtx-ind" d="M570,-10 l6,6 l-6,6 l-6,-6 z"/><text x="582" y="0">+QCOAPIND at the host</text>'
                 if any(c.ind is not None for c in items) else "") + "</g>")
    svg = (f'<svg class="bg96-rtx-svg" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="retransmission timeline">{legend}{"".join(parts)}'
           f'<text class="rtx-tick" x="{WIDTH - 10}" y="{height - 2}" text-anchor="end">seconds after the first copy</text></svg>')
    bad = sum(1 for c in items if not c.holds)
    verdict = f'<span class="bg96-bad">{bad} outside</span>' if bad else '<span class="bg96-good">all inside</span>'
    return (f'<figure class="bg96-rtx"><figcaption>Retransmission timeline: {h(table.get("title"))} '
            f'({len(items)} copies, {verdict})</figcaption>{svg}</figure>')


def _ticks(span: float) -> list[float]:
    """About eight round tick values from 0 to span."""
    raw = span / 8
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 10 ** -len(str(int(1 / raw)))
    step = min((m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw), default=raw)
    return [round(i * step, 6) for i in range(int(span / step) + 1)]

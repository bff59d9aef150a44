"""A message sequence chart of one test, drawn directly as inline SVG.

Three lanes (host, module, server) on one time axis: the AT lines and URCs between host and
module, the datagrams between module and server (labelled as in Wireshark's info column, DTLS
records marked). One row per event, its offset on the left, so a 60 s back-off and a 2 ms
answer are both readable; set-up and teardown lines outside the exchange are summarised.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import spec

from .text import h
from .wire_label import datagram_label, is_dtls

LANES = (("host", "Host"), ("module", "Module (DUT)"), ("server", "Reference server"))
X = {"host": 150, "module": 560, "server": 970}
WIDTH, ROW, TOP, MAX_ROWS = 1090, 19, 46, 160
LABEL_CHARS = 62  # what fits between two lanes at 11 px monospace
URC_PREFIXES = tuple(u.name + ":" for u in spec.URCS)
FINALS_BAD = ("ERROR", "+CME ERROR")


@dataclass(frozen=True)
class Event:
    t: float
    source: str  # lane
    target: str
    label: str
    kind: str  # cmd resp urc bad dgram dtls
    phase: str
    key: tuple[str, int]  # ("line"|"datagram", index) to highlight the failure's evidence
    bad: bool = False


def _line_kind(line: dict[str, Any]) -> str:
    text = str(line.get("text", ""))
    if line.get("direction") == "tx":
        return "cmd"
    if text.startswith(FINALS_BAD):
        return "bad"
    return "urc" if text.startswith(URC_PREFIXES) else "resp"


def events(ev: dict[str, Any]) -> list[Event]:
    """Every AT line (echoes left out) and datagram of the evidence, in time order."""
    out = []
    for i, line in enumerate(ev.get("lines") or []):
        if line.get("echo"):
            continue
        tx = line.get("direction") == "tx"
        out.append(Event(float(line.get("t") or 0.0), "host" if tx else "module", "module" if tx else "host",
                         str(line.get("text", "")), _line_kind(line), str(line.get("phase") or ""), ("line", i)))
    for i, d in enumerate(ev.get("datagrams") or []):
        to_server = d.get("direction") == "rx"  # rx: received by the server
        out.append(Event(float(d.get("t") or 0.0), "module" if to_server else "server",
                         "server" if to_server else "module", datagram_label(d),
                         "dtls" if is_dtls(d) else "dgram", str(d.get("phase") or ""), ("datagram", i),
                         bool(d.get("violations"))))
    return sorted(out, key=lambda e: e.t)


def window(evs: list[Event]) -> tuple[int, int]:
    """[start, end) of the events to draw: the test's own steps and every datagram.

    Starts at the earlier of the first call-phase event and the last host line before the first
    datagram (so a DTLS handshake shows with the AT+QCOAPOPEN that started it).
    """
    if not evs:
        return 0, 0
    inside = [i for i, e in enumerate(evs) if e.phase in ("call", "") or e.kind in ("dgram", "dtls")]
    if not inside:
        return 0, len(evs)
    start, end = inside[0], inside[-1] + 1
    first_dgram = next((i for i, e in enumerate(evs) if e.kind in ("dgram", "dtls")), None)
    if first_dgram is not None:
        host = [i for i in range(first_dgram) if evs[i].kind == "cmd"]
        if host:
            start = min(start, host[-1])
    return start, end


def _clip(text: str, n: int = LABEL_CHARS) -> str:
    return text if len(text) <= n else text[:n - 1] + "\u2026"


def _arrow(y: float, e: Event, highlight: bool) -> str:
    x1, x2 = X[e.source], X[e.target]
    cls = f"msc-{e.kind}" + (" msc-violation" if e.bad else "")
    mid = (x1 + x2) / 2
    badge, label = "", e.label
    if e.kind == "dtls":
        left = min(x1, x2) + 6
        badge = (f'<rect class="msc-badge" x="{left}" y="{y - 13}" width="30" height="11" rx="2"/>'
                 f'<text class="msc-badge-text" x="{left + 15}" y="{y - 4.5}" text-anchor="middle">DTLS</text>')
        label = label.removeprefix("DTLS: ")
    mark = f'<rect class="msc-hl" x="72" y="{y - 15}" width="{WIDTH - 76}" height="{ROW}" rx="3"/>' if highlight else ""
    d = 1 if x2 > x1 else -1
    head = f'<path d="M{x2},{y} l{-8 * d},-4 l0,8 z"/>'
    shown = _clip(label, LABEL_CHARS - 6 if badge else LABEL_CHARS)
    tip = f"<title>{h(e.label)}</title>" if shown != label else ""  # the whole label where it is cut
    return (f'<g class="{cls}" data-key="{e.key[0]}-{e.key[1]}">{mark}{tip}'
            f'<line x1="{x1}" y1="{y}" x2="{x2 - 7 * d}" y2="{y}"/>{head}'
            f'{badge}<text x="{mid + (10 if badge else 0)}" y="{y - 4}">{h(shown)}</text></g>')


def _band(y: float, text: str) -> str:
    return (f'<g class="msc-band"><rect x="72" y="{y - 13}" width="{WIDTH - 76}" height="{ROW - 3}" rx="3"/>'
            f'<text x="{WIDTH / 2}" y="{y - 1}" text-anchor="middle">{h(text)}</text></g>')


def _summary(evs: list[Event], heading: str) -> str:
    lines = [e for e in evs if e.kind not in ("dgram", "dtls")]
    commands = [e.label.split("=")[0].split("?")[0] for e in lines if e.kind == "cmd"]
    names = ", ".join(dict.fromkeys(commands)) or "responses"
    return f"{heading}: {len(lines)} AT lines not drawn ({_clip(names, 70)}); see Set-up and teardown below"


def sequence_chart(ev: dict[str, Any], highlight: tuple[str, int] | None = None,
                   title: str = "Message sequence") -> str:
    """The chart as a ``<figure>`` with inline SVG ("" when the test put no datagram on the wire)."""
    if not ev.get("datagrams"):
        return ""
    evs = events(ev)
    start, end = window(evs)
    shown = evs[start:end]
    rows: list[str] = []
    y = TOP + 14
    if start:
        rows.append(_band(y, _summary(evs[:start], "set-up")))
        y += ROW
    previous: float | None = None
    for e in shown[:MAX_ROWS]:
        if previous is not None and e.t - previous >= 1.0:
            rows.append(f'<text class="msc-gap" x="{X["module"]}" y="{y - 3}" text-anchor="middle">'
                        f'\u22ee {e.t - previous:.2f} s later</text>')
            y += ROW - 4
        rows.append(f'<text class="msc-time" x="66" y="{y - 4}" text-anchor="end">{e.t:+.3f}</text>'
                    + _arrow(y, e, e.key == highlight))
        previous = e.t
        y += ROW
    if len(shown) > MAX_ROWS:
        rows.append(_band(y, f"{len(shown) - MAX_ROWS} more events not drawn: see the transcript and datagrams"))
        y += ROW
    if end < len(evs):
        rows.append(_band(y, _summary(evs[end:], "teardown")))
        y += ROW
    height = y + 4
    heads = "".join(
        f'<g class="msc-lane"><rect x="{X[k] - 80}" y="6" width="160" height="24" rx="4"/>'
        f'<text x="{X[k]}" y="22" text-anchor="middle">{h(label)}</text>'
        f'<line x1="{X[k]}" y1="30" x2="{X[k]}" y2="{height}"/></g>' for k, label in LANES)
    count = sum(1 for e in shown if e.kind in ("dgram", "dtls"))
    svg = (f'<svg class="bg96-msc-svg" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{h(title)}">'
           f'<text class="msc-time" x="66" y="22" text-anchor="end">t (s)</text>{heads}{"".join(rows)}</svg>')
    return (f'<figure class="bg96-msc"><figcaption>{h(title)}: {count} datagram(s), '
            f'{len(shown) - count} AT line(s); offsets in seconds from the first event</figcaption>{svg}</figure>')

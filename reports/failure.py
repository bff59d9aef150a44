"""A failed test in the document's terms: the requirement, what was expected, what was seen, and
the line or datagram of the evidence that shows it; read before any table."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import spec

from .retransmission_chart import copies
from .text import h
from .wire_label import datagram_label

LOCATION = re.compile(r"^(\S+\.py):(\d+): (\w+)$", re.MULTILINE)
NOT_EVIDENCE = ("OK", "> ")


def error_lines(longrepr: str) -> list[str]:
    """pytest's ``E`` lines (the assertion and its explanation), without the ``E`` column."""
    return [ln[1:].strip() for ln in longrepr.splitlines() if ln.startswith("E ") or ln == "E"]


def reason(longrepr: str) -> str:
    """One line: the assertion message (``AssertionError: `` dropped), else the last line."""
    lines = [ln for ln in error_lines(longrepr) if ln]
    if not lines:
        rest = [ln.strip() for ln in longrepr.strip().splitlines() if ln.strip()]
        return rest[-1][:200] if rest else ""
    first = re.sub(r"^(AssertionError|Failed|[A-Za-z]+Error): ?", "", lines[0])
    return (first or lines[0])[:200]


@dataclass(frozen=True)
class Pointer:
    """The piece of evidence that shows the failure."""

    key: tuple[str, int]  # ("line" | "datagram", index), as the sequence chart keys its rows
    text: str
    why: str


def late_copy(ev: dict[str, Any]) -> Pointer | None:
    """The first retransmission outside its RFC 7252 window (the copies of the most repeated MID)."""
    by_mid: dict[object, list[int]] = {}
    for i, d in enumerate(ev.get("datagrams") or []):
        if d.get("direction") == "rx" and d.get("message"):
            by_mid.setdefault(d["message"].get("mid"), []).append(i)
    sent = max(by_mid.values(), key=len, default=[])
    for table in ev.get("tables") or []:
        for n, c in enumerate(copies(table), start=1):
            if not c.holds and n < len(sent):
                d = ev["datagrams"][sent[n]]
                return Pointer(("datagram", sent[n]), f"{c.label}: {datagram_label(d)}",
                               f"{c.offset:.4f} s after the first copy, outside its window "
                               f"{c.low:.4f}-{c.high:.4f} s; see the retransmission timeline")
    return None


def pointer(ev: dict[str, Any], longrepr: str) -> Pointer | None:
    """A datagram the server flagged, a copy outside its window, a line the assertion quotes, else
    the module's last line."""
    for i, d in enumerate(ev.get("datagrams") or []):
        if d.get("violations"):
            return Pointer(("datagram", i), datagram_label(d), "; ".join(d["violations"]))
    late = late_copy(ev)
    if late is not None:
        return late
    message = "\n".join(error_lines(longrepr))
    lines = list(enumerate(ev.get("lines") or []))
    call = [(i, ln) for i, ln in lines if ln.get("phase") in ("call", "") and not ln.get("echo")] or lines
    quoted = [(i, ln) for i, ln in call if len(ln["text"]) >= 4 and ln["text"] not in NOT_EVIDENCE
              and ln["text"].strip() in message]
    if quoted:
        i, ln = quoted[-1]
        return Pointer(("line", i), ln["text"], "quoted by the assertion")
    answers = [(i, ln) for i, ln in call if ln.get("direction") == "rx" and ln["text"] not in NOT_EVIDENCE]
    if answers:
        i, ln = answers[-1]
        return Pointer(("line", i), ln["text"], "the module's last line in the test")
    return None


def expected_and_seen(requirements: list[str], longrepr: str, ev: dict[str, Any] | None,
                      outcome: str = "failed") -> tuple[str, Pointer | None]:
    """The block's HTML and the pointer (for the chart's highlight)."""
    known = [spec.REQUIREMENTS_BY_ID[r] for r in requirements if r in spec.REQUIREMENTS_BY_ID]
    ids = ", ".join(f"<code>{h(r)}</code>" + (f" ({h(spec.REQUIREMENTS_BY_ID[r].section)})"
                                              if r in spec.REQUIREMENTS_BY_ID else " (not in spec/)")
                    for r in requirements) or "(the test names no requirement)"
    expected = "".join(f"<li>{h(r.text)}</li>" for r in known) or "<li>(no requirement text)</li>"
    errors = error_lines(longrepr)
    seen = "\n".join(errors[:8]) if errors else longrepr.strip()[-600:]
    where = LOCATION.findall(longrepr)
    at = f' <span class="bg96-muted">at {h(where[-1][0])}:{h(where[-1][1])}</span>' if where else ""
    ptr = pointer(ev or {}, longrepr)
    shown = (f'<dt>Shown by</dt><dd><code>{h(ptr.text)}</code> <span class="bg96-muted">({h(ptr.why)}; '
             f"highlighted in the chart)</span></dd>") if ptr else ""
    title = "What was expected and what was seen" + (" (set-up or teardown error)" if outcome == "error" else "")
    html = (f'<div class="bg96-failure"><h4>{h(title)}</h4><dl>'
            f"<dt>Requirement</dt><dd>{ids}</dd>"
            f"<dt>Expected</dt><dd><ul>{expected}</ul></dd>"
            f'<dt>Observed</dt><dd><b>{h(reason(longrepr))}</b>{at}<pre>{h(seen)}</pre></dd>{shown}</dl></div>')
    return html, ptr

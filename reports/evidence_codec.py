"""Evidence and test markers as plain dicts, so they survive pytest-xdist's report serialisation.

Workers (or the single in-process run) call :func:`test_meta` and :func:`serialise_evidence` in
``pytest_runtest_makereport``; the result rides on the report as a custom attribute and the
controller renders it. Only str/int/float/bool/None/list/dict go in (what execnet can carry).
"""
from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any, Callable

import pytest

import spec
from spec import Verdict

from .text import printable

PCAP_LIMIT = 2 * 1024 * 1024  # bytes embedded in the report; larger captures are linked by path
_VERDICT_RANK = {Verdict.CONFORMANCE.value: 3, Verdict.RFC7252.value: 2, Verdict.OBSERVATION.value: 1}
_MTYPES = {0: "CON", 1: "NON", 2: "ACK", 3: "RST"}


def strictest(verdicts: list[str]) -> str:
    """conformance > rfc7252 > observation; "" when nothing is known."""
    known = [v for v in verdicts if v in _VERDICT_RANK]
    return max(known, key=_VERDICT_RANK.__getitem__) if known else ""


def test_meta(item: pytest.Item) -> dict[str, Any]:
    """Requirement ids, verdict class and plugtest ids from the item's markers."""
    reqs: list[str] = []
    for m in item.iter_markers("req"):
        reqs.extend(str(a) for a in m.args if str(a) not in reqs)
    tds: list[str] = []
    for m in item.iter_markers("td"):
        tds.extend(str(a) for a in m.args if str(a) not in tds)
    marker = item.get_closest_marker("verdict")
    if marker is not None and marker.args:
        verdict = str(marker.args[0])
    else:
        verdict = strictest([spec.REQUIREMENTS_BY_ID[r].verdict.value
                             for r in reqs if r in spec.REQUIREMENTS_BY_ID])
    return {"requirements": reqs, "verdict": verdict, "td": tds}


def _time0(evidence: Any) -> float | None:
    """The first timestamp of transcript or capture: both use time.monotonic(), so one zero."""
    times = [getattr(e, "time", None) for e in getattr(evidence, "transcript", [])]
    times += [getattr(d, "time", None) for d in getattr(evidence, "datagrams", [])]
    numbers = [t for t in times if isinstance(t, (int, float))]
    return min(numbers) if numbers else None


def _rel(t: object, t0: float | None) -> float | None:
    return round(float(t) - t0, 6) if isinstance(t, (int, float)) and t0 is not None else None


def _option_value(number: int, value: bytes) -> str:
    opt = spec.OPTIONS_BY_NUMBER.get(number)
    fmt = getattr(getattr(opt, "format", None), "value", "")
    if fmt == "string":
        return printable(value)
    if fmt == "unsigned integer":
        return str(int.from_bytes(value, "big"))
    if fmt == "empty":
        return ""
    return value.hex()


def _message(msg: Any) -> dict[str, Any] | None:
    if msg is None:
        return None
    options = []
    for entry in getattr(msg, "options", None) or []:
        try:
            number, value = int(entry[0]), bytes(entry[1])
        except (TypeError, ValueError, IndexError):
            continue
        opt = spec.OPTIONS_BY_NUMBER.get(number)
        options.append({"number": number, "name": getattr(opt, "name", "?"),
                        "value": _option_value(number, value)})
    mtype = getattr(msg, "mtype", None)
    token = getattr(msg, "token", b"") or b""
    payload = getattr(msg, "payload", b"") or b""
    return {
        "type": _MTYPES.get(mtype, str(mtype)) if mtype is not None else "",
        "code": str(getattr(msg, "code_text", "") or ""),
        "mid": getattr(msg, "mid", None),
        "token": bytes(token).hex(),
        "options": options,
        "payload": printable(bytes(payload)),
        "payload_length": len(payload),
    }


def _datagram(d: Any, t0: float | None) -> dict[str, Any]:
    peer = getattr(d, "peer", None)
    peer_text = f"{peer[0]}:{peer[1]}" if isinstance(peer, (tuple, list)) and len(peer) >= 2 else str(peer or "")
    wire = bytes(getattr(d, "wire", b"") or b"")
    plaintext = getattr(d, "plaintext", None)
    records = [{
        "content_type": getattr(r, "content_type", None),
        "version": str(getattr(r, "version", "")),
        "epoch": getattr(r, "epoch", None),
        "sequence": getattr(r, "sequence", None),
        "length": getattr(r, "length", None),
    } for r in getattr(d, "dtls_records", None) or []]
    return {
        "direction": str(getattr(d, "direction", "")),
        "t": _rel(getattr(d, "time", None), t0),
        "peer": peer_text,
        "message": _message(getattr(d, "message", None)),
        "violations": [str(v) for v in getattr(d, "violations", None) or []],
        "wire_hex": wire.hex(),
        "plaintext_hex": bytes(plaintext).hex() if plaintext is not None and plaintext != wire else None,
        "dtls_records": records,
    }


def _pcap(path: object, limit: int) -> dict[str, Any] | None:
    if not path:
        return None
    p = Path(str(path))
    info: dict[str, Any] = {"path": str(p), "name": p.name, "size": None, "base64": None}
    try:
        info["size"] = p.stat().st_size
        if info["size"] <= limit:
            info["base64"] = base64.b64encode(p.read_bytes()).decode("ascii")
    except OSError as exc:
        info["error"] = str(exc)
    return info


def _cell(value: object) -> object:
    if isinstance(value, bytes):
        return printable(value)
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


def _phase_of(evidence: Any) -> Callable[[object], str]:
    phase_at = getattr(evidence, "phase_at", None)
    if not callable(phase_at) or not getattr(evidence, "phases", None):
        return lambda t: ""
    return lambda t: str(phase_at(t)) if isinstance(t, (int, float)) else ""


def at_lines(transcript: list[Any], t0: float | None, phase: Callable[[object], str]) -> list[dict[str, Any]]:
    """The transcript's chunks as lines (a line is stamped with the chunk that ended it).

    An rx chunk may hold several lines or a piece of one (byte-at-a-time delivery); the sequence
    chart wants one arrow per command, response line or URC. An ``rx`` line equal to the last
    ``tx`` line is the module's echo and is marked so.
    """
    lines: list[dict[str, Any]] = []
    pending = {"tx": b"", "rx": b""}
    last_tx = b""
    for e in transcript:
        direction = str(getattr(e, "direction", ""))
        data = bytes(getattr(e, "data", b"") or b"")
        when = getattr(e, "time", None)
        buf = pending.get(direction, b"") + data
        parts = re.split(rb"\r\n|\r|\n", buf)
        buf = parts.pop()
        if buf in (b"> ", b">") or direction == "tx":
            parts.append(buf)  # the data prompt ends no line; the host writes whole lines and data
            buf = b""
        pending[direction] = buf
        for raw in parts:
            if not raw.strip():
                continue
            echo = direction == "rx" and raw.strip() == last_tx.strip()
            if direction == "tx":
                last_tx = raw
            lines.append({"t": _rel(when, t0), "direction": direction, "text": printable(raw),
                          "phase": phase(when), "echo": echo})
    return lines


def _timings(evidence: Any, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each timing with its phase: its own, else the phase of the command line it was measured on."""
    sent = [ln for ln in lines if ln["direction"] == "tx"]
    cursor = 0
    out = []
    for t in getattr(evidence, "timings", None) or []:
        line = printable(getattr(t, "line", ""))
        phase = str(getattr(t, "phase", "") or "")
        command = line.split(" -> ")[0].strip()
        match = next((i for i in range(cursor, len(sent)) if sent[i]["text"].strip() == command), None)
        if match is not None:
            cursor = match + 1
            phase = phase or sent[match]["phase"]
        out.append({"command": str(getattr(t, "command", "")), "line": line, "phase": phase,
                    "elapsed": float(getattr(t, "elapsed", 0.0)), "maximum": float(getattr(t, "maximum", 0.0))})
    return out


def serialise_evidence(evidence: Any, pcap_limit: int = PCAP_LIMIT) -> dict[str, Any] | None:
    """The evidence of one test as plain data (None when the test has none)."""
    if evidence is None:
        return None
    t0 = _time0(evidence)
    phase = _phase_of(evidence)
    transcript = getattr(evidence, "transcript", None) or []
    lines = at_lines(transcript, t0, phase)
    return {
        "transcript": [{"t": _rel(getattr(e, "time", None), t0),
                        "direction": str(getattr(e, "direction", "")),
                        "text": printable(getattr(e, "data", b"")),
                        "phase": phase(getattr(e, "time", None))}
                       for e in transcript],
        "lines": lines,
        "phases": [{"name": str(name), "t": _rel(start, t0)} for name, start in getattr(evidence, "phases", None) or []],
        "datagrams": [_datagram(d, t0) | {"phase": phase(getattr(d, "time", None))}
                      for d in getattr(evidence, "datagrams", None) or []],
        "pcap": _pcap(getattr(evidence, "pcap", None), pcap_limit),
        "timings": _timings(evidence, lines),
        "observations": [{"key": str(getattr(o, "key", "")), "value": str(getattr(o, "value", "")),
                          "note": str(getattr(o, "note", ""))}
                         for o in getattr(evidence, "observations", None) or []],
        "tables": [{"title": str(getattr(t, "title", "")),
                    "headers": [str(x) for x in getattr(t, "headers", ())],
                    "rows": [[_cell(c) for c in row] for row in getattr(t, "rows", None) or []]}
                   for t in getattr(evidence, "tables", None) or []],
        "notes": [str(n) for n in getattr(evidence, "notes", None) or []],
    }


def serialise_run_info(info: object) -> dict[str, str]:
    """The run-wide facts a worker knows (module, revision, IMEI, rig, ...), as strings."""
    if not isinstance(info, dict):
        return {}
    return {str(k): str(v) for k, v in info.items() if v is not None}

"""3.1.2 on the raw bytes of the AT port: CR LF framing of every line, and OK before a result URC.

Both read the transcript (the bytes as they arrived), never the channel's parsed lines: a reader
that tolerates a bare CR or LF must not make a module that sends one conform.
"""
from __future__ import annotations

import re
from typing import Iterable

from dut import BG96

CRLF = b"\r\n"
#: a +QCOAPRECV header line: its payload (any bytes, <payload_length> of them) follows the CR LF
RECV = re.compile(rb"\+QCOAPRECV: [^\r\n]*?,(\d+)\r\n")
PROMPT = b"\r\n> "


def received(module: BG96, mark: int) -> bytes:
    """Every byte the module sent since the transcript ``mark``."""
    return b"".join(e.data for e in module.at.transcript.since(mark) if e.direction == "rx")


def _without_payloads(rx: bytes) -> bytes:
    """The stream with each +QCOAPRECV payload (not a line: any bytes) and each '> ' prompt removed."""
    out, i = bytearray(), 0
    for m in RECV.finditer(rx):
        if m.start() < i:
            continue
        out += rx[i:m.end()]
        i = min(len(rx), m.end() + int(m.group(1)))
    out += rx[i:]
    return bytes(out).replace(PROMPT, CRLF)


def framing_problems(rx: bytes) -> list[str]:
    """Why ``rx`` is not a sequence of <CR><LF><line><CR><LF> (3.1.2); [] when it is.

    A block of lines separated by a single CR LF (an information response printed as one block)
    is framed too; what is not: a bare LF, a bare CR, a line not preceded by CR LF.
    """
    text = _without_payloads(rx)
    problems = []
    for i, byte in enumerate(text):
        if byte == 0x0A and (i == 0 or text[i - 1] != 0x0D):
            problems.append(f"bare LF at byte {i}: {text[max(0, i - 24):i + 8]!r}")
        if byte == 0x0D and i + 1 < len(text) and text[i + 1] != 0x0A:
            problems.append(f"bare CR at byte {i}: {text[max(0, i - 24):i + 8]!r}")
    if text and not text.startswith(CRLF):
        problems.append(f"the first line does not start with <CR><LF>: {text[:32]!r}")
    return problems[:10]


def order_problems(rx: bytes, first: bytes, then: Iterable[bytes]) -> list[str]:
    """``first`` (a framed final result, e.g. OK) must come before each of ``then`` (URC prefixes)."""
    at = rx.find(CRLF + first + CRLF)
    problems = []
    for prefix in then:
        urc = rx.find(prefix)
        if urc < 0:
            problems.append(f"{prefix.decode()} never came")
        elif at < 0 or urc < at:
            problems.append(f"{prefix.decode()} came before {first.decode()} (3.3.2/3.3.6: OK, then the URC)")
    return problems

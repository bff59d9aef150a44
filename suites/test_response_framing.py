"""3.1.2 framing: every byte the module sends for a command line is a framed response.

A module that echoes, or adds stray bytes, still answers each test form with the right lines
(``test_command_forms.py`` compares the lines), so the raw bytes are checked here: the bytes of the
response's own lines as the channel read them, each line with its line ends. Judged per line, not
per time window: a URC between the lines or right after the result code (any moment on a bench)
is not part of the response, and the LF of ``OK<CR><LF>`` that a slow link delivers after the
command returned is.
"""
from __future__ import annotations

import re

import pytest

from dut import BG96
from evidence import Evidence
from spec import COMMANDS, FormKind


def _framed(lines: list[str], final: str) -> tuple[bytes, bytes]:
    """The two framings 3.1.2 allows: each line framed on its own, or the information response
    framed as one block (lines separated by a single CR LF, as BG96 firmware prints ATI)."""
    encoded = [line.encode("latin-1") for line in lines]
    per_line = b"".join(b"\r\n" + line + b"\r\n" for line in [*encoded, final.encode("latin-1")])
    block = (b"\r\n" + b"\r\n".join(encoded) + b"\r\n" if encoded else b"") + b"\r\n" + final.encode("latin-1") + b"\r\n"
    return per_line, block


def _framed_in_groups(received: bytes, lines: list[str], final: str) -> bool:
    """Blocks and single framed lines one after the other (a URC between two lines of a block
    ends the block on a bench: the rest is framed anew), judged line by line."""
    gaps = "|".join(["\r\n", "\r\n\r\n"])
    body = f"(?:{gaps})".join(re.escape(line) for line in lines)
    pattern = (f"\r\n{body}\r\n" if lines else "") + f"\r\n{re.escape(final)}\r\n"
    return re.fullmatch(pattern.encode("latin-1"), received) is not None


@pytest.mark.req("SYNTAX-FRAMING")
@pytest.mark.parametrize("command", [pytest.param(c, id=c.name) for c in COMMANDS])
def test_framing_of_the_test_form_bytes(module: BG96, client: int, evidence: Evidence, command) -> None:
    """After bring-up (ATE0), every byte the module sends for a command line is the framed response:
    <CR><LF><response><CR><LF> for the information response and the result code, nothing else
    (no echo, no stray bytes)."""
    response = module.command(command.form(FormKind.TEST).syntax)
    received = response.raw
    per_line, block = _framed(response.lines, response.final)
    table = evidence.table(f"{response.command}: bytes received", ("", "bytes"))
    table.rows += [("each line framed", per_line), ("response framed as a block", block), ("received", received)]
    framed = _framed_in_groups(received, response.lines, response.final)
    evidence.observe(f"FRAMING-{command.name}", "per line" if received == per_line else
                     "block" if received == block else "blocks and lines" if framed else "neither")
    assert framed, f"not <CR><LF>-framed line by line: {received!r}"

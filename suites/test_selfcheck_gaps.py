"""Checks the self-check found missing: faults no other suite test would have caught.

Each test here is an ordinary conformance test (it runs unchanged on hardware); it exists because
``python -m selfcheck`` showed a plausible firmware fault passing every other test.
"""
from __future__ import annotations

import pytest

from dut import BG96, AckUrc
from fixtures.coap import arrival, copies_of, send_and_capture
from evidence import Evidence
from fixtures.rig import RigConfig
from fixtures.server import UDP
from reference_server import CON, EmptyAck, ReferenceServer, Silence
from spec import ACK_RANDOM_FACTOR, CFG_BY_KEYWORD, COMMANDS, FormKind

GET = 1
TRANS = CFG_BY_KEYWORD["trans"]


def _framed(lines: list[str], final: str) -> tuple[bytes, bytes]:
    """The two framings 3.1.2 allows: each line framed on its own, or the information response
    framed as one block (lines separated by a single CR LF, as BG96 firmware prints ATI)."""
    encoded = [line.encode("latin-1") for line in lines]
    per_line = b"".join(b"\r\n" + line + b"\r\n" for line in [*encoded, final.encode("latin-1")])
    block = (b"\r\n" + b"\r\n".join(encoded) + b"\r\n" if encoded else b"") + b"\r\n" + final.encode("latin-1") + b"\r\n"
    return per_line, block


@pytest.mark.req("SYNTAX-FRAMING")
@pytest.mark.parametrize("command", [pytest.param(c, id=c.name) for c in COMMANDS])
def test_framing_of_the_test_form_bytes(module: BG96, client: int, evidence: Evidence, command) -> None:
    """After bring-up (ATE0), every byte the module sends for a command line is the framed response:
    <CR><LF><response><CR><LF> for the information response and the result code, nothing else
    (no echo, no stray bytes)."""
    mark = module.at.transcript.mark()
    response = module.command(command.form(FormKind.TEST).syntax)
    received = b"".join(e.data for e in module.at.transcript.since(mark) if e.direction == "rx")
    per_line, block = _framed(response.lines, response.final)
    table = evidence.table(f"{response.command}: bytes received", ("", "bytes"))
    table.rows += [("each line framed", per_line), ("response framed as a block", block), ("received", received)]
    evidence.observe(f"FRAMING-{command.name}", "per line" if received == per_line else
                     "block" if received == block else "neither")
    assert received in (per_line, block)




@pytest.mark.req("RFC-RETRANSMIT-TIMING", "CFG-TRANS-WRITE")
@pytest.mark.td("TD_COAP_CORE_16")
@pytest.mark.parametrize("transport", [UDP], indirect=True)  # timing, not transport: once is enough
def test_first_retransmission_waits_the_ack_timeout(module: BG96, opened: int, server: ReferenceServer,
                                                     rig: RigConfig, evidence: Evidence, transport: str) -> None:
    """The first retransmission comes ACK_TIMEOUT to 1.5 x ACK_TIMEOUT after the original (RFC 7252
    4.2), with the longest <timeout> of the document so no scaled tolerance can hide an early one;
    the server answers that retransmission, so the exchange ends there."""
    timeout, retries = TRANS.parameters[0].range.high, TRANS.parameters[1].range.low
    assert module.cfg("trans", opened, timeout, retries).ok
    assert module.header(opened, 4500, 0, 1, "1F").ok
    server.on(Silence(), count=1)
    server.on(EmptyAck())
    send_and_capture(module, server, opened, CON, GET, evidence=evidence)
    t = timeout * module.time_scale
    ack = module.wait_ack(opened, t * ACK_RANDOM_FACTOR * 3 + module.at.grace)
    assert ack == AckUrc(opened, CON, 4500, 0)
    first, second = copies_of(server, 4500)[:2]
    interval = arrival(second) - arrival(first)
    slack = rig.timing_abs_tolerance + rig.timing_rel_tolerance * t
    low, high = t - slack, t * ACK_RANDOM_FACTOR + slack
    table = evidence.table(f"first retransmission, T={timeout}s x{module.time_scale} scale",
                           ("measured s", "window low", "window high"))
    table.rows.append((f"{interval:.4f}", f"{low:.4f}", f"{high:.4f}"))
    assert low <= interval <= high, f"first retransmission after {interval:.4f} s, window {low:.4f}-{high:.4f} s"

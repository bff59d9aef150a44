"""What AT+QCOAPSEND puts after the options: payload by length or Ctrl+Z, the marker, Esc."""
from __future__ import annotations

import pytest

from dut import BG96
from fixtures.coap import datagram_timeout, received_after, send_and_capture
from evidence import Evidence
from reference_server import ReferenceServer
from spec import QCOAPSEND
from spec.commands import ESC, MAX_PAYLOAD, PAYLOAD_LENGTH

NON, POST = 1, 2
TOKEN = "BEEF"


def payload_of(length: int, binary: bool) -> bytes:
    if binary:
        return bytes((i * 7 + 0x1A) & 0xFF for i in range(length))  # 0x00, 0x1A, 0x1B, CR, LF included
    return (b"0123456789ABCDEF\r\n" * 60)[:length]


def after_header(wire: bytes) -> bytes:
    return wire[4 + (wire[0] & 0x0F):]


@pytest.mark.req("SEND-LENGTH", "SEND-PAYLOAD-MARKER", "SEND-MAX-PAYLOAD")
@pytest.mark.td("TD_COAP_CORE_06")
@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
@pytest.mark.parametrize("length", [0, 1, 1023, PAYLOAD_LENGTH.range.high])
def test_payload_with_length(module: BG96, opened: int, server: ReferenceServer, evidence: Evidence,
                             length: int, binary: bool) -> None:
    """<payload_length> bytes, any byte value, go out whole; the marker only before a payload."""
    payload = payload_of(length, binary)
    assert module.header(opened, 700, 0, 2, TOKEN).ok
    _, d = send_and_capture(module, server, opened, NON, POST, 0, payload, evidence=evidence)
    assert after_header(d.plaintext) == (b"\xff" + payload if payload else b"")


@pytest.mark.req("SEND-CTRLZ", "SEND-PAYLOAD-MARKER")
@pytest.mark.parametrize("length", [0, 1, 20, 1024])
def test_payload_ended_by_ctrl_z(module: BG96, opened: int, server: ReferenceServer, evidence: Evidence,
                                 length: int) -> None:
    """Without <payload_length>, Ctrl+Z sends what was typed, CR LF included."""
    payload = payload_of(length, binary=False)
    assert module.header(opened, 701, 0, 2, TOKEN).ok
    _, d = send_and_capture(module, server, opened, NON, POST, 0, payload, with_length=False,
                            evidence=evidence)
    assert after_header(d.plaintext) == (b"\xff" + payload if payload else b"")


@pytest.mark.req("SEND-MAX-PAYLOAD", "SEND-RANGES")
def test_payload_length_over_maximum_rejected(module: BG96, opened: int, server: ReferenceServer) -> None:
    is_next = received_after(server)
    response = module.at.send_data(f"AT+QCOAPSEND={opened},1,2,0,{PAYLOAD_LENGTH.range.high + 1}", b"x")
    assert response.rejected, response.text
    with pytest.raises(TimeoutError):
        server.wait_for(is_next, datagram_timeout(module))


@pytest.mark.req("SEND-MAX-PAYLOAD")
def test_typed_payload_over_maximum_not_sent(module: BG96, opened: int, server: ReferenceServer,
                                             evidence: Evidence) -> None:
    """More than 1024 bytes before Ctrl+Z: not sent as such (rejected, or cut): recorded."""
    is_next = received_after(server)
    response = module.send(opened, NON, POST, 0, b"y" * (MAX_PAYLOAD + 1), with_length=False).response
    evidence.observe("SEND-1025-CTRLZ", response.final)
    if response.ok:
        d = server.wait_for(is_next, datagram_timeout(module))
        assert d.message is not None and len(d.message.payload) <= MAX_PAYLOAD
    else:
        assert response.rejected
        with pytest.raises(TimeoutError):
            server.wait_for(is_next, datagram_timeout(module))


@pytest.mark.req("SEND-ESC")
def test_esc_cancels_and_sends_nothing(module: BG96, opened: int, server: ReferenceServer,
                                       evidence: Evidence) -> None:
    """Esc at the prompt: no datagram and no +QCOAPACK."""
    is_next = received_after(server)
    response = module.at.send_data(f"AT+QCOAPSEND={opened},1,2,0", b"never sent", ESC)
    evidence.observe("SEND-ESC-RESULT", response.final)
    assert response.prompt_at is not None, "the prompt came before Esc"
    with pytest.raises(TimeoutError):
        server.wait_for(is_next, datagram_timeout(module))
    assert not module.at.urcs(r"\+QCOAPACK")


@pytest.mark.req("SEND-PROMPT", "SEND-MRT")
def test_prompt_and_ok_within_maximum_response_time(module: BG96, opened: int, server: ReferenceServer) -> None:
    """The '>' prompt and the OK after the data each come within 300 ms (see errata)."""
    result = module.send(opened, NON, POST, 0, b"timing")
    response = result.response
    assert response.ok and response.prompt_latency is not None
    assert response.prompt_latency <= QCOAPSEND.max_response_time
    assert response.elapsed <= QCOAPSEND.max_response_time


@pytest.mark.req("SEND-NOT-OPEN")
def test_send_on_client_not_open(module: BG96, client: int, server: ReferenceServer, evidence: Evidence) -> None:
    """SEND on a closed client: rejected or failing; nothing on the wire; the answer is recorded."""
    is_next = received_after(server)
    response = module.at.send_data(f"AT+QCOAPSEND={client},1,2,0,4", b"none")
    evidence.observe("SEND-NOT-OPEN", response.final)
    with pytest.raises(TimeoutError):
        server.wait_for(is_next, datagram_timeout(module))

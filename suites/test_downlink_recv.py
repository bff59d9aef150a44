"""3.4.1 +QCOAPRECV: what the module reports of what the reference server really sent."""
from __future__ import annotations

import pytest

from dut import BG96
from fixtures.coap import datagram_timeout, send_and_capture
from evidence import Evidence
from reference_server import (CON, NON, ACK, Duplicate, EmptyAck, Piggyback, ReferenceServer,
                              SeparateResponse)
from spec import RESPONSE_CODES, CodeDef

from .urc_values import wire_value

GET = 1
TOKEN = "A1B2C3D4"


def request(module: BG96, server: ReferenceServer, client: int, mtype: int = CON, mid: int = 2000,
            evidence: Evidence | None = None):
    """A GET /19 with a known message ID and token; returns the datagram the server got."""
    assert module.header(client, mid, 0, 4, TOKEN).ok
    assert module.option(client, 0, 11, "19").ok
    return send_and_capture(module, server, client, mtype, GET, 1, evidence=evidence)[1]


def _code_cases() -> list[object]:
    return [pytest.param(c, id=c.text, marks=pytest.mark.req(f"T3-{c.text}")) for c in RESPONSE_CODES]


@pytest.mark.req("URC-RECV-FORMAT", "URC-RECV-CODE")
@pytest.mark.td("TD_COAP_CORE_01")
@pytest.mark.parametrize("code", _code_cases())
def test_response_code_reported_as_c_dd(module: BG96, opened: int, server: ReferenceServer,
                                        evidence: Evidence, code: CodeDef) -> None:
    """Each response code of Table 3, piggybacked, is reported as c.dd with the exchange's IDs."""
    server.on(Piggyback(code.value, b"x"), mtype=CON)
    sent = request(module, server, opened, evidence=evidence)
    recv = module.wait_recv(opened)
    assert recv.code == code.text
    assert (recv.client, recv.mid, recv.tkl, recv.token.upper()) == (opened, sent.message.mid, 4, TOKEN)


OPTION_SETS = {
    "none": [],
    "uint-Content-Format": [(12, (50).to_bytes(1, "big"))],
    "uint-Max-Age-4-bytes": [(14, (0x01020304).to_bytes(4, "big"))],
    "string-Location-Path-2": [(8, b"loc"), (8, b"sub")],
    "opaque-ETag": [(4, bytes.fromhex("0A0B0C"))],
    "mixed-4": [(4, b"\x99"), (8, b"p"), (12, b"\x2a"), (60, b"\x04\x00")],
}


@pytest.mark.req("URC-RECV-OPTIONS")
@pytest.mark.parametrize("options", list(OPTION_SETS.values()), ids=list(OPTION_SETS))
def test_incoming_options_reported(module: BG96, opened: int, server: ReferenceServer, evidence: Evidence,
                                   options: list[tuple[int, bytes]]) -> None:
    """<opt_count> and each <opt_number>,<opt_value> of the response, in wire order."""
    server.on(Piggyback("2.05", b"", options=options), mtype=CON)
    request(module, server, opened, evidence=evidence)
    recv = module.wait_recv(opened)
    assert len(recv.options) == len(options)
    assert [(n, wire_value(n, v)) for n, v in recv.options] == sorted(options, key=lambda o: o[0])


PAYLOADS = {
    "0-bytes": b"",
    "1-byte": b"!",
    "512-text": (b"abcdefgh" * 64),
    "1024-binary-crlf": bytes(range(256)) * 2 + b"\r\n" * 100 + b"\r\n+QCOAPACK: 0,0,1,0\r\nOK\r\n" + b"\x00" * 286,
    "urc-lookalike": b"\r\n+QCOAPRECV: 0,1,2.05,0,,0,3\r\nabc\r\nOK\r\n",
}


@pytest.mark.req("URC-RECV-PAYLOAD")
@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
def test_payload_reported_whole_by_length(module: BG96, opened: int, server: ReferenceServer,
                                          evidence: Evidence, payload: bytes) -> None:
    """Binary bytes, CR LF and lines that look like URCs arrive intact, read by length."""
    server.on(Piggyback("2.05", payload), mtype=CON)
    request(module, server, opened, evidence=evidence)
    recv = module.wait_recv(opened)
    assert recv.payload_length == len(payload)
    assert recv.payload == payload
    assert not module.at.urcs(r"\+QCOAPRECV"), "a payload line was taken for a URC"


def test_1024_byte_payload_is_1024_bytes() -> None:
    assert len(PAYLOADS["1024-binary-crlf"]) == 1024


@pytest.mark.req("URC-RECV-FORMAT")
@pytest.mark.td("TD_COAP_CORE_05")
def test_non_request_non_response(module: BG96, opened: int, server: ReferenceServer, evidence: Evidence) -> None:
    """A NON request answered by a NON response: reported with the server's message ID."""
    server.on(Piggyback("2.05", b"non"), mtype=NON)
    request(module, server, opened, mtype=NON, evidence=evidence)
    response = server.wait_for(lambda d: d.direction == "tx" and d.message and d.message.mtype == NON,
                               datagram_timeout(module))
    recv = module.wait_recv(opened)
    assert (recv.mid, recv.code, recv.payload) == (response.message.mid, "2.05", b"non")


@pytest.mark.req("URC-RECV-FORMAT", "URC-RECV-SEPARATE-ACK", "URC-ACK-CON")
@pytest.mark.td("TD_COAP_CORE_09")
def test_separate_con_response(module: BG96, opened: int, server: ReferenceServer, evidence: Evidence) -> None:
    """Empty ACK, then a CON response: +QCOAPACK for the request, +QCOAPRECV for the response,
    and an empty ACK from the module for the response (RFC 7252 5.2.2)."""
    server.on(EmptyAck(), SeparateResponse("2.05", b"later", confirmable=True, delay=0.05), mtype=CON)
    sent = request(module, server, opened, evidence=evidence)
    ack = module.wait_ack(opened)
    assert (ack.type, ack.mid, ack.result) == (CON, sent.message.mid, 0)
    recv = module.wait_recv(opened)
    response = next(d for d in server.captured() if d.direction == "tx" and d.message.mtype == CON)
    assert (recv.mid, recv.code, recv.payload, recv.token.upper()) == (response.message.mid, "2.05", b"later", TOKEN)
    client_ack = server.wait_for(lambda d: d.direction == "rx" and d.message is not None
                                 and d.message.mtype == ACK and d.message.mid == response.message.mid,
                                 module.exchange_timeout())
    evidence.observe("URC-RECV-SEPARATE-ACK", f"module ACKed the separate response, code {client_ack.message.code_text}")
    assert client_ack.message.code == 0


@pytest.mark.req("URC-RECV-FORMAT")
@pytest.mark.td("TD_COAP_CORE_11")
def test_separate_non_response(module: BG96, opened: int, server: ReferenceServer, evidence: Evidence) -> None:
    server.on(EmptyAck(), SeparateResponse("2.05", b"later-non", confirmable=False, delay=0.05), mtype=CON)
    request(module, server, opened, evidence=evidence)
    assert module.wait_ack(opened).result == 0
    recv = module.wait_recv(opened)
    assert (recv.code, recv.payload) == ("2.05", b"later-non")


@pytest.mark.req("URC-RECV-DEDUP")
def test_duplicate_separate_response_reported_once(module: BG96, opened: int, server: ReferenceServer,
                                                   evidence: Evidence) -> None:
    """The same CON response twice (same message ID): one +QCOAPRECV, and each copy ACKed."""
    server.on(EmptyAck(), Duplicate(SeparateResponse("2.05", b"dup", delay=0.02), times=2, spacing=0.05),
              mtype=CON)
    request(module, server, opened, evidence=evidence)
    module.wait_recv(opened)
    response = next(d for d in server.captured() if d.direction == "tx" and d.message.mtype == CON)
    acks = server.wait_count(lambda d: d.direction == "rx" and d.message is not None and d.message.mtype == ACK
                             and d.message.mid == response.message.mid, 2, module.exchange_timeout())
    assert len(acks) == 2
    extra = module.at.wait_quiet(r"\+QCOAPRECV", datagram_timeout(module))
    assert extra == [], f"duplicate reported again: {[u.line for u in extra]}"


@pytest.mark.req("URC-RECV-DEDUP")
def test_duplicate_piggybacked_response_reported_once(module: BG96, opened: int, server: ReferenceServer) -> None:
    server.on(Duplicate(Piggyback("2.05", b"twice"), times=2, spacing=0.02), mtype=CON)
    request(module, server, opened)
    assert module.wait_recv(opened).payload == b"twice"
    assert module.at.wait_quiet(r"\+QCOAPRECV", datagram_timeout(module)) == []


def module_peer(module: BG96, server: ReferenceServer, client: int) -> tuple[str, int]:
    """The module's address as the server sees it: it learns it from a first NON."""
    sent = request(module, server, client, mtype=NON, mid=2500)
    assert module.wait_ack(client).result == 0
    module.wait_recv(client)
    return sent.peer


@pytest.mark.req("URC-RECV-SERVER-REQUEST", "T3-0.01")
@pytest.mark.parametrize("mtype", [CON, NON], ids=["CON", "NON"])
def test_server_initiated_request(module: BG96, opened: int, server: ReferenceServer, evidence: Evidence,
                                  mtype: int) -> None:
    """A request from the server: what the module reports, and whether it answers on its own."""
    peer = module_peer(module, server, opened)
    sent = server.send_request(peer, mtype, "0.01", options=[(11, b"sensor")], token=b"\x51\x52", mid=0x3344)
    recv = module.wait_recv(opened)
    assert (recv.mid, recv.code, recv.tkl, recv.token.upper()) == (0x3344, "0.01", 2, "5152")
    assert [(n, wire_value(n, v)) for n, v in recv.options] == [(11, b"sensor")]
    quiet = module.at.wait_quiet(r"\+QCOAPRECV", datagram_timeout(module))
    answered = [d for d in server.captured() if d.direction == "rx" and d.time > sent.time]
    evidence.observe(f"URC-RECV-SERVER-REQUEST-{'CON' if mtype == CON else 'NON'}",
                     "module answered: " + (", ".join(d.message.summary() for d in answered if d.message) or "nothing"))
    assert quiet == []


@pytest.mark.req("URC-RECV-SERVER-REQUEST", "SEND-TYPE", "URC-ACK-SENT")
def test_answer_server_request_with_send_ack(module: BG96, opened: int, server: ReferenceServer,
                                             evidence: Evidence) -> None:
    """AT+QCOAPSEND type 2 after a HEADER with the request's message ID puts that ID on the wire."""
    peer = module_peer(module, server, opened)
    server.send_request(peer, CON, "0.01", token=b"\x61", mid=0x4455)
    recv = module.wait_recv(opened)
    assert module.header(opened, recv.mid, 0, 1, recv.token).ok
    _, ack = send_and_capture(module, server, opened, ACK, 69, 0, b"reading", evidence=evidence)
    assert ack.message is not None
    assert (ack.message.mtype, ack.message.mid, ack.message.code_text, ack.message.token) == (ACK, 0x4455, "2.05", b"\x61")
    urc = module.wait_ack(opened)
    assert (urc.type, urc.mid, urc.result) == (ACK, 0x4455, 0)

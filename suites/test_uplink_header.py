"""What AT+QCOAPHEADER and AT+QCOAPSEND put in the CoAP header on the wire (RFC 7252 section 3)."""
from __future__ import annotations

import pytest

from dut import BG96
from fixtures.coap import send_and_capture
from evidence import Evidence
from reference_server import ReferenceServer
from reference_server.script import build
from spec import CODES, MESSAGE_TYPES, CodeDef

CON, NON, ACK, RST = 0, 1, 2, 3
GET, POST = 1, 2


def header_fields(wire: bytes) -> tuple[int, int, int, int, int]:
    """(version, type, TKL, code, message ID) straight from the first four bytes."""
    return wire[0] >> 6, (wire[0] >> 4) & 3, wire[0] & 0x0F, wire[1], int.from_bytes(wire[2:4], "big")


@pytest.mark.req("SEND-TYPE", "SEND-HEADER-VERSION")
@pytest.mark.parametrize("mtype", list(MESSAGE_TYPES), ids=[f"type-{t}-{n}" for t, n in MESSAGE_TYPES.items()])
def test_message_type_on_the_wire(module: BG96, opened: int, server: ReferenceServer, evidence: Evidence,
                                  mtype: int) -> None:
    """<type> 0-3 gives CON, NON, ACK, RST; ACK and RST are sent as Empty messages."""
    empty = mtype in (ACK, RST)
    module.header(opened, 4321, 0, 0 if empty else 2, "" if empty else "A0A1")
    _, d = send_and_capture(module, server, opened, mtype, 0 if empty else GET, evidence=evidence)
    assert header_fields(d.plaintext) == (1, mtype, 0 if empty else 2, 0 if empty else GET, 4321)


def _code_cases() -> list[object]:
    return [pytest.param(c, id=f"{c.text}-{c.meaning.replace(' ', '-')}", marks=pytest.mark.req(f"T3-{c.text}"))
            for c in CODES]


@pytest.mark.req("SEND-CODE")
@pytest.mark.parametrize("code", _code_cases())
def test_code_value_on_the_wire(module: BG96, opened: int, server: ReferenceServer, evidence: Evidence,
                                code: CodeDef) -> None:
    """Each <code_value> of Table 3 goes out as that code (c.dd = c x 32 + dd)."""
    empty = code.value == 0
    module.header(opened, 100 + code.value, 0, 0 if empty else 1, "" if empty else "5A")
    _, d = send_and_capture(module, server, opened, ACK if empty else NON, code.value, evidence=evidence)
    assert d.plaintext[1] == code.value
    assert d.message is not None and d.message.code_text == code.text


@pytest.mark.req("HDR-MSGID-WIRE")
@pytest.mark.parametrize("mid", [0, 1, 255, 256, 1234, 65535])
def test_message_id_in_network_byte_order(module: BG96, opened: int, server: ReferenceServer,
                                          evidence: Evidence, mid: int) -> None:
    module.header(opened, mid, 0, 1, "01")
    _, d = send_and_capture(module, server, opened, NON, GET, evidence=evidence)
    assert d.plaintext[2:4] == mid.to_bytes(2, "big")


@pytest.mark.req("HDR-TOKEN-GIVEN", "SEND-HEADER-VERSION")
@pytest.mark.td("TD_COAP_CORE_10")
@pytest.mark.parametrize("tkl", range(9), ids=[f"TKL-{n}" for n in range(9)])
def test_token_mode0_exact_bytes(module: BG96, opened: int, server: ReferenceServer, evidence: Evidence,
                                 tkl: int) -> None:
    """<mode> 0: TKL and the token bytes on the wire are exactly those configured."""
    token = bytes(0xD0 + i for i in range(tkl))
    module.header(opened, 77, 0, tkl, token.hex().upper())
    _, d = send_and_capture(module, server, opened, NON, GET, evidence=evidence)
    assert d.plaintext[0] & 0x0F == tkl
    assert d.plaintext[4:4 + tkl] == token


@pytest.mark.req("HDR-TOKEN-AUTO")
@pytest.mark.td("TD_COAP_CORE_12")
def test_token_mode1_generated(module: BG96, opened: int, server: ReferenceServer, evidence: Evidence) -> None:
    """<mode> 1: the module generates a token of 1 to 8 bytes (RFC 7252 5.3.1); two differ."""
    tokens = []
    for mid in (500, 501):
        module.header(opened, mid, 1)
        _, d = send_and_capture(module, server, opened, NON, GET, evidence=evidence)
        tkl = d.plaintext[0] & 0x0F
        assert 1 <= tkl <= 8, f"generated TKL {tkl}"
        tokens.append(d.plaintext[4:4 + tkl])
    evidence.observe("HDR-TOKEN-AUTO-LENGTH", len(tokens[0]))
    assert tokens[0] != tokens[1], "two generated tokens are the same"


@pytest.mark.req("HDR-MSGID-NEXT")
def test_message_id_of_next_message_without_header(module: BG96, opened: int, server: ReferenceServer,
                                                   evidence: Evidence) -> None:
    """The document does not say what a second SEND without a new HEADER uses: recorded."""
    module.header(opened, 9000, 0, 1, "01")
    _, first = send_and_capture(module, server, opened, NON, GET)
    _, second = send_and_capture(module, server, opened, NON, GET)
    first_mid, second_mid = header_fields(first.plaintext)[4], header_fields(second.plaintext)[4]
    evidence.observe("HDR-MSGID-NEXT", f"{first_mid} then {second_mid}")
    assert first_mid == 9000


@pytest.mark.req("HDR-MSGID-WIRE", "HDR-TOKEN-GIVEN", "SEND-BITMASK", "OPT-ENCODING", "SEND-LENGTH",
                 "SEND-PAYLOAD-MARKER", "T3-0.02")
@pytest.mark.td("TD_COAP_CORE_02")
def test_send_con_post_byte_for_byte(module: BG96, opened: int, server: ReferenceServer,
                                     evidence: Evidence) -> None:
    """AT+QCOAPSEND=0,0,2,3,5 after a mode-0 HEADER and two options: the exact datagram.

    42 02 04D2 A0A1 | B2 '1' '9' (Uri-Path, delta 11) | 11 28 (Content-Format 40, delta 1) | FF 'Hello'
    """
    assert module.header(opened, 1234, 0, 2, "A0A1").ok
    assert module.option(opened, 0, 11, "19").ok
    assert module.option(opened, 1, 12, 40).ok
    result, d = send_and_capture(module, server, opened, CON, POST, 3, b"Hello", evidence=evidence)
    assert result.response.command == "AT+QCOAPSEND=0,0,2,3,5"
    expected = bytes.fromhex("42 02 04D2 A0A1 B2 3139 11 28 FF") + b"Hello"
    reference = build(CON, POST, 1234, bytes.fromhex("A0A1"), [(11, b"19"), (12, bytes([40]))], b"Hello")
    assert expected == reference, "the hand-written datagram and aiocoap's encoding agree"
    table = evidence.table("AT+QCOAPSEND=0,0,2,3,5 on the wire", ("", "bytes"))
    table.rows += [("expected", expected.hex(" ").upper()), ("captured", d.plaintext.hex(" ").upper())]
    assert d.plaintext == expected

"""The steps examples 5.1 and 5.2 share, as the document prints them (errata corrected).

Both configure client 0, then send 20 bytes as a NON POST to Uri-Path "19" with message ID 1234
and a generated token, receive a 4.04 "Not Found" and close. Only how the session is opened
differs (plain UDP, or DTLS-PSK after uploading the PSK file).
"""
from __future__ import annotations

from dut import BG96, AckUrc
from fixtures.coap import datagram_timeout
from reference_server import Datagram, Piggyback, ReferenceServer

NON = 1
MID = 1234
PAYLOAD = b"Hello, CoAP Message!"
NOT_FOUND = b"Not Found"


def script_not_found(server: ReferenceServer) -> None:
    """The server side of the examples: a 4.04 with message ID 1234, as the examples print."""
    server.on(Piggyback("4.04", NOT_FOUND, mid=MID), mtype=NON, uri_path="19")


def configure(module: BG96) -> None:
    assert module.command('AT+QCOAPCFG="pdpcid",0,1').ok  # 5.2 prints "pdpctxid": ERRATUM-PDPCTXID
    assert module.command('AT+QCOAPCFG="trans",0,4,5').ok


def exchange(module: BG96, server: ReferenceServer) -> Datagram:
    """HEADER, OPTION x2, SEND, +QCOAPACK, the request on the wire, +QCOAPRECV of the 4.04."""
    assert module.command("AT+QCOAPHEADER=0,1234,1").ok
    assert module.command('AT+QCOAPOPTION=0,0,0,11,"19"').ok  # 5.1 omits <opt_index>: erratum
    assert module.command("AT+QCOAPOPTION=0,0,1,12,40").ok
    response = module.at.send_data("AT+QCOAPSEND=0,1,2,1,20", PAYLOAD)
    assert response.ok, response.text
    assert module.wait_ack(0) == AckUrc(client=0, type=NON, mid=MID, result=0)  # printed +COAPACK

    request = server.wait_for(lambda d: d.direction == "rx" and d.message is not None, datagram_timeout(module))
    m = request.message
    assert m is not None
    assert (m.mtype, m.code_text, m.mid, m.payload) == (NON, "0.02", MID, PAYLOAD)
    # <opt_bitmask> 1 selects index 0 only: Uri-Path "19" goes out, Content-Format (index 1) does not
    assert m.options == [(11, b"19")]
    assert 1 <= len(m.token) <= 8

    recv = module.wait_recv(0)  # 5.1 prints +QCOAPRCV: ERRATUM-QCOAPRCV
    assert (recv.client, recv.mid, recv.code, recv.tkl) == (0, MID, "4.04", len(m.token))
    assert recv.token.upper() == m.token.hex().upper()
    assert (recv.options, recv.payload_length, recv.payload) == ((), len(NOT_FOUND), NOT_FOUND)
    return request


def close(module: BG96) -> None:
    response, result = module.close(0)
    assert response.ok and result is not None and (result.client, result.result) == (0, 0)

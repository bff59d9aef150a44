"""Example 5.1 of the document end to end, against the reference server, errata corrected.

Differences from the printed example, each listed in the report's errata table:
the server address is the reference server's (not 220.180.239.212:8028);
AT+QCOAPOPTION=0,0,11,"19" is sent with its <opt_index> (ERRATUM-OPTION-NO-INDEX);
+COAPACK and +QCOAPRCV are read as +QCOAPACK and +QCOAPRECV (ERRATUM-COAPACK, -QCOAPRCV).
"""
from __future__ import annotations

import pytest

from dut import BG96, AckUrc
from fixtures.coap import datagram_timeout
from fixtures.evidence import Evidence
from reference_server import Piggyback, ReferenceServer

NON = 1


@pytest.mark.req("EX-5.1", "OPEN-WRITE", "OPEN-READ", "HDR-TOKEN-AUTO", "OPT-WRITE-ADD", "SEND-BITMASK",
                 "URC-ACK-SENT", "URC-RECV-FORMAT", "CLOSE-WRITE", "T3-4.04")
@pytest.mark.td("TD_COAP_CORE_06")
@pytest.mark.profile("smoke")
def test_example_5_1(module: BG96, client: int, server: ReferenceServer, evidence: Evidence) -> None:
    host, port = server.advertised
    server.on(Piggyback("4.04", b"Not Found", mid=1234), mtype=NON, uri_path="19")
    assert module.command('AT+QCOAPCFG="pdpcid",0,1').ok
    assert module.command('AT+QCOAPCFG="trans",0,4,5').ok
    response, result = module.open(0, host, port)
    assert response.ok and result is not None and result.result == 0
    assert module.command("AT+QCOAPOPEN?").lines == [f'+QCOAPOPEN: 0,"{host}",{port},3']
    assert module.command("AT+QCOAPHEADER=0,1234,1").ok
    assert module.command('AT+QCOAPOPTION=0,0,0,11,"19"').ok
    assert module.command("AT+QCOAPOPTION=0,0,1,12,40").ok
    response = module.at.send_data("AT+QCOAPSEND=0,1,2,1,20", b"Hello, CoAP Message!")
    assert response.ok, response.text
    assert module.wait_ack(0) == AckUrc(client=0, type=NON, mid=1234, result=0)

    request = server.wait_for(lambda d: d.direction == "rx", datagram_timeout(module))
    m = request.message
    assert m is not None
    assert (m.mtype, m.code_text, m.mid, m.payload) == (NON, "0.02", 1234, b"Hello, CoAP Message!")
    # <opt_bitmask> 1 selects index 0 only: Uri-Path "19" goes out, Content-Format (index 1) does not
    assert m.options == [(11, b"19")]
    assert 1 <= len(m.token) <= 8

    recv = module.wait_recv(0)
    assert (recv.client, recv.mid, recv.code, recv.tkl) == (0, 1234, "4.04", len(m.token))
    assert recv.token.upper() == m.token.hex().upper()
    assert (recv.options, recv.payload_length, recv.payload) == ((), 9, b"Not Found")

    response, result = module.close(0)
    assert response.ok and result is not None and (result.client, result.result) == (0, 0)

"""+QCOAPRECV for the request codes of Table 3 (0.01-0.04) sent by the server, and the Empty
code 0.00: a CoAP ping the module must answer with RST (RFC 7252 4.3), never report as a message."""
from __future__ import annotations

import pytest

from dut import BG96
from fixtures.coap import datagram_timeout
from reference_server import NON, RST, ReferenceServer
from spec import REQUEST_CODES, CodeDef

from .test_downlink_recv import module_peer


@pytest.mark.req("URC-RECV-FORMAT", "URC-RECV-CODE", "URC-RECV-SERVER-REQUEST")
@pytest.mark.parametrize("code", [pytest.param(c, id=f"{c.text}-{c.meaning}", marks=pytest.mark.req(f"T3-{c.text}"))
                                  for c in REQUEST_CODES])
def test_request_code_reported_as_c_dd(module: BG96, opened: int, server: ReferenceServer, code: CodeDef) -> None:
    """Each request code of Table 3 in a NON request from the server is reported as its c.dd."""
    peer = module_peer(module, server, opened)
    server.send_request(peer, NON, code.value, options=[(11, b"r")], payload=b"body", token=b"\x7a", mid=0x5500 + code.value)
    recv = module.wait_recv(opened)
    assert (recv.mid, recv.code, recv.token.upper(), recv.payload) == (0x5500 + code.value, code.text, "7A", b"body")


@pytest.mark.req("T3-0.00", "URC-RECV-SERVER-REQUEST")
@pytest.mark.verdict("rfc7252")
@pytest.mark.td("TD_COAP_CORE_31")
def test_empty_con_ping_answered_with_rst(module: BG96, opened: int, server: ReferenceServer) -> None:
    """An Empty CON (0.00) from the server is a ping: RST with its message ID, and no +QCOAPRECV."""
    peer = module_peer(module, server, opened)
    ping = server.send_raw(peer, bytes([0x40, 0x00, 0x66, 0x77]))
    rst = server.wait_for(lambda d: d.direction == "rx" and d.time > ping.time and d.message is not None,
                          datagram_timeout(module))
    assert rst.message is not None
    assert (rst.message.mtype, rst.message.code, rst.message.mid) == (RST, 0, 0x6677)
    assert module.at.wait_quiet(r"\+QCOAPRECV", datagram_timeout(module)) == []

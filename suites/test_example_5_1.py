"""Example 5.1 of the document end to end, against the reference server, errata corrected.

Differences from the printed example, each listed in the report's errata table:
the server address is the reference server's (not 220.180.239.212:8028);
AT+QCOAPOPTION=0,0,11,"19" is sent with its <opt_index> (ERRATUM-OPTION-NO-INDEX);
+COAPACK and +QCOAPRCV are read as +QCOAPACK and +QCOAPRECV (ERRATUM-COAPACK, -QCOAPRCV).
"""
from __future__ import annotations

import pytest

from dut import BG96
from evidence import Evidence
from reference_server import ReferenceServer

from . import examples


@pytest.mark.req("EX-5.1", "OPEN-WRITE", "OPEN-READ", "HDR-TOKEN-AUTO", "OPT-WRITE-ADD", "SEND-BITMASK",
                 "URC-ACK-SENT", "URC-RECV-FORMAT", "CLOSE-WRITE", "T3-4.04")
@pytest.mark.td("TD_COAP_CORE_06")
@pytest.mark.profile("smoke")
def test_example_5_1(module: BG96, client: int, server: ReferenceServer, evidence: Evidence) -> None:
    host, port = server.advertised
    examples.script_not_found(server)
    examples.configure(module)
    response, result = module.open(0, host, port)
    assert response.ok and result is not None and result.result == 0
    assert module.command("AT+QCOAPOPEN?").lines == [f'+QCOAPOPEN: 0,"{host}",{port},3']
    examples.exchange(module, server)
    examples.close(module)

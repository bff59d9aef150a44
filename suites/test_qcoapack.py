"""3.4.2 +QCOAPACK: delivery results for CON, NON, ACK and RST, against what the server did."""
from __future__ import annotations

import pytest

from dut import BG96, AckUrc
from fixtures.coap import send_and_capture
from evidence import Evidence
from reference_server import CON, NON, ACK, RST, EmptyAck, Reset, ReferenceServer, Silence
from spec import ACK_RANDOM_FACTOR, CFG_BY_KEYWORD, RESULT_CODES

GET = 1


@pytest.mark.req("URC-ACK-CON", "URC-ACK-FORMAT", "T4-0")
@pytest.mark.td("TD_COAP_CORE_01")
@pytest.mark.profile("smoke")
def test_con_acknowledged(module: BG96, opened: int, server: ReferenceServer, evidence: Evidence) -> None:
    """+QCOAPACK: <id>,0,<msgID>,0 once the ACK arrived, not before."""
    server.on(EmptyAck(), mtype=CON)
    module.header(opened, 3000, 0, 1, "01")
    send_and_capture(module, server, opened, CON, GET, evidence=evidence)
    urc = module.at.wait_urc(rf"^\+QCOAPACK: *{opened},", module.exchange_timeout())
    assert AckUrc.parse(urc) == AckUrc(opened, CON, 3000, 0)
    server_ack = next(d for d in server.captured() if d.direction == "tx")
    assert urc.time >= server_ack.time, "+QCOAPACK came before the server's ACK was sent"


@pytest.mark.req("URC-ACK-SENT", "URC-ACK-FORMAT")
@pytest.mark.parametrize("mtype", [NON, ACK, RST], ids=["NON", "ACK", "RST"])
def test_non_ack_rst_reported_once_sent(module: BG96, opened: int, server: ReferenceServer,
                                        evidence: Evidence, mtype: int) -> None:
    """For NON, ACK and RST, +QCOAPACK says the message was sent (result 0), with its type and ID."""
    server.on(Silence())
    empty = mtype in (ACK, RST)
    module.header(opened, 3100 + mtype, 0, 0 if empty else 1, "" if empty else "02")
    send_and_capture(module, server, opened, mtype, 0 if empty else GET, evidence=evidence)
    assert module.wait_ack(opened) == AckUrc(opened, mtype, 3100 + mtype, 0)


@pytest.mark.req("URC-ACK-RST", "RFC-RST-STOPS")
@pytest.mark.td("TD_COAP_CORE_31")
def test_con_answered_by_rst(module: BG96, opened: int, server: ReferenceServer, evidence: Evidence) -> None:
    """A CON answered by RST: the document has no result for it (recorded; it must be a Table 4
    code), and retransmission stops: no copy during the window in which the first retransmission
    would have left (1.5 x ACK_TIMEOUT after the original, plus the grace)."""
    timeout = CFG_BY_KEYWORD["trans"].parameters[0].default
    server.on(Reset(), mtype=CON)
    module.header(opened, 3200, 0, 1, "03")
    send_and_capture(module, server, opened, CON, GET, evidence=evidence)
    ack = module.wait_ack(opened)
    evidence.observe("URC-ACK-RST", f"+QCOAPACK result {ack.result}")
    assert (ack.client, ack.type, ack.mid) == (opened, CON, 3200)
    assert ack.result in {r.code for r in RESULT_CODES}, f"+QCOAPACK <result> {ack.result} is not in Table 4"
    window = timeout * ACK_RANDOM_FACTOR * module.time_scale + module.at.grace
    with pytest.raises(TimeoutError):
        copy = server.wait_for(lambda d: d.direction == "rx" and d.message is not None and d.message.mid == 3200
                               and d.time > ack.time, window)
        pytest.fail(f"RFC 7252 4.2: a CON answered by RST was retransmitted ({copy.summary()})")
    copies = [d for d in server.captured() if d.direction == "rx" and d.message and d.message.mid == 3200]
    assert len(copies) == 1, f"a CON answered by RST is not retransmitted: {len(copies)} copies"


@pytest.mark.req("RFC-RETRANSMIT-GIVEUP", "T4--11", "URC-ACK-CON")
@pytest.mark.td("TD_COAP_CORE_15")
def test_con_never_answered_reports_failure(module: BG96, opened: int, server: ReferenceServer,
                                            evidence: Evidence) -> None:
    """A CON the server never answers: after the last retransmission, +QCOAPACK with -11."""
    assert module.cfg("trans", opened, 2, 4).ok
    server.on(Silence())
    module.header(opened, 3300, 0, 1, "04")
    send_and_capture(module, server, opened, CON, GET, evidence=evidence)
    ack = module.wait_ack(opened, module.exchange_timeout(2, 4))
    assert ack == AckUrc(opened, CON, 3300, -11)

"""RFC 7252 reliability on a lossy network: the impairment relay between the module and the server.

The module dials the relay (fixture ``relayed``), which drops, delays, duplicates or reorders
datagrams as each test asks and records what it did (the evidence table "Relay actions"). The
reference server's capture shows what reached it; the AT port shows what the host was told.
"""
from __future__ import annotations

import pytest

from dut import BG96, AckUrc
from dut.urc import IndUrc
from fixtures.coap import copies_of, datagram_timeout
from evidence import Evidence
from reference_server import ACK, CON, Datagram, EmptyAck, Piggyback, ReferenceServer, SeparateResponse
from relay import DOWN, Relay
from spec import ACK_RANDOM_FACTOR, CFG_BY_KEYWORD

GET = 1
ACK_TIMEOUT = next(p.default for p in CFG_BY_KEYWORD["trans"].parameters)  # <timeout>, seconds



def answers_to(server: ReferenceServer, mid: int) -> list[Datagram]:
    """What the server sent back for ``mid`` (ACKs, piggybacked or empty)."""
    return [d for d in server.captured() if d.direction == "tx" and d.message is not None
            and d.message.mtype == ACK and d.message.mid == mid]


def retransmit_window(module: BG96) -> float:
    """Longer than one more retransmission interval of the default timing: a URC a module owes
    (or must not give) after an exchange has ended shows within it."""
    return 2 * ACK_TIMEOUT * ACK_RANDOM_FACTOR * module.time_scale + module.at.grace


def send_con(module: BG96, client: int, mid: int, token: str) -> None:
    assert module.header(client, mid, 0, len(token) // 2, token).ok
    response = module.send(client, CON, GET, 0).response
    assert response.ok, response.text


@pytest.mark.req("RFC-RETRANSMIT-COUNT", "RFC-RETRANSMIT-STOP", "URC-ACK-CON", "URC-IND-COUNT", "URC-ACK-ONCE")
def test_lost_ack(module: BG96, relayed: int, server: ReferenceServer, relay: Relay, evidence: Evidence) -> None:
    """The server's ACK is lost: the module retransmits the same CON, the server answers the
    duplicate again, and the host gets one +QCOAPIND and exactly one +QCOAPACK."""
    server.on(EmptyAck(), mtype=CON)
    relay.drop(DOWN, nth=1)
    send_con(module, relayed, 5000, "1A")
    assert module.wait_ack(relayed) == AckUrc(relayed, CON, 5000, 0)
    copies = server.wait_count(lambda d: d in copies_of(server, 5000), 2, datagram_timeout(module))
    assert copies[0].wire == copies[1].wire, "the retransmission is not the same message"
    assert len(answers_to(server, 5000)) == 2, "the server did not answer the duplicate CON"
    dropped = relay.wait_action(lambda a: a.action == "drop", datagram_timeout(module))
    assert (dropped.direction, dropped.index) == (DOWN, 1)
    extra = module.at.wait_quiet(rf"^\+QCOAPACK: *{relayed},", retransmit_window(module))
    assert extra == [], f"a second +QCOAPACK for one CON: {[u.line for u in extra]}"
    assert len(copies_of(server, 5000)) == 2, "retransmission went on after the second ACK"
    inds = [IndUrc.parse(u) for u in module.at.urcs(rf"^\+QCOAPIND: *{relayed},")]
    evidence.observe("LOST-ACK-QCOAPIND", " | ".join(f"retry {i.retry_times} result {i.result}" for i in inds) or "(none)")
    assert [(i.mid, i.retry_times) for i in inds] == [(5000, 1)], "one +QCOAPIND for the one retransmission"


@pytest.mark.req("RFC-RETRANSMIT-STOP", "URC-ACK-CON", "URC-RECV-FORMAT", "URC-RECV-DEDUP")
@pytest.mark.td("TD_COAP_CORE_15")
def test_lost_piggybacked_response(module: BG96, relayed: int, server: ReferenceServer, relay: Relay) -> None:
    """The response in the ACK is lost: the retransmitted CON gets it again; the host sees one
    +QCOAPACK and one +QCOAPRECV."""
    server.on(Piggyback("2.05", b"second time lucky"), mtype=CON)
    relay.drop(DOWN, nth=1)
    send_con(module, relayed, 5100, "1B")
    assert module.wait_ack(relayed) == AckUrc(relayed, CON, 5100, 0)
    recv = module.wait_recv(relayed)
    assert (recv.mid, recv.code, recv.payload) == (5100, "2.05", b"second time lucky")
    assert len(copies_of(server, 5100)) == 2 and len(answers_to(server, 5100)) == 2
    extra = module.at.wait_quiet(rf"^\+QCOAP(ACK|RECV): *{relayed},", retransmit_window(module))
    assert extra == [], f"reported again: {[u.line for u in extra]}"


@pytest.mark.req("URC-RECV-DEDUP", "URC-ACK-CON", "URC-ACK-ONCE")
def test_response_duplicated_by_the_network(module: BG96, relayed: int, server: ReferenceServer,
                                            relay: Relay) -> None:
    """The network delivers the piggybacked response twice: reported once."""
    server.on(Piggyback("2.05", b"once"), mtype=CON)
    relay.duplicate(DOWN, nth=1)
    send_con(module, relayed, 5150, "1C")
    assert module.wait_ack(relayed) == AckUrc(relayed, CON, 5150, 0)
    assert module.wait_recv(relayed).payload == b"once"
    relay.wait_action(lambda a: a.note == "copy 2 of 2", datagram_timeout(module))
    extra = module.at.wait_quiet(rf"^\+QCOAP(ACK|RECV): *{relayed},", retransmit_window(module))
    assert extra == [], f"the duplicate was reported: {[u.line for u in extra]}"


@pytest.mark.req("RFC-RETRANSMIT-STOP", "URC-ACK-CON", "URC-ACK-ONCE")
def test_late_ack_after_retransmission(module: BG96, relayed: int, server: ReferenceServer,
                                       relay: Relay) -> None:
    """The first ACK is delayed past the first retransmission: the ACK of the copy arrives first,
    the late one after it; one +QCOAPACK, no further copy."""
    server.on(EmptyAck(), mtype=CON)
    delay = ACK_TIMEOUT * 2 * module.time_scale  # after the 1st retransmission (<= 1.5 T), before the 2nd (>= 3 T)
    relay.delay(DOWN, delay, nth=1)
    send_con(module, relayed, 5300, "1E")
    assert module.wait_ack(relayed) == AckUrc(relayed, CON, 5300, 0)
    relay.wait_action(lambda a: a.index == 1 and a.action == "forward", delay + datagram_timeout(module))
    extra = module.at.wait_quiet(rf"^\+QCOAPACK: *{relayed},", retransmit_window(module))
    assert extra == [], f"the late ACK was reported again: {[u.line for u in extra]}"
    assert len(copies_of(server, 5300)) == 2


@pytest.mark.req("URC-RECV-SEPARATE-ACK", "URC-ACK-CON", "URC-RECV-FORMAT", "RFC-SEPARATE-BEFORE-ACK")
@pytest.mark.td("TD_COAP_CORE_09")
def test_reordered_separate_response(module: BG96, relayed: int, server: ReferenceServer, relay: Relay,
                                     evidence: Evidence) -> None:
    """Empty ACK and separate CON response swapped on the way: the response is reported once and
    acknowledged, the late empty ACK completes the exchange (one +QCOAPACK, result 0)."""
    server.on(EmptyAck(), SeparateResponse("2.05", b"overtook the ack"), mtype=CON)
    relay.reorder(DOWN, nth=1)
    send_con(module, relayed, 5200, "1D")
    recv = module.wait_recv(relayed)
    assert (recv.code, recv.payload, recv.token) == ("2.05", b"overtook the ack", "1D")
    response = next(d for d in server.captured() if d.direction == "tx" and d.message is not None
                    and d.message.mtype == CON)
    ack_of_response = server.wait_for(
        lambda d: d.direction == "rx" and d.message is not None and d.message.mtype == ACK
        and d.message.mid == response.message.mid, datagram_timeout(module))
    assert ack_of_response.message.code == 0, "the separate response must be acknowledged by an empty ACK"
    assert module.wait_ack(relayed) == AckUrc(relayed, CON, 5200, 0)
    order = [(a.index, a.action) for a in relay.actions() if a.direction == DOWN]
    assert order[:3] == [(1, "hold"), (2, "forward"), (1, "release")], f"relay did not swap them: {order}"
    extra = module.at.wait_quiet(rf"^\+QCOAP(ACK|RECV): *{relayed},", retransmit_window(module))
    assert extra == [], f"reported again: {[u.line for u in extra]}"
    evidence.observe("SEPARATE-BEFORE-ACK-REQUEST-COPIES", len(copies_of(server, 5200)),
                     "CONs of the request the server received (1: the response counted as the ACK)")

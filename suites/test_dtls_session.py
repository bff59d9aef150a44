"""A DTLS-PSK session seen from the wire: nothing in clear, close_notify on CLOSE, a new handshake
on a new OPEN, a lost handshake flight retransmitted, and plain UDP again once DTLS is disabled.

The module is driven with AT commands only; the DTLS reference server decrypts and records every
record, so "no plaintext" is checked against the very CoAP bytes it decrypted.
"""
from __future__ import annotations

import time
from typing import Iterator

import pytest

from dut import BG96
from fixtures.coap import datagram_timeout, received_after, send_and_capture
from fixtures.dtls import (ALERT, APPLICATION_DATA, PSK_CONTEXT, RECORD_HEADER,
                           application_records, cipher_suite_name, client_hellos, negotiated_cipher_suite,
                           plaintext_leaks, prepare_dtls_client, record_problems, record_table, records_of,
                           rig_psk)
from evidence import Evidence
from fixtures.rig import RigConfig
from fixtures.server import ServerCaptures
from reference_server import CON, NON, Datagram, EmptyAck, Piggyback, ReferenceServer, SeparateResponse
from wire.tinydtls import CODE_CLOSE_NOTIFY, EVENT_CONNECTED, LEVEL_NOALERT, LEVEL_WARNING
from spec import QCOAPOPEN

GET, POST = 1, 2

pytestmark = pytest.mark.dtls


def open_dtls(module: BG96, client: int, server: ReferenceServer) -> None:
    host, port = server.advertised
    response, result = module.open(client, host, port)
    assert response.ok and result is not None and result.result == 0, (
        f"AT+QCOAPOPEN to {host}:{port}: {response.text!r}, result {result}")


def close(module: BG96, client: int) -> None:
    response, result = module.close(client)
    assert response.ok and result is not None and result.result == 0, f"AT+QCOAPCLOSE: {response.text!r}, {result}"


def connected_events(server: ReferenceServer):
    return [e for e in server.dtls_events if (e.level, e.code) == (LEVEL_NOALERT, EVENT_CONNECTED)]


@pytest.fixture
def dtls_client(module: BG96, client: int, rig: RigConfig) -> int:
    """Client 0 with the rig's PSK file and DTLS enabled, not yet opened."""
    prepare_dtls_client(module, client, rig_psk(rig))
    return client


@pytest.mark.req("DTLS-NO-PLAINTEXT", "DTLS-HANDSHAKE")
@pytest.mark.td("TD_COAP_DTLS_01")
def test_no_plaintext_coap_on_the_wire(module: BG96, dtls_client: int, dtls_server: ReferenceServer,
                                       evidence: Evidence) -> None:
    """Requests, piggybacked and separate responses, a server request and CLOSE: every datagram is a
    DTLS 1.2 record (types 20-23, version 0xFEFD), and no CoAP message the server decrypted appears
    in clear in any datagram."""
    server, client = dtls_server, dtls_client
    open_dtls(module, client, server)
    server.on(Piggyback("2.05", b"reading-42"), mtype=CON, uri_path="19")
    server.on(EmptyAck(), SeparateResponse("2.05", b"separate-reading", delay=0.02), mtype=CON, uri_path="sep")
    assert module.header(client, 5100, 0, 4, "C1C2C3C4").ok
    assert module.option(client, 0, 11, "19").ok
    send_and_capture(module, server, client, CON, GET, 1, b"plaintext-probe-request", evidence=evidence)
    assert module.wait_recv(client).payload == b"reading-42"
    assert module.header(client, 5101, 0, 2, "D1D2").ok
    assert module.option(client, 0, 11, "sep").ok
    _, sent = send_and_capture(module, server, client, CON, POST, 1, b"second-probe", evidence=evidence)
    assert module.wait_recv(client).payload == b"separate-reading"
    is_next = received_after(server)
    server.send_request(sent.peer, NON, "0.02", options=[(11, b"push")], payload=b"server-request", token=b"\x77")
    assert module.wait_recv(client).payload == b"server-request"
    module.at.wait_quiet(r"^$", datagram_timeout(module))  # whatever the module answers, on the wire
    close(module, client)
    server.wait_dtls_event(lambda e: e.peer == sent.peer and (e.level, e.code) == (LEVEL_WARNING, CODE_CLOSE_NOTIFY),
                           datagram_timeout(module))

    captured = server.captured()
    record_table(evidence, "every datagram of the session", captured)
    evidence.observe("DTLS-CIPHER-SUITE", cipher_suite_name(negotiated_cipher_suite(captured)))
    answered = [d for d in captured if is_next(d)]
    evidence.observe("DTLS-SERVER-NON-ANSWER", "; ".join(d.message.summary() for d in answered if d.message)
                     or "nothing")
    problems = [p for d in captured for p in record_problems(d)]
    assert problems == [], f"datagrams that are not DTLS 1.2 records: {problems}"
    leaks = plaintext_leaks(captured)
    assert leaks == [], leaks
    from_module = application_records(captured, "rx")
    assert len(from_module) >= 3 and all(d.message is not None for d in from_module), (
        "an application record from the module that the server could not decrypt to CoAP")


@pytest.mark.req("DTLS-HANDSHAKE", "CLOSE-WRITE", "DTLS-CLOSE-NOTIFY")
@pytest.mark.verdict("rfc7252")
def test_close_sends_close_notify(module: BG96, dtls_client: int, dtls_server: ReferenceServer,
                                  evidence: Evidence) -> None:
    """AT+QCOAPCLOSE ends the DTLS session with a close_notify alert, encrypted under the session's
    keys (epoch 1). RFC 7252 9.1 puts CoAP on DTLS (RFC 6347), whose TLS 1.2 rules (RFC 5246
    7.2.1) require a close_notify before the connection's write side is closed."""
    server, client = dtls_server, dtls_client
    open_dtls(module, client, server)
    assert module.header(client, 5200, 0, 1, "0A").ok
    _, sent = send_and_capture(module, server, client, NON, GET, evidence=evidence)
    close(module, client)
    event = server.wait_dtls_event(lambda e: e.peer == sent.peer and (e.level, e.code) == (LEVEL_WARNING, CODE_CLOSE_NOTIFY),
                                   datagram_timeout(module))
    captured = server.captured()
    record_table(evidence, "the session, from the handshake to the close", captured)
    alerts = [d for d in captured if d.direction == "rx" and d.time > sent.time
              and any(r.content_type == ALERT for r in records_of(d))]
    assert alerts, "no alert record from the module after its last message"
    record = next(r for r in records_of(alerts[0]) if r.content_type == ALERT)
    assert record.epoch >= 1 and record.length > 2, f"the close_notify is not encrypted: {record}"
    assert alerts[0].time <= event.time
    assert not server.dtls_connected(sent.peer)


@pytest.mark.req("DTLS-HANDSHAKE", "OPEN-WRITE", "CLOSE-WRITE")
@pytest.mark.td("TD_COAP_DTLS_01")
def test_new_open_performs_new_handshake(module: BG96, dtls_client: int, dtls_server: ReferenceServer,
                                         evidence: Evidence) -> None:
    """CLOSE, then OPEN again: a new ClientHello and a new session, and CoAP flows through it."""
    server, client = dtls_server, dtls_client
    peers = []
    for mid in (5300, 5301):
        hellos_before = len(client_hellos(server.captured()))
        connected_before = len(connected_events(server))
        open_dtls(module, client, server)
        assert len(client_hellos(server.captured())) > hellos_before, f"OPEN for message {mid}: no new ClientHello"
        assert len(connected_events(server)) == connected_before + 1, f"OPEN for message {mid}: no new session"
        assert module.header(client, mid, 0, 1, "0B").ok
        _, d = send_and_capture(module, server, client, NON, GET, evidence=evidence)
        assert d.message is not None and d.message.mid == mid
        assert [r.content_type for r in d.dtls_records] == [APPLICATION_DATA]
        peers.append(d.peer)
        close(module, client)
    record_table(evidence, "two sessions, one after the other", server.captured())
    evidence.observe("DTLS-REOPEN-SOURCE-PORT", "same" if peers[0] == peers[1] else "new")


def client_hello_message(d: Datagram) -> bytes:
    """The handshake message (header and body) of a ClientHello record, without the record header."""
    return d.wire[RECORD_HEADER:RECORD_HEADER + d.dtls_records[0].length]


@pytest.mark.req("DTLS-HANDSHAKE", "DTLS-HANDSHAKE-RETRANSMIT")
def test_lost_client_hello_is_retransmitted(module: BG96, dtls_client: int, dtls_server: ReferenceServer,
                                            evidence: Evidence) -> None:
    """The server ignores the module's first ClientHello (a lost flight): the module sends it again
    (RFC 6347 4.2.4), the same handshake message in a new record, and the handshake completes."""
    server, client = dtls_server, dtls_client
    server.ignore_dtls(1)
    host, port = server.advertised
    response, result = module.open(client, host, port, timeout=QCOAPOPEN.max_response_time + module.at.grace)
    captured = server.captured()
    record_table(evidence, "handshake with the first ClientHello ignored", captured)
    assert response.ok and result is not None and result.result == 0, f"{response.text!r}, {result}"
    lost = server.dtls_ignored
    assert len(lost) == 1
    hellos = client_hellos(captured)
    assert len(hellos) >= 2 and hellos[0] is lost[0]
    again = hellos[1]
    assert client_hello_message(again) == client_hello_message(lost[0]), "the retransmission is another message"
    assert again.dtls_records[0].sequence > lost[0].dtls_records[0].sequence, "record sequence number not advanced"
    evidence.observe("DTLS-HANDSHAKE-RETRANSMIT-INTERVAL", f"{again.time - lost[0].time:.3f} s",
                     "RFC 6347 4.2.4.1 suggests an initial timer of 1 s")
    assert connected_events(server), "the handshake did not complete after the retransmission"
    assert module.header(client, 5400, 0, 1, "0C").ok
    send_and_capture(module, server, client, NON, GET, evidence=evidence)


@pytest.mark.req("CFG-DTLS-WRITE", "DTLS-HANDSHAKE")
def test_dtls_disabled_again_is_plain_udp(module: BG96, dtls_client: int, dtls_server: ReferenceServer,
                                          server: ReferenceServer, evidence: Evidence) -> None:
    """A DTLS session, CLOSE, AT+QCOAPCFG="dtls",<id>,0, OPEN: the next message is plain CoAP over
    UDP, and nothing more reaches the DTLS server."""
    client = dtls_client
    open_dtls(module, client, dtls_server)
    assert module.header(client, 5500, 0, 1, "0D").ok
    _, secure = send_and_capture(module, dtls_server, client, NON, GET, evidence=evidence)
    close(module, client)
    assert module.cfg("dtls", client, 0).ok
    assert module.cfg_values("dtls", client)[0] == "0"
    # what the old session still sends (its close_notify) may be recorded late on a busy machine:
    # judge by when each datagram reached the kernel, not by how many the server has recorded
    switched_wall, switched_mono = time.time(), time.monotonic()
    open_dtls(module, client, server)
    assert module.header(client, 5501, 0, 1, "0E").ok
    _, plain = send_and_capture(module, server, client, NON, GET, evidence=evidence)
    record_table(evidence, "DTLS session (before the switch)", dtls_server.captured())
    assert secure.is_dtls and secure.message is not None and secure.message.mid == 5500
    assert plain.message is not None and plain.message.mid == 5501 and plain.wire == plain.plaintext
    assert record_problems(plain), "the plain-UDP message looks like a DTLS record"
    rx_plain = [d for d in server.captured() if d.direction == "rx"]
    assert rx_plain[0] is plain, "something reached the plain server before the CoAP message (a ClientHello?)"
    late = [d for d in dtls_server.captured() if d.direction == "rx" and
            (d.kernel_time > switched_wall if d.kernel_time is not None else d.time > switched_mono)]
    assert not late, f"the DTLS server still got {len(late)} datagram(s) after DTLS was disabled"


@pytest.fixture
def ssl_dtls_restored(module: BG96) -> Iterator[None]:
    yield
    module.command(f'AT+QSSLCFG="dtls",{PSK_CONTEXT},1')


@pytest.mark.req("DTLS-NO-PLAINTEXT", "DTLS-QSSLCFG")
def test_ssl_context_dtls_disabled(module: BG96, dtls_client: int, dtls_server: ReferenceServer,
                                   ssl_dtls_restored: None, evidence: Evidence) -> None:
    """AT+QCOAPCFG="dtls" enabled on a context whose AT+QSSLCFG="dtls" is 0: the document does not
    say what OPEN does (recorded); whatever it does, no CoAP goes out in clear."""
    server, client = dtls_server, dtls_client
    assert module.command(f'AT+QSSLCFG="dtls",{PSK_CONTEXT},0').ok
    host, port = server.advertised
    response, result = module.open(client, host, port, timeout=QCOAPOPEN.max_response_time + module.at.grace)
    assert response.ok, response.text
    evidence.observe("DTLS-SSLCFG-DISABLED-OPEN", "no result" if result is None else result.result)
    if result is not None and result.result == 0:
        assert module.header(client, 5600, 0, 1, "0F").ok
        send = module.send(client, NON, GET, 0, b"must-not-be-clear")
        assert send.response.ok
        module.wait_ack(client)
    captured = server.captured()
    record_table(evidence, "datagrams at the DTLS server", captured)
    assert [p for d in captured for p in record_problems(d)] == []
    assert plaintext_leaks(captured) == []
    assert not any(b"must-not-be-clear" in d.wire for d in captured)

"""DTLS-PSK: handshake, CoAP through the session, and tinydtls' failure habits."""

import pytest

from reference_server import ACK, CON, ReferenceServer, SeparateResponse, EmptyAck, coap
from wire.tinydtls import ALERT_INTERNAL_ERROR, EVENT_CONNECTED, LEVEL_FATAL
from reference_server.testing import DtlsClient, request_bytes

IDENTITY, KEY = b"864508030012428", bytes.fromhex("313233343446473839")


@pytest.fixture(scope="module")
def server():
    with ReferenceServer(psk={IDENTITY: KEY}) as s:
        yield s


@pytest.fixture
def fresh(server):
    server.reset()
    server.set_psk({IDENTITY: KEY})
    clients = []

    def make(identity=IDENTITY, key=KEY):
        c = DtlsClient(server.bound, identity, key)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


def content_types(dgrams):
    return {r.content_type for d in dgrams for r in d.dtls_records}


def test_handshake_then_coap_through_dtls(server, fresh):
    c = fresh()
    assert c.connect()
    server.wait_dtls_event(lambda e: e.peer == c.address and e.code == EVENT_CONNECTED)
    req = request_bytes(CON, 1, 0x77, b"\x01", "19")
    c.send(req)
    answer = c.recv()
    assert answer[:4] == bytes([0x61, 0x45, 0, 0x77])
    got = server.wait_for(lambda d: d.direction == "rx" and d.plaintext == req)
    assert got.is_dtls and got.wire != req and got.message.uri_path == "19"
    assert [r.content_type for r in got.dtls_records] == [23]
    reply = server.wait_for(coap("tx", mtype=ACK, mid=0x77))
    assert reply.plaintext == answer and reply.reply_to is got and reply.dtls_records[0].epoch == 1
    captured = server.captured()
    assert {20, 22, 23} <= content_types(captured)
    assert all(r.version == 0xFEFD for d in captured for r in d.dtls_records if r.content_type != 22 or r.epoch)
    handshake_only = [d for d in captured if d.direction == "rx" and d.plaintext is None]
    assert handshake_only and all(d.message is None for d in handshake_only)
    assert server.dtls_connected(c.address)


def test_separate_response_and_server_request_over_dtls(server, fresh):
    c = fresh()
    assert c.connect()
    server.on(EmptyAck(), SeparateResponse("2.05", b"sep", delay=0.05))
    c.send(request_bytes(CON, 1, 0x10, b"s", "19"))
    assert c.recv()[:4] == bytes([0x60, 0, 0, 0x10])
    sep = c.recv()
    assert sep[1] == 0x45 and sep.endswith(b"sep")
    sent = server.send_request(c.address, CON, "0.03", [(11, b"19")], b"x", token=b"\x05")
    assert c.recv() == sent.plaintext and sent.is_dtls and sent.wire != sent.plaintext


def test_wrong_key_never_completes(server, fresh):
    c = fresh(key=b"wrong")
    assert not c.connect(timeout=1.0)
    assert not c.alerted  # tinydtls stays silent after the client's Finished
    captured = server.captured()
    assert not any(d.plaintext for d in captured)
    assert 23 not in content_types(captured)
    assert not any(e.code == EVENT_CONNECTED for e in server.dtls_events)
    assert any(d.direction == "rx" and any(r.content_type == 20 for r in d.dtls_records) for d in captured)


def test_unknown_identity_draws_internal_error_alert(server, fresh):
    c = fresh(identity=b"stranger")
    assert not c.connect(timeout=2.0)
    assert c.alerted and (LEVEL_FATAL, ALERT_INTERNAL_ERROR) in c.events
    alert = server.wait_for(lambda d: d.direction == "tx" and any(r.content_type == 21 for r in d.dtls_records))
    record = next(r for r in alert.dtls_records if r.content_type == 21)
    assert record.epoch == 0 and alert.wire[13:15] == bytes([LEVEL_FATAL, ALERT_INTERNAL_ERROR])


def test_set_psk_replaces_keys_for_new_handshakes(server, fresh):
    server.set_psk({b"other": b"k2"})
    c = fresh(identity=b"other", key=b"k2")
    assert c.connect()
    c.send(request_bytes(CON, 1, 3, b"", "19"))
    assert c.recv()[1] == 0x45


def test_close_notify_from_client_is_an_event(server, fresh):
    c = fresh()
    assert c.connect()
    peer = c.address
    c.close()  # resetPeer sends a close_notify alert
    ev = server.wait_dtls_event(lambda e: e.peer == peer and e.level > 0 and e.code == 0)
    assert ev.level == 1  # tinydtls reports close_notify as a warning-level alert
    assert not server.dtls_connected(peer)
    again = fresh()  # a new session from another port still works
    assert again.connect()

"""The reference server over plain UDP, driven by a bare socket and aiocoap's encoder."""

import signal
import subprocess
import sys
import threading
import time

import pytest

from reference_server import (
    ACK, CON, NON, RST, Duplicate, EmptyAck, Piggyback, Raw, ReferenceServer, Reset, Rule,
    SeparateResponse, Silence, SiteAnswer, coap, rx, tx,
)
from reference_server.resources import LARGE_PAYLOAD
from reference_server.testing import UdpClient, request_bytes


@pytest.fixture(scope="module")
def server():
    with ReferenceServer() as s:
        yield s


@pytest.fixture
def client(server):
    server.reset()
    c = UdpClient(server.bound)
    yield c
    c.close()


@pytest.mark.parametrize(
    "mtype,code,path,payload,want_code,want_payload",
    [
        (CON, 1, "19", b"", "2.05", b"BG96 reference server resource 19"),
        (CON, 2, "19", b"hello", "2.04", b""),
        (CON, 3, "19", b"BG96 reference server resource 19", "2.04", b""),
        (CON, 1, "large", b"", "2.05", LARGE_PAYLOAD),
        (CON, 1, "nope", b"", "4.04", None),
        (CON, 4, "large", b"", "4.05", None),
    ],
)
def test_default_resources_piggyback(client, mtype, code, path, payload, want_code, want_payload):
    client.send(request_bytes(mtype, code, 0x4321, b"\xd2\x04", path, payload))
    view = client.recv_view()
    assert (view.mtype, view.code_text, view.mid, view.token) == (ACK, want_code, 0x4321, b"\xd2\x04")
    if want_payload is not None:
        assert view.payload == want_payload


def test_echo_keeps_payload_and_content_format(client):
    client.send(request_bytes(CON, 2, 7, b"t", "echo", b"\x01\x02", content_format=60))
    view = client.recv_view()
    assert view.payload == b"\x01\x02" and view.option_values(12) == [b"\x3c"]


def test_well_known_core_and_non_request(client, server):
    client.send(request_bytes(NON, 1, 8, b"tk", ".well-known/core"))
    view = client.recv_view()
    assert view.mtype == NON and view.token == b"tk" and view.mid != 8
    assert b"</19>" in view.payload and view.option_values(12) == [b"\x28"]
    sent = server.wait_for(coap("tx", mtype=NON))
    assert sent.reply_to is server.wait_for(coap("rx", mid=8))


def test_ping_draws_rst(client):
    client.send(bytes([0x40, 0, 0x12, 0x34]))
    view = client.recv_view()
    assert (view.mtype, view.code, view.mid) == (RST, 0, 0x1234)


def test_capture_is_raw_bytes_with_kernel_timestamps(client, server):
    data = request_bytes(CON, 1, 99, b"ab", "19")
    before = time.time()
    client.send(data)
    client.recv()
    got = server.wait_for(rx)
    assert got.wire == data and got.plaintext == data and got.peer == client.address
    assert got.kernel_time is not None and before - 1 <= got.kernel_time <= time.time() + 1
    assert got.dtls_records == [] and got.violations == []
    assert got.message.options == [(11, b"19")]
    reply = server.wait_for(tx)
    assert reply.reply_to is got and reply.time >= got.time
    assert server.peers()[-1] == client.address


def test_piggyback_action_with_options_and_overrides(client, server):
    server.on(Piggyback("4.00", b"bad", [(12, b"\x00")], token=b"zz"), uri_path="19", count=1)
    client.send(request_bytes(CON, 1, 10, b"t1", "19"))
    view = client.recv_view()
    assert (view.code_text, view.payload, view.token, view.mid) == ("4.00", b"bad", b"zz", 10)
    assert view.options == [(12, b"\x00")]
    client.send(request_bytes(CON, 1, 11, b"t1", "19"))
    assert client.recv_view().code_text == "2.05"  # rule used up


def test_silence_for_n_copies_then_answer(client, server):
    rule = server.on(Silence(), count=2)
    data = request_bytes(CON, 1, 12, b"s", "19")
    for _ in range(2):
        client.send(data)
        assert client.nothing_within(0.15)
    client.send(data)
    assert client.recv_view().mid == 12
    assert rule.hits == 2
    assert len(server.wait_count(coap("rx", mid=12), 3)) == 3


def test_empty_ack_then_separate_con_response_without_retransmission(client, server):
    server.on(EmptyAck(), SeparateResponse("2.05", b"later", delay=0.2))
    t0 = time.monotonic()
    client.send(request_bytes(CON, 1, 13, b"sep", "19"))
    ack = client.recv_view()
    assert (ack.mtype, ack.code, ack.mid, ack.token) == (ACK, 0, 13, b"")
    sep = client.recv_view()
    assert time.monotonic() - t0 >= 0.2
    assert (sep.mtype, sep.code_text, sep.token, sep.payload) == (CON, "2.05", b"sep", b"later")
    assert sep.mid != 13
    client.send(bytes([0x60, 0, sep.mid >> 8, sep.mid & 0xFF]))
    ack_in = server.wait_for(coap("rx", mtype=ACK))
    assert ack_in.reply_to is server.wait_for(coap("tx", mtype=CON))
    assert client.nothing_within(0.3)  # no retransmission by default


def test_retransmitted_request_is_acknowledged_again_but_answered_once(client, server):
    """RFC 7252 4.5: the module's retransmission of a CON already answered (its ACK delayed past
    ACK_TIMEOUT by the path) gets the empty ACK again, not a second separate response."""
    rule = server.on(EmptyAck(), SeparateResponse("2.05", b"once", delay=0.05))
    data = request_bytes(CON, 1, 16, b"d1", "19")
    client.send(data)
    client.send(data)
    views = [client.recv_view() for _ in range(3)]
    assert sorted((v.mtype, v.mid) for v in views if v.mtype == ACK) == [(ACK, 16), (ACK, 16)]
    [response] = [v for v in views if v.mtype == CON]
    assert response.payload == b"once" and rule.hits == 1
    assert client.nothing_within(0.2)


def test_same_mid_with_other_bytes_is_a_new_message(client, server):
    """Only a copy is a duplicate: another message reusing the MID is answered as scripted."""
    server.on(Piggyback("2.05", b"each"))
    client.send(request_bytes(CON, 1, 17, b"a", "19"))
    client.send(request_bytes(CON, 1, 17, b"b", "19"))
    assert sorted(client.recv_view().token for _ in range(2)) == [b"a", b"b"]


def test_separate_non_response(client, server):
    server.on(SeparateResponse(69, b"n", confirmable=False, delay=0.05, mid=777))
    client.send(request_bytes(NON, 1, 14, b"n1", "19"))
    view = client.recv_view()
    assert (view.mtype, view.code_text, view.mid, view.token) == (NON, "2.05", 777, b"n1")


def test_separate_con_retransmits_when_asked(client, server):
    server.on(EmptyAck(), SeparateResponse("2.05", b"r", retransmit=True))
    client.send(request_bytes(CON, 1, 15, b"r", "19"))
    client.recv_view()
    first = client.recv_view()
    again = client.recv_view(timeout=4.0)
    assert again.mid == first.mid and again.mtype == CON
    client.send(bytes([0x60, 0, first.mid >> 8, first.mid & 0xFF]))
    server.wait_for(coap("rx", mtype=ACK))


def test_reset_action(client, server):
    server.on(Reset(), code=2)
    client.send(request_bytes(CON, 2, 16, b"x", "19", b"p"))
    view = client.recv_view()
    assert (view.mtype, view.mid, view.code) == (RST, 16, 0)


def test_duplicate_action(client, server):
    server.on(Duplicate(SiteAnswer(), times=3))
    client.send(request_bytes(CON, 1, 17, b"d", "19"))
    copies = [client.recv() for _ in range(3)]
    assert copies[0] == copies[1] == copies[2]
    assert len(server.wait_count(tx, 3)) == 3


def test_raw_action_and_rule_predicate(client, server):
    server.add_rule(Rule([Raw(b"\xde\xad")], predicate=lambda d: d.message.token == b"raw"))
    client.send(request_bytes(CON, 1, 18, b"raw", "19"))
    assert client.recv() == b"\xde\xad"
    client.send(request_bytes(CON, 1, 19, b"oth", "19"))
    assert client.recv_view().code_text == "2.05"


def test_server_initiated_request_and_client_ack(client, server):
    client.send(request_bytes(NON, 1, 20, b"", "19"))
    client.recv()
    sent = server.send_request(client.address, CON, "0.02", [(11, b"19")], b"up", token=b"\x01")
    view = client.recv_view()
    assert (view.mtype, view.code_text, view.mid, view.payload) == (CON, "0.02", sent.message.mid, b"up")
    client.send(bytes([0x61, 0x44, view.mid >> 8, view.mid & 0xFF, 0x01]))
    ack = server.wait_for(coap("rx", mtype=ACK))
    assert ack.reply_to is sent and ack.message.code_text == "2.04"
    assert client.nothing_within(0.2)  # no retransmission, no answer to the ACK
    raw = server.send_raw(client.address, b"\x50\x00\x00\x01")
    assert client.recv() == raw.wire


def test_client_separate_response_is_acked(client, server):
    sent = server.send_request(client.address, CON, 1, token=b"\x09", mid=500)
    client.recv()
    client.send(bytes([0x60, 0, 0x01, 0xF4]))  # empty ACK for 500
    client.send(bytes([0x41, 0x45, 0x00, 0x07, 0x09]))  # separate CON 2.05 mid 7
    ack = client.recv_view()
    assert (ack.mtype, ack.code, ack.mid) == (ACK, 0, 7)
    resp = server.wait_for(coap("rx", mid=7))
    assert resp.reply_to is sent


MALFORMED = {
    "truncated header": b"\x40\x01",
    "version 0": b"\x00\x01\x00\x01",
    "version 2": b"\x80\x01\x00\x01",
    **{f"TKL {n}": bytes([0x40 | n, 1, 0, 1]) + b"t" * 15 for n in range(9, 16)},
    "option delta 15": b"\x40\x01\x00\x01\xf1\x00",
    "payload marker with no payload": b"\x40\x01\x00\x01\xb2\x31\x39\xff",
    "token shorter than TKL": b"\x44\x01\x00\x01ab",
    "reserved code class": b"\x40\xc1\x00\x01",
    "Empty message (0.00) with a token": b"\x61\x00\x00\x01\x01",
    "with options or payload": b"\x60\x00\x00\x01\xff\x41",
    "request code 0.01 on an ACK": b"\x60\x01\x00\x01",
    "non-repeatable option": request_bytes(CON, 1, 1, b"", "19", options=[(12, b""), (12, b"\x01")]),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_is_recorded_and_server_keeps_serving(client, server, name):
    bad = MALFORMED[name]
    client.send(bad)
    client.send(request_bytes(CON, 1, 0x0BAD, b"ok", "19"))
    got = server.wait_for(lambda d: d.direction == "rx" and d.wire == bad)
    assert any(name in v for v in got.violations), got.violations
    while True:  # a malformed CON may draw an RST first
        view = client.recv_view()
        if view.mid == 0x0BAD:
            break
        assert view.mtype == RST
    assert view.code_text == "2.05"


def test_wait_for_timeout_lists_capture(client, server):
    client.send(request_bytes(CON, 1, 21, b"", "19"))
    client.recv()
    with pytest.raises(TimeoutError, match="CON 0.01 mid=21"):
        server.wait_for(coap("rx", mid=9999), timeout=0.1)


def test_reset_returns_old_capture_and_clears_rules(client, server):
    server.on(Silence())
    client.send(request_bytes(CON, 1, 22, b"", "19"))
    server.wait_for(rx)
    old = server.reset()
    assert [d.message.mid for d in old] == [22] and server.captured() == []
    client.send(request_bytes(CON, 1, 23, b"", "19"))
    assert client.recv_view().mid == 23


def test_mid_counter_and_advertise():
    with ReferenceServer(advertise=("203.0.113.5", 5683)) as s:
        assert s.advertised == ("203.0.113.5", 5683) and s.bound[0] == "127.0.0.1"
        a, b = s.next_mid(), s.next_mid()
        assert b == (a + 1) & 0xFFFF
    s.stop()  # idempotent


def test_cli_dtls_without_psk_refuses():
    r = subprocess.run([sys.executable, "-m", "reference_server", "--dtls"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "--psk-identity" in r.stderr


def test_cli_serves_prints_and_writes_pcap(tmp_path):
    pcap = tmp_path / "cli.pcap"
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "reference_server", "--bind", "127.0.0.1:0", "--pcap", str(pcap)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        first = proc.stdout.readline()  # blocks until the server is bound
        assert first.startswith("REFERENCE-SERVER udp 127.0.0.1:")
        c = UdpClient(("127.0.0.1", int(first.rsplit(":", 1)[1])))
        c.send(request_bytes(CON, 1, 31, b"c", "19"))
        assert c.recv_view().mid == 31
        c.close()
        lines = [proc.stdout.readline(), proc.stdout.readline()]
    finally:
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(10)
    assert rc == 0
    assert "CON 0.01 mid=31" in lines[0] and "ACK 2.05 mid=31" in lines[1]
    assert pcap.stat().st_size > 24

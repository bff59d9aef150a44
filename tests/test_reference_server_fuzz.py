"""Random bytes and random DTLS-looking records: every datagram is recorded, the server survives."""

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_server import CON, ReferenceServer, rx
from reference_server.testing import DtlsClient, UdpClient, request_bytes

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

dtls_record = st.builds(
    lambda ctype, version, epoch, seq, body, lie: struct.pack(
        "!BHHHIH", ctype, version, epoch, seq >> 32, seq & 0xFFFFFFFF, (len(body) + lie) & 0xFFFF
    ) + body,
    st.sampled_from([20, 21, 22, 23, 24, 25, 0, 255]),
    st.sampled_from([0xFEFD, 0xFEFF, 0x0303, 0]),
    st.integers(0, 3),
    st.integers(0, 2**48 - 1),
    st.binary(max_size=80),
    st.sampled_from([0, 0, 1, -1, 100]),
)
dtls_datagram = st.lists(dtls_record, min_size=1, max_size=3).map(b"".join)


@pytest.fixture(scope="module")
def udp_server():
    with ReferenceServer() as s:
        yield s


@pytest.fixture(scope="module")
def dtls_server():
    with ReferenceServer(psk={b"id": b"key"}) as s:
        yield s


def _flood_and_check(server, client, payloads):
    server.reset()
    for p in payloads:
        client.send(p)
    # this client's datagrams only: a previous example's DTLS client may still be saying close_notify
    got = server.wait_count(lambda d: rx(d) and d.peer == client.address, len(payloads), timeout=5)
    assert [d.wire for d in got] == payloads
    for d in got:
        d.summary(), d.violations, d.message, d.dtls_records  # all lazily computed views work


@SETTINGS
@given(st.lists(st.binary(min_size=1, max_size=120) | dtls_datagram, min_size=1, max_size=8))
def test_udp_server_survives_random_bytes(udp_server, payloads):
    c = UdpClient(udp_server.bound)
    try:
        _flood_and_check(udp_server, c, payloads)
        c.send(request_bytes(CON, 1, 4242, b"ok", "19"))
        while (view := c.recv_view()).mid != 4242:
            pass
        assert view.code_text == "2.05"
    finally:
        c.close()


@SETTINGS
@given(st.lists(dtls_datagram | st.binary(min_size=1, max_size=60), min_size=1, max_size=6))
def test_dtls_server_survives_random_records(dtls_server, payloads):
    c = UdpClient(dtls_server.bound)
    try:
        _flood_and_check(dtls_server, c, payloads)
    finally:
        c.close()
    good = DtlsClient(dtls_server.bound, b"id", b"key")
    try:
        assert good.connect()
        good.send(request_bytes(CON, 1, 7, b"", "19"))
        assert good.recv()[1] == 0x45
    finally:
        good.close()

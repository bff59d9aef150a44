"""What tests/test_reference_server_fuzz.py leaves out: CoAP-shaped malformed datagrams (a valid
first byte, then broken token lengths, option deltas and lengths, markers), the empty datagram,
and garbage records from a peer in the middle of an established DTLS session. Each is recorded,
and the server keeps serving: the plain server answers the next request, the DTLS session goes on.
"""
from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reference_server import CON, ReferenceServer, rx
from reference_server.testing import DtlsClient, UdpClient, request_bytes
from wire.dtls_records import RECORD_HEADER, is_client_hello

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

_option = st.builds(
    lambda delta, length, ext, value: bytes([(delta << 4) | length]) + ext + value,
    st.integers(0, 15), st.integers(0, 15), st.binary(max_size=2), st.binary(max_size=6))
coap_shaped = st.builds(
    lambda version, mtype, tkl, code, mid, token, options, marker, payload:
        bytes([(version << 6) | (mtype << 4) | tkl, code]) + struct.pack("!H", mid) + token
        + b"".join(options) + marker + payload,
    st.sampled_from([1, 1, 1, 0, 2, 3]), st.integers(0, 3), st.integers(0, 15), st.integers(0, 255),
    st.integers(0, 65535), st.binary(max_size=10), st.lists(_option, max_size=4),
    st.sampled_from([b"", b"\xff"]), st.binary(max_size=8))


@pytest.fixture(scope="module")
def udp_server() -> Iterator[ReferenceServer]:
    with ReferenceServer() as s:
        yield s


def served(server: ReferenceServer, mid: int) -> None:
    """A valid CON GET /19 still gets its piggybacked 2.05."""
    client = UdpClient(server.bound)
    try:
        client.send(request_bytes(CON, 1, mid, b"ok", "19"))
        while (view := client.recv_view()).mid != mid:
            pass
        assert view.code_text == "2.05"
    finally:
        client.close()


@SETTINGS
@given(st.lists(coap_shaped | st.just(b""), min_size=1, max_size=8))
def test_malformed_coap_is_recorded_and_the_server_serves_on(udp_server: ReferenceServer,
                                                             datagrams: list[bytes]) -> None:
    udp_server.reset()
    client = UdpClient(udp_server.bound)
    try:
        for d in datagrams:
            client.send(d)
        got = udp_server.wait_count(lambda d: rx(d) and d.peer == client.address, len(datagrams), timeout=5)
    finally:
        client.close()
    assert [d.wire for d in got] == datagrams
    for d in got:
        d.summary(), d.violations, d.message  # the lazily computed views never raise
    served(udp_server, 4343)


PSK = {b"fuzz-id": b"fuzz-key"}


@pytest.fixture(scope="module")
def dtls_server() -> Iterator[ReferenceServer]:
    with ReferenceServer(psk=PSK) as s:
        yield s



_record = st.builds(
    lambda ctype, version, epoch, seq, body: struct.pack("!BHHHIH", ctype, version, epoch, seq >> 32,
                                                         seq & 0xFFFFFFFF, len(body)) + body,
    st.sampled_from([20, 21, 22, 23, 99]), st.sampled_from([0xFEFD, 0xFEFF]), st.integers(0, 2),
    st.integers(0, 2**48 - 1), st.binary(max_size=48))


#: one byte of a ClientHello in an epoch-0 handshake record: once taken for a peer starting over
TRUNCATED_HELLO = struct.pack("!BHHHIH", 22, 0xFEFD, 0, 0, 0, 1) + b"\x01"


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_record | st.binary(min_size=1, max_size=40), min_size=1, max_size=5))
@example([TRUNCATED_HELLO])
def test_garbage_inside_a_dtls_session_is_recorded_and_the_session_goes_on(
        dtls_server: ReferenceServer, garbage: list[bytes]) -> None:
    """Forged records from the very address of an established session (what an attacker or a
    confused stack sends): each is recorded, and the session's next request is answered. A new
    session per example: with one for all, an earlier example's records decided a later one."""
    with dtls_session(dtls_server) as session:
        forge_and_continue(dtls_server, session, garbage)


@contextmanager
def dtls_session(server: ReferenceServer) -> Iterator[DtlsClient]:
    server.reset()
    client = DtlsClient(server.bound, b"fuzz-id", b"fuzz-key")
    try:
        assert client.connect()
        yield client
    finally:
        client.close()


def forge_and_continue(dtls_server: ReferenceServer, session: DtlsClient, garbage: list[bytes]) -> None:
    seen = {id(d) for d in dtls_server.captured()}
    for g in garbage:
        session.sock.sendto(g, dtls_server.bound)
    got = dtls_server.wait_count(lambda d: rx(d) and id(d) not in seen and d.peer == session.address,
                                 len(garbage), timeout=5)
    assert [d.wire for d in got] == garbage
    if not dtls_server.dtls_connected(session.address):
        pytest.fail("a forged record ended the DTLS session")
    session.send(request_bytes(CON, 1, 77, b"s", "19"))
    assert session.recv()[1] == 0x45  # 2.05


def test_only_a_whole_client_hello_starts_a_peer_over(dtls_server: ReferenceServer) -> None:
    """The module's real ClientHello is one; cut anywhere inside its handshake header or short of
    its fixed fields, or with its lengths forged, it is garbage."""
    with dtls_session(dtls_server):
        hello = next(d.wire for d in dtls_server.captured() if rx(d))
    assert is_client_hello(hello)
    body = RECORD_HEADER
    for cut in range(body, body + 12):
        assert not is_client_hello(hello[:cut]), cut
    claims = bytearray(hello)
    claims[body + 9:body + 12] = (len(hello) - body).to_bytes(3, "big")  # a fragment past the record
    assert not is_client_hello(bytes(claims))
    assert not is_client_hello(TRUNCATED_HELLO)

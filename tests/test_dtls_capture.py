"""The DTLS capture tells the truth: ciphertext stays ciphertext, decrypted records are never
missed by a waiter, and the record-layer checks the suites rely on can fail."""

from __future__ import annotations

import random
import threading

import pytest

from wire.dtls_records import DTLS_1_0
from fixtures.dtls import (PskEntry, application_records, checksum_matches, hello_version,
                           negotiated_cipher_suite, plaintext_leaks, qfupl_checksum, record_names,
                           record_problems)
from reference_server import CON, NON, Datagram, ReferenceServer, Silence
from wire.dtls_records import is_client_hello
from reference_server.server import RCVBUF
from reference_server.testing import DtlsClient, UdpClient, request_bytes

IDENTITY, KEY = b"864508030012428", bytes.fromhex("313233343446473839")


class RecordingClient(DtlsClient):
    """A DtlsClient that keeps its own copy of every datagram it puts on the wire."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.sent: list[bytes] = []

    def _write(self, recipient, data: bytes) -> int:
        self.sent.append(bytes(bytearray(data)))  # an independent copy
        return super()._write(recipient, data)


@pytest.fixture(scope="module")
def dtls_server():
    with ReferenceServer(psk={IDENTITY: KEY}) as s:
        yield s


@pytest.fixture
def server(dtls_server: ReferenceServer):
    dtls_server.reset()
    yield dtls_server


@pytest.fixture
def client(server: ReferenceServer):
    c = RecordingClient(server.bound, IDENTITY, KEY)
    assert c.connect()
    yield c
    c.close()


def test_captured_wire_is_the_ciphertext_that_was_sent(server: ReferenceServer, client: RecordingClient) -> None:
    """tinydtls decrypts in the buffer it is handed; the capture must not be that buffer."""
    request = request_bytes(NON, 2, 0x99, b"\x01\x02", "19", b"Hello, CoAP Message!")
    client.send(request)
    got = server.wait_for(lambda d: d.direction == "rx" and d.plaintext == request)
    assert got.wire == client.sent[-1], "the captured datagram is not what went on the wire"
    assert request not in got.wire and b"Hello, CoAP Message!" not in got.wire
    assert got.dtls_records[0].content_type == 23 and got.dtls_records[0].length == len(request) + 16
    assert plaintext_leaks(server.captured()) == []


def test_no_waiter_sees_a_record_before_tinydtls_has(server: ReferenceServer, client: RecordingClient) -> None:
    """A waiter that starts while an application record is recorded but not yet decrypted must
    not look at it then (it would never look again and time out)."""
    request = request_bytes(NON, 1, 0x42, b"\x42", "r")
    server.on(Silence())
    looked_early = threading.Event()
    outcome: dict[str, object] = {}
    waiters: list[threading.Thread] = []

    def predicate(d: Datagram) -> bool:
        if d.direction == "rx" and d.dtls_records and d.dtls_records[0].content_type == 23 and d.plaintext is None:
            looked_early.set()
        return d.direction == "rx" and d.plaintext == request

    def waiter() -> None:
        try:
            outcome["got"] = server.wait_for(predicate, timeout=2.0)
        except TimeoutError as e:
            outcome["timeout"] = e

    def probe(wire: bytes) -> bool:
        """Runs on the server thread once the record is in the capture, before tinydtls sees it."""
        if wire[0] == 23 and not waiters:
            waiters.append(threading.Thread(target=waiter))
            waiters[0].start()
            looked_early.wait(0.3)  # a waiter that can look now, looks now
        return False  # never ignore: this is only a probe

    server.ignore_dtls(1, probe)
    client.send(request)
    server.wait_for(lambda d: d.direction == "rx" and d.plaintext == request, timeout=2.0)
    assert waiters, "the probe never ran"
    waiters[0].join(3.0)
    assert not looked_early.is_set(), "a waiter saw the record before it was decrypted"
    assert "got" in outcome, f"the waiter missed the record: {outcome}"


def test_record_checks_pass_on_a_real_session_and_name_the_records(server: ReferenceServer,
                                                                    client: RecordingClient) -> None:
    client.send(request_bytes(CON, 1, 0x10, b"\x05", "19"))
    client.recv()
    captured = server.captured()
    assert [p for d in captured for p in record_problems(d)] == []
    assert len(application_records(captured, "rx")) == 1 and len(application_records(captured, "tx")) == 1
    assert negotiated_cipher_suite(captured) == 0xC0A8  # TLS_PSK_WITH_AES_128_CCM_8: counter mode


def test_record_checks_catch_plain_coap_and_leaks() -> None:
    coap = request_bytes(CON, 1, 7, b"\x01", "19", b"payload")
    plain = Datagram("rx", 0.0, ("127.0.0.1", 1), coap, is_dtls=True)
    assert record_problems(plain), "plain CoAP passed for a DTLS record"
    forged = Datagram("rx", 0.0, ("127.0.0.1", 1),
                      bytes([23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 1]) + len(coap).to_bytes(2, "big") + coap,
                      is_dtls=True)
    forged.set_plaintext(coap)
    assert record_problems(forged) == []  # a well-formed record ...
    assert plaintext_leaks([forged]), "... that carries its plaintext in clear is a leak"
    truncated = Datagram("rx", 0.0, ("127.0.0.1", 1), forged.wire[:-3], is_dtls=True)
    assert any("cover" in p for p in record_problems(truncated))
    header = bytes([0xFE, 0xFF]) + bytes(8) + (12).to_bytes(2, "big")  # DTLS 1.0, epoch 0, 12 bytes
    hello_v10 = Datagram("rx", 0.0, ("127.0.0.1", 1), bytes([22]) + header + b"\x01" + bytes(11), is_dtls=True)
    assert record_problems(hello_v10) == [] and record_names(hello_v10) == ["ClientHello"]
    data_v10 = Datagram("rx", 0.0, ("127.0.0.1", 1), bytes([23]) + header + bytes(12), is_dtls=True)
    assert any(f"{DTLS_1_0:#06x}" in p for p in record_problems(data_v10)), "DTLS 1.0 application data passed"


def test_handshake_records_are_named(server: ReferenceServer, client: RecordingClient) -> None:
    names = [n for d in server.captured() for n in record_names(d)]
    assert names == ["ClientHello", "HelloVerifyRequest", "ClientHello", "ServerHello", "ServerHelloDone",
                     "ClientKeyExchange", "ChangeCipherSpec", "encrypted handshake (Finished)",
                     "ChangeCipherSpec", "encrypted handshake (Finished)"]
    hellos = [d for d in server.captured() if record_names(d)[:1] in (["ClientHello"], ["ServerHello"])]
    assert len(hellos) == 3 and {hello_version(d) for d in hellos} == {0xFEFD}  # DTLS 1.2 asked and agreed


def test_ignore_dtls_loses_one_client_hello(server: ReferenceServer) -> None:
    server.ignore_dtls(1)
    lost = DtlsClient(server.bound, IDENTITY, KEY)
    try:
        assert not lost.connect(timeout=0.3)
    finally:
        lost.close()
    assert len(server.dtls_ignored) == 1 and is_client_hello(server.dtls_ignored[0].wire)
    assert server.dtls_ignored[0] in server.captured()
    fine = DtlsClient(server.bound, IDENTITY, KEY)
    try:
        assert fine.connect()
    finally:
        fine.close()


def test_receive_buffer_raised() -> None:
    """Bursts of handshakes must not be dropped by the kernel: the buffer is above the default."""
    with open("/proc/sys/net/core/rmem_default") as f:
        default = int(f.read())
    with ReferenceServer(psk={IDENTITY: KEY}) as s:
        assert s.rcvbuf > default
        assert RCVBUF >= 1 << 20


def test_qfupl_checksum_against_the_emulator_and_the_document() -> None:
    from emulator.ufs import checksum

    example = PskEntry(IDENTITY, KEY.hex()).file_content
    assert example == b"864508030012428&313233343446473839"
    assert qfupl_checksum(example) == "322e"  # not the 2802 example 5.2 prints (ERRATUM-QFUPL-CHECKSUM)
    rng = random.Random(5)
    for n in (0, 1, 2, 3, 33, 34, 1025):
        data = bytes(rng.randrange(256) for _ in range(n))
        assert int(qfupl_checksum(data), 16) == checksum(data)
    assert checksum_matches("322E", example) and checksum_matches("0322e", example)
    assert not checksum_matches("2802", example) and not checksum_matches("xyz", example)


def test_a_udp_client_is_not_a_dtls_peer(server: ReferenceServer) -> None:
    """Plain CoAP sent to the DTLS server is recorded, never decrypted, never answered."""
    udp = UdpClient(server.bound)
    try:
        udp.send(request_bytes(CON, 1, 1, b"", "19"))
        got = server.wait_for(lambda d: d.direction == "rx")
        assert got.plaintext is None and record_problems(got)
        assert udp.nothing_within(0.2)
    finally:
        udp.close()

"""The emulator's DTLS client against the DTLS reference server: what the suites' DTLS checks see,
including a faulty module (``--fault dtls-plaintext``) that the no-plaintext check must catch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator.dtls_client import HANDSHAKE_FLOOR_S, HANDSHAKE_TIMEOUT_S, handshake_deadline
from emulator.testing import AtClient, EmulatorProcess, final_of, running_emulator
from fixtures.dtls import (ALERT, application_records, client_hellos, plaintext_leaks, record_problems,
                           records_of)
from reference_server import ReferenceServer

IDENTITY, KEY = b"864508030012428", bytes.fromhex("313233343446473839")
PSK_FILE = IDENTITY + b"&" + KEY.hex().encode()


def start(args: list[str]) -> EmulatorProcess:
    e = EmulatorProcess(["--tcp", "127.0.0.1:0", "--time-scale", "0.01", *args])
    e.start()
    return e


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    with running_emulator() as e:
        yield e


@pytest.fixture(scope="module")
def faulty() -> Iterator[EmulatorProcess]:
    e = start(["--fault", "dtls-plaintext"])
    yield e
    assert e.stop() == 0


@pytest.fixture
def server() -> Iterator[ReferenceServer]:
    with ReferenceServer(psk={IDENTITY: KEY}) as s:
        yield s


def dtls_client(e: EmulatorProcess, psk_file: bytes = PSK_FILE, ssl_dtls: int = 1) -> AtClient:
    c = AtClient.connect(e.address)
    c.cmd("ATE0")
    c.cmd('AT+QFDEL="0_server.psk"')
    c.send(f'AT+QFUPL="UFS:0_server.psk",{len(psk_file)}\r'.encode())
    c.expect(rb"CONNECT\r\n")
    c.send(psk_file)
    c.expect(rb"\+QFUPL: .*\r\n\r\nOK\r\n")
    assert final_of(c.cmd("AT+QIACT=1")) in ("OK", "ERROR")  # already active: fine
    for line in ('AT+QCOAPCFG="dtls",0,1,0', f'AT+QSSLCFG="dtls",0,{ssl_dtls}', 'AT+QSSLCFG="dtlsversion",0,1'):
        assert final_of(c.cmd(line)) == "OK", line
    return c


def open_and_send(c: AtClient, server: ReferenceServer, expect_result: int, timeout: float = 8.0) -> None:
    host, port = server.bound
    c.cmd(f'AT+QCOAPOPEN=0,"{host}",{port}')
    c.expect(rf"\r\n\+QCOAPOPEN: 0,{expect_result}\r\n".encode(), timeout=timeout)
    if expect_result == 0:
        c.cmd("AT+QCOAPHEADER=0,77,0,1,\"AA\"")
        c.send(b"AT+QCOAPSEND=0,1,1,0,9\r")
        c.expect(rb"\r\n> ")
        c.send(b"in-clear?")
        c.expect(rb"\r\nOK\r\n")


def test_handshake_deadline() -> None:
    """Scaled like the other timers, but never under tinydtls's real-time 2 s retransmission."""
    assert handshake_deadline(1.0) == HANDSHAKE_TIMEOUT_S
    assert handshake_deadline(0.01) == HANDSHAKE_FLOOR_S > 2.0


def test_emulator_session_passes_the_no_plaintext_check(emulator: EmulatorProcess, server: ReferenceServer) -> None:
    c = dtls_client(emulator)
    try:
        open_and_send(c, server, 0)
        got = server.wait_for(lambda d: d.direction == "rx" and d.plaintext is not None)
        assert got.message is not None and got.message.payload == b"in-clear?"
        c.cmd("AT+QCOAPCLOSE=0")
        c.expect(rb"\+QCOAPCLOSE: 0,0\r\n")
    finally:
        c.close()
    captured = server.captured()
    assert [p for d in captured for p in record_problems(d)] == [] and plaintext_leaks(captured) == []


def test_no_plaintext_check_catches_a_module_sending_coap_in_clear(faulty: EmulatorProcess,
                                                                   server: ReferenceServer) -> None:
    """The handshake completes, then CoAP goes out as plain UDP: the checks the suites use fail."""
    c = dtls_client(faulty)
    try:
        open_and_send(c, server, 0)
        clear = server.wait_for(lambda d: d.direction == "rx" and b"in-clear?" in d.wire)
    finally:
        c.close()
    assert client_hellos(server.captured()), "the faulty module did perform the handshake"
    assert record_problems(clear), "plain CoAP passed the record check"
    assert clear.plaintext is None and application_records([clear]) == []


def test_ssl_context_without_dtls_fails_before_any_datagram(emulator: EmulatorProcess,
                                                            server: ReferenceServer) -> None:
    """AT+QSSLCFG="dtls",<ctx>,0 is honoured: -9, and the module sends nothing."""
    c = dtls_client(emulator, ssl_dtls=0)
    try:
        open_and_send(c, server, -9)
    finally:
        c.cmd('AT+QSSLCFG="dtls",0,1')
        c.close()
    assert server.captured() == []


def test_failed_handshake_leaves_silently(emulator: EmulatorProcess, server: ReferenceServer) -> None:
    """A wrong key: -9 after the deadline, and no alert afterwards (the handshake simply stops)."""
    c = dtls_client(emulator, psk_file=IDENTITY + b"&" + bytes(len(KEY)).hex().encode())
    try:
        open_and_send(c, server, -9, timeout=HANDSHAKE_FLOOR_S + 3)
    finally:
        c.close()
    captured = server.captured()
    assert client_hellos(captured)
    assert not any(r.content_type == ALERT for d in captured if d.direction == "rx" for r in records_of(d))

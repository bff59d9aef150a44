"""DTLS-PSK end to end: PSK file uploaded by AT+QFUPL, handshake with a tinydtls server in the test."""
from __future__ import annotations

import queue
import socket
import threading
from collections.abc import Iterator

import aiocoap
import pytest
from aiocoap.numbers.codes import Code
from aiocoap.numbers.types import Type

from emulator.testing import AtClient, EmulatorProcess, final_of, running_emulator

pytest.importorskip("DTLSSocket.dtls")
from wire.tinydtls import DtlsEndpoint  # noqa: E402 - only once DTLSSocket is known to be there

IDENTITY = b"864508030012428"
KEY = bytes.fromhex("313233343446473839")


class DtlsServer(threading.Thread):
    """One-peer DTLS-PSK server on the project's tinydtls layer, independent of the reference server."""

    def __init__(self, psk: dict[bytes, bytes]) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.peer: tuple[str, int] | None = None
        self.plaintext: queue.Queue[bytes] = queue.Queue()
        self.events: queue.Queue[tuple[int, int]] = queue.Queue()
        self.raw: list[bytes] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.d = DtlsEndpoint(self._write, self.plaintext.put, lambda level, code: self.events.put((level, code)),
                              identity=b"unused", psk=psk)
        self.d.accept()

    def _write(self, data: bytes) -> None:
        if self.peer is not None:
            self.sock.sendto(data, self.peer)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                data, self.peer = self.sock.recvfrom(4096)
            except (socket.timeout, OSError):
                continue
            self.raw.append(data)
            with self.lock:
                self.d.handle(data)

    def send(self, plaintext: bytes) -> None:
        with self.lock:
            self.d.write(plaintext)

    def stop(self) -> None:
        self.stopping.set()
        self.join(2)
        self.sock.close()


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    with running_emulator(time_scale="0.1") as e:
        yield e


def prepare(e: EmulatorProcess, psk_content: bytes | None) -> AtClient:
    c = AtClient.connect(e.address)
    c.send(b"AT+CFUN=1,1\r")
    c.expect(rb"\r\nOK\r\n")
    c.expect(rb"\r\nAPP RDY\r\n")
    c.cmd("ATE0")
    c.cmd('AT+QFDEL="*"')
    if psk_content is not None:
        c.send(f'AT+QFUPL="UFS:0_server.psk",{len(psk_content)}\r'.encode())
        c.expect(rb"CONNECT\r\n")
        c.send(psk_content)
        c.expect(rb"\+QFUPL: .*\r\n\r\nOK\r\n")
    assert final_of(c.cmd("AT+QIACT=1")) == "OK"
    c.cmd('AT+QCOAPCFG="dtls",0,1,0')
    c.cmd('AT+QSSLCFG="dtls",0,1')
    c.cmd('AT+QSSLCFG="dtlsversion",0,1')
    return c


def test_dtls_end_to_end(emulator: EmulatorProcess) -> None:
    srv = DtlsServer({IDENTITY: KEY})
    srv.start()
    try:
        c = prepare(emulator, IDENTITY + b"&" + KEY.hex().encode())
        c.cmd(f'AT+QCOAPOPEN=0,"127.0.0.1",{srv.port}')
        c.expect(rb"\r\n\+QCOAPOPEN: 0,0\r\n", timeout=5)
        c.cmd("AT+QCOAPHEADER=0,1234,1")
        c.cmd('AT+QCOAPOPTION=0,0,0,11,"19"')
        c.send(b"AT+QCOAPSEND=0,0,1,1,5\r")
        c.expect(rb"\r\n> ")
        c.send(b"hello")
        c.expect(rb"\r\nOK\r\n")
        plaintext = srv.plaintext.get(timeout=3)
        req = aiocoap.Message.decode(plaintext)
        assert (req.mtype, req.mid, int(req.code), req.opt.uri_path, req.payload) == (
            Type.CON, 1234, 1, ("19",), b"hello")
        # every datagram is a DTLS 1.2 record; the request went as application_data (type 23, epoch 1),
        # encrypted (AES-128-CCM-8): the CoAP bytes the server decrypted are nowhere on the wire
        assert all(r[1:3] == b"\xfe\xfd" or r[1:3] == b"\xfe\xff" for r in srv.raw)
        assert srv.raw[-1][0] == 23 and srv.raw[-1][3:5] == b"\x00\x01"
        assert not any(plaintext in r or b"hello" in r for r in srv.raw)
        resp = aiocoap.Message(code=Code(69), payload=b"x\r\ny")
        resp.mtype, resp.mid, resp.token = Type.ACK, 1234, req.token
        srv.send(resp.encode())
        c.expect(rb"\r\n\+QCOAPACK: 0,0,1234,0\r\n")
        c.expect(rb"\r\n\+QCOAPRECV: 0,1234,2\.05,8,[0-9A-F]{16},0,4\r\nx\r\ny\r\n")
        n_raw = len(srv.raw)
        c.cmd("AT+QCOAPCLOSE=0")
        c.expect(rb"\r\n\+QCOAPCLOSE: 0,0\r\n")
        srv.events.get(timeout=1)  # connected
        level, code = srv.events.get(timeout=3)  # close_notify alert arrived
        assert code == 0 and len(srv.raw) > n_raw  # close_notify (warning level)
        c.close()
    finally:
        srv.stop()


@pytest.mark.parametrize("psk,version", [
    (IDENTITY + b"&" + b"00" * 9, 1),  # wrong key
    (None, 1),  # no PSK file
    (IDENTITY + b"&xyz", 1),  # malformed key
    (IDENTITY + b"&" + KEY.hex().encode(), 0),  # DTLS 1.0 asked for
])
def test_dtls_open_fails_with_9(emulator: EmulatorProcess, psk: bytes | None, version: int) -> None:
    srv = DtlsServer({IDENTITY: KEY})
    srv.start()
    try:
        c = prepare(emulator, psk)
        c.cmd(f'AT+QSSLCFG="dtlsversion",0,{version}')
        c.cmd(f'AT+QCOAPOPEN=0,"127.0.0.1",{srv.port}')
        c.expect(rb"\r\n\+QCOAPOPEN: 0,-9\r\n", timeout=5)
        assert final_of(c.cmd("AT+QCOAPOPEN?")) == "OK" and b"+QCOAPOPEN:" not in c.cmd("AT+QCOAPOPEN?")
        if psk is None or version == 0 or b"xyz" in psk:
            assert srv.raw == []  # nothing sent
        c.close()
    finally:
        srv.stop()

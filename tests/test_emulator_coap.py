"""The emulator's CoAP client over plain UDP, checked against a UDP socket the test owns."""
from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator

import aiocoap
import pytest
from aiocoap.numbers.codes import Code
from aiocoap.numbers.types import Type
from aiocoap.optiontypes import StringOption, UintOption

from emulator.testing import AtClient, EmulatorProcess, final_of, lines_of, running_emulator

SCALE = "0.01"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    with running_emulator(time_scale=SCALE) as e:
        yield e


class Peer:
    """The test's CoAP server end: a bound UDP socket."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.addr: tuple[str, int] | None = None

    def recv(self, timeout: float = 3.0) -> bytes:
        self.sock.settimeout(timeout)
        data, self.addr = self.sock.recvfrom(4096)
        return data

    def recv_msg(self, timeout: float = 3.0) -> aiocoap.Message:
        return aiocoap.Message.decode(self.recv(timeout))

    def quiet(self, seconds: float) -> bool:
        try:
            self.recv(seconds)
        except socket.timeout:
            return True
        return False

    def send(self, mtype: int, code: int, mid: int, token: bytes = b"", payload: bytes = b"", opts: list | None = None) -> None:
        m = aiocoap.Message(code=Code(code), payload=payload)
        m.mtype, m.mid, m.token = Type(mtype), mid, token
        for o in opts or []:
            m.opt.add_option(o)
        assert self.addr is not None
        self.sock.sendto(m.encode(), self.addr)


@pytest.fixture
def peer() -> Iterator[Peer]:
    p = Peer()
    yield p
    p.sock.close()


def open_client(emulator: EmulatorProcess, peer: Peer, cid: int = 0) -> AtClient:
    c = AtClient.connect(emulator.address)
    c.send(b"AT+CFUN=1,1\r")
    c.expect(rb"\r\nOK\r\n")
    c.expect(rb"\r\nAPP RDY\r\n")
    c.cmd("ATE0")
    assert final_of(c.cmd("AT+QIACT=1")) == "OK"
    assert c.cmd(f'AT+QCOAPOPEN={cid},"127.0.0.1",{peer.port}') == b"\r\nOK\r\n"
    c.expect(rf"^\r\n\+QCOAPOPEN: {cid},0\r\n".encode())
    assert lines_of(c.cmd("AT+QCOAPOPEN?")) == [f'+QCOAPOPEN: {cid},"127.0.0.1",{peer.port},3', "OK"]
    return c


def send(c: AtClient, args: str, payload: bytes) -> bytes:
    c.send(f"AT+QCOAPSEND={args}\r".encode())
    if payload:
        c.expect(rb"^\r\n> ")
        c.send(payload)
    return c.expect(rb"\r\n(OK|ERROR)\r\n").group(1)


def test_document_example_non_send(emulator: EmulatorProcess, peer: Peer) -> None:
    c = open_client(emulator, peer)
    c.cmd("AT+QCOAPHEADER=0,1234,1")
    c.cmd('AT+QCOAPOPTION=0,0,0,11,"19"')
    c.cmd("AT+QCOAPOPTION=0,0,1,12,40")
    assert send(c, "0,1,2,1,20", b"Hello, CoAP Message!") == b"OK"
    c.expect(rb"^\r\n\+QCOAPACK: 0,1,1234,0\r\n")
    m = peer.recv_msg()
    assert (m.mtype, m.mid, int(m.code), len(m.token)) == (Type.NON, 1234, 2, 8)
    assert m.opt.uri_path == ("19",) and m.opt.content_format is None  # bitmask 1: index 0 only
    assert m.payload == b"Hello, CoAP Message!"
    # next message: mid 1235, new token, both options, Ctrl+Z-terminated payload with raw bytes
    assert send(c, "0,1,3,3", b"a\r\nb\x1a") == b"OK"
    c.expect(rb"^\r\n\+QCOAPACK: 0,1,1235,0\r\n")
    m2 = peer.recv_msg()
    assert m2.mid == 1235 and m2.token != m.token and m2.payload == b"a\r\nb"
    assert [(int(o.number), o.encode()) for o in m2.opt.option_list()] == [(11, b"19"), (12, b"\x28")]
    # Esc cancels; nothing sent
    assert send(c, "0,1,3,0", b"xyz\x1b") == b"ERROR"
    assert peer.quiet(0.2)
    # length 0: no prompt, sent at once
    c.send(b"AT+QCOAPSEND=0,1,1,0,0\r")
    c.expect(rb"^\r\nOK\r\n\r\n\+QCOAPACK: 0,1,1236,0\r\n")
    assert peer.recv_msg().payload == b""
    # too long without length
    assert send(c, "0,1,2,0", b"x" * 1025 + b"\x1a") == b"ERROR"
    assert send(c, "0,1,200,0,0", b"") == b"ERROR"
    c.close()


def test_con_piggybacked_response_with_crlf_payload(emulator: EmulatorProcess, peer: Peer) -> None:
    c = open_client(emulator, peer)
    c.cmd('AT+QCOAPHEADER=0,77,0,6,"d204d52e814b"')
    c.cmd('AT+QCOAPOPTION=0,0,0,11,"a"')
    c.cmd('AT+QCOAPOPTION=0,0,1,11,"b"')
    c.cmd('AT+QCOAPOPTION=0,0,2,3,"host"')
    assert send(c, "0,0,1,7,0", b"") == b"OK"
    req = peer.recv_msg()
    assert req.mid == 77 and req.token == bytes.fromhex("D204D52E814B")
    assert req.opt.uri_path == ("a", "b") and req.opt.uri_host == "host"
    payload = b"Not\r\nFound\r\n"
    peer.send(2, 132, 77, req.token, payload, [UintOption(12, 0), StringOption(8, "x")])
    c.expect(rb"^\r\n\+QCOAPACK: 0,0,77,0\r\n")
    m = c.expect(rb"^\r\n\+QCOAPRECV: 0,77,4\.04,6,D204D52E814B,2,8,\"x\",12,0,(\d+)\r\n")
    n = int(m.group(1))
    assert n == len(payload)
    c.expect(re.compile(re.escape(payload) + rb"\r\n"))
    c.close()


def test_retransmissions_and_timeout(emulator: EmulatorProcess, peer: Peer) -> None:
    c = open_client(emulator, peer)
    c.cmd('AT+QCOAPCFG="trans",0,4,5')
    c.cmd("AT+QCOAPHEADER=0,500,1")
    t0 = time.monotonic()
    assert send(c, "0,0,1,0,0", b"") == b"OK"
    copies = [peer.recv(3.0) for _ in range(6)]
    assert time.monotonic() - t0 < 2.5
    assert len(set(copies)) == 1
    for k in range(1, 6):
        c.expect(rf"\r\n\+QCOAPIND: 0,0,500,{k},0\r\n".encode())
    c.expect(rb"\r\n\+QCOAPACK: 0,0,500,-11\r\n", timeout=5)
    assert peer.quiet(0.3)
    c.close()


def test_rst_and_separate_response_and_dedup(emulator: EmulatorProcess, peer: Peer) -> None:
    c = open_client(emulator, peer)
    c.cmd("AT+QCOAPHEADER=0,10,0,1,AA")
    assert send(c, "0,0,1,0,0", b"") == b"OK"
    req = peer.recv_msg()
    peer.send(3, 0, req.mid)
    c.expect(rb"\r\n\+QCOAPACK: 0,0,10,-11\r\n")
    # separate response: empty ACK, later CON 2.05 with the same token -> report and auto-ACK
    assert send(c, "0,0,1,0,0", b"") == b"OK"
    req = peer.recv_msg()
    assert req.mid == 11
    peer.send(2, 0, 11)
    c.expect(rb"\r\n\+QCOAPACK: 0,0,11,0\r\n")
    peer.send(0, 69, 4000, b"\xaa", b"late")
    c.expect(rb"\r\n\+QCOAPRECV: 0,4000,2\.05,1,AA,0,4\r\nlate\r\n")
    ack = peer.recv_msg()
    assert (ack.mtype, ack.mid, int(ack.code)) == (Type.ACK, 4000, 0)
    peer.send(0, 69, 4000, b"\xaa", b"late")  # duplicate: same ACK again, not reported
    assert peer.recv_msg().mid == 4000
    assert c.silent_for(rb"QCOAPRECV", 0.3)
    # server request (CON GET) is reported and not auto-ACKed; host answers with SEND type 2
    peer.send(0, 1, 4001, b"", b"")
    c.expect(rb"\r\n\+QCOAPRECV: 0,4001,0\.01,0,,0,0\r\n\r\n")
    assert peer.quiet(0.2)
    c.cmd("AT+QCOAPHEADER=0,4001,0,0,\"\"")
    assert send(c, "0,2,69,0,2", b"hi") == b"OK"
    c.expect(rb"\r\n\+QCOAPACK: 0,2,4001,0\r\n")
    reply = peer.recv_msg()
    assert (reply.mtype, reply.mid, int(reply.code), reply.payload) == (Type.ACK, 4001, 69, b"hi")
    peer.send(0, 1, 4001, b"", b"")  # duplicate request: the host's ACK is repeated
    assert peer.recv_msg().payload == b"hi"
    c.close()


def test_open_results_and_close(emulator: EmulatorProcess, peer: Peer) -> None:
    c = open_client(emulator, peer)
    assert c.cmd(f'AT+QCOAPOPEN=0,"127.0.0.1",{peer.port}') == b"\r\nOK\r\n"
    c.expect(rb"^\r\n\+QCOAPOPEN: 0,-10\r\n")
    assert c.cmd('AT+QCOAPOPEN=1,"host.invalid",5683') == b"\r\nOK\r\n"
    c.expect(rb"\r\n\+QCOAPOPEN: 1,-5\r\n", timeout=10)
    assert c.cmd("AT+QCOAPCLOSE=0") == b"\r\nOK\r\n"
    c.expect(rb"^\r\n\+QCOAPCLOSE: 0,0\r\n")
    assert lines_of(c.cmd("AT+QCOAPOPEN?")) == ["OK"]
    c.close()


def test_network_loss_is_silent(emulator: EmulatorProcess, peer: Peer) -> None:
    c = open_client(emulator, peer)
    c.cmd("AT+QIDEACT=1")
    assert lines_of(c.cmd("AT+QCOAPOPEN?")) == ["OK"]
    assert final_of(c.cmd("AT+QCOAPSEND=0,1,1,0,0")) == "ERROR"
    c.cmd(f'AT+QCOAPOPEN=0,"127.0.0.1",{peer.port}')
    c.expect(rb"\r\n\+QCOAPOPEN: 0,-4\r\n")
    c.close()


def test_wire_faults() -> None:
    e = EmulatorProcess(["--tcp", "127.0.0.1:0", "--time-scale", SCALE, "--fault", "mid-little-endian",
                         "--fault", "empty-payload-marker", "--fault", "recv-code-as-number",
                         "--fault", "options-index-order"])
    e.start()
    p = Peer()
    try:
        c = open_client(e, p)
        c.cmd("AT+QCOAPHEADER=0,258,0,0,\"\"")
        c.cmd("AT+QCOAPOPTION=0,0,0,12,0")
        c.cmd('AT+QCOAPOPTION=0,0,1,11,"p"')
        assert send(c, "0,1,1,3,0", b"") == b"OK"
        raw = p.recv()
        assert raw[2:4] == bytes([2, 1])  # 258 little-endian
        assert raw[4] == 0xC0 and raw.endswith(b"\xff")  # Content-Format first, empty, then marker
        p.send(1, 132, 9, b"", b"")
        c.expect(rb"\+QCOAPRECV: 0,9,132,0,,0,0\r\n")
        c.close()
    finally:
        p.sock.close()
        assert e.stop() == 0

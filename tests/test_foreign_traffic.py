"""Strangers on the wire (a scanner's requests, a test's own socket on the same loopback): recorded
as foreign traffic, never a test's datagram, never answered by a test's script, and answered by
the default resources only within a rate limit and never with more bytes than they sent.

The first test is a suite-style exchange through the real fixtures (``module``, ``opened``,
``server``: the reachability check and the attribution from the AT port and the wire) with a
stranger sending CoAP requests to the server while a separate response is pending.
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from dut import BG96
from evidence import Evidence
from fixtures.server import FOREIGN_TITLE, ServerCaptures
from reference_server import CON, Datagram, EmptyAck, Piggyback, ReferenceServer, SeparateResponse, script
from reference_server.attribution import FOREIGN_ANSWER_BURST

SCRIPTED = b"scripted for the module"
#: what a scanner sends: discovery (its answer is larger: never sent), a path that does not exist
#: (4.04, smaller: answered), and a POST the test's script would answer were it the module's
DISCOVERY = script.build(CON, "0.01", 0x7001, b"\x01", [(11, b".well-known"), (11, b"core")])
MISSING = script.build(CON, "0.01", 0x7002, b"\x02", [(11, b"no-such-resource")])
POST = script.build(CON, "0.02", 0x7003, b"\x03", [(11, b"scan")], b"x" * 8)


@dataclass
class Stranger:
    """A UDP socket on loopback sending requests to a server and keeping what it gets back."""

    target: tuple[str, int]
    sock: socket.socket = field(default_factory=lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    sent: list[bytes] = field(default_factory=list)
    got: list[bytes] = field(default_factory=list)

    address: tuple[str, int] = ("", 0)

    def __post_init__(self) -> None:
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.address = self.sock.getsockname()

    def send(self, data: bytes) -> None:
        self.sent.append(data)
        self.sock.sendto(data, self.target)

    def collect(self) -> list[bytes]:
        """What came back until the socket stays quiet for its timeout."""
        while True:
            try:
                self.got.append(self.sock.recv(2048))
            except (socket.timeout, ConnectionRefusedError):
                return self.got


@contextmanager
def scanning(target: tuple[str, int], stop: threading.Event) -> Iterator[Stranger]:
    """A stranger sending its three requests in turn, every 10 ms, until ``stop``."""
    stranger = Stranger(target)

    def run() -> None:
        for data in [DISCOVERY, MISSING, POST] * 100:
            if stop.wait(0.01):
                return
            stranger.send(data)

    thread = threading.Thread(target=run, name="stranger", daemon=True)
    thread.start()
    try:
        yield stranger
    finally:
        stop.set()
        thread.join(5)
        stranger.collect()
        stranger.sock.close()


def test_exchange_with_a_stranger_on_the_wire(module: BG96, opened: int, server: ReferenceServer,
                                              captures: ServerCaptures, evidence: Evidence) -> None:
    """The module's CON GET, a separate response 0.3 s later; a stranger scans meanwhile."""
    server.on(EmptyAck(), SeparateResponse("2.05", SCRIPTED, delay=0.3))
    result = module.send(opened, CON, 1, 0, b"")
    assert result.response.ok, result.response.text
    request = server.wait_for(lambda d: d.direction == "rx" and d.message is not None and d.message.is_request, 5)
    stop = threading.Event()
    with scanning(server.advertised, stop) as stranger:
        recv = module.at.wait_urc(rf"^\+QCOAPRECV: *{opened},", 5, step="the separate response")
        assert stranger.sent, "the stranger sent nothing during the exchange"
    assert ",2.05," in recv.line and recv.payload == SCRIPTED  # the test's verdict stands

    stranger_peer = tuple(stranger.address)
    mine = [d for d in server.captured() if d.direction == "rx"]
    assert all(tuple(d.peer) == tuple(request.peer) for d in mine), [d.summary() for d in mine]
    foreign = server.foreign()
    from_stranger = [d for d in foreign if d.direction == "rx"]
    assert from_stranger and all(tuple(d.peer) == stranger_peer for d in from_stranger)
    if not server.is_dtls:  # a stranger's DTLS is never answered at all
        assert any(d.direction == "tx" for d in foreign), "the 4.04 of a missing resource is small enough to send"
    biggest_request = max(len(d) for d in stranger.sent)
    assert all(len(answer) <= biggest_request for answer in stranger.got)
    assert not any(SCRIPTED in answer for answer in stranger.got), "the test's script answered a stranger"
    for answer in stranger.got:  # each answer no larger than the request it answers
        request_of = next(d.wire for d in foreign if d.direction == "rx" and d.message is not None
                          and d.message.mid == answer_mid(answer))
        assert len(answer) <= len(request_of)
    captures.refresh()
    assert any(t.title == FOREIGN_TITLE and t.rows for t in evidence.tables)


def answer_mid(data: bytes) -> int:
    return int.from_bytes(data[2:4], "big")


# -- the server alone: a module socket and a stranger socket on loopback --------------------------
@pytest.fixture
def attributing() -> Iterator[tuple[ReferenceServer, socket.socket]]:
    """A server that knows the module's source (a socket here) and counts only its datagrams."""
    module_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    module_sock.bind(("127.0.0.1", 0))
    with ReferenceServer() as server:
        server.attribute(peers=[module_sock.getsockname()])
        yield server, module_sock
    module_sock.close()


def test_strangers_are_never_a_tests_datagram_nor_scripted(attributing: tuple[ReferenceServer, socket.socket]) -> None:
    server, module_sock = attributing
    server.on(Piggyback("2.04", SCRIPTED))
    stranger = Stranger(server.bound)
    stranger.send(POST)
    module_sock.sendto(script.build(CON, "0.02", 0x1234, b"\x09", [(11, b"mine")]), server.bound)
    got: Datagram = server.wait_for(lambda d: d.direction == "rx", 5)
    assert got.message is not None and got.message.mid == 0x1234, "a stranger's datagram taken for the module's"
    module_sock.settimeout(5)
    assert SCRIPTED in module_sock.recv(2048)
    answers = stranger.collect()
    assert not any(SCRIPTED in a for a in answers), "the test's script answered a stranger"
    assert all(len(a) <= len(POST) for a in answers)  # the site's 4.04 at most
    assert [d.wire for d in server.foreign() if d.direction == "rx"] == [POST]
    stranger.sock.close()


def test_foreign_answers_are_rate_limited_and_never_larger(attributing: tuple[ReferenceServer, socket.socket]) -> None:
    server, _ = attributing
    stranger = Stranger(server.bound)
    pings = [script.build(CON, 0, 0x100 + i) for i in range(40)]
    for data in [DISCOVERY, MISSING, *pings]:
        stranger.send(data)
    server.foreign_capture.wait_count(lambda d: d.direction == "rx", len(stranger.sent), 5)
    answers = stranger.collect()
    assert 1 <= len(answers) <= FOREIGN_ANSWER_BURST + 2, f"{len(answers)} answers to a burst of {len(stranger.sent)}"
    assert not any(answer_mid(a) == 0x7001 for a in answers), "discovery answered: larger than its request"
    assert all(len(a) <= len(MISSING) for a in answers)
    stranger.sock.close()

"""Minimal CoAP clients for exercising the reference server in the harness's own tests.

The UDP client is a bare socket; the DTLS client is the project's one tinydtls layer
(wire.tinydtls), driven synchronously with timeouts.
"""

from __future__ import annotations

import select
import socket
import time
from typing import Optional, Sequence

import aiocoap
from aiocoap import optiontypes

from wire.tinydtls import EVENT_CONNECTED, LEVEL_FATAL, LEVEL_NOALERT, DtlsEndpoint

from .records import CoapView, decode_view
from .script import code_int

RETRANSMIT_POLL_S = 0.2  # how often a waiting client lets tinydtls check for a lost flight


def request_bytes(
    mtype: int = 0,
    code: int | str = 1,
    mid: int = 1,
    token: bytes = b"",
    path: str = "",
    payload: bytes = b"",
    options: Sequence[tuple[int, bytes]] = (),
    content_format: Optional[int] = None,
) -> bytes:
    """Encode a request with aiocoap (Uri-Path split on '/')."""
    msg = aiocoap.Message(code=code_int(code), payload=payload)
    msg.mtype, msg.mid, msg.token = mtype, mid, token
    if path:
        msg.opt.uri_path = tuple(path.strip("/").split("/"))
    if content_format is not None:
        msg.opt.content_format = content_format
    for number, value in options:
        msg.opt.add_option(optiontypes.OpaqueOption(number, value))
    return msg.encode()


class UdpClient:
    """A plain UDP socket aimed at the server."""

    def __init__(self, server: tuple[str, int]) -> None:
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.address: tuple[str, int] = self.sock.getsockname()[:2]

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, self.server)

    def recv(self, timeout: float = 2.0) -> bytes:
        self.sock.settimeout(timeout)
        return self.sock.recvfrom(65535)[0]

    def recv_view(self, timeout: float = 2.0) -> CoapView:
        view = decode_view(self.recv(timeout))
        assert view is not None
        return view

    def nothing_within(self, timeout: float) -> bool:
        """True if no datagram arrives within `timeout` (a bounded wait, not a sleep)."""
        r, _, _ = select.select([self.sock], [], [], timeout)
        return not r

    def close(self) -> None:
        self.sock.close()


class DtlsClient:
    """A tinydtls PSK client (wire.tinydtls) on its own UDP socket, pumped by `connect`/`recv`."""

    def __init__(self, server: tuple[str, int], identity: bytes, key: bytes) -> None:
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.events: list[tuple[int, int]] = []
        self.app: list[bytes] = []
        self.endpoint = DtlsEndpoint(lambda wire: self._write(None, wire), self.app.append,
                                     lambda level, code: self.events.append((level, code)),
                                     identity=identity, psk={identity: key})

    @property
    def address(self) -> tuple[str, int]:
        return self.sock.getsockname()[:2]

    def _write(self, _recipient: object, data: bytes) -> int:
        """Each record flight tinydtls sends (a subclass may watch them)."""
        return self.sock.sendto(data, self.server)

    @property
    def connected(self) -> bool:
        return (LEVEL_NOALERT, EVENT_CONNECTED) in self.events

    @property
    def alerted(self) -> bool:
        return any(level == LEVEL_FATAL for level, _ in self.events)

    def pump(self, until, timeout: float) -> bool:
        """Feed received datagrams to tinydtls until `until()` or timeout."""
        deadline = time.monotonic() + timeout
        while not until():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            r, _, _ = select.select([self.sock], [], [], min(remaining, RETRANSMIT_POLL_S))
            if r:
                self.endpoint.handle(self.sock.recv(65535))
            else:
                self.endpoint.retransmit_delay()  # lets tinydtls resend a lost flight
        return True

    def connect(self, timeout: float = 3.0) -> bool:
        self.endpoint.connect()
        return self.pump(lambda: self.connected or self.alerted, timeout) and self.connected

    def send(self, plaintext: bytes) -> None:
        self.endpoint.write(plaintext)

    def recv(self, timeout: float = 2.0) -> bytes:
        n = len(self.app)
        if not self.pump(lambda: len(self.app) > n, timeout):
            raise TimeoutError("no DTLS application data")
        return self.app[n]

    def close(self) -> None:
        self.endpoint.close_notify()
        self.sock.close()

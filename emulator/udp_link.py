"""Plain UDP link: one connected socket per open client, behind the module's radio path.

Datagrams leave through :meth:`RadioPath.uplink` and arrive through :meth:`RadioPath.downlink`
(emulator.radio_path: delay, RRC promotion, NAT rebinding; a plain call when the field knobs are
off). A NAT rebinding replaces the socket with a new one to the same server: the receiver (the
engine, or the DTLS layer in front of it) stays, so a DTLS session goes on from the new port.
"""
from __future__ import annotations

import asyncio
import logging
import socket
from typing import Callable

from .link import Receiver
from .radio_path import RadioPath, current

log = logging.getLogger(__name__)


class _Proto(asyncio.DatagramProtocol):
    def __init__(self, owner: "UdpLink") -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.owner.path.downlink(self.owner, data)

    def error_received(self, exc: Exception) -> None:
        log.info("UDP error (ignored, as on a radio link): %s", exc)


class UdpLink:
    """A connect()ed UDP socket; receiver may be re-pointed (the DTLS layer sits in front of it)."""

    def __init__(self, transport: asyncio.DatagramTransport, receiver: Receiver,
                 path: RadioPath | None = None) -> None:
        self.transport = transport
        self.receiver = receiver
        self.path = path if path is not None else current()
        self.closed = False
        self._rebinding: list[bytes] | None = None  # datagrams waiting for the new socket

    @classmethod
    async def connect(cls, family: int, addr: tuple, receiver: Receiver,
                      path: RadioPath | None = None) -> "UdpLink":
        """Raises OSError if the socket cannot be created or connected (result -7)."""
        link = cls.__new__(cls)
        cls.__init__(link, None, receiver, path)  # type: ignore[arg-type]
        link._family, link._addr = family, addr
        link.transport = await link._open()
        return link

    async def _open(self) -> asyncio.DatagramTransport:
        sock = socket.socket(self._family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.connect(self._addr)
        except OSError:
            sock.close()
            raise
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(lambda: _Proto(self), sock=sock)
        return transport

    @property
    def source(self) -> tuple:
        """The socket's own address (the module's source port as the server sees it on loopback)."""
        return self.transport.get_extra_info("sockname")

    def send(self, data: bytes) -> None:
        if not self.closed:
            self.path.uplink(self, data)

    # ---- what the radio path does with the socket (emulator.radio_path.PathLink)
    def put(self, data: bytes) -> None:
        """Datagrams already on their way still leave after close(): the radio sent them."""
        if self._rebinding is not None:
            self._rebinding.append(data)
        elif not self.transport.is_closing():
            self.transport.sendto(data)

    def deliver(self, data: bytes) -> None:
        if not self.closed:
            self.receiver(data)

    def rebind(self, then: Callable[[], None]) -> None:
        if self.closed or self._rebinding is not None:
            then()
            return
        self._rebinding = []
        asyncio.get_running_loop().create_task(self._rebind(then))

    async def _rebind(self, then: Callable[[], None]) -> None:
        old = self.transport
        before = self.source
        try:
            self.transport = await self._open()
        except OSError as e:
            log.info("rebinding failed, the old socket stays: %s", e)
        else:
            old.close()
            log.info("NAT rebinding: source %s -> %s", before, self.source)
        waiting, self._rebinding = self._rebinding or [], None
        then()
        for data in waiting:
            self.put(data)
        if self.closed:  # closed while the new socket was being made: release() closed the old one
            self.transport.close()

    def close(self, graceful: bool = True) -> None:
        """No more sends or receipts; the socket goes once what the path still carries has left."""
        if self.closed:
            return
        self.closed = True
        self.path.release(self, self.transport.close)

"""Plain UDP link: one connected socket per open client."""
from __future__ import annotations

import asyncio
import logging
import socket

from .link import Receiver

log = logging.getLogger(__name__)


class _Proto(asyncio.DatagramProtocol):
    def __init__(self, owner: "UdpLink") -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.owner.receiver(data)

    def error_received(self, exc: Exception) -> None:
        log.info("UDP error (ignored, as on a radio link): %s", exc)


class UdpLink:
    """A connect()ed UDP socket; receiver may be re-pointed (the DTLS layer sits in front of it)."""

    def __init__(self, transport: asyncio.DatagramTransport, receiver: Receiver) -> None:
        self.transport = transport
        self.receiver = receiver

    @classmethod
    async def connect(cls, family: int, addr: tuple, receiver: Receiver) -> "UdpLink":
        """Raises OSError if the socket cannot be created or connected (result -7)."""
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.connect(addr)
        except OSError:
            sock.close()
            raise
        link = cls.__new__(cls)
        link.receiver = receiver
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: _Proto(link), sock=sock
        )
        link.transport = transport
        return link

    def send(self, data: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.sendto(data)

    def close(self, graceful: bool = True) -> None:
        self.transport.close()

"""TCP host link: one connection served at a time; module state outlives connections."""
from __future__ import annotations

import asyncio
import logging
import socket

from .at_frontend import AtFrontend

log = logging.getLogger(__name__)


class TcpHost:
    """A new connection takes over from an old one (like reopening the USB port); boot URCs only once.

    Field knob reenumerate: a restart drops the connection, and connections are refused (closed
    at once) until the module's USB device is back."""

    def __init__(self, frontend: AtFrontend) -> None:
        self.frontend = frontend
        self.writer: asyncio.StreamWriter | None = None
        self.booted = False
        self.present = True  # the USB device is there
        self.server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> tuple[str, int]:
        self.server = await asyncio.start_server(self._serve, host, port)
        self.frontend.usb = self
        addr = self.server.sockets[0].getsockname()
        return addr[0], addr[1]

    async def unplug(self) -> None:
        self.present = False
        self.frontend.attach(None)
        if self.writer is not None:
            self.writer.close()  # what was written still goes out before the FIN
            self.writer = None

    def plug(self) -> None:
        self.present = True

    def _sink(self, writer: asyncio.StreamWriter):  # noqa: ANN202
        def write(data: bytes) -> None:
            if not writer.is_closing():
                writer.write(data)

        return write

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if not self.present:
            writer.close()  # no device to open: the client tries again
            return
        if self.writer is not None:
            self.writer.close()
        self.writer = writer
        self.frontend.attach(self._sink(writer))
        if not self.booted:
            self.booted = True
            self.frontend.boot()
        try:
            while data := await reader.read(4096):
                if self.writer is not writer:
                    break
                self.frontend.feed(data)
        except (ConnectionError, OSError) as e:
            log.info("host connection lost: %s", e)
        finally:
            if self.writer is writer:
                self.writer = None
                self.frontend.attach(None)
            writer.close()

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.server is not None:
            self.server.close()

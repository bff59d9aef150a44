"""Moving bytes only: open a pyserial URL and read whatever has arrived, in one call.

pyserial's portable ``read(1)`` + ``in_waiting`` returns two bytes at a time on ``socket://``
(its ``in_waiting`` is a select that says 0 or 1), which multiplies wake-ups and skews
timestamps. Where the backend has a file descriptor or a socket, read it directly.
"""
from __future__ import annotations

import os
import select
import socket

import serial


def open_port(url: str, baudrate: int) -> serial.SerialBase:
    return serial.serial_for_url(url, baudrate=baudrate, timeout=0.2, write_timeout=5.0)


class ChunkReader:
    """``read()`` blocks up to ``timeout`` for the first byte and returns all that is there."""

    def __init__(self, port: serial.SerialBase, timeout: float = 0.2) -> None:
        self.port = port
        self.timeout = timeout
        self._sock: socket.socket | None = getattr(port, "_socket", None)
        self._fd: int | None = None
        if self._sock is None and type(port).__module__.startswith("serial.serialposix"):
            self._fd = port.fileno()

    def read(self) -> bytes:
        if self._sock is not None:
            ready, _, _ = select.select([self._sock], [], [], self.timeout)
            if not ready:
                return b""
            data = self._sock.recv(65536)
            if not data:
                raise ConnectionError("the DUT closed the connection")
            return data
        if self._fd is not None:
            ready, _, _ = select.select([self._fd], [], [], self.timeout)
            if not ready:
                return b""
            data = os.read(self._fd, 65536)
            if not data:
                raise ConnectionError("the DUT port reported end of file")
            return data
        data = self.port.read(1)
        if data and self.port.in_waiting:
            data += self.port.read(self.port.in_waiting)
        return data

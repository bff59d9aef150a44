"""The server's UDP socket: a receive buffer large enough for a flood, kernel receive timestamps."""
from __future__ import annotations

import socket
import struct
import time
from typing import Iterator, NamedTuple, Optional

from .records import Peer

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
_ANC_SIZE = socket.CMSG_SPACE(16)
_TIMESPEC = struct.Struct("@qq")
RCVBUF = 32 << 20  # a burst of small datagrams costs ~1 KiB of skb each
MAX_DATAGRAM = 65535


class Received(NamedTuple):
    peer: Peer
    data: bytes
    time: float  # time.monotonic() when read
    kernel_time: Optional[float]  # SO_TIMESTAMPNS, seconds since the epoch


def open_socket(bind: tuple[str, int], rcvbuf: int = RCVBUF) -> socket.socket:
    """A bound, non-blocking UDP socket; raises OSError (closed again) if it cannot bind."""
    family = socket.AF_INET6 if ":" in bind[0] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        try:  # root may exceed net.core.rmem_max; everyone else gets what the kernel allows
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            pass
        sock.bind(bind)
    except BaseException:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class Reader:
    """Reads everything a socket holds into one reused buffer."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._view = memoryview(bytearray(MAX_DATAGRAM))

    def __iter__(self) -> Iterator[Received]:
        view = self._view
        while True:
            try:
                n, anc, _flags, addr = self._sock.recvmsg_into([view], _ANC_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue  # e.g. an ICMP error queued on the socket
            now = time.monotonic()
            ktime = None
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
                    sec, nsec = _TIMESPEC.unpack_from(data)
                    ktime = sec + nsec / 1e9
            yield Received((addr[0], addr[1]), bytes(view[:n]), now, ktime)

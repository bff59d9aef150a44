"""A byte-level scripted AT peer on a loopback TCP port, for testing the channel itself.

It is not a model of the module (that is the emulator): it answers each received command
line with exactly the bytes a test gives, split into the chunks the test chooses, so the
channel can be shown split, merged, interleaved, garbled and silent input.
"""
from __future__ import annotations

import socket
import threading
from typing import Callable

Responder = Callable[[bytes], list[bytes]]


class ScriptedPeer:
    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.received = bytearray()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"socket://127.0.0.1:{self.port}"
        self._conn: socket.socket | None = None
        self._stop = threading.Event()
        self._connected = threading.Event()
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._conn = conn
            self.connections += 1
            self._connected.set()
            buf = b""
            while True:
                try:
                    data = conn.recv(4096)
                except OSError:
                    break
                if not data:
                    break
                self.received += data
                buf += data
                while (end := _line_end(buf)) >= 0:
                    # a command ends at CR; data typed at a prompt ends at Ctrl+Z (kept)
                    line = buf[:end] + (b"\x1a" if buf[end] == 0x1A else b"")
                    buf = buf[end + 1:]
                    for chunk in self.respond(line):
                        conn.sendall(chunk)

    def push(self, data: bytes) -> None:
        """Send bytes unprompted (a URC), once the channel has connected."""
        assert self._connected.wait(5), "the channel never connected"
        assert self._conn is not None
        self._conn.sendall(data)

    def drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.shutdown(socket.SHUT_RDWR)
            self._conn.close()

    def unplug(self) -> None:
        """The device goes (a USB re-enumeration): the connection and the listening port close."""
        assert self._connected.wait(5), "the channel never connected"
        self._listener.close()
        self.drop_connection()

    def replug(self) -> None:
        """The device is back on the same port."""
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        if self._conn is not None:
            self._conn.close()


def _line_end(buf: bytes) -> int:
    ends = [i for i in (buf.find(b"\r"), buf.find(b"\x1a")) if i >= 0]
    return min(ends) if ends else -1

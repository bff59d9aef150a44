"""Harness for the emulator's own tests: talk raw bytes, expect patterns with deadlines."""
from __future__ import annotations

import re
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from .launcher import ROOT, EmulatorProcess

FINAL = re.compile(rb"\r\n(OK|ERROR|\+CME ERROR: [^\r]*)\r\n")


@dataclass
class AtClient:
    """Raw byte conversation over TCP (or any fd-like socket) with pattern waits."""

    sock: socket.socket
    buf: bytearray = field(default_factory=bytearray)

    @classmethod
    def connect(cls, addr: tuple[str, int]) -> "AtClient":
        s = socket.create_connection(addr, timeout=5)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(s)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, deadline: float) -> bool:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        if not data:
            raise ConnectionError("emulator closed the connection")
        self.buf += data
        return True

    def expect(self, pattern: bytes | re.Pattern[bytes], timeout: float = 3.0) -> re.Match[bytes]:
        """Wait for pattern; consume the buffer up to the end of the match."""
        rx = re.compile(pattern) if isinstance(pattern, bytes) else pattern
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(bytes(self.buf))
            if m:
                del self.buf[: m.end()]
                return m
            if not self._fill(deadline):
                raise TimeoutError(f"{rx.pattern!r} not seen; buffer: {bytes(self.buf)!r}")

    def silent_for(self, pattern: bytes, seconds: float) -> bool:
        """True if pattern does not show up within seconds (used only for must-not-happen checks)."""
        deadline = time.monotonic() + seconds
        while not re.search(pattern, self.buf):
            if not self._fill(deadline):
                return True
        return False

    def cmd(self, line: str | bytes, timeout: float = 3.0) -> bytes:
        """Send line + CR, return everything up to and including the final result code."""
        data = line.encode() if isinstance(line, str) else line
        self.send(data + b"\r")
        m = self.expect(re.compile(rb"(?s)(.*?\r\n(?:OK|ERROR|\+CME ERROR: [^\r]*)\r\n)"), timeout)
        return m.group(1)

    def close(self) -> None:
        self.sock.close()


def final_of(response: bytes) -> str:
    ms = FINAL.findall(response)
    return ms[-1].decode() if ms else ""


def lines_of(response: bytes) -> list[str]:
    return [ln for ln in response.decode(errors="replace").split("\r\n") if ln]


@contextmanager
def running_emulator(*args: str, time_scale: str = "0.01") -> Iterator[EmulatorProcess]:
    """An emulator on a loopback TCP port for a test module; it must stop cleanly, no traceback."""
    e = EmulatorProcess(["--tcp", "127.0.0.1:0", "--time-scale", time_scale, *args])
    e.start()
    yield e
    assert e.stop() == 0
    assert "Traceback" not in e.stderr_text()

"""Harness for the emulator's own tests: spawn the process, talk raw bytes, expect patterns with deadlines."""
from __future__ import annotations


import re
import select
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
FINAL = re.compile(rb"\r\n(OK|ERROR|\+CME ERROR: [^\r]*)\r\n")


@dataclass
class EmulatorProcess:
    args: list[str]
    proc: subprocess.Popen[bytes] | None = None
    banner: str = ""

    def start(self, timeout: float = 10.0) -> str:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "emulator", *self.args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError("emulator printed no banner")
        self.banner = self.proc.stdout.readline().decode().strip()
        if not self.banner.startswith("EMULATOR "):
            raise RuntimeError(f"bad banner {self.banner!r}: {self.proc.stderr.read().decode() if self.proc.stderr else ''}")
        return self.banner

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.banner.split()[2].rsplit(":", 1)
        return host, int(port)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 5.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def stderr_text(self) -> str:
        if self.proc is None or self.proc.stderr is None or self.proc.poll() is None:
            return ""
        return self.proc.stderr.read().decode(errors="replace")


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

"""Start the emulator as a separate process, with the arguments a user would give it, and stop it.

The one launcher: the fixtures, the benchmark and the emulator's own tests all start it here.
The emulator prints one start line, ``EMULATOR tcp HOST:PORT`` or ``EMULATOR pty PATH``, once its
AT port is ready; the launcher waits for that line (an event with a deadline, never a sleep).

Each emulator is forked from a warm interpreter (``wire/forkserver.py``): the same
``main(ARGS)`` as ``python -m emulator ARGS``, without a quarter of a second of imports per start.
``forked=False`` (or ``BG96_EMULATOR_FORK=0`` in the environment) runs ``python -m emulator``.
"""
from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from wire import forkserver

ROOT = Path(__file__).resolve().parent.parent
#: the emulator as a fork server's program; the transports are imported when the command line is read
PROGRAM = forkserver.Program("emulator", "emulator.cli:main", "BG96_EMULATOR_FORKSERVER",
                             ("emulator.host_pty", "emulator.host_tcp"))


class EmulatorStartError(RuntimeError):
    """The emulator exited, or printed no start line in time; the message has its stderr."""


def share_fork_server() -> None:
    """Start this process's emulator fork server now: the processes it starts from here on find
    it in their environment and fork their emulators from it too."""
    forkserver.client(PROGRAM)


@dataclass
class EmulatorProcess:
    """``python -m emulator ARGS``; :meth:`start` returns once its AT port is ready."""

    args: list[str]
    log_path: Path | None = None  # stderr goes here (appended); None: kept in a pipe
    forked: bool = field(default_factory=lambda: os.environ.get("BG96_EMULATOR_FORK", "1") != "0")
    proc: subprocess.Popen[bytes] | forkserver.ForkedProcess | None = field(default=None, repr=False)
    banner: str = ""

    def start(self, timeout: float = 15.0) -> "EmulatorProcess":
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if self.forked:
            self.proc = self._fork(env)
        else:
            stderr = open(self.log_path, "ab") if self.log_path else subprocess.PIPE
            self.proc = subprocess.Popen([sys.executable, "-m", "emulator", *self.args], cwd=ROOT,
                                         stdout=subprocess.PIPE, stderr=stderr, env=env)
            if self.log_path:
                stderr.close()
        self.banner = self._start_line(timeout).strip()
        words = self.banner.split()
        if len(words) < 3 or words[0] != "EMULATOR":
            self.stop()
            raise EmulatorStartError(f"unexpected start line from the emulator: {self.banner!r}")
        return self

    def _fork(self, env: dict[str, str]) -> forkserver.ForkedProcess:
        """The emulator forked from the fork server, its stdout (and stderr) in pipes as Popen's."""
        out_r, out_w = os.pipe()
        if self.log_path:
            err_r, err_w = None, os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        else:
            err_r, err_w = os.pipe()
        streams: tuple[IO[bytes], IO[bytes] | None] = (os.fdopen(out_r, "rb"),
                                                        None if err_r is None else os.fdopen(err_r, "rb"))
        stdin = os.open(os.devnull, os.O_RDONLY)
        try:
            return forkserver.spawn(PROGRAM, self.args, cwd=ROOT, env=env, stdio=(stdin, out_w, err_w),
                                    streams=streams)
        finally:
            for fd in (stdin, out_w, err_w):
                os.close(fd)

    def _start_line(self, timeout: float) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = b""
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not sel.select(remaining):
                    self.proc.kill()
                    raise EmulatorStartError(f"emulator {' '.join(self.args)}: no start line within {timeout} s")
                chunk = os.read(self.proc.stdout.fileno(), 256)
                if not chunk:
                    code = self.proc.wait()
                    raise EmulatorStartError(f"emulator {' '.join(self.args)} exited with {code} before it "
                                             f"started: {self.stderr_text().strip()}")
                line += chunk
        return line.decode(errors="replace")

    @property
    def url(self) -> str:
        """The pyserial URL of its AT port: ``socket://HOST:PORT`` or the PTY path."""
        kind, where = self.banner.split()[1:3]
        return f"socket://{where}" if kind == "tcp" else where

    @property
    def address(self) -> tuple[str, int]:
        """The TCP address of its AT port."""
        host, port = self.banner.split()[2].rsplit(":", 1)
        return host, int(port)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 5.0) -> int:
        """SIGTERM, then SIGKILL if it has not gone within ``timeout``; the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def stderr_text(self) -> str:
        """What it wrote to stderr, once it has exited (or the log file's content)."""
        if self.log_path is not None:
            return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        if self.proc is None or self.proc.stderr is None or self.proc.poll() is None:
            return ""
        return self.proc.stderr.read().decode(errors="replace")


def start_emulator(transport: str = "tcp", time_scale: float = 1.0, extra: list[str] | None = None,
                   timeout: float = 15.0, log_path: Path | None = None) -> EmulatorProcess:
    """An emulator on a loopback TCP port (``transport="tcp"``) or a PTY, at ``time_scale``."""
    where = ["--tcp", "127.0.0.1:0"] if transport == "tcp" else ["--pty"]
    args = [*where, "--time-scale", str(time_scale), *(extra or [])]
    return EmulatorProcess(args, log_path=log_path).start(timeout)

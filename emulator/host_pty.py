"""PTY host link: the slave path is the module's AT port; the slave is held open and raw."""
from __future__ import annotations

import asyncio
import os
import tty

from .at_frontend import AtFrontend


class PtyHost:
    def __init__(self, frontend: AtFrontend) -> None:
        self.frontend = frontend
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no line discipline: CR stays CR, no tty-level echo
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self._out = bytearray()
        self._loop = asyncio.get_running_loop()

    def start(self) -> str:
        self._loop.add_reader(self.master, self._readable)
        self.frontend.attach(self.write)
        return self.path

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return
        if data:
            self.frontend.feed(data)

    def write(self, data: bytes) -> None:
        pending = bool(self._out)
        self._out += data
        if not pending:
            self._flush()

    def _flush(self) -> None:
        try:
            n = os.write(self.master, self._out)
        except (BlockingIOError, InterruptedError):
            n = 0
        del self._out[:n]
        if self._out:
            self._loop.add_writer(self.master, self._drain)

    def _drain(self) -> None:
        self._loop.remove_writer(self.master)
        self._flush()

    def close(self) -> None:
        self._loop.remove_reader(self.master)
        self._loop.remove_writer(self.master)
        os.close(self.master)
        os.close(self.slave)

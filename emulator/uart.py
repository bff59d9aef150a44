"""Field knob ``baud``: the module's bytes go to the host one at a time at the line's pace."""
from __future__ import annotations

import asyncio
from typing import Callable

Sink = Callable[[bytes], None]


class Uart:
    """An ordered output queue drained one byte per write, ``byte_s`` (real) seconds apart.

    Each byte is its own write on the host link, so the host's reads see the stream cut
    anywhere, as behind a UART or a slow USB bridge. A late loop never sends a burst to catch
    up: the next byte goes one byte time after the previous one, at the earliest.
    """

    def __init__(self, byte_s: float) -> None:
        self.byte_s = byte_s
        self.sink: Sink | None = None
        self.buf = bytearray()
        self.idle = asyncio.Event()
        self.idle.set()
        self._task: asyncio.Task[None] | None = None

    def attach(self, sink: Sink | None) -> None:
        """A new host link (or none): what was still queued for the old one is lost."""
        self.sink = sink
        self.buf.clear()

    def write(self, data: bytes) -> None:
        self.buf += data
        if self.buf and (self._task is None or self._task.done()):
            self.idle.clear()
            self._task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        try:
            while self.buf:
                byte = bytes(self.buf[:1])
                del self.buf[:1]
                if self.sink is not None:
                    self.sink(byte)
                await asyncio.sleep(self.byte_s)
        finally:
            self.idle.set()

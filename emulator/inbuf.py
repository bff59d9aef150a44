"""Byte buffer between the host link and the AT front end; reads never assume whole lines."""
from __future__ import annotations

import asyncio


class InputBuffer:
    def __init__(self) -> None:
        self.buf = bytearray()
        self._event = asyncio.Event()

    def feed(self, data: bytes) -> None:
        self.buf += data
        self._event.set()

    def clear(self) -> None:
        self.buf.clear()

    async def wait(self, timeout: float | None = None) -> bool:
        """Until at least one byte is buffered; False if timeout passes first."""
        while not self.buf:
            self._event.clear()
            try:
                await asyncio.wait_for(self._event.wait(), timeout)
            except asyncio.TimeoutError:
                return bool(self.buf)
        return True

    def take(self, n: int) -> bytes:
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

"""The AT port: line assembly and echo, dispatch, final results, URC queueing, boot and restart."""
from __future__ import annotations

import asyncio
import logging
import os
from typing import Callable

from . import commands_coap_config, commands_coap_session, commands_file, commands_generic  # noqa: F401 (register)
from .config import Config
from .dispatch import REGISTRY, Command, parse
from .inbuf import InputBuffer
from .module import Modem, ModemState
from .params import ParamError
from .results import ERROR, Final
from .ufs import Ufs

log = logging.getLogger(__name__)

MAX_LINE = 2048
APP_RDY_DELAY_S = 0.5
RESTART_DELAY_S = 0.3
CR, LF = 0x0D, 0x0A


def _line(text: str) -> bytes:
    return b"\r\n" + text.encode("utf-8", "surrogateescape") + b"\r\n"


def _noise() -> bytes:
    """Fault garbage-output: a line of random bytes, as a UART with a glitch would print."""
    return b"\r\n" + os.urandom(24).replace(b"\r", b"\x00").replace(b"\n", b"\x00") + b"\r\n"


class AtFrontend:
    """One module: the host link attaches a sink and feeds bytes; run() serves commands forever."""

    def __init__(self, config: Config, ufs: Ufs | None = None) -> None:
        self.config = config
        self.inbuf = InputBuffer()
        self.sink: Callable[[bytes], None] | None = None
        self.busy = False
        self.pending: list[bytes] = []
        self.restarting = False
        self.silent = False  # fault go-silent: a hung firmware writes nothing any more
        self._info_block = False  # inside a multi-line information response
        self._generation = 0
        self.modem = Modem(config, ModemState(config), ufs or Ufs(), self.emit_urc, self.restart)

    # ---- output
    def attach(self, sink: Callable[[bytes], None] | None) -> None:
        self.sink = sink

    def write(self, data: bytes) -> None:
        self._info_block = False
        if self.sink is not None and not self.restarting and not self.silent:
            self.sink(data)

    def info(self, text: str) -> None:
        """An information line. Like BG96 firmware (its ATI output), consecutive lines form one
        block framed by <CR><LF> at its start and end, the lines separated by a single <CR><LF>."""
        if self._info_block:
            self.write(text.encode("utf-8", "surrogateescape") + b"\r\n")
        else:
            self.write(_line(text))
        self._info_block = True

    def emit_urc(self, data: bytes) -> None:
        """URCs wait while a command is being processed, so they never split its response."""
        if self.restarting:
            return
        if self.busy:
            self.pending.append(data)
        else:
            self.write(data)

    # ---- boot and restart
    def boot(self) -> None:
        gen = self._generation
        self.write(_line("RDY"))
        asyncio.get_running_loop().call_later(
            self.config.scaled(APP_RDY_DELAY_S), self._app_ready, gen
        )

    def _app_ready(self, gen: int) -> None:
        if gen == self._generation and not self.restarting:
            self.emit_urc(_line("APP RDY"))

    def restart(self) -> None:
        """AT+CFUN=1,1 after its OK: silence, reset, then RDY / APP RDY again."""
        self._generation += 1
        self.restarting = True
        self.pending.clear()
        self.modem.reset()
        self.inbuf.clear()
        asyncio.get_running_loop().call_later(self.config.scaled(RESTART_DELAY_S), self._restarted)

    def _restarted(self) -> None:
        self.restarting = False
        self.inbuf.clear()
        self.boot()

    # ---- input
    def feed(self, data: bytes) -> None:
        if not self.restarting:
            self.inbuf.feed(data)

    async def read_exact(self, n: int, idle_timeout: float | None = None) -> bytes:
        self._info_block = False  # a data phase ends the response: what follows is framed anew
        out = bytearray()
        while len(out) < n:
            if not await self.inbuf.wait(idle_timeout):
                break
            out += self.inbuf.take(n - len(out))
        return bytes(out)

    async def read_until(self, stops: bytes, limit: int) -> tuple[bytes, int]:
        self._info_block = False  # a data phase ends the response: what follows is framed anew
        out = bytearray()
        while True:
            await self.inbuf.wait()
            buf = self.inbuf.buf
            idx = next((i for i, b in enumerate(buf) if b in stops), -1)
            chunk = self.inbuf.take(len(buf) if idx < 0 else idx)
            if len(out) <= limit:
                out += chunk[: limit + 1 - len(out)]
            if idx >= 0:
                return bytes(out), self.inbuf.take(1)[0]

    async def read_idle(self, idle_timeout: float) -> bytes:
        out = bytearray()
        while await self.inbuf.wait(idle_timeout):
            out += self.inbuf.take(len(self.inbuf.buf))
        return bytes(out)

    async def _read_line(self) -> tuple[bytes, bool]:
        """Up to CR, echoing as consumed; LF dropped; returns (line, overlong)."""
        line = bytearray()
        overlong = False
        while True:
            await self.inbuf.wait()
            buf = self.inbuf.buf
            idx = buf.find(b"\r")
            chunk = self.inbuf.take(len(buf) if idx < 0 else idx + 1)
            if self.modem.state.echo:
                self.write(chunk)
            body = chunk.replace(b"\n", b"").rstrip(b"\r")
            if len(line) + len(body) > MAX_LINE:
                overlong = True
            else:
                line += body
            if idx >= 0:
                return bytes(line), overlong

    # ---- commands
    async def run(self) -> None:
        while True:
            line, overlong = await self._read_line()
            await self._execute(line, overlong)

    async def _execute(self, line: bytes, overlong: bool) -> None:
        self.busy = True
        label = "default"
        try:
            final, label = await self._dispatch(line, overlong)
        except Exception:  # noqa: BLE001 - never crash on any input
            log.exception("handler failed for %r", line[:80])
            final = ERROR
        delay = self.config.latency.seconds(label)
        if delay > 0:
            await asyncio.sleep(delay)  # modelled module response time (--latency)
        if self.config.faults.on("garbage-output"):
            self.write(_noise())
        self.write(_line(final.render(self.modem.state.cmee)))
        if final.then is not None:
            try:
                final.then()
            except Exception:  # noqa: BLE001
                log.exception("post-result action failed")
        self.busy = False
        pending, self.pending = self.pending, []
        for urc in pending:
            self.emit_urc(urc)

    async def _dispatch(self, line: bytes, overlong: bool) -> tuple[Final, str]:
        if overlong or line[:2] not in (b"AT", b"at"):
            return ERROR, "default"
        try:
            cmd: Command = parse(line[2:].decode("utf-8", "surrogateescape"))
        except ParamError:
            return ERROR, "default"
        if cmd.label == "AT+QCOAPSEND" and self.config.faults.on("go-silent"):
            self.silent = True  # the firmware hangs in its data path: no prompt, no result, no URC
            await asyncio.Event().wait()  # and the AT task never comes back
        entry = REGISTRY.get(cmd.name)
        if entry is None:
            return ERROR, cmd.label
        try:
            return await entry.handler(cmd, self.modem, self), cmd.label
        except ParamError as e:
            log.info("%s: %s", cmd.label, e)
            return entry.param_error, cmd.label

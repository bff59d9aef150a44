"""The AT port: line assembly and echo, dispatch, final results, URC queueing, boot and restart."""
from __future__ import annotations

import asyncio
import logging
import os
from typing import Callable, Protocol

from . import commands_coap_config, commands_coap_session, commands_file, commands_generic  # noqa: F401 (register)
from .config import Config
from .dispatch import REGISTRY, Command, parse
from .inbuf import InputBuffer
from .module import Modem, ModemState
from .params import ParamError
from .results import ERROR, Final
from .uart import Uart
from .ufs import Ufs

log = logging.getLogger(__name__)

MAX_LINE = 2048
APP_RDY_DELAY_S = 0.5
RESTART_DELAY_S = 0.3
CR, LF = 0x0D, 0x0A
#: field knob reenumerate: how often the new USB node appears only after APP RDY (boot URCs lost),
#: and when it appears (module seconds after the reset): after APP RDY, or just before RDY
BOOT_URCS_LOST_P = 0.8
ENUMERATION_AFTER_BOOT_S = (0.5, 2.0)
ENUMERATION_BEFORE_RDY = (0.5, 0.9)  # fractions of RESTART_DELAY_S
#: field knob urcs: chance of an unrelated URC at each line boundary of a response
URC_AT_BOUNDARY_P = 0.05


class UsbLink(Protocol):
    """Field knob reenumerate: a host link whose AT node can vanish and come back."""

    async def unplug(self) -> None: ...

    def plug(self) -> None: ...


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
        knobs = config.knobs
        byte_s = knobs.byte_seconds()
        self.uart = Uart(config.scaled(byte_s)) if byte_s is not None else None
        self.usb: UsbLink | None = None  # set by a host link that can re-enumerate
        #: field knob urcs: URCs the pending command caused wait for its result; others may not
        self.held: list[bytes] = []
        self._task: asyncio.Task[None] | None = None
        self._data_phase = False  # between a '>' / CONNECT and the final result: never interrupted
        self._line_open = False  # the host's line is half echoed: a URC now would split it
        self._urc_rng = knobs.rng("urcs-boundary")
        self._usb_rng = knobs.rng("reenumerate")

    # ---- output
    def attach(self, sink: Callable[[bytes], None] | None) -> None:
        if self.uart is None:
            self.sink = sink
            return
        self.uart.attach(sink)  # field knob baud: one byte at a time at the line's pace
        self.sink = self.uart.write if sink is not None else None

    def write(self, data: bytes) -> None:
        self._info_block = False
        if self.sink is not None and not self.restarting and not self.silent:
            self.sink(data)

    def info(self, text: str) -> None:
        """An information line. Like BG96 firmware (its ATI output), consecutive lines form one
        block framed by <CR><LF> at its start and end, the lines separated by a single <CR><LF>."""
        self._boundary()
        if self._info_block:
            self.write(text.encode("utf-8", "surrogateescape") + b"\r\n")
        else:
            self.write(_line(text))
        self._info_block = True

    def emit_urc(self, data: bytes) -> None:
        """URCs wait while a command is being processed, so they never split its response.

        With the field knob urcs only the URCs the command itself causes wait for its result;
        the others go out at the next line boundary (see _boundary)."""
        if self.restarting or self.modem.urcport != "usbat":
            return  # AT+QURCCFG="urcport" names another port: nothing arrives here
        field_urcs = self.config.knobs.urcs
        if field_urcs and self.busy and self._task is not None and asyncio.current_task() is self._task:
            self.held.append(data)
        elif self.busy or (field_urcs and self._line_open and self.modem.state.echo):
            self.pending.append(data)
        else:
            self.write(data)

    def _boundary(self) -> None:
        """Field knob urcs: between two lines of a response, other URCs may come out."""
        if not self.config.knobs.urcs or self._data_phase or self.restarting:
            return
        if self._urc_rng.random() < URC_AT_BOUNDARY_P:
            self.pending.append(self.modem.unrelated_urc(self._urc_rng))
        pending, self.pending = self.pending, []
        for urc in pending:
            self.write(urc)

    # ---- boot and restart
    def boot(self) -> None:
        gen = self._generation
        self.write(_line("RDY"))
        for text in self.modem.power_on():  # field knobs: +CPIN: SIM PIN, +QUSIM: 1...
            self.emit_urc(_line(text))
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
        self.held.clear()
        self.modem.reset()
        self.inbuf.clear()
        loop = asyncio.get_running_loop()
        if self.config.knobs.reenumerate and self.usb is not None:
            loop.create_task(self._reenumerate(self._generation, self.usb))  # it starts the boot
        else:
            loop.call_later(self.config.scaled(RESTART_DELAY_S), self._restarted)

    async def _reenumerate(self, gen: int, usb: UsbLink) -> None:
        """Field knob reenumerate: the USB node goes with the reset and comes back later, most
        of the time only after the boot URCs went out to nobody."""
        rng, loop = self._usb_rng, asyncio.get_running_loop()
        if rng.random() < BOOT_URCS_LOST_P:
            after = RESTART_DELAY_S + APP_RDY_DELAY_S + rng.uniform(*ENUMERATION_AFTER_BOOT_S)
        else:
            after = RESTART_DELAY_S * rng.uniform(*ENUMERATION_BEFORE_RDY)
        if self.uart is not None:
            await self.uart.idle.wait()  # the OK of AT+CFUN=1,1 leaves before the reset
        await usb.unplug()
        # the reset starts as the USB device goes: the boot and the node's return count from here
        # (counted from the command, a slow drain of the OK could let RDY out on the old node)
        loop.call_later(self.config.scaled(RESTART_DELAY_S), self._restarted)
        await asyncio.sleep(self.config.scaled(after))
        if gen == self._generation:
            usb.plug()

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
        self._data_phase = True
        out = bytearray()
        while len(out) < n:
            if not await self.inbuf.wait(idle_timeout):
                break
            out += self.inbuf.take(n - len(out))
        return bytes(out)

    async def read_until(self, stops: bytes, limit: int) -> tuple[bytes, int]:
        self._info_block = False  # a data phase ends the response: what follows is framed anew
        self._data_phase = True
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
        self._data_phase = True
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
            self._line_open = idx < 0 and bool(line or body)
            if len(line) + len(body) > MAX_LINE:
                overlong = True
            else:
                line += body
            if idx >= 0:
                return bytes(line), overlong

    # ---- commands
    async def run(self) -> None:
        self._task = asyncio.current_task()
        self.modem.start_field_events()
        while True:
            line, overlong = await self._read_line()
            await self._execute(line, overlong)

    async def _execute(self, line: bytes, overlong: bool) -> None:
        self.busy = True
        self._data_phase = False
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
        self._boundary()
        self.write(_line(final.render(self.modem.state.cmee)))
        self._data_phase = False
        self._boundary()
        if final.then is not None:
            try:
                final.then()
            except Exception:  # noqa: BLE001
                log.exception("post-result action failed")
        self.busy = False
        pending, self.pending = self.held + self.pending, []
        self.held = []
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

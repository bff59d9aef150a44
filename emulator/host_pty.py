"""PTY host link: the module's AT port is a PTY slave, reached through a stable symlink.

The symlink plays ``/dev/serial/by-id/...-if02-port0``: its target may change (field knob
reenumerate: the node vanishes with a restart and a new one appears), its path does not. The
slave is held open and raw.
"""
from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import struct
import tempfile
import termios
import tty

from .at_frontend import AtFrontend

LINK_NAME = "usb-Quectel_Incorporated_BG96_{serial}-if02-port0"
#: how long (real seconds) the unplug waits for the host to read what the module sent last
UNPLUG_DRAIN_LIMIT_S = 1.0
DRAIN_POLL_S = 0.002
#: bytes written to the master reach the slave's input in a kernel worker (the tty flip buffer),
#: not at once: until some have shown there, an empty slave may still mean "not arrived yet" (real
#: seconds; on a busy machine the worker ran late, and the OK of AT+CFUN=1,1 went with the node)
FLIP_WAIT_S = 0.05


class PtyHost:
    def __init__(self, frontend: AtFrontend) -> None:
        self.frontend = frontend
        self._loop = asyncio.get_running_loop()
        self._out = bytearray()
        self.master = self.slave = -1
        self.node = ""  # the current /dev/pts/N, "" while unplugged
        chosen = frontend.config.knobs.pty_link
        self._tmpdir = None if chosen else tempfile.mkdtemp(prefix="bg96-emulator-")
        self.path = chosen or os.path.join(self._tmpdir or "", LINK_NAME.format(serial=f"{os.getpid():08X}"))

    def start(self) -> str:
        """Create the node and the link; the start line names the link."""
        self.frontend.usb = self
        self.plug()
        return self.path

    # ---- the USB device coming and going
    def plug(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no line discipline: CR stays CR, no tty-level echo
        os.set_blocking(self.master, False)
        self.node = os.ttyname(self.slave)
        tmp = self.path + ".new"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(self.node, tmp)
        os.replace(tmp, self.path)  # atomic: the link never points nowhere while plugged
        self._loop.add_reader(self.master, self._readable)
        self.frontend.attach(self.write)

    async def unplug(self) -> None:
        """The node goes (as udev removes a by-id link), once the host has read what was sent."""
        now = self._loop.time()
        deadline, arrived_by = now + UNPLUG_DRAIN_LIMIT_S, now + FLIP_WAIT_S
        seen = False
        while self._loop.time() < deadline:
            unread = self._unread()
            seen = seen or unread > 0
            if not self._out and not unread and (seen or self._loop.time() >= arrived_by):
                break
            await asyncio.sleep(DRAIN_POLL_S)  # the kernel tells no one when the slave is read: poll
        self.frontend.attach(None)
        if os.path.lexists(self.path):
            os.unlink(self.path)
        self._close_node()

    def _unread(self) -> int:
        """Bytes the module wrote that the host has not read yet."""
        if self.slave < 0:
            return 0
        try:
            raw = fcntl.ioctl(self.slave, termios.FIONREAD, struct.pack("i", 0))
        except OSError:
            return 0
        return int(struct.unpack("i", raw)[0])

    def _close_node(self) -> None:
        if self.master < 0:
            return
        self._loop.remove_reader(self.master)
        self._loop.remove_writer(self.master)
        os.close(self.master)
        os.close(self.slave)
        self.master = self.slave = -1
        self.node = ""
        self._out.clear()

    # ---- bytes
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
        if self.master < 0:
            return
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
        self._close_node()
        if os.path.islink(self.path):
            os.unlink(self.path)
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

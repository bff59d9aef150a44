"""Moving bytes only: open a pyserial URL (checked to be the module's AT port) and read whatever
has arrived, in one call.

pyserial's portable ``read(1)`` + ``in_waiting`` returns two bytes at a time on ``socket://``
(its ``in_waiting`` is a select that says 0 or 1), which multiplies wake-ups and skews
timestamps. Where the backend has a file descriptor or a plain socket, read it directly; an
``rfc2217://`` port's socket carries telnet traffic its own reader thread decodes, so that one
is read through pyserial.

A BG96 shows four USB serial ports; only interface 2 takes AT commands. ``hwgrep://2c7c:0296``
alone picks interface 0 (diagnostics), and with two modules a loose pattern can pick the other
rig's. :func:`resolve_url` refuses a pattern that matches more than one port, or a BG96 port
that is not interface 2, and lists the candidates.
"""
from __future__ import annotations

import os
import re
import select
import socket
from dataclasses import dataclass

import serial
import serial.tools.list_ports

#: USB id of each module whose AT port is a known interface: (vid, pid) -> (name, interface)
AT_INTERFACES = {(0x2C7C, 0x0296): ("BG96", 2)}
#: what labgrid's SerialDriver adds to an rfc2217 URL: ser2net answers no DTR/RTS on a PTY
RFC2217_OPTIONS = "ign_set_control&timeout=5"


class PortRefused(ValueError):
    """The URL names no single AT port; the message lists the candidates."""


class PortMissing(PortRefused):
    """No port matches yet: the module may be re-enumerating (worth another try)."""


@dataclass(frozen=True)
class Candidate:
    """One serial port as the port listing shows it."""

    device: str
    hwid: str
    location: str | None
    vid: int | None
    pid: int | None

    @property
    def interface(self) -> int | None:
        """The USB interface number: the last part of the location (``1-1.2:1.2`` -> 2)."""
        if not self.location or ":" not in self.location:
            return None
        tail = self.location.rsplit(":", 1)[1].rsplit(".", 1)[-1]
        return int(tail) if tail.isdigit() else None

    def problem(self) -> str:
        """Why this is not an AT port ("" when it is, or when nothing is known of it)."""
        known = AT_INTERFACES.get((self.vid or 0, self.pid or 0))
        if known is None or self.interface is None or self.interface == known[1]:
            return ""
        return (f"{self.device} is USB interface {self.interface} of the {known[0]}, not its AT port "
                f"(interface {known[1]})")

    def describe(self) -> str:
        return f"{self.device} [{self.hwid}]"


def candidates() -> list[Candidate]:
    return [Candidate(p.device, p.hwid, p.location, p.vid, p.pid)
            for p in sorted(serial.tools.list_ports.comports(include_links=False), key=lambda p: p.device)]


def resolve_url(url: str, ports: list[Candidate] | None = None) -> str:
    """The URL to open: a device path or ``hwgrep://`` pattern checked against the port listing
    (one port, the AT interface), an ``rfc2217://`` URL with the options ser2net needs; others as given."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "rfc2217":
        return url if "?" in url else f"{url}?{RFC2217_OPTIONS}"
    if scheme == "hwgrep":
        return _resolve_hwgrep(url, candidates() if ports is None else ports)
    if scheme == "" and url.startswith("/"):
        listing = candidates() if ports is None else ports
        real = os.path.realpath(url)
        match = next((p for p in listing if os.path.realpath(p.device) == real), None)
        if match is not None and match.problem():
            raise PortRefused(f"DUT port {url}: {match.problem()}; {_listing(listing)}")
    return url


def _resolve_hwgrep(url: str, listing: list[Candidate]) -> str:
    regexp, *options = url[len("hwgrep://"):].split("&")
    nth = next((o.split("=", 1)[1] for o in options if o.startswith("n=")), None)
    try:
        pattern = re.compile(regexp, re.I)
    except re.error as exc:
        raise PortRefused(f"DUT port {url}: not a regular expression: {exc}") from None
    found = [p for p in listing if pattern.search(p.device) or pattern.search(p.hwid)]
    if not found:
        raise PortMissing(f"DUT port {url}: no serial port matches (the module may be re-enumerating); "
                          f"{_listing(listing)}")
    if nth is None and len(found) > 1:
        raise PortRefused(f"DUT port {url} matches {len(found)} ports; pick one by its USB location "
                          f"(hwgrep://2c7c:0296.*LOCATION=<bus-port>:1\\.2) or use its "
                          f"/dev/serial/by-id/...-if02-port0 link; {_listing(found)}")
    chosen = found[0] if nth is None else _nth(found, nth, url)
    if chosen.problem():
        raise PortRefused(f"DUT port {url}: {chosen.problem()}; {_listing(found)}")
    return chosen.device


def _nth(found: list[Candidate], nth: str, url: str) -> Candidate:
    if not nth.isdigit() or not 1 <= int(nth) <= len(found):
        raise PortRefused(f"DUT port {url}: n={nth} but {len(found)} ports match; {_listing(found)}")
    return found[int(nth) - 1]


def _listing(ports: list[Candidate]) -> str:
    return "candidates: " + ("; ".join(p.describe() for p in ports) or "none")


def open_port(url: str, baudrate: int) -> serial.SerialBase:
    """Open the resolved URL exclusively where the backend can lock (a device node); rfc2217
    takes no write timeout."""
    target = resolve_url(url)
    kwargs: dict[str, object] = {"baudrate": baudrate, "timeout": 0.2}
    if not target.lower().startswith("rfc2217://"):
        kwargs["write_timeout"] = 5.0
    if "://" not in target:
        kwargs["exclusive"] = True  # two workers (or ModemManager-like tools) must not share the module
    return serial.serial_for_url(target, **kwargs)


class ChunkReader:
    """``read()`` blocks up to ``timeout`` for the first byte and returns all that is there."""

    def __init__(self, port: serial.SerialBase, timeout: float = 0.2) -> None:
        self.port = port
        self.timeout = timeout
        module = type(port).__module__
        plain_socket = module.endswith("protocol_socket")
        self._sock: socket.socket | None = getattr(port, "_socket", None) if plain_socket else None
        self._fd: int | None = None
        if self._sock is None and module.startswith("serial.serialposix"):
            self._fd = port.fileno()

    def read(self) -> bytes:
        if self._sock is not None:
            ready, _, _ = select.select([self._sock], [], [], self.timeout)
            if not ready:
                return b""
            data = self._sock.recv(65536)
            if not data:
                raise ConnectionError("the DUT closed the connection")
            return data
        if self._fd is not None:
            ready, _, _ = select.select([self._fd], [], [], self.timeout)
            if not ready:
                return b""
            data = os.read(self._fd, 65536)
            if not data:
                raise ConnectionError("the DUT port reported end of file")
            return data
        data = self.port.read(1)
        if data and self.port.in_waiting:
            data += self.port.read(self.port.in_waiting)
        return data

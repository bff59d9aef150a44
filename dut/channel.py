"""The AT channel: one serial port (any pyserial URL), commands, URCs and a transcript.

A reader thread feeds everything the DUT sends through :class:`ATStreamParser`; lines are
routed to the pending command (echo, information lines, final result) or to the URC stream:
every unsolicited line that is not the pending command's, with a known prefix or not, is a URC,
kept in the transcript and out of the response. A response keeps the raw bytes of its own lines
(``Response.raw``), judged per line, so a late LF or a URC between its lines is never part of
another command. Waits are on a condition variable with a deadline, never a fixed sleep. A port
that drops (USB re-enumeration after a restart, a ser2net hiccup) is reopened by the reader
thread and the parser starts afresh. A network-side loss (``+QIURC: "pdpdeact"``, an unsolicited
deregistration) is recorded, and a URC wait in progress fails at once naming it.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import serial

from evidence import TranscriptEntry

from .parser import ATStreamParser, Line, Payload, Prompt
from .port import ChunkReader, PortMissing, PortRefused, open_port
from .urc import Urc, is_urc, network_loss

#: (command line, default seconds) -> seconds that command may take
Limits = Callable[[str, float], float]

FINAL_RESULTS = re.compile(r"^(OK|ERROR|NO CARRIER|\+CME ERROR: ?.*|\+CMS ERROR: ?.*)$")


class ATError(Exception):
    """Base of the channel's errors; the message says which step failed and what was seen."""


class ATTimeout(ATError):
    pass


class PortUnavailable(ATError):
    pass


class NetworkLost(ATError):
    """The network took the module's PDP context or registration away while a test waited."""


#: seconds a +QCOAPRECV payload may take after its header, on top of two byte times per byte
PAYLOAD_SLACK_S = 1.0
#: the bytes a module in a data prompt takes as "cancel" (Esc), as BG96 documents for QCOAPSEND
ESC = b"\x1b"


@dataclass
class Response:
    """A command's information lines and final result code, with measured times."""

    command: str
    lines: list[str]
    final: str
    sent_at: float  # monotonic, when the command line had been written
    finished_at: float  # monotonic, when the final result code arrived
    prompt_at: float | None = None  # when ">" (or CONNECT) arrived, for data commands
    data_sent_at: float | None = None  # when the payload had been written
    raw: bytes = b""  # the bytes of its own lines (echo, prompt, information, final), URCs left out

    @property
    def elapsed(self) -> float:
        """Response time: from the command line (or the end of the data) to the final result."""
        start = self.data_sent_at if self.data_sent_at is not None else self.sent_at
        return self.finished_at - start

    @property
    def prompt_latency(self) -> float | None:
        return None if self.prompt_at is None else self.prompt_at - self.sent_at

    @property
    def ok(self) -> bool:
        return self.final == "OK"

    @property
    def rejected(self) -> bool:
        """``ERROR`` or ``+CME ERROR``: the harness accepts both as a rejection."""
        return self.final == "ERROR" or self.final.startswith("+CME ERROR")

    @property
    def cme_error(self) -> str | None:
        return self.final.split(":", 1)[1].strip() if self.final.startswith("+CME ERROR") else None

    def info(self, prefix: str) -> list[str]:
        return [line for line in self.lines if line.startswith(prefix)]

    @property
    def text(self) -> str:
        return "\n".join([*self.lines, self.final])


@dataclass
class _Pending:
    line: str
    prefix: str
    lines: list[str] = field(default_factory=list)
    echo_seen: bool = False
    final: str | None = None
    final_at: float = 0.0
    prompt_at: float | None = None
    raw: bytearray = field(default_factory=bytearray)
    dropped: bool = False  # the port dropped while the command waited: no answer will come on it


class Transcript:
    """Everything on the port, in order, with monotonic timestamps; thread-safe."""

    def __init__(self) -> None:
        self._entries: list[TranscriptEntry] = []
        self._lock = threading.Lock()
        self._sinks: list[Callable[[TranscriptEntry], None]] = []

    def add(self, direction: str, data: bytes, when: float | None = None) -> None:
        entry = TranscriptEntry(time.monotonic() if when is None else when, direction, data)
        with self._lock:
            self._entries.append(entry)
            sinks = list(self._sinks)
        for sink in sinks:
            sink(entry)

    def add_sink(self, sink: Callable[[TranscriptEntry], None]) -> None:
        """Stream entries as they happen (e.g. to a file that survives a crash)."""
        with self._lock:
            self._sinks.append(sink)

    def mark(self) -> int:
        with self._lock:
            return len(self._entries)

    def since(self, mark: int) -> list[TranscriptEntry]:
        with self._lock:
            return self._entries[mark:]

    def tail_text(self, count: int = 20) -> str:
        with self._lock:
            entries = self._entries[-count:]
        return "\n".join(f"{e.direction} {e.data!r}" for e in entries)


class ATChannel:
    """Send AT commands and collect responses and URCs over ``serial.serial_for_url``."""

    def __init__(self, url: str, baudrate: int = 115200, grace: float = 1.0,
                 default_timeout: float = 5.0, limits: Limits | None = None) -> None:
        self.url = url
        self.baudrate = baudrate
        self.grace = grace  # added to documented maxima: transport and scheduling slack
        self.default_timeout = default_timeout
        #: (line, default) -> seconds a command without an explicit timeout may take, before the
        #: grace (:func:`dut.bg96.documented_limit`); None: the default for every command
        self.limits = limits
        self.transcript = Transcript()
        self._cond = threading.Condition()
        self._cmd_lock = threading.Lock()
        self._pending: _Pending | None = None
        self._urcs: list[Urc] = []
        self._urc_cursor = 0  # URCs before this index have been consumed or cleared
        self._consumed: set[int] = set()
        self.stray: list[str] = []  # lines that belong to nothing: a garbled DUT shows here
        self._parser = self._new_parser()
        #: network-side losses seen (URCs), in order; the DUT guard reads them after each test
        self.network_events: list[tuple[Urc, str]] = []
        #: set by the strategy while it registers the module: "not registered" is expected then
        self.registering = False
        #: payloads given up at their time limit or cut by a reconnect: (header, bytes that came)
        self.partial_payloads: list[tuple[str, bytes]] = []
        self._port: serial.SerialBase | None = None
        self._closing = threading.Event()
        self._connected = threading.Event()
        self._reader: threading.Thread | None = None
        self.reconnects = 0
        #: called with every completed Response (the evidence fixture records timings)
        self.observers: list[Callable[[Response], None]] = []

    def _new_parser(self) -> ATStreamParser:
        return ATStreamParser(payload_slack=PAYLOAD_SLACK_S + self.grace, byte_time=10.0 / self.baudrate)

    # -- port -------------------------------------------------------------------------------
    def open(self, timeout: float = 10.0) -> ATChannel:
        self._port = self._open_port(timeout)
        self._connected.set()
        self._reader = threading.Thread(target=self._read_loop, name=f"at-reader {self.url}",
                                        daemon=True)
        self._reader.start()
        return self

    def _open_port(self, timeout: float) -> serial.SerialBase:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return open_port(self.url, self.baudrate)
            except PortRefused as exc:
                if not isinstance(exc, PortMissing):
                    raise PortUnavailable(str(exc)) from None  # another try picks the same wrong port
                if time.monotonic() >= deadline or self._closing.is_set():
                    raise PortUnavailable(str(exc)) from None
                self._closing.wait(0.2)
            except (serial.SerialException, OSError, ValueError, NotImplementedError) as exc:
                if time.monotonic() >= deadline or self._closing.is_set():
                    raise PortUnavailable(f"cannot open DUT port {self.url}: {exc}") from exc
                self._closing.wait(0.2)  # the device is re-enumerating: retry until the deadline

    def close(self) -> None:
        self._closing.set()
        port = self._port
        if port is not None:
            try:
                port.close()
            except Exception:
                pass
        if self._reader is not None:
            self._reader.join(timeout=2)

    def __enter__(self) -> ATChannel:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_loop(self) -> None:
        reader = ChunkReader(self._port)  # type: ignore[arg-type]
        while not self._closing.is_set():
            if reader.port is not self._port:
                reader = ChunkReader(self._port)  # type: ignore[arg-type]
            try:
                data = reader.read()
            except Exception:
                if self._closing.is_set():
                    return
                self._reconnect()
                continue
            now = time.monotonic()
            with self._cond:
                if data:
                    self.transcript.add("rx", data, now)
                    self._dispatch(self._parser.feed(data, now))
                else:  # idle: a line left at its CR is complete, a payload past its limit given up
                    self._dispatch(self._parser.flush(now))

    def _reconnect(self) -> None:
        self._connected.clear()
        with self._cond:
            if self._pending is not None:
                self._pending.dropped = True
            self._cond.notify_all()
        try:
            if self._port is not None:
                self._port.close()
        except Exception:
            pass
        while not self._closing.is_set():
            try:
                self._port = self._open_port(timeout=5.0)
            except PortUnavailable:
                self._closing.wait(0.2)  # refused at once (a pattern that now matches two ports): retry later
                continue
            with self._cond:  # the new node starts a new stream: nothing half read carries over
                self._dispatch(self._parser.reset(time.monotonic()))
                self._parser = self._new_parser()
                self.reconnects += 1
                self._connected.set()
                self._cond.notify_all()
            return

    # -- routing ----------------------------------------------------------------------------
    def _dispatch(self, events: Iterable[Line | Prompt | Payload]) -> None:
        """Route parsed events; the caller holds ``self._cond``."""
        for ev in events:
            pending = self._pending
            if pending is not None and pending.final is not None:
                pending = None  # after its final result nothing more belongs to a command
            if isinstance(ev, Payload):
                self._add_urc(Urc(ev.header, ev.time, ev.data, ev.complete))
                if not ev.complete:
                    self.partial_payloads.append((ev.header, ev.data))
            elif isinstance(ev, Prompt):
                if pending is not None:
                    pending.prompt_at = ev.time
                    pending.raw += ev.raw
                else:
                    self.stray.append(">")
            else:
                self._route_line(ev, pending)
        self._cond.notify_all()

    def _route_line(self, ev: Line, pending: _Pending | None) -> None:
        text = ev.text
        if pending is not None and not pending.echo_seen and text == pending.line:
            pending.echo_seen = True
            pending.raw += ev.raw
        elif FINAL_RESULTS.match(text):
            if pending is not None and pending.final is None:
                pending.final, pending.final_at = text, ev.time
                pending.raw += ev.raw
            else:
                self.stray.append(text)
        elif is_urc(text, pending.prefix if pending else None):
            self._add_urc(Urc(text, ev.time))
        elif pending is not None:
            pending.lines.append(text)
            pending.raw += ev.raw
            if text == "CONNECT" and pending.prompt_at is None:
                pending.prompt_at = ev.time
        else:
            self.stray.append(text)

    def _add_urc(self, urc: Urc) -> None:
        self._urcs.append(urc)
        lost = network_loss(urc.line)
        if lost is not None and not (self.registering and urc.line.startswith(("+CEREG", "+CGREG", "+CREG"))):
            self.network_events.append((urc, lost))

    # -- commands ---------------------------------------------------------------------------
    def timeout_for(self, line: str) -> float:
        """How long ``line`` may take: the ``limits`` policy's answer (else the default) plus the grace."""
        base = self.limits(line, self.default_timeout) if self.limits is not None else self.default_timeout
        return base + self.grace

    def command(self, line: str, timeout: float | None = None, step: str = "") -> Response:
        """Send one command line and return its information lines and final result."""
        return self._exchange(line, None, None, timeout, step)

    def send_data(self, line: str, data: bytes, terminator: bytes = b"", timeout: float | None = None,
                  step: str = "") -> Response:
        """A command that answers ``>`` (or ``CONNECT``): write ``data`` + ``terminator`` then.

        If the DUT gives a final result instead of the prompt (an ERROR, or OK for a zero
        length), that is the response and nothing is written.
        """
        return self._exchange(line, data, terminator, timeout, step)

    def _exchange(self, line: str, data: bytes | None, terminator: bytes | None,
                  timeout: float | None, step: str) -> Response:
        line = line.strip()
        limit = self.timeout_for(line) if timeout is None else timeout
        with self._cmd_lock:
            if not self._connected.wait(limit):
                raise PortUnavailable(f"step {step or line!r}: DUT port {self.url} is not connected")
            pending = _Pending(line, _response_prefix(line))
            with self._cond:
                self._settle_payload()
                self._pending = pending
            try:
                sent_at = self._write((line + "\r").encode("latin-1"))
                data_sent_at = None
                if data is not None:
                    self._wait(lambda: pending.prompt_at is not None or pending.final is not None,
                               sent_at + limit, limit, step or line, pending,
                               "the '>' prompt")
                    if pending.final is None:
                        data_sent_at = self._write(data + (terminator or b""))
                deadline = (data_sent_at or sent_at) + limit
                self._wait(lambda: pending.final is not None, deadline, limit, step or line, pending,
                           "a final result code")
            finally:
                with self._cond:
                    self._pending = None
            assert pending.final is not None
            response = Response(line, pending.lines, pending.final, sent_at, pending.final_at,
                                pending.prompt_at, data_sent_at, bytes(pending.raw))
        for observer in list(self.observers):
            observer(response)
        return response

    def _settle_payload(self) -> None:
        """A command is never written into a +QCOAPRECV payload still coming: wait for its end
        (its time limit at most), else give it up, so a wrong announced length cannot swallow
        the command's result. The caller holds ``self._cond``."""
        while self._parser.in_payload:
            deadline = self._parser.payload_deadline
            remaining = (deadline - time.monotonic()) if deadline is not None else 0.0
            if remaining <= 0:
                self._dispatch(self._parser.flush(max(time.monotonic(), deadline or 0.0)))
                if self._parser.in_payload:  # no limit configured: give it up now
                    self._dispatch(self._parser.reset(time.monotonic()))
                return
            self._cond.wait(remaining)

    def line_mark(self, timeout: float = 1.0) -> int:
        """A transcript mark at a line boundary (waiting for the line being read to end, at most
        ``timeout``): a window of raw bytes from one such mark to another holds whole lines, even
        when the module's bytes come one at a time and URCs arrive at any moment."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._parser.between_lines and (remaining := deadline - time.monotonic()) > 0:
                self._cond.wait(remaining)
            return self.transcript.mark()

    def wait_connected(self, timeout: float) -> bool:
        """Whether the port is open, waiting up to ``timeout`` for a re-enumerating device to return."""
        return self._connected.wait(max(0.0, timeout))

    def wait_disconnected(self, timeout: float) -> bool:
        """Whether the reader has seen the port go, waiting up to ``timeout`` for it to."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._connected.is_set(), max(0.0, timeout))

    def leave_data_mode(self, quiet: float, fill: int = 0) -> str | None:
        """Esc for a module left at a ``>`` prompt (a killed run; the prompt never times out), and
        ``fill`` more Esc bytes for a prompt that counts its bytes; then wait for the final result
        that ends the prompt (returned), or ``quiet`` seconds without one (None: the module was at
        its command line, where the Esc bytes only make its next line an error). Waiting for it
        keeps that result from being taken as the answer to the next command."""
        with self._cond:
            before = len(self.stray)
        self.write_raw(ESC * (1 + fill))
        deadline = time.monotonic() + quiet
        with self._cond:
            while True:
                final = next((t for t in self.stray[before:] if FINAL_RESULTS.match(t)), None)
                remaining = deadline - time.monotonic()
                if final is not None or remaining <= 0:
                    return final
                self._cond.wait(remaining)

    def write_raw(self, data: bytes) -> float:
        """Write bytes outside any command (for robustness tests of the DUT's parser)."""
        return self._write(data)

    def _write(self, data: bytes) -> float:
        port = self._port
        if port is None:
            raise PortUnavailable(f"DUT port {self.url} is not open")
        started = time.monotonic()  # before the write: a fast DUT may answer before it returns
        self.transcript.add("tx", data, started)
        try:
            port.write(data)
        except Exception as exc:
            raise PortUnavailable(f"writing to {self.url} failed: {exc}") from exc
        try:
            port.flush()
        except Exception:
            pass  # written, and the device went right after (AT+CFUN=1,1 re-enumerates): the reader
            # thread reopens the port, and the command's own wait decides
        return started

    def _wait(self, ready: Callable[[], bool], deadline: float, limit: float, step: str,
              pending: _Pending, what: str) -> None:
        with self._cond:
            while not ready():
                if pending.dropped:
                    raise PortUnavailable(f"step {step!r}: the DUT port {self.url} dropped while waiting for "
                                          f"{what} (lines so far: {pending.lines!r})")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ATTimeout(
                        f"step {step!r}: no {what} within {limit:.2f} s"
                        f" (lines so far: {pending.lines!r}; unfinished: {self._parser.pending!r})\n"
                        f"last port traffic:\n{self.transcript.tail_text()}")
                self._cond.wait(remaining)

    # -- URCs -------------------------------------------------------------------------------
    def wait_urc(self, pattern: str | re.Pattern[str], timeout: float, step: str = "") -> Urc:
        """The first unconsumed URC whose line matches ``pattern`` (regex, from the start)."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self._cond:
            losses_before = len(self.network_events)
            while True:
                for index in range(self._urc_cursor, len(self._urcs)):
                    if index not in self._consumed and regex.match(self._urcs[index].line):
                        self._consumed.add(index)
                        return self._urcs[index]
                lost = [why for urc, why in self.network_events[losses_before:]]
                if lost:
                    raise NetworkLost(f"step {step or regex.pattern!r}: {lost[0]} while waiting for "
                                      f"{regex.pattern!r}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [u.line for u in self._urcs[self._urc_cursor:]]
                    raise ATTimeout(f"step {step or regex.pattern!r}: no URC matching "
                                    f"{regex.pattern!r} within {timeout:.2f} s; URCs seen: {seen!r}")
                self._cond.wait(remaining)

    def wait_boot(self, reconnects: int, timeout: float) -> Urc | None:
        """After a reset: ``RDY``, or None as soon as the port was reopened (``reconnects`` was
        the count before the reset): a re-enumerated USB port has usually lost the boot URCs."""
        regex = re.compile(r"^RDY$")
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for index in range(self._urc_cursor, len(self._urcs)):
                    if index not in self._consumed and regex.match(self._urcs[index].line):
                        self._consumed.add(index)
                        return self._urcs[index]
                remaining = deadline - time.monotonic()
                if self.reconnects != reconnects or remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def urcs(self, pattern: str | re.Pattern[str] = "") -> list[Urc]:
        """Unconsumed URCs matching ``pattern``, without consuming them."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        with self._cond:
            return [u for i, u in enumerate(self._urcs) if i >= self._urc_cursor
                    and i not in self._consumed and regex.match(u.line)]

    def clear_urcs(self) -> list[Urc]:
        """Forget every URC so far (a test starts with a clean stream); returns them."""
        with self._cond:
            old = [u for i, u in enumerate(self._urcs) if i >= self._urc_cursor and i not in self._consumed]
            self._urc_cursor = len(self._urcs)
            self._consumed = {i for i in self._consumed if i >= self._urc_cursor}
            self.stray.clear()
            return old

    def wait_quiet(self, pattern: str | re.Pattern[str], duration: float) -> list[Urc]:
        """Wait ``duration`` and return the URCs matching ``pattern`` that arrived meanwhile.

        Used to show that something does NOT happen (no +QCOAPACK after Esc): the window is
        an explicit protocol time, not a sleep to let things settle.
        """
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + duration
        with self._cond:
            while (remaining := deadline - time.monotonic()) > 0:
                self._cond.wait(remaining)
        return self.urcs(regex)


def _response_prefix(line: str) -> str:
    """``AT+QCOAPCFG="trans",0`` -> ``+QCOAPCFG:``, the prefix its information lines carry."""
    name = re.split(r"[=?]", line, maxsplit=1)[0].upper()
    return "+" + name[3:] + ":" if name.startswith("AT+") else ""

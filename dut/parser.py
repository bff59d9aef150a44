"""Incremental parser of the bytes a BG96 sends on its AT port.

Pure and byte-oriented: it is fed whatever a read returned (half a line, three lines and a
prompt, one byte at a time from a UART) and emits events. It knows the few framing rules the
module uses: lines end in CR and/or LF, a ``>`` at the start of a line is the data prompt, and a
``+QCOAPRECV`` header announces a payload that is read by length, so CR LF or any other byte
inside it is payload.

Each event carries its ``raw`` bytes: the line ends before it, its text and its own line end. A
line that ends in CR is emitted when the next byte shows whether an LF belongs to it, so the LF
after ``OK\\r`` that a slow link delivers late is framing of that ``OK``, never of what follows
(the channel's idle :meth:`flush` emits a line left at a CR).

An event's time is when its first byte arrived: on a UART or a slow bridge a line takes a while
to come, and protocol times are judged from when the module started printing it.

A payload whose header announced more bytes than come (a firmware bug) would swallow the next
command's result: with ``payload_slack`` set it must be complete within that many seconds (plus
two byte times per byte) of its header; after that :meth:`flush` emits what arrived, marked
incomplete, and the parser reads lines again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

#: URCs whose header line announces ``<payload_length>`` raw bytes to follow.
_LENGTH_DELIMITED = re.compile(rb"^\+QCOAPRECV:.*,(\d+)$")
CR, LF = 0x0D, 0x0A


@dataclass(frozen=True)
class Line:
    text: str
    time: float
    raw: bytes = field(default=b"", compare=False)


@dataclass(frozen=True)
class Prompt:
    time: float
    raw: bytes = field(default=b"", compare=False)


@dataclass(frozen=True)
class Payload:
    """A length-delimited URC: its header line and the announced bytes (fewer if they never came)."""

    header: str
    data: bytes
    time: float
    raw: bytes = field(default=b"", compare=False)
    announced: int | None = field(default=None, compare=False)

    @property
    def complete(self) -> bool:
        return self.announced is None or len(self.data) == self.announced


Event = Line | Prompt | Payload


class ATStreamParser:
    """Turns a byte stream into :class:`Line`, :class:`Prompt` and :class:`Payload` events."""

    def __init__(self, max_line: int = 65536, payload_slack: float | None = None,
                 byte_time: float = 0.0) -> None:
        self._max_line = max_line
        self.payload_slack = payload_slack  # None: a payload waits for its bytes forever
        self.byte_time = byte_time  # seconds one byte takes on the line (10 bits / baud rate)
        self._clear()

    def _clear(self) -> None:
        self._buf = bytearray()  # text of the line being read
        self._started = 0.0  # when its first byte arrived: the event's time (a slow link takes a while)
        self._raw = bytearray()  # every byte since the last event (line ends, text, payload)
        self._ended: tuple[str, float] | None = None  # a line ended by CR: does an LF follow?
        self._payload_header: str | None = None
        self._payload_left = 0
        self._payload_announced = 0
        self._payload_time = 0.0
        self._payload = bytearray()
        self.payload_deadline: float | None = None
        self._skip_space = False  # the space the module writes after its ">" prompt

    @property
    def between_lines(self) -> bool:
        """Nothing half read: the last byte ended a line (or a prompt), nothing of the next has come."""
        return not self._raw and not self._buf and self._ended is None and self._payload_header is None

    @property
    def in_payload(self) -> bool:
        """A payload header was read and its bytes are still coming."""
        return self._payload_header is not None

    def feed(self, data: bytes, time: float) -> list[Event]:
        events: list[Event] = []
        i, n = 0, len(data)
        while i < n:
            if self._payload_header is not None:
                take = min(self._payload_left, n - i)
                self._payload += data[i:i + take]
                self._raw += data[i:i + take]
                self._payload_left -= take
                i += take
                if self._payload_left == 0:
                    events.append(self._end_payload(time))
                continue
            byte = data[i]
            i += 1
            if self._ended is not None:
                if byte == LF:
                    self._raw.append(byte)
                    self._finish(events, *self._ended)
                    continue
                self._finish(events, *self._ended)
                if self._payload_header is not None:  # the header ended: this byte is payload
                    i -= 1
                    continue
            self._raw.append(byte)
            if self._skip_space:
                self._skip_space = False
                if byte == 0x20:
                    continue
            if byte == CR and self._buf.strip():
                self._ended = (self._take_text(), self._started)
            elif byte == LF and self._buf.strip():
                self._finish(events, self._take_text(), self._started)
            elif byte in (CR, LF):
                self._buf.clear()  # an empty line: its ends are framing of the next event
            else:
                if not self._buf:
                    self._started = time
                self._buf.append(byte)
                if len(self._buf) > self._max_line:  # a garbled DUT must not eat memory
                    events.append(Line(_text(bytes(self._buf)), self._started, self._take_raw()))
                    self._buf.clear()
                elif self._buf == b">":
                    # the prompt carries no line end: a ">" at a line start is it
                    self._buf.clear()
                    events.append(Prompt(time, self._take_raw()))
                    self._skip_space = True
        return events

    def flush(self, now: float) -> list[Event]:
        """The port has been idle: a line left at its CR is complete, and a payload past its
        time limit is given up (emitted incomplete, as evidence)."""
        events: list[Event] = []
        if self._ended is not None:
            self._finish(events, *self._ended)
        if self._payload_header is not None and self.payload_deadline is not None and now >= self.payload_deadline:
            events.append(self._end_payload(now))
        return events

    def reset(self, now: float) -> list[Event]:
        """The port was reopened: what was half read is gone; an unfinished payload is emitted
        incomplete (evidence of what the module sent), everything else starts afresh."""
        events: list[Event] = []
        if self._ended is not None:
            self._finish(events, *self._ended)
        if self._payload_header is not None:
            events.append(self._end_payload(now))
        self._clear()
        return events

    def _take_text(self) -> str:
        text = _text(bytes(self._buf).strip(b" "))
        self._buf.clear()
        return text

    def _take_raw(self) -> bytes:
        raw = bytes(self._raw)
        self._raw.clear()
        return raw

    def _finish(self, events: list[Event], text: str, time: float) -> None:
        """A complete line (``time``: its first byte): an event, or the start of the payload its
        header announces."""
        self._ended = None
        match = _LENGTH_DELIMITED.match(text.encode("latin-1"))
        if match and int(match.group(1)) > 0:
            self._payload_header = text
            self._payload_left = self._payload_announced = int(match.group(1))
            self._payload_time = time
            if self.payload_slack is not None:
                self.payload_deadline = time + self.payload_slack + 2 * self._payload_left * self.byte_time
            return
        if match:
            events.append(Payload(text, b"", time, self._take_raw(), 0))
            return
        events.append(Line(text, time, self._take_raw()))

    def _end_payload(self, time: float) -> Payload:
        """The payload event, timed by its header's first byte (``time`` is when it ended)."""
        assert self._payload_header is not None
        event = Payload(self._payload_header, bytes(self._payload), min(time, self._payload_time), self._take_raw(),
                        self._payload_announced)
        self._payload_header = None
        self._payload = bytearray()
        self._payload_left = 0
        self.payload_deadline = None
        return event

    @property
    def pending(self) -> bytes:
        """Bytes of an unfinished line (shown when a DUT goes silent mid-line)."""
        if self._ended is not None:
            return self._ended[0].encode("latin-1") + b"\r"
        return bytes(self._buf)


def _text(raw: bytes) -> str:
    return raw.decode("latin-1")

"""Incremental parser of the bytes a BG96 sends on its AT port.

Pure and byte-oriented: it is fed whatever a read returned (half a line, three lines and a
prompt) and emits events. It knows the few framing rules the module uses: lines end in CR
and/or LF, a ``>`` at the start of a line is the data prompt, and a ``+QCOAPRECV`` header
announces a payload that is read by length, so CR LF or any other byte inside it is payload.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

#: URCs whose header line announces ``<payload_length>`` raw bytes to follow.
_LENGTH_DELIMITED = re.compile(rb"^\+QCOAPRECV:.*,(\d+)$")


@dataclass(frozen=True)
class Line:
    text: str
    time: float


@dataclass(frozen=True)
class Prompt:
    time: float


@dataclass(frozen=True)
class Payload:
    """A length-delimited URC: its header line and exactly the announced bytes."""

    header: str
    data: bytes
    time: float


Event = Line | Prompt | Payload


class ATStreamParser:
    """Turns a byte stream into :class:`Line`, :class:`Prompt` and :class:`Payload` events."""

    def __init__(self, max_line: int = 65536) -> None:
        self._buf = bytearray()
        self._max_line = max_line
        self._payload_header: bytes | None = None
        self._payload_left = 0
        self._payload = bytearray()
        self._skip_lf = False  # an LF right after the CR that ended a payload header
        self._skip_space = False  # the space the module writes after its ">" prompt

    def feed(self, data: bytes, time: float) -> list[Event]:
        events: list[Event] = []
        i = 0
        n = len(data)
        while i < n:
            if self._skip_lf:
                self._skip_lf = False
                if data[i] == 0x0A:
                    i += 1
                    continue
            if self._payload_header is not None:
                take = min(self._payload_left, n - i)
                self._payload += data[i:i + take]
                self._payload_left -= take
                i += take
                if self._payload_left == 0:
                    events.append(Payload(_text(self._payload_header), bytes(self._payload), time))
                    self._payload_header = None
                    self._payload = bytearray()
                continue
            byte = data[i]
            i += 1
            if self._skip_space:
                self._skip_space = False
                if byte == 0x20:
                    continue
            if byte in (0x0D, 0x0A):
                self._end_line(events, time, byte)
                continue
            self._buf.append(byte)
            if len(self._buf) > self._max_line:  # a garbled DUT must not eat memory
                events.append(Line(_text(bytes(self._buf)), time))
                self._buf.clear()
            elif self._buf == b">":
                # the prompt carries no line end: a ">" at a line start is it
                events.append(Prompt(time))
                self._buf.clear()
                self._skip_space = True
        return events

    def _end_line(self, events: list[Event], time: float, terminator: int) -> None:
        if not self._buf.strip():
            self._buf.clear()
            return
        raw = bytes(self._buf).strip(b" ")
        self._buf.clear()
        match = _LENGTH_DELIMITED.match(raw)
        if match:
            length = int(match.group(1))
            if length > 0:
                self._payload_header = raw
                self._payload_left = length
            else:
                events.append(Payload(_text(raw), b"", time))
            self._skip_lf = terminator == 0x0D
            return
        events.append(Line(_text(raw), time))

    @property
    def pending(self) -> bytes:
        """Bytes of an unfinished line (shown when a DUT goes silent mid-line)."""
        return bytes(self._buf)


def _text(raw: bytes) -> str:
    return raw.decode("latin-1")

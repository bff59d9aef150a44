"""What the reference server records: one `Datagram` per UDP datagram on the wire.

Recording must be cheap (a flood sender must not outrun it), so a `Datagram` is built
from the raw bytes only; the CoAP view, the validator's verdict and the DTLS record
layer are computed on first access and cached.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, Optional

import aiocoap
from aiocoap.numbers.codes import Code
from aiocoap.numbers.types import Type

from wire.dtls_records import DtlsRecord, looks_like_dtls, parse_dtls_records

try:  # aiocoap's own option-header helper; the walker below only splits headers
    from aiocoap.options import _read_extended_field_value as _aiocoap_ext
except ImportError:  # pragma: no cover - older/newer aiocoap
    _aiocoap_ext = None

Direction = Literal["rx", "tx"]
Peer = tuple[str, int]

MTYPE_NAMES = ("CON", "NON", "ACK", "RST")


@dataclass(frozen=True)
class CoapView:
    """A CoAP message as aiocoap decoded it, with options in wire order."""

    mtype: int
    code: int
    code_text: str
    mid: int
    token: bytes
    options: list[tuple[int, bytes]]
    payload: bytes

    @property
    def type_name(self) -> str:
        return MTYPE_NAMES[self.mtype]

    @property
    def is_request(self) -> bool:
        return 1 <= self.code <= 31

    @property
    def is_empty(self) -> bool:
        return self.code == 0

    @property
    def uri_path(self) -> str:
        """Uri-Path options joined with '/' (no leading slash)."""
        return "/".join(self.option_values_text(11))

    def option_values(self, number: int) -> list[bytes]:
        return [v for n, v in self.options if n == number]

    def option_values_text(self, number: int) -> list[str]:
        return [v.decode("utf-8", "replace") for v in self.option_values(number)]

    def summary(self) -> str:
        opts = " ".join(f"{n}={v!r}" for n, v in self.options)
        return (
            f"{self.type_name} {self.code_text} mid={self.mid} token={self.token.hex()}"
            f" [{opts}] payload={self.payload[:40]!r}{'...' if len(self.payload) > 40 else ''}"
        )


class CoapHeader(NamedTuple):
    """The fixed header and token of a CoAP message (RFC 7252 3), as aiocoap's numbers name them.

    Read without the options, so that matching an ACK to what the server sent costs a few
    microseconds on the recording path: a full aiocoap decode there cut recording from ~13,000
    to ~2,800 datagrams per second. The full view is `Datagram.message`.
    """

    mtype: Type
    code: Code
    mid: int
    token: bytes

    @classmethod
    def read(cls, data: Optional[bytes]) -> Optional["CoapHeader"]:
        """The header of a version-1 message; None if ``data`` is not one."""
        if data is None or len(data) < 4:
            return None
        first, code, mid = _HEADER.unpack_from(data)
        version, mtype, tkl = first >> 6, (first >> 4) & 3, first & 0x0F
        if version != 1 or tkl > 8 or len(data) < 4 + tkl:
            return None
        return cls(Type(mtype), Code(code), mid, bytes(data[4:4 + tkl]))

    @property
    def is_request(self) -> bool:
        return self.code.is_request()


_HEADER = struct.Struct("!BBH")


def code_text(code: int) -> str:
    """``2.05`` for 69: aiocoap's spelling of a code."""
    return Code(code).dotted


def _ext(nibble: int, data: bytes, pos: int) -> tuple[int, int]:
    """Extended delta/length (RFC 7252 3.1); raises ValueError on 15 or truncation."""
    if _aiocoap_ext is not None:
        try:
            value, rest = _aiocoap_ext(nibble, data[pos:])
        except Exception as e:  # aiocoap raises UnparsableMessage
            raise ValueError(str(e)) from None
        return value, len(data) - len(rest)
    if nibble < 13:
        return nibble, pos
    if nibble == 13:
        if pos + 1 > len(data):
            raise ValueError("Option ended prematurely")
        return data[pos] + 13, pos + 1
    if nibble == 14:
        if pos + 2 > len(data):
            raise ValueError("Option ended prematurely")
        return int.from_bytes(data[pos : pos + 2], "big") + 269, pos + 2
    raise ValueError("reserved nibble 15")


def walk_options(data: bytes, start: int) -> tuple[list[tuple[int, bytes]], int]:
    """Split option headers from `start`; return (options in wire order, payload offset).

    Only used for ordering: format errors end the walk (the validator reports them).
    """
    options: list[tuple[int, bytes]] = []
    pos, number = start, 0
    while pos < len(data):
        head = data[pos]
        if head == 0xFF:
            return options, pos + 1
        try:
            delta, p = _ext(head >> 4, data, pos + 1)
            length, p = _ext(head & 0x0F, data, p)
        except ValueError:
            return options, len(data)
        if p + length > len(data):
            return options, len(data)
        number += delta
        options.append((number, bytes(data[p : p + length])))
        pos = p + length
    return options, len(data)


def decode_view(plaintext: bytes) -> Optional[CoapView]:
    """Decode with aiocoap; None if aiocoap refuses the bytes."""
    try:
        msg = aiocoap.Message.decode(plaintext)
        options, _ = walk_options(plaintext, 4 + len(msg.token))
        return CoapView(
            mtype=int(msg.mtype),
            code=int(msg.code),
            code_text=msg.code.dotted,
            mid=msg.mid,
            token=bytes(msg.token),
            options=options,
            payload=bytes(msg.payload),
        )
    except Exception:
        return None


@dataclass(eq=False)
class Datagram:
    """One datagram on the wire, recorded before any parsing."""

    direction: Direction
    time: float  # time.monotonic() at receipt / sending
    peer: Peer
    wire: bytes
    kernel_time: Optional[float] = None  # SO_TIMESTAMPNS, seconds since the epoch (rx only)
    is_dtls: bool = False
    #: rx ACK/RST: the server's message it answers; tx reply: the request it answers
    reply_to: Optional["Datagram"] = field(default=None, repr=False)
    _plaintext: Optional[bytes] = field(default=None, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.is_dtls and self._plaintext is None:
            self._plaintext = self.wire

    @property
    def plaintext(self) -> Optional[bytes]:
        """The CoAP bytes: the wire for UDP, decrypted application data for DTLS."""
        return self._plaintext

    def set_plaintext(self, data: bytes) -> None:
        self._plaintext = data
        self._cache.clear()

    @property
    def message(self) -> Optional[CoapView]:
        if "m" not in self._cache:
            p = self._plaintext
            self._cache["m"] = decode_view(p) if p is not None else None
        return self._cache["m"]

    @property
    def violations(self) -> list[str]:
        if "v" not in self._cache:
            from .validate import violations

            p = self._plaintext
            self._cache["v"] = violations(p) if p is not None else []
        return self._cache["v"]

    @property
    def dtls_records(self) -> list[DtlsRecord]:
        if not self.is_dtls:
            return []
        if "r" not in self._cache:
            self._cache["r"] = parse_dtls_records(self.wire)
        return self._cache["r"]

    def summary(self) -> str:
        """One line for the CLI and for timeout messages."""
        host, port = self.peer[0], self.peer[1]
        arrow = "<-" if self.direction == "rx" else "->"
        parts = [f"{self.time:.6f} {self.direction} {arrow} {host}:{port} {len(self.wire)}B"]
        if self.is_dtls:
            parts.append(
                "dtls[" + ",".join(f"{r.content_type}/e{r.epoch}" for r in self.dtls_records) + "]"
            )
        m = self.message
        if m is not None:
            parts.append(m.summary())
        elif self._plaintext is not None:
            parts.append(f"undecodable {self._plaintext[:24].hex()}")
        if self.violations:
            parts.append("VIOLATIONS: " + "; ".join(self.violations))
        return " ".join(parts)


__all__ = [
    "CoapView",
    "Datagram",
    "DtlsRecord",
    "code_text",
    "decode_view",
    "looks_like_dtls",
    "parse_dtls_records",
    "walk_options",
]

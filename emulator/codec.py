"""Serialising the host-configured message with aiocoap; each wire fault is an explicit step here."""
from __future__ import annotations

from dataclasses import dataclass, field

import aiocoap
from aiocoap.numbers.codes import Code
from aiocoap.numbers.types import Type
from aiocoap.optiontypes import OpaqueOption, StringOption, UintOption

from .faults import Faults
from .tables import OPTION_TABLE, OptFormat


@dataclass(frozen=True)
class OptionValue:
    """One configured option: number and the value as the host gave it (bytes, int or empty)."""

    number: int
    value: bytes | int

    def wire(self) -> bytes:
        """Minimal wire form (uint big-endian without leading zeros, 0 as zero length)."""
        if isinstance(self.value, int):
            v = self.value
            return v.to_bytes((v.bit_length() + 7) // 8, "big")
        return self.value


@dataclass(frozen=True)
class OutgoingMessage:
    mtype: int
    code: int
    mid: int
    token: bytes
    options: list[OptionValue] = field(default_factory=list)
    payload: bytes = b""


def _aiocoap_option(o: OptionValue, faults: Faults) -> object:
    if o.number not in OPTION_TABLE:  # fault option-number-outside-table2-accepted: sent as given
        return OpaqueOption(o.number, o.wire())
    fmt = OPTION_TABLE[o.number].fmt
    if fmt is OptFormat.UINT:
        assert isinstance(o.value, int)
        if faults.on("uint-not-minimal"):
            return OpaqueOption(o.number, o.value.to_bytes(OPTION_TABLE[o.number].max_len, "big"))
        return UintOption(o.number, o.value)
    if fmt is OptFormat.STRING:
        assert isinstance(o.value, bytes)
        value = o.value[:-1] if faults.on("option-value-truncated") else o.value
        try:
            return StringOption(o.number, value.decode("utf-8"))
        except UnicodeDecodeError:
            return OpaqueOption(o.number, o.value)
    return OpaqueOption(o.number, o.wire())


def _ext(v: int) -> tuple[int, bytes]:
    if v < 13:
        return v, b""
    if v < 269:
        return 13, bytes([v - 13])
    return 14, (v - 269).to_bytes(2, "big")


def _options_in_index_order(opts: list[object]) -> bytes:
    """The faulty writer: options in the order given; a negative delta wraps mod 65536."""
    out = bytearray()
    prev = 0
    for opt in opts:
        number = int(opt.number)  # type: ignore[attr-defined]
        value = opt.encode()  # type: ignore[attr-defined]
        d_nib, d_ext = _ext((number - prev) % 65536)
        l_nib, l_ext = _ext(len(value))
        out += bytes([(d_nib << 4) | l_nib]) + d_ext + l_ext + value
        prev = number
    return bytes(out)


def encode(msg: OutgoingMessage, faults: Faults) -> bytes:
    token = b"" if faults.on("drop-token") else msg.token
    opts = [_aiocoap_option(o, faults) for o in msg.options]
    if faults.on("repeated-options-reversed"):
        opts.reverse()  # sorting by number below keeps this order among equal numbers
    code = 2 if faults.on("get-sent-as-post") and msg.code == 1 else msg.code
    m = aiocoap.Message(code=Code(code), payload=msg.payload)
    m.mtype = Type(msg.mtype)
    m.mid = msg.mid
    m.token = token
    if faults.on("options-index-order"):
        head = aiocoap.Message(code=Code(code))
        head.mtype, head.mid, head.token = Type(msg.mtype), msg.mid, token
        data = head.encode() + _options_in_index_order(opts)
        if msg.payload:
            data += b"\xff" + msg.payload
    else:
        for opt in opts:
            m.opt.add_option(opt)
        data = m.encode()
    if faults.on("msgid-off-by-one") and msg.code != 0:  # requests and responses; a ping stays intact
        data = data[:2] + ((msg.mid + 1) % 65536).to_bytes(2, "big") + data[4:]
    if faults.on("ack-sent-as-rst") and msg.mtype == 2:
        data = bytes([(data[0] & 0xCF) | (3 << 4)]) + data[1:]
    if faults.on("mid-little-endian") and msg.code != 0:  # the ping of the reachability check stays intact
        data = data[:2] + bytes([data[3], data[2]]) + data[4:]
    if faults.on("empty-payload-marker") and not msg.payload and msg.code != 0:
        data += b"\xff"
    return data


def empty_reply(mtype: int, mid: int) -> bytes:
    """An empty ACK (2) or RST (3) the engine sends on its own."""
    m = aiocoap.Message(code=Code(0))
    m.mtype, m.mid, m.token = Type(mtype), mid, b""
    return m.encode()

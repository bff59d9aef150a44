"""Text of the CoAP URCs; each is returned as one bytes object so it is written in one go."""
from __future__ import annotations

import aiocoap

from .faults import Faults
from .tables import OPTION_TABLE, OptFormat, code_text


def line(text: str | bytes) -> bytes:
    b = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    return b"\r\n" + b + b"\r\n"


def qcoapack(cid: int, mtype: int, mid: int, result: int, faults: Faults) -> bytes:
    if faults.on("ack-wrong-msgid"):
        mid = (mid + 1) % 65536
    return line(f"+QCOAPACK: {cid},{mtype},{mid},{result}")


def qcoapind(cid: int, mid: int, k: int) -> bytes:
    return line(f"+QCOAPIND: {cid},0,{mid},{k},0")


def _option_field(number: int, value: bytes, faults: Faults) -> str:
    if faults.on("recv-option-quoting"):
        return '"' + value.decode("utf-8", "surrogateescape") + '"'  # every value as raw text, any format
    d = OPTION_TABLE.get(number)
    if d is None or d.fmt is OptFormat.OPAQUE:
        return value.hex().upper()
    if d.fmt is OptFormat.UINT:
        return str(int.from_bytes(value, "big"))
    if d.fmt is OptFormat.EMPTY:
        return '""'
    return '"' + value.decode("utf-8", "surrogateescape") + '"'


def qcoaprecv(cid: int, msg: aiocoap.Message, faults: Faults) -> bytes:
    code = int(msg.code)
    fields = [
        str(cid),
        str(msg.mid),
        str(code) if faults.on("recv-code-as-number") else code_text(code),
        str(len(msg.token) * (2 if faults.on("recv-tkl-hex-digits") else 1)),
        msg.token.hex().upper(),
    ]
    opts = list(msg.opt.option_list())
    fields.append(str(len(opts)))
    for o in opts:
        fields += [str(int(o.number)), _option_field(int(o.number), o.encode(), faults)]
    n = len(msg.payload) + (1 if faults.on("recv-length-off-by-one") else 0)
    fields.append(str(n))
    head = ("+QCOAPRECV: " + ",".join(fields)).encode("utf-8", "surrogateescape")
    return b"\r\n" + head + b"\r\n" + msg.payload + b"\r\n"

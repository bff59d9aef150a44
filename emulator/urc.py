"""Text of the URCs (CoAP, registration, unrelated); each is one bytes object, written in one go."""
from __future__ import annotations

import random
import time

import aiocoap
from aiocoap.numbers.codes import Code

from .faults import Faults
from .tables import OPTION_TABLE, OptFormat


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
        str(code) if faults.on("recv-code-as-number") else Code(code).dotted,
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


#: location fields of a registration URC with <n>=2: (<lac>/<tac>, <ci>, <AcT>), as a BG96 prints them
_LOCATION = {"CEREG": ('"1A2B"', '"01A2B3C4"', 8), "CREG": ('"2F07"', '"C0D1"', 0), "CGREG": ('"2F07"', '"C0D1"', 0)}


def registration_fields(key: str, n: int, stat: int) -> str:
    """What follows ``+CEREG: `` (or +CREG/+CGREG) in a URC: <stat>[,<tac>,<ci>,<AcT>]."""
    if n == 2 and stat in (1, 5):
        return ",".join(str(f) for f in (stat, *_LOCATION[key]))
    return str(stat)


def unrelated_text(rng: random.Random, extra: list[str]) -> str:
    """A line a BG96 prints unasked that the CoAP host did not ask for (field knob urcs)."""
    t = time.gmtime()
    choices = [
        f'+CTZE: "+04",0,"{t.tm_year}/{t.tm_mon:02d}/{t.tm_mday:02d},{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"',
        "+CTZV: +04",
        f'+CMTI: "ME",{rng.randrange(0, 30)}',
        f'+QIND: "csq",{rng.randrange(10, 32)},99',
        '+QIND: "act","eMTC"',
        *extra,
    ]
    return choices[int(rng.random() * len(choices))]

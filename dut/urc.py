"""Which lines are unsolicited, and the typed URCs of the document."""
from __future__ import annotations

import re
from dataclasses import dataclass

#: Prefixes a BG96 prints unsolicited (any other ``+NAME:`` line that is not the pending
#: command's is unsolicited too: +CTZE, +CTZV, +CMTI... arrive at any moment on a bench).
_URC_PREFIXES = ("+QCOAPRECV:", "+QCOAPACK:", "+QCOAPIND:", "+QCOAPOPEN:", "+QCOAPCLOSE:",
                 "+QIURC:", "+QIND:", "+CPIN:", "+CFUN:", "+CEREG:", "+CREG:", "+CGREG:", "+QUSIM:")
_BARE_URCS = ("RDY", "APP RDY", "POWERED DOWN", "NORMAL POWER DOWN")
#: The OPEN/CLOSE results are two integers; the read form of OPEN has four fields.
_RESULT_SHAPE = re.compile(r"^\+QCOAP(?:OPEN|CLOSE): *-?\d+, *-?\d+$")
_ALWAYS_URC = ("+QCOAPRECV:", "+QCOAPACK:", "+QCOAPIND:")
#: A registration URC is ``<stat>`` alone or ``<stat>,"<tac>",...``; the read form is ``<n>,<stat>``.
_REGISTRATION_URC = re.compile(r'^\+C(?:E|G)?REG: *\d+ *(?:$|, *")')
_PDP_DEACT = re.compile(r'^\+QIURC: *"pdpdeact", *(\d+)')
REGISTERED_STATS = (1, 5)


def line_prefix(line: str) -> str:
    return line.split(":", 1)[0] + ":" if line.startswith("+") and ":" in line else ""


def is_urc(line: str, pending_prefix: str | None) -> bool:
    """True when ``line`` is unsolicited, given the prefix of the pending command (if any).

    Known or not, a ``+NAME:`` line is the pending command's only when it carries that
    command's prefix and is not in a URC-only shape."""
    if line in _BARE_URCS or line.startswith(_ALWAYS_URC) or _RESULT_SHAPE.match(line):
        return True
    prefix = line_prefix(line)
    if not prefix:
        return False
    if prefix != pending_prefix:
        return True
    return bool(_REGISTRATION_URC.match(line))


def network_loss(line: str) -> str | None:
    """What a URC says was lost: a PDP context the network deactivated, or a registration
    (``+CEREG: 2`` unsolicited); None for any other line."""
    match = _PDP_DEACT.match(line)
    if match:
        return f"the network deactivated PDP context {match.group(1)} ({line})"
    if _REGISTRATION_URC.match(line):
        stat = int(line.split(":", 1)[1].split(",")[0])
        if stat not in REGISTERED_STATS:
            return f"the module reported it is no longer registered ({line})"
    return None


def split_fields(text: str) -> list[str]:
    """Split a parameter list on commas outside double quotes; quotes are kept."""
    fields: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            cur.append(ch)
        elif ch == "," and not quoted:
            fields.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    fields.append("".join(cur).strip())
    return fields


def unquote(field: str) -> str:
    return field[1:-1] if len(field) >= 2 and field[0] == field[-1] == '"' else field


def fields_of(line: str) -> list[str]:
    """The fields after ``+NAME: `` of an information line or URC."""
    return split_fields(line.split(":", 1)[1].strip()) if ":" in line else []


@dataclass(frozen=True)
class Urc:
    """An unsolicited result code as received, with its length-delimited payload if any."""

    line: str
    time: float
    payload: bytes | None = None
    complete: bool = True  # False: fewer payload bytes came than the header announced

    @property
    def name(self) -> str:
        return self.line.split(":", 1)[0] if ":" in self.line else self.line

    @property
    def fields(self) -> list[str]:
        return fields_of(self.line)


class UrcFormatError(ValueError):
    """A URC whose shape does not match the document's format."""


@dataclass(frozen=True)
class RecvUrc:
    """``+QCOAPRECV`` (3.4.1), parsed."""

    client: int
    mid: int
    code: str
    tkl: int
    token: str
    options: tuple[tuple[int, str], ...]
    payload_length: int
    payload: bytes
    raw: str

    @classmethod
    def parse(cls, urc: Urc) -> RecvUrc:
        f = urc.fields
        try:
            count = int(f[5])
            opts = tuple((int(f[6 + 2 * k]), f[7 + 2 * k]) for k in range(count))
            if len(f) != 7 + 2 * count:
                raise UrcFormatError(f"{len(f)} fields, expected {7 + 2 * count}: {urc.line!r}")
            return cls(int(f[0]), int(f[1]), f[2], int(f[3]), f[4], opts, int(f[-1]),
                       urc.payload or b"", urc.line)
        except (IndexError, ValueError) as exc:
            raise UrcFormatError(f"malformed +QCOAPRECV: {urc.line!r} ({exc})") from exc


def _ints(urc: Urc, n: int) -> list[int]:
    f = urc.fields
    if len(f) != n:
        raise UrcFormatError(f"{urc.name} has {len(f)} fields, expected {n}: {urc.line!r}")
    try:
        return [int(x) for x in f]
    except ValueError as exc:
        raise UrcFormatError(f"{urc.name} fields are not integers: {urc.line!r}") from exc


@dataclass(frozen=True)
class AckUrc:
    """``+QCOAPACK: <clientID>,<type>,<msgID>,<result>`` (3.4.2)."""

    client: int
    type: int
    mid: int
    result: int

    @classmethod
    def parse(cls, urc: Urc) -> AckUrc:
        return cls(*_ints(urc, 4))


@dataclass(frozen=True)
class IndUrc:
    """``+QCOAPIND: <clientID>,<type>,<msgID>,<retry_times>,<result>`` (3.4.3)."""

    client: int
    type: int
    mid: int
    retry_times: int
    result: int
    time: float

    @classmethod
    def parse(cls, urc: Urc) -> IndUrc:
        return cls(*_ints(urc, 5), time=urc.time)


@dataclass(frozen=True)
class ResultUrc:
    """``+QCOAPOPEN: <clientID>,<result>`` / ``+QCOAPCLOSE: <clientID>,<result>``."""

    client: int
    result: int

    @classmethod
    def parse(cls, urc: Urc) -> ResultUrc:
        return cls(*_ints(urc, 2))

"""The URCs of chapter 3.4 and the result URCs of OPEN/CLOSE, as the document prints them."""
from __future__ import annotations

from .model import UrcFormat

QCOAPRECV = UrcFormat(
    "+QCOAPRECV", "3.4.1",
    "+QCOAPRECV: <clientID>,<msgID>,<code>,<TKL>,<token>,<opt_count>"
    "[,<opt_number>,<opt_value>...],<payload_length><CR><LF><payload>",
    ("clientID", "msgID", "code", "TKL", "token", "opt_count", "options", "payload_length", "payload"),
)
QCOAPACK = UrcFormat(
    "+QCOAPACK", "3.4.2", "+QCOAPACK: <clientID>,<type>,<msgID>,<result>",
    ("clientID", "type", "msgID", "result"),
)
QCOAPIND = UrcFormat(
    "+QCOAPIND", "3.4.3", "+QCOAPIND: <clientID>,<type>,<msgID>,<retry_times>,<result>",
    ("clientID", "type", "msgID", "retry_times", "result"),
)
QCOAPOPEN_RESULT = UrcFormat(
    "+QCOAPOPEN", "3.3.2", "+QCOAPOPEN: <clientID>,<result>", ("clientID", "result"),
)
QCOAPCLOSE_RESULT = UrcFormat(
    "+QCOAPCLOSE", "3.3.3", "+QCOAPCLOSE: <clientID>,<result>", ("clientID", "result"),
)

URCS: tuple[UrcFormat, ...] = (QCOAPRECV, QCOAPACK, QCOAPIND, QCOAPOPEN_RESULT, QCOAPCLOSE_RESULT)

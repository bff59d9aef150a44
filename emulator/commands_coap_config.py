"""AT+QCOAPCFG, AT+QCOAPHEADER, AT+QCOAPOPTION: per-client settings; errors are plain ERROR."""
from __future__ import annotations

from .codec import OptionValue
from .coap_client import N_CLIENTS, N_OPTIONS
from .dispatch import TEST, WRITE, Command, command
from .module import HostIO, Modem
from .params import Param, ParamError, as_bytes, as_hex, as_int, as_keyword
from .results import ERROR, OK, Final
from .tables import OPTION_TABLE, OptFormat

MAX_CID = N_CLIENTS - 1


@command("+QCOAPCFG", param_error=ERROR)
async def qcoapcfg(cmd: Command, m: Modem, io: HostIO) -> Final:
    if cmd.form == TEST:
        io.info('+QCOAPCFG: "pdpcid",(0-5),(1-16)')
        io.info('+QCOAPCFG: "dtls",(0-5),(0,1),(0-5)')
        io.info('+QCOAPCFG: "trans",(0-5),(2-60),(4-8)')
        return OK
    p = cmd.params
    if cmd.form != WRITE or len(p) < 2:
        return ERROR
    key = as_keyword(p[0])
    s = m.state.clients[as_int(p[1], 0, MAX_CID)].settings
    if key == "pdpcid":
        if len(p) == 2:
            io.info(f'+QCOAPCFG: "pdpcid",{s.pdpcid}')
        elif len(p) == 3:
            s.pdpcid = as_int(p[2], 1, 16)
        else:
            return ERROR
    elif key == "dtls":
        if len(p) == 2:
            io.info(f'+QCOAPCFG: "dtls",1,{s.dtls_ctx}' if s.dtls_enable else '+QCOAPCFG: "dtls",0')
        elif len(p) in (3, 4):
            enable = as_int(p[2], 0, 1)
            kept = 0 if m.config.faults.on("dtls-omitted-ctx-reset") else s.dtls_ctx
            ctx = as_int(p[3], 0, 5) if len(p) == 4 else kept
            s.dtls_enable, s.dtls_ctx = enable, ctx
        else:
            return ERROR
    elif key == "trans":
        if len(p) == 2:
            io.info(f'+QCOAPCFG: "trans",{s.timeout},{s.retry_count}')
        elif len(p) == 4:
            hi = 61 if m.config.faults.on("accept-timeout-61") else 60
            timeout, retry = as_int(p[2], 2, hi), as_int(p[3], 4, 8)
            s.timeout, s.retry_count = timeout, retry
        else:
            return ERROR
    else:
        return ERROR
    return OK


@command("+QCOAPHEADER", param_error=ERROR)
async def qcoapheader(cmd: Command, m: Modem, io: HostIO) -> Final:
    if cmd.form == TEST:
        io.info("+QCOAPHEADER: (0-5),(0-65535),(0,1),(0-8),<token>")
        return OK
    p = cmd.params
    if cmd.form != WRITE or not 3 <= len(p) <= 5:
        return ERROR
    client = m.state.clients[as_int(p[0], 0, MAX_CID)]
    mid, mode = as_int(p[1], 0, 65535), as_int(p[2], 0, 1)
    token = b""
    if mode == 0:
        if len(p) != 5:
            return ERROR
        tkl = as_int(p[3], 0, 8)
        token = as_hex(p[4])
        if len(token) != tkl and not m.config.faults.on("tkl-mismatch-accepted"):
            return ERROR
    h = client.header
    if mode == 1 and m.config.faults.on("mode1-ignores-msgid"):
        mid = h.next_mid  # the running message ID wins over the one given
    h.next_mid, h.mode, h.token = mid, mode, token
    return OK


def option_value(number: int, p: Param, lenient: bool = False) -> bytes | int:
    """Check a value against Table 2's format and length bounds (lenient: fault option-length-unchecked)."""
    d = OPTION_TABLE[number]
    max_len = d.max_len + 1 if lenient else d.max_len
    if d.fmt is OptFormat.UINT:
        return as_int(p, 0, (1 << (8 * max_len)) - 1)
    if d.fmt is OptFormat.EMPTY:
        if p.text != "":
            raise ParamError("If-None-Match takes no value")
        return b""
    value = as_bytes(p) if d.fmt is OptFormat.STRING else as_hex(p)
    if not d.min_len <= len(value) <= max_len:
        raise ParamError(f"length {len(value)} outside {d.min_len}-{d.max_len}")
    return value


@command("+QCOAPOPTION", param_error=ERROR)
async def qcoapoption(cmd: Command, m: Modem, io: HostIO) -> Final:
    if cmd.form == TEST:
        io.info("+QCOAPOPTION: (0-5),(0,1),(0-7),<opt_number>,<opt_value>")
        return OK
    p = cmd.params
    if cmd.form != WRITE or not 3 <= len(p) <= 5:
        return ERROR
    client = m.state.clients[as_int(p[0], 0, MAX_CID)]
    mode, index = as_int(p[1], 0, 1), as_int(p[2], 0, N_OPTIONS - 1)
    if mode == 1:
        client.options[index] = None  # number/value "only valid when mode=0": ignored here
        return OK
    if len(p) != 5:
        return ERROR
    number = as_int(p[3], 0, 65535)
    if number not in OPTION_TABLE:
        if not m.config.faults.on("option-number-outside-table2-accepted"):
            return ERROR
        client.options[index] = OptionValue(number, as_bytes(p[4]))  # the faulty firmware: taken as given
        return OK
    lenient = m.config.faults.on("option-length-unchecked")
    client.options[index] = OptionValue(number, option_value(number, p[4], lenient))
    return OK

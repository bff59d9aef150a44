"""AT+QCOAPOPEN, AT+QCOAPCLOSE, AT+QCOAPSEND: sessions and the data-mode send."""
from __future__ import annotations

import asyncio

from . import session
from .codec import encode
from .coap_client import STATUS_CONNECTED, STATUS_IDLE, CoapClient
from .coap_engine import Timing
from .dispatch import READ, TEST, WRITE, Command, command
from .module import HostIO, Modem
from .params import as_bytes, as_int
from .results import ERROR, OK, Final
from .tables import CODE_VALUES

MAX_CID = 5
MAX_PAYLOAD = 1024
SLOW_OK_S = 0.4  # fault send-slow-ok: over the 300 ms Maximum Response Time
CTRL_Z, ESC = 0x1A, 0x1B


@command("+QCOAPOPEN", param_error=ERROR)
async def qcoapopen(cmd: Command, m: Modem, io: HostIO) -> Final:
    if cmd.form == TEST:
        io.info("+QCOAPOPEN: (0-5),<CoAP_server>,(1-65535)")
        return OK
    if cmd.form == READ:
        for c in m.state.clients:
            if c.status != STATUS_IDLE:
                status = c.status
                if status == STATUS_CONNECTED and m.config.faults.on("status-connecting-when-open"):
                    status = 2
                io.info(f'+QCOAPOPEN: {c.cid},"{c.server}",{c.port},{status}')
        return OK
    p = cmd.params
    if cmd.form != WRITE or len(p) != 3:
        return ERROR
    client = m.state.clients[as_int(p[0], 0, MAX_CID)]
    server = as_bytes(p[1])
    port = as_int(p[2], 1, 65535)
    if not 1 <= len(server) <= 255:
        return ERROR
    if m.config.faults.on("open-urc-before-ok"):
        await _open_before_ok(m, io, client, p[1].text, port)
        return OK
    return Final("OK", then=lambda: session.start_open(m, client, p[1].text, port))


async def _open_before_ok(m: Modem, io: HostIO, client: CoapClient, server: str, port: int) -> None:
    """Fault open-urc-before-ok: the open runs inside the command and its URC is written at once."""
    emit, m.emit_urc = m.emit_urc, io.write
    try:
        session.start_open(m, client, server, port)
        if client.task is not None:
            await client.task
    finally:
        m.emit_urc = emit


@command("+QCOAPCLOSE", param_error=ERROR)
async def qcoapclose(cmd: Command, m: Modem, io: HostIO) -> Final:
    if cmd.form == TEST:
        top = 6 if m.config.faults.on("test-response-typo") else MAX_CID
        io.info(f"+QCOAPCLOSE: (0-{top})")
        return OK
    if cmd.form != WRITE or len(cmd.params) != 1:
        return ERROR
    client = m.state.clients[as_int(cmd.params[0], 0, MAX_CID)]
    return Final("OK", then=lambda: session.start_close(m, client))


@command("+QCOAPSEND", param_error=ERROR)
async def qcoapsend(cmd: Command, m: Modem, io: HostIO) -> Final:
    if cmd.form == TEST:
        io.info("+QCOAPSEND: (0-5),(0-3),<code_value>,<opt_bitmask>,(0-1024)")
        return OK
    p = cmd.params
    if cmd.form != WRITE or len(p) not in (4, 5):
        return ERROR
    client = m.state.clients[as_int(p[0], 0, MAX_CID)]
    mtype = as_int(p[1], 0, 3)
    code = as_int(p[2], 0, 255)
    bitmask = as_int(p[3], 0, 255)
    top = MAX_PAYLOAD - 1 if m.config.faults.on("payload-1024-rejected") else MAX_PAYLOAD
    length = as_int(p[4], 0, top) if len(p) == 5 else None
    outside_table3 = code not in CODE_VALUES and not m.config.faults.on("code-outside-table3-accepted")
    if outside_table3 or client.status != STATUS_CONNECTED:
        return ERROR
    if length == 0:
        payload = b""
    else:
        io.write(b"\r\n> ")
        if length is not None:
            payload = await io.read_exact(length)
            if m.config.faults.on("ctrl-z-cuts-counted-payload"):
                payload = payload.split(bytes([CTRL_Z]), 1)[0]
        else:
            payload, stop = await io.read_until(bytes([CTRL_Z, ESC]), MAX_PAYLOAD)
            if (stop == ESC and not m.config.faults.on("esc-sends-anyway")) or len(payload) > MAX_PAYLOAD:
                return ERROR
    engine = client.engine
    if engine is None or client.status != STATUS_CONNECTED:
        return ERROR  # the session went away while the payload was typed
    msg = client.build(mtype, code, bitmask, payload, m.config.faults)
    data = encode(msg, m.config.faults)
    timing = Timing(client.settings.timeout, client.settings.retry_count)
    engine.send(mtype, msg.mid, code, msg.token, data, timing)  # sent now; its URC waits for the OK
    if m.config.faults.on("send-slow-ok"):
        await asyncio.sleep(SLOW_OK_S)  # a response time, not a protocol timer: not scaled
    return OK

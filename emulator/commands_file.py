"""UFS commands: AT+QFUPL (raw upload with checksum), AT+QFLST, AT+QFDEL."""
from __future__ import annotations

from .dispatch import EXEC, TEST, WRITE, Command, command
from .module import HostIO, Modem
from .params import ParamError, as_int
from .results import OK, Final, cme
from .ufs import MAX_NAME, checksum, strip_prefix

E_INVALID, E_NOT_FOUND, E_NAME, E_EXISTS = 400, 405, 406, 407
DEFAULT_UPLOAD_TIMEOUT_S = 5
MAX_UPLOAD = 10 * 1024 * 1024


def _name(text: str) -> str:
    bare = strip_prefix(text)
    if not bare or len(bare) > MAX_NAME:
        raise ParamError("bad file name")
    return bare


@command("+QFUPL", param_error=cme(E_INVALID))
async def qfupl(cmd: Command, m: Modem, io: HostIO) -> Final:
    if cmd.form == TEST:
        return OK
    p = cmd.params
    if cmd.form != WRITE or not 1 <= len(p) <= 4:
        return cme(E_INVALID)
    name = _name(p[0].text)
    size = as_int(p[1], 0, MAX_UPLOAD) if len(p) >= 2 else None
    timeout = as_int(p[2], 1, 65535) if len(p) >= 3 else DEFAULT_UPLOAD_TIMEOUT_S
    if len(p) == 4:
        as_int(p[3], 0, 1)
    if m.ufs.exists(name):
        return cme(E_EXISTS)
    io.info("CONNECT")
    if size is None:
        data = await io.read_idle(timeout)
    else:
        data = await io.read_exact(size, idle_timeout=timeout)  # short on idle timeout: keep what came
    m.ufs.store(name, data)
    io.info(f"+QFUPL: {len(data)},{checksum(data):x}")
    return OK


@command("+QFLST", param_error=cme(E_INVALID))
async def qflst(cmd: Command, m: Modem, io: HostIO) -> Final:
    if cmd.form == TEST:
        return OK
    if cmd.form == EXEC:
        pattern = "*"
    elif cmd.form == WRITE and len(cmd.params) == 1:
        pattern = cmd.params[0].text
    else:
        return cme(E_INVALID)
    names = m.ufs.match(pattern)
    if not names and pattern not in ("*", "UFS:*"):
        return cme(E_NOT_FOUND)
    for n in names:
        io.info(f'+QFLST: "UFS:{n}",{len(m.ufs.files[n])}')
    return OK


@command("+QFDEL", param_error=cme(E_INVALID))
async def qfdel(cmd: Command, m: Modem, io: HostIO) -> Final:
    if cmd.form == TEST:
        return OK
    if cmd.form != WRITE or len(cmd.params) != 1:
        return cme(E_INVALID)
    pattern = cmd.params[0].text
    names = m.ufs.match(pattern)
    if not names and pattern not in ("*", "UFS:*"):
        return cme(E_NOT_FOUND)
    for n in names:
        m.ufs.delete(n)
    return OK

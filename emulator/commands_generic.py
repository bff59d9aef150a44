"""Generic 3GPP/Quectel commands: identity, echo, CMEE, SIM, CFUN, registration, PDP contexts, URC
port, QSSLCFG."""
from __future__ import annotations

import asyncio

from .dispatch import EXEC, READ, TEST, WRITE, Command, command
from .module import HostIO, Modem, PdpConfig
from .params import as_int, as_keyword
from .results import ERROR, OK, Final, cme

REVISION = "BG96MAR02A07M1G"
IMEI = "864508030012428"
PDP_ACTIVATION_S = 0.2
#: after AT+CFUN=1 the module re-attaches and the network activates the default bearer again
ATTACH_S = 10.0
#: fault hang-then-reboot: silence before the watchdog resets the module
WATCHDOG_S = 300.0
BAD_PARAM = 50
OPERATION_NOT_ALLOWED, INCORRECT_PASSWORD = 3, 16
#: <context_type> of AT+QICSGP and its <PDP_type> name in AT+CGDCONT
PDP_TYPES = {1: "IP", 2: "IPV6", 3: "IPV4V6"}
MAX_CGDCONT_CID = 15
URC_PORTS = ("usbat", "usbmodem", "uart1")


@command("")
async def at(cmd: Command, m: Modem, io: HostIO) -> Final:
    return OK


@command("E", param_error=ERROR)
async def ate(cmd: Command, m: Modem, io: HostIO) -> Final:
    if cmd.arg not in ("", "0", "1"):
        return ERROR
    m.state.echo = cmd.arg == "1" or m.config.faults.on("echo-stuck-on")
    return OK


@command("I", param_error=ERROR)
async def ati(cmd: Command, m: Modem, io: HostIO) -> Final:
    if cmd.arg not in ("", "0"):
        return ERROR
    io.info("Quectel")
    io.info("BG96")
    io.info(f"Revision: {REVISION}")
    return OK


def _info_only(text: str):  # noqa: ANN202 - tiny factory
    async def handler(cmd: Command, m: Modem, io: HostIO) -> Final:
        if cmd.form == TEST:
            return OK
        if cmd.form != EXEC:
            return cme(BAD_PARAM)
        io.info(text)
        return OK

    return handler


command("+QGMR")(_info_only(f"{REVISION}_01.019.01.019"))
command("+CGMR", "+GMR")(_info_only(REVISION))
command("+GSN", "+CGSN")(_info_only(IMEI))


@command("+CMEE")
async def cmee(cmd: Command, m: Modem, io: HostIO) -> Final:
    if cmd.form == TEST:
        io.info("+CMEE: (0-2)")
    elif cmd.form == READ:
        io.info(f"+CMEE: {m.state.cmee}")
    elif cmd.form == WRITE and len(cmd.params) == 1:
        m.state.cmee = as_int(cmd.params[0], 0, 2)
    else:
        return cme(BAD_PARAM)
    return OK


@command("+CPIN")
async def cpin(cmd: Command, m: Modem, io: HostIO) -> Final:
    """SIM state; with the field knob sim_pin it waits for AT+CPIN="<pin>" after every boot."""
    if cmd.form == READ:
        io.info("+CPIN: SIM PIN" if m.state.sim_locked else "+CPIN: READY")
        return OK
    if cmd.form != WRITE:
        return OK
    if not m.state.sim_locked:
        return cme(OPERATION_NOT_ALLOWED)
    if len(cmd.params) not in (1, 2):
        return cme(BAD_PARAM)
    if cmd.params[0].text != m.config.knobs.sim_pin:
        return cme(INCORRECT_PASSWORD)
    return Final("OK", then=m.unlock_sim)


@command("+CFUN")
async def cfun(cmd: Command, m: Modem, io: HostIO) -> Final:
    if cmd.form == TEST:
        io.info("+CFUN: (0,1,4),(0,1)")
        return OK
    if cmd.form == READ:
        io.info(f"+CFUN: {m.state.cfun}")
        return OK
    if cmd.form != WRITE or not 1 <= len(cmd.params) <= 2:
        return cme(BAD_PARAM)
    fun = as_int(cmd.params[0], 0, 4)
    rst = as_int(cmd.params[1], 0, 1) if len(cmd.params) == 2 else 0
    if fun not in (0, 1, 4):
        return cme(BAD_PARAM)
    if rst == 1:
        return Final("OK", then=m.request_restart)
    was = m.state.cfun
    if fun != 1:
        m.radio_off()
    elif was != 1:
        m.start_attach(m.config.scaled(ATTACH_S))
    m.state.cfun = fun
    if fun == 1 and was != 1:
        m.search()  # field knobs: registration starts again (searching first)
    return OK


@command("+CSQ")
async def csq(cmd: Command, m: Modem, io: HostIO) -> Final:
    """Signal quality; the fault hang-then-reboot hangs the first one, then resets the module."""
    if cmd.form == TEST:
        io.info("+CSQ: (0-31,99),(0-7,99)")
        return OK
    if cmd.form != EXEC:
        return cme(BAD_PARAM)
    if m.config.faults.on("hang-then-reboot") and "hang-then-reboot" not in m.fired:
        m.fired.add("hang-then-reboot")
        await asyncio.sleep(m.config.scaled(WATCHDOG_S))  # no answer: the AT task is stuck
        m.request_restart()  # the watchdog: silence, then RDY / APP RDY; this command's result is lost
        return OK
    io.info("+CSQ: 31,99" if m.state.cfun == 1 else "+CSQ: 99,99")
    return OK


def _registration(key: str):  # noqa: ANN202
    async def handler(cmd: Command, m: Modem, io: HostIO) -> Final:
        if cmd.form == TEST:
            io.info(f"+{key}: (0-2)")
        elif cmd.form == READ:
            io.info(f"+{key}: {m.state.reg_n[key]},{m.reg_stat(key)}")
        elif cmd.form == WRITE and len(cmd.params) == 1:
            m.state.reg_n[key] = as_int(cmd.params[0], 0, 2)
        else:
            return cme(BAD_PARAM)
        return OK

    return handler


for _k in ("CREG", "CGREG", "CEREG"):
    command("+" + _k)(_registration(_k))


@command("+QICSGP", param_error=ERROR)
async def qicsgp(cmd: Command, m: Modem, io: HostIO) -> Final:
    """TCP/IP-manual commands answer plain ERROR on errors."""
    if cmd.form == TEST:
        io.info('+QICSGP: (1-16),(1-3),<APN>,<username>,<password>,(0-3)')
        return OK
    p = cmd.params
    # AT+QICSGP=<contextID>[,<context_type>,<APN>[,<username>,<password>[,<authentication>]]]
    if cmd.form != WRITE or len(p) not in (1, 3, 5, 6):
        return ERROR
    ctx = as_int(p[0], 1, 16)
    if len(p) == 1:
        c = m.state.pdp.get(ctx, PdpConfig())
        io.info(f'+QICSGP: {c.ctx_type},"{c.apn}","{c.user}","{c.password}",{c.auth}')
        return OK
    ctx_type = as_int(p[1], 1, 3)  # 1 IPv4, 2 IPv6, 3 IPv4v6
    user, password = (p[3].text, p[4].text) if len(p) >= 5 else ("", "")
    auth = as_int(p[5], 0, 3) if len(p) == 6 else 0  # 0 none, 1 PAP, 2 CHAP, 3 PAP or CHAP
    m.state.pdp[ctx] = PdpConfig(ctx_type, p[2].text, user, password, auth)
    return OK


@command("+CGDCONT")
async def cgdcont(cmd: Command, m: Modem, io: HostIO) -> Final:
    """The same context table as AT+QICSGP, in 3GPP terms (context 1 is always defined)."""
    if cmd.form == TEST:
        for name in PDP_TYPES.values():
            io.info(f'+CGDCONT: (1-{MAX_CGDCONT_CID}),"{name}",,,(0-2),(0-4),(0),(0)')
        return OK
    if cmd.form == READ:
        for ctx in sorted(c for c in {1, *m.state.pdp} if c <= MAX_CGDCONT_CID):
            c = m.state.pdp.get(ctx, PdpConfig())
            io.info(f'+CGDCONT: {ctx},"{PDP_TYPES[c.ctx_type]}","{c.apn}","0.0.0.0",0,0,0,0')
        return OK
    p = cmd.params
    if cmd.form != WRITE or not 1 <= len(p) <= 3:
        return cme(BAD_PARAM)
    ctx = as_int(p[0], 1, MAX_CGDCONT_CID)
    if len(p) == 1:
        m.state.pdp.pop(ctx, None)  # the context becomes undefined
        return OK
    by_name = {v: k for k, v in PDP_TYPES.items()}
    if p[1].text.upper() not in by_name:
        return cme(BAD_PARAM)
    old = m.state.pdp.get(ctx, PdpConfig())
    apn = p[2].text if len(p) == 3 else old.apn
    m.state.pdp[ctx] = PdpConfig(by_name[p[1].text.upper()], apn, old.user, old.password, old.auth)
    return OK


@command("+QIACT", param_error=ERROR)
async def qiact(cmd: Command, m: Modem, io: HostIO) -> Final:
    if cmd.form == TEST:
        io.info("+QIACT: (1-16)")
        return OK
    if cmd.form == READ:
        for ctx in sorted(m.state.pdp_active):
            io.info(f'+QIACT: {ctx},1,{m.state.pdp.get(ctx, PdpConfig()).ctx_type},"10.0.0.{1 + ctx}"')
        return OK
    if cmd.form != WRITE or len(cmd.params) != 1:
        return ERROR
    ctx = as_int(cmd.params[0], 1, 16)
    if m.state.cfun != 1 or not m.attached():
        return ERROR  # no packet service yet (searching, SIM PIN): bring-up waits for registration
    if ctx in m.state.pdp_activating and m.state.attach_done is not None:
        state = m.state
        await state.attach_done.wait()  # the network is activating it already: wait for that
        if state is not m.state or state.cfun != 1:
            return ERROR
    if ctx not in m.state.pdp_active:
        state = m.state
        await asyncio.sleep(m.config.scaled(PDP_ACTIVATION_S))  # the network's activation time
        if state is not m.state or state.cfun != 1:
            return ERROR
        state.pdp_active.add(ctx)
    return OK


@command("+QIDEACT", param_error=ERROR)
async def qideact(cmd: Command, m: Modem, io: HostIO) -> Final:
    if cmd.form == TEST:
        io.info("+QIDEACT: (1-16)")
        return OK
    if cmd.form != WRITE or len(cmd.params) != 1:
        return ERROR
    m.lose_network(as_int(cmd.params[0], 1, 16))
    return OK


@command("+QURCCFG", param_error=ERROR)
async def qurccfg(cmd: Command, m: Modem, io: HostIO) -> Final:
    """Which port the URCs go to; this AT port is "usbat". Kept across restarts (NVRAM)."""
    if cmd.form == TEST:
        io.info('+QURCCFG: "urcport",("usbat","usbmodem","uart1")')
        return OK
    p = cmd.params
    if cmd.form != WRITE or len(p) not in (1, 2) or as_keyword(p[0]) != "urcport":
        return ERROR
    if len(p) == 1:
        io.info(f'+QURCCFG: "urcport","{m.urcport}"')
        return OK
    port = as_keyword(p[1])
    if port not in URC_PORTS:
        return ERROR
    m.urcport = port
    return OK


@command("+QSSLCFG", param_error=ERROR)
async def qsslcfg(cmd: Command, m: Modem, io: HostIO) -> Final:
    """Only the two DTLS keywords the CoAP document uses; plain ERROR as the SSL manual does."""
    if cmd.form == TEST:
        io.info('+QSSLCFG: "dtls",(0-5),(0,1)')
        io.info('+QSSLCFG: "dtlsversion",(0-5),(0,1)')
        return OK
    p = cmd.params
    if cmd.form != WRITE or len(p) not in (2, 3):
        return ERROR
    key = as_keyword(p[0])
    if key not in ("dtls", "dtlsversion"):
        return ERROR
    ctx = as_int(p[1], 0, 5)
    ssl = m.state.ssl[ctx]
    attr = "dtls" if key == "dtls" else "dtls_version"
    if len(p) == 2:
        io.info(f'+QSSLCFG: "{key}",{ctx},{getattr(ssl, attr)}')
    else:
        setattr(ssl, attr, as_int(p[2], 0, 1))
    return OK


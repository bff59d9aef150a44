"""The bring-up steps: each one AT exchange (or a bounded wait) a host would type on a bench.

The strategy (:mod:`dut.strategy`) runs them in order, each under its own timeout, and names
the step that failed; here each step only does its job and says what it found ("AT+CFUN=1 (was
0)", "already active"), which the bring-up report carries into the run's header.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from .bg96 import APP_RDY_WAIT_S, BG96, Identity
from .channel import ATError, ATTimeout, PortUnavailable
#: Re-query interval of AT+CEREG? while the module is not registered. +CEREG URCs (enabled
#: with AT+CEREG=1 where the module accepts it) end each wait early.
CEREG_REQUERY_S = 2.0
REGISTERED = {1: "registered, home network", 5: "registered, roaming"}
CEREG_STAT = {0: "not registered, not searching", 2: "not registered, searching",
              3: "registration denied", 4: "unknown", **REGISTERED}
#: The three registration domains, in the order they are asked: LTE (EPS), GPRS, circuit-switched.
#: A BG96 on GSM reports through +CGREG/+CREG and leaves +CEREG at 0.
DOMAINS = ("CEREG", "CGREG", "CREG")
#: AT+QICSGP's <context_type> and <authentication> by the rig's names; AT+QURCCFG's ports
PDP_TYPES = {"IPv4": 1, "IPv6": 2, "IPv4v6": 3}
PDP_AUTH = {"none": 0, "pap": 1, "chap": 2, "pap-or-chap": 3}
URC_PORTS = ("usbat", "usbmodem", "uart1")
#: AT+CPIN? while the SIM is still starting answers +CME ERROR: 14 (SIM busy): asked again
SIM_BUSY_RETRY_S = 0.5


@dataclass(frozen=True)
class Step:
    """One named bring-up step: its limit (None: the command's own) and what it does."""

    name: str
    timeout: float | None
    action: Callable[[], object]


@dataclass
class BringUpReport:
    """What each step took and found: the run info carries its summary."""

    steps: list[tuple[str, float, str]] = field(default_factory=list)  # (step, seconds, outcome)
    identity: Identity | None = None

    def summary(self) -> str:
        return "; ".join(f"{step}: {outcome} ({seconds:.2f} s)" for step, seconds, outcome in self.steps)


def accepted(module: BG96, line: str) -> str:
    """A set-up command that must answer OK."""
    response = module.command(line, step=f"bring-up: {line}")
    if not response.ok:
        raise ATError(f"{line} answered {response.final!r}")
    return "ok"


def wait_ready(module: BG96, timeout: float) -> str:
    """APP RDY after a seen RDY, else (older firmware, or booted long ago) an answer to AT.

    First an Esc: a module left at a ``>`` prompt by a killed run takes every probe as payload."""
    deadline = time.monotonic() + timeout
    try:  # a restart may still be re-enumerating the port: wait for it, within the same limit
        if module.at.wait_connected(timeout):
            module.at.leave_data_mode(module.at.grace)
    except PortUnavailable:
        pass  # it went again under the Esc: the AT probe below waits for it to return
    how = _app_ready(module, timeout)  # a boot seen already: let it finish before commands
    module.wait_ready(max(0.1, deadline - time.monotonic()))
    how = how or _app_ready(module, max(0.1, deadline - time.monotonic()))  # RDY during the probe
    module.at.clear_urcs()  # RDY/APP RDY and boot noise are not the first test's URCs
    return how or "answered AT (no RDY seen: booted before)"


def _app_ready(module: BG96, timeout: float) -> str:
    """After a seen RDY, wait for APP RDY (bounded); "" when no boot was seen."""
    at = module.at
    if at.urcs(r"^APP RDY$"):
        return "APP RDY"
    if not at.urcs(r"^RDY$"):
        return ""
    wait = min(timeout, APP_RDY_WAIT_S * module.time_scale + at.grace)
    try:
        at.wait_urc(r"^APP RDY$", wait, step="bring-up: wait for APP RDY")
        return "APP RDY"
    except ATTimeout:
        return f"RDY without APP RDY within {wait:.1f} s (older firmware), answered AT"


def identify(module: BG96) -> Identity:
    ident = module.identify()
    if not ident.model or not ident.imei:
        raise ATError(f"ATI/AT+GSN gave no model or IMEI: {ident}")
    return ident


def radio_on(module: BG96) -> str:
    """A run that died mid-test may leave the module in AT+CFUN=0 or 4: full function first."""
    current = module.functionality(step="bring-up: AT+CFUN?")
    if current == [1]:
        return "already full functionality"
    response = module.cfun(1, step="bring-up: AT+CFUN=1")
    if not response.ok:
        raise ATError(f"AT+CFUN=1 answered {response.final!r} (AT+CFUN? said {current})")
    return f"AT+CFUN=1 (was {current[0] if current else '?'})"


def read_registration(module: BG96, key: str) -> tuple[int, int] | None:
    """(n, stat) from ``AT+<key>?`` (``+CEREG: <n>,<stat>[,...]``); None where the module refuses it."""
    response = module.command(f"AT+{key}?", step=f"bring-up: AT+{key}?")
    if not response.ok:
        return None
    for line in response.info(f"+{key}:"):
        fields = [f.strip() for f in line.split(":", 1)[1].split(",")]
        if len(fields) >= 2 and fields[0].isdigit() and fields[1].isdigit():
            return int(fields[0]), int(fields[1])
    raise ATError(f"AT+{key}? gave no '+{key}: <n>,<stat>' line: {response.text!r}")


def read_domains(module: BG96) -> dict[str, tuple[int, int]]:
    """(n, stat) of every domain the module answers for; none at all is an error."""
    found = {key: got for key in DOMAINS if (got := read_registration(module, key)) is not None}
    if not found:
        raise ATError("AT+CEREG?, AT+CGREG? and AT+CREG? were all refused")
    return found


def registered(domains: dict[str, tuple[int, int]]) -> str | None:
    """Registered when any domain says 1 or 5 (a BG96 on GSM leaves +CEREG at 0)."""
    for key, (_, stat) in domains.items():
        if stat in REGISTERED:
            return REGISTERED[stat] + ("" if key == "CEREG" else f" (+{key})")
    return None


def _states(domains: dict[str, tuple[int, int]]) -> str:
    return ", ".join(f"+{key} stat {stat} ({CEREG_STAT.get(stat, 'undocumented')})"
                     for key, (_, stat) in domains.items())


_REG_URC = r"^\+C(?:E|G)?REG: *\d+ *(?:$|, *\")"


def wait_registered(module: BG96, timeout: float, requery: float = CEREG_REQUERY_S) -> str:
    """Until any domain says 1 or 5: a registration URC (where AT+C(E/G)REG=1 is accepted) or the
    next query, each wait ending after ``requery`` seconds at the latest."""
    at = module.at
    deadline = time.monotonic() + timeout
    asked = time.monotonic()  # a URC older than the last query says nothing new
    domains = read_domains(module)
    if (outcome := registered(domains)) is not None:
        return outcome
    enabled = [key for key, (n, _) in domains.items()
               if n == 0 and module.command(f"AT+{key}=1", step=f"bring-up: AT+{key}=1").ok]
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ATError(f"not registered within {timeout:.0f} s: last {_states(domains)}; check the "
                              "SIM, the antenna, the band and the network.registration_timeout of the rig")
            try:
                urc = at.wait_urc(_REG_URC, min(requery, remaining), step="bring-up: wait for registration")
                if urc.time >= asked:
                    stat = int(urc.line.split(":", 1)[1].split(",")[0])
                    if stat in REGISTERED:
                        return f"{REGISTERED[stat]} ({urc.name} URC)"
                    continue  # a change that is not registration yet: wait for the next
            except ATTimeout:
                pass  # no URC in this interval (or the module sends none): ask again
            asked = time.monotonic()
            domains = read_domains(module)
            if (outcome := registered(domains)) is not None:
                return outcome
    finally:
        for key in enabled:  # as it was: registration URCs amid the tests would be noise
            try:
                module.command(f"AT+{key}=0", step=f"bring-up: AT+{key}=0 (restore)")
            except ATError:
                pass  # the step's own outcome (or error) is what the run must see


def sim_ready(module: BG96, pin: str, timeout: float) -> str:
    """``AT+CPIN?``: READY, or the rig's PIN entered; anything else names what to fix."""
    deadline = time.monotonic() + timeout
    while True:
        response = module.command("AT+CPIN?", step="bring-up: AT+CPIN?")
        state = next((line.split(":", 1)[1].strip() for line in response.info("+CPIN:")), "")
        if response.ok and state:
            break
        if response.cme_error not in ("14", "SIM busy") or time.monotonic() >= deadline:
            hint = ("no SIM: insert one (+CME ERROR: 10)" if response.cme_error in ("10", "SIM not inserted")
                    else f"AT+CPIN? answered {response.text!r}")
            raise ATError(f"{hint}; check the SIM card and its holder")
        try:  # the SIM's +CPIN URC, or the retry interval
            module.at.wait_urc(r"^\+CPIN:", min(SIM_BUSY_RETRY_S, max(0.0, deadline - time.monotonic())),
                               step="bring-up: wait for the SIM")
        except ATTimeout:
            pass
    if state == "READY":
        return "ready"
    if state != "SIM PIN":
        raise ATError(f"the SIM is in state {state!r} (AT+CPIN?): unblock it (PUK) in a phone, or use another SIM")
    if not pin:
        raise ATError("the SIM needs its PIN (+CPIN: SIM PIN): give it as sim.pin in the rig file "
                      "(option --sim-pin), or remove the PIN lock in a phone")
    entered = module.command(f'AT+CPIN="{pin}"', step="bring-up: AT+CPIN=<pin>")
    if not entered.ok:
        raise ATError(f"AT+CPIN=<sim.pin> answered {entered.final!r}: the rig's sim.pin is wrong; fix it "
                      "before the SIM blocks (three wrong PINs ask for the PUK)")
    return "PIN entered (AT+CPIN)"


def urc_port(module: BG96, port: str) -> str:
    """``AT+QURCCFG="urcport"``: the URCs must come to the port the suite reads."""
    response = module.command('AT+QURCCFG="urcport"', step='bring-up: AT+QURCCFG="urcport"')
    current = next((f.strip('"') for line in response.info("+QURCCFG:")
                    for f in [line.split(",")[-1].strip()]), None)
    if not response.ok or current is None:
        return f"not supported ({response.final}): URCs go where the firmware sends them"
    if current == port:
        return f'"{port}"'
    line = f'AT+QURCCFG="urcport","{port}"'
    if not module.command(line, step=f"bring-up: {line}").ok:
        raise ATError(f'{line} was refused (the URC port is "{current}": no URC would reach this port); '
                      "check dut.urc_port of the rig (usbat, usbmodem, uart1)")
    return f'"{port}" (was "{current}")'


@dataclass(frozen=True)
class PdpContext:
    """What AT+QICSGP sets: the APN ("" keeps the module's), type and credentials (the rig's names)."""

    apn: str = ""
    type: str = "IPv4"
    user: str = ""
    password: str = ""
    auth: str = "none"

    @property
    def is_default(self) -> bool:
        return self == PdpContext()


def set_pdp_context(module: BG96, cid: int, ctx: PdpContext) -> str:
    """``AT+QICSGP=<cid>,<type>,"<apn>","<user>","<password>",<auth>``; an empty APN keeps the module's."""
    apn = ctx.apn
    if not apn:
        current = module.command(f"AT+QICSGP={cid}", step=f"bring-up: AT+QICSGP={cid}")
        fields = current.info("+QICSGP:")[0].split(":", 1)[1].split(",") if current.info("+QICSGP:") else []
        apn = fields[1].strip().strip('"') if len(fields) > 1 else ""
    line = (f'AT+QICSGP={cid},{PDP_TYPES[ctx.type]},"{apn}","{ctx.user}","{ctx.password}",'
            f"{PDP_AUTH[ctx.auth]}")
    response = module.command(line, step=f"bring-up: AT+QICSGP={cid}")
    if not response.ok:
        raise ATError(f"AT+QICSGP={cid} answered {response.final!r}: check network.apn, network.pdp_type "
                      "(IPv4, IPv6, IPv4v6), network.user/password/auth of the rig")
    return f'{ctx.type}, APN "{apn}"' + (f", {ctx.auth}" if ctx.auth != "none" else "")


def set_apn(module: BG96, cid: int, apn: str) -> str:
    return set_pdp_context(module, cid, PdpContext(apn=apn))


def activate_pdp(module: BG96, cid: int, timeout: float) -> str:
    if module.pdp_active(cid):
        return "already active"
    response = module.activate_pdp(cid, timeout=timeout, step=f"bring-up: AT+QIACT={cid}")
    if not response.ok:
        raise ATError(f"AT+QIACT={cid} answered {response.final!r}: check network.apn, network.pdp_type and "
                      "the credentials (network.user/password/auth) of the rig, and the SIM's data plan")
    if not module.pdp_active(cid):
        raise ATError(f"AT+QIACT={cid} answered OK but AT+QIACT? does not list context {cid} as active")
    return f"AT+QIACT={cid}"


def close_all(module: BG96) -> str:
    """Close every client the module reports as not idle."""
    closed = []
    for client, status in module.status().items():
        if status.status != 0:
            module.close(client)
            closed.append(str(client))
    return f"closed {', '.join(closed)}" if closed else "none open"

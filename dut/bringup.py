"""The bring-up steps: each one AT exchange (or a bounded wait) a host would type on a bench.

The strategy (:mod:`dut.strategy`) runs them in order, each under its own timeout, and names
the step that failed; here each step only does its job and says what it found ("AT+CFUN=1 (was
0)", "already active"), which the bring-up report carries into the run's header.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from .bg96 import BG96, Identity
from .channel import ATError, ATTimeout

#: How long APP RDY may follow RDY on hardware (scaled by the DUT's time scale); older
#: firmware never prints it, so when it does not come an AT probe decides.
APP_RDY_WAIT_S = 15.0
#: Re-query interval of AT+CEREG? while the module is not registered. +CEREG URCs (enabled
#: with AT+CEREG=1 where the module accepts it) end each wait early.
CEREG_REQUERY_S = 2.0
REGISTERED = {1: "registered, home network", 5: "registered, roaming"}
CEREG_STAT = {0: "not registered, not searching", 2: "not registered, searching",
              3: "registration denied", 4: "unknown", **REGISTERED}


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
    """APP RDY after a seen RDY, else (older firmware, or booted long ago) an answer to AT."""
    deadline = time.monotonic() + timeout
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


def read_cereg(module: BG96) -> tuple[int, int]:
    """(n, stat) from ``+CEREG: <n>,<stat>[,...]``."""
    response = module.command("AT+CEREG?", step="bring-up: AT+CEREG?")
    for line in response.info("+CEREG:"):
        fields = [f.strip() for f in line.split(":", 1)[1].split(",")]
        if len(fields) >= 2 and fields[0].isdigit() and fields[1].isdigit():
            return int(fields[0]), int(fields[1])
    raise ATError(f"AT+CEREG? gave no '+CEREG: <n>,<stat>' line: {response.text!r}")


def wait_registered(module: BG96, timeout: float, requery: float = CEREG_REQUERY_S) -> str:
    """Until stat 1 or 5: a +CEREG URC (if AT+CEREG=1 is accepted) or the next query, each
    wait ending after ``requery`` seconds at the latest."""
    at = module.at
    deadline = time.monotonic() + timeout
    asked = time.monotonic()  # a +CEREG URC older than the last query says nothing new
    n, stat = read_cereg(module)
    if stat in REGISTERED:
        return REGISTERED[stat]
    urcs_on = n == 0 and module.command("AT+CEREG=1", step="bring-up: AT+CEREG=1").ok
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ATError(f"not registered within {timeout:.0f} s: last +CEREG stat {stat} "
                              f"({CEREG_STAT.get(stat, 'undocumented')}); check the SIM, the antenna, "
                              "the band and the network.registration_timeout of the rig")
            try:
                urc = at.wait_urc(r"^\+CEREG: *\d+ *(,|$)", min(requery, remaining), step="bring-up: wait for +CEREG")
                if urc.time >= asked:
                    stat = int(urc.line.split(":", 1)[1].split(",")[0])
                    if stat in REGISTERED:
                        return f"{REGISTERED[stat]} (+CEREG URC)"
                    continue  # a change that is not registration yet: wait for the next
            except ATTimeout:
                pass  # no URC in this interval (or the module sends none): ask again
            asked = time.monotonic()
            _, stat = read_cereg(module)
            if stat in REGISTERED:
                return REGISTERED[stat]
    finally:
        if urcs_on:  # as it was: +CEREG URCs amid the tests would be noise in their transcripts
            try:
                module.command(f"AT+CEREG={n}", step=f"bring-up: AT+CEREG={n} (restore)")
            except ATError:
                pass  # the step's own outcome (or error) is what the run must see


def set_apn(module: BG96, cid: int, apn: str) -> str:
    return accepted(module, f'AT+QICSGP={cid},1,"{apn}","","",1')


def activate_pdp(module: BG96, cid: int, timeout: float) -> str:
    if module.pdp_active(cid):
        return "already active"
    response = module.activate_pdp(cid, timeout=timeout, step=f"bring-up: AT+QIACT={cid}")
    if not response.ok:
        raise ATError(f"AT+QIACT={cid} answered {response.final!r}")
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

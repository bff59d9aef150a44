"""The DUT strategy: the module's named states and the steps that move it between them.

As in labgrid, the driver (:class:`~dut.bg96.BG96` over the AT channel) only sends and reads;
the strategy knows the states a test can ask for and how to reach them: ``transition(READY)``
brings a module in any state up, :meth:`DutStrategy.restart` and :meth:`DutStrategy.recover`
are operations on it. Plain Python with its own settings, so a script, a bench tool or a test
uses it without pytest; the fixtures build the settings from the rig.
"""
from __future__ import annotations

import enum
import shlex
import subprocess
import time
from dataclasses import dataclass

from spec import COMMANDS_BY_NAME

from . import bringup
from .bg96 import BG96, CFUN_MAX_RESPONSE_S, BringUpError, Identity
from .bringup import BringUpReport, PdpContext, Step
from .channel import ATError
from .urc import Urc


#: the most bytes a counted ``>`` prompt can wait for (AT+QCOAPSEND <payload_length>)
PROMPT_FILL = COMMANDS_BY_NAME["AT+QCOAPSEND"].param("payload_length").range.high  # type: ignore[union-attr]
#: how long the first probe after the Esc waits before the prompt is filled (plus the grace)
FIRST_PROBE_S = 3.0


class State(enum.IntEnum):
    """Where the module is, in bring-up order: each state includes the ones before it."""

    UNKNOWN = 0  # nothing known (a new session, a failed step, a restart nobody asked for)
    ANSWERING = 1  # booted (RDY/APP RDY or an answer to AT), boot URCs cleared
    CONFIGURED = 2  # echo off, numeric errors, identified
    REGISTERED = 3  # full functionality, registered on the network
    ATTACHED = 4  # the PDP context active
    READY = 5  # no CoAP client open: where a test starts


@dataclass(frozen=True)
class DutSettings:
    """What the strategy needs from the bench (the fixtures fill it from the rig)."""

    name: str = "emulator"  # the rig's name, for messages
    pdp_cid: int = 1
    apn: str = ""  # "" leaves the module's APN as it is
    pdp_type: str = "IPv4"  # AT+QICSGP <context_type> by name: IPv4, IPv6, IPv4v6
    pdp_user: str = ""
    pdp_password: str = ""
    pdp_auth: str = "none"  # none, pap, chap, pap-or-chap
    sim_pin: str = ""  # entered when AT+CPIN? says SIM PIN
    urc_port: str = "usbat"  # AT+QURCCFG="urcport": the port this channel reads
    bring_up_timeout: float = 60.0  # RDY/APP RDY or an answer to AT; also a power cycle's limit
    registration_timeout: float = 180.0  # AT+CEREG until registered
    pdp_timeout: float = 150.0  # AT+QIACT
    power_cycle: str | None = None  # shell command (USB relay, PDU) for a module AT cannot restart


class DutStrategy:
    """Moves one module between the :class:`State` values; each step timed, a failure named."""

    def __init__(self, module: BG96, settings: DutSettings) -> None:
        self.module = module
        self.settings = settings
        self.state = State.UNKNOWN
        self.report = BringUpReport()

    # -- states -------------------------------------------------------------------------------
    def transition(self, target: State) -> BringUpReport:
        """Run the steps from the current state up to ``target``; UNKNOWN forgets the state.

        A state the module is already in (or past) costs no AT command. A failed step leaves
        the state UNKNOWN and raises :class:`BringUpError` naming the step.
        """
        if target is State.UNKNOWN:
            self.state = State.UNKNOWN
            return self.report
        if self.state is State.UNKNOWN:
            self.report = BringUpReport()  # a bring-up from scratch: a new report
        at = self.module.at
        at.registering = True  # "searching" on the way up is no network loss
        try:
            while self.state < target:
                following = State(self.state + 1)
                for step in self.steps(following):
                    self._run(step)
                self.state = following
        finally:
            at.registering = False
        return self.report

    def bring_up(self) -> BringUpReport:
        """From a module in any state to READY, every step run (nothing assumed)."""
        self.transition(State.UNKNOWN)
        return self.transition(State.READY)

    def steps(self, state: State) -> list[Step]:
        """The steps that reach ``state`` from the one before it."""
        m, s = self.module, self.settings
        if state is State.ANSWERING:
            return [Step("ready (RDY/APP RDY or AT)", s.bring_up_timeout,
                         lambda: bringup.wait_ready(m, s.bring_up_timeout))]
        if state is State.CONFIGURED:
            return [Step("echo off (ATE0)", None, lambda: bringup.accepted(m, "ATE0")),
                    Step("numeric errors (AT+CMEE=1)", None, lambda: bringup.accepted(m, "AT+CMEE=1")),
                    Step("identify (ATI, AT+QGMR, AT+GSN)", None, lambda: bringup.identify(m)),
                    Step("URC port (AT+QURCCFG)", None, lambda: bringup.urc_port(m, s.urc_port))]
        if state is State.REGISTERED:
            return [Step("radio on (AT+CFUN)", CFUN_MAX_RESPONSE_S, lambda: bringup.radio_on(m)),
                    Step("SIM (AT+CPIN)", s.bring_up_timeout, lambda: bringup.sim_ready(m, s.sim_pin, s.bring_up_timeout)),
                    Step("network registration (AT+CEREG/CGREG/CREG)", s.registration_timeout,
                         lambda: bringup.wait_registered(m, s.registration_timeout))]
        if state is State.ATTACHED:
            ctx = self.pdp_context
            qicsgp = [Step(f"PDP context {s.pdp_cid} (AT+QICSGP)", None,
                           lambda: bringup.set_pdp_context(m, s.pdp_cid, ctx))] if not ctx.is_default else []
            return qicsgp + [Step(f"PDP context {s.pdp_cid} activation (AT+QIACT)", s.pdp_timeout,
                                  lambda: bringup.activate_pdp(m, s.pdp_cid, s.pdp_timeout))]
        if state is State.READY:
            return [Step("close CoAP clients (AT+QCOAPCLOSE)", None, lambda: bringup.close_all(m))]
        return []

    @property
    def pdp_context(self) -> PdpContext:
        s = self.settings
        return PdpContext(s.apn, s.pdp_type, s.pdp_user, s.pdp_password, s.pdp_auth)

    def _run(self, step: Step) -> object:
        started = time.monotonic()
        try:
            result = step.action()
        except ATError as exc:
            self.state = State.UNKNOWN
            elapsed = time.monotonic() - started
            limit = f", limit {step.timeout:.1f} s" if step.timeout is not None else ""
            raise BringUpError(f"bring-up step '{step.name}' failed after {elapsed:.1f} s{limit} "
                               f"(rig {self.settings.name}, DUT {self.module.at.url}): {exc}") from exc
        outcome = result if isinstance(result, str) else "ok"
        if isinstance(result, Identity):
            self.report.identity = result
            outcome = f"{result.model} {result.revision}"
        self.report.steps.append((step.name, time.monotonic() - started, outcome))
        return result

    # -- operations ---------------------------------------------------------------------------
    def restart(self) -> list[Urc]:
        """``AT+CFUN=1,1``, RDY/APP RDY (or AT), then a full bring-up; returns the boot URCs."""
        self.transition(State.UNKNOWN)
        seen = self.module.restart(timeout=self.settings.bring_up_timeout)
        self.bring_up()
        return seen

    def recover(self, reason: str) -> list[str]:
        """Probe AT (bring-up timeout); on failure restart; then bring up again. Returns the steps."""
        log = [f"recovering: {reason}"]
        self.transition(State.UNKNOWN)
        try:
            self._probe(log)
            log.append("the module answers AT")
        except ATError as exc:
            log.append(f"no answer to AT: {exc}")
            self._hard_restart(log)
            log.append("the module answers AT after the restart")
        self.bring_up()
        log.append("brought up again (echo off, CMEE, registration, PDP context, clients closed)")
        return log

    def _probe(self, log: list[str]) -> None:
        """Esc (a ``>`` prompt left open takes AT as payload), a short AT probe; then a counted
        prompt filled with Esc bytes to its largest length and the probe with the bring-up timeout."""
        at, limit = self.module.at, self.settings.bring_up_timeout
        ended = at.leave_data_mode(at.grace)
        if ended is not None:
            log.append(f"left a '>' prompt: Esc answered {ended!r}")
        try:
            self.module.wait_ready(min(limit, FIRST_PROBE_S + at.grace))
            return
        except ATError:
            pass
        ended = at.leave_data_mode(at.grace, fill=PROMPT_FILL)
        log.append(f"no answer after Esc: {PROMPT_FILL} Esc bytes written for a counted '>' prompt"
                   + (f" (answered {ended!r})" if ended else ""))
        self.module.wait_ready(limit)

    def _hard_restart(self, log: list[str]) -> None:
        """Power-cycle through the rig if it can, else a blind AT+CFUN=1,1; then wait for AT."""
        at, limit = self.module.at, self.settings.bring_up_timeout
        at.clear_urcs()
        if self.settings.power_cycle:
            log.append(f"power cycle: {self.settings.power_cycle}")
            power_cycle(self.settings.power_cycle, limit)
        else:
            log.append("restart: AT+CFUN=1,1 written without waiting for an answer")
            reconnects = at.reconnects
            at.write_raw(b"AT+CFUN=1,1\r")
            if at.wait_boot(reconnects, limit) is None:
                log.append("no RDY (the port was reopened, or nothing came): the AT probe decides")
        self.module.wait_ready(limit)

    # -- the network under a test ----------------------------------------------------------------
    def radio(self, fun: int) -> None:
        """``AT+CFUN=<fun>``; anything but full functionality leaves the module CONFIGURED."""
        response = self.module.cfun(fun)
        if not response.ok:
            raise BringUpError(f"AT+CFUN={fun} answered {response.text!r}")
        if fun != 1:
            self.state = min(self.state, State.CONFIGURED)

    def detach(self) -> None:
        """``AT+QIDEACT`` of the rig's context: the module stays REGISTERED."""
        cid = self.settings.pdp_cid
        response = self.module.deactivate_pdp(cid)
        if not response.ok:
            raise BringUpError(f"AT+QIDEACT={cid} answered {response.text!r}")
        self.state = min(self.state, State.REGISTERED)

    def reattach(self) -> None:
        """Until the context is active again: AT+QIACT, re-tried while the module registers."""
        cid, limit = self.settings.pdp_cid, self.settings.bring_up_timeout
        deadline = time.monotonic() + limit
        while not self.module.pdp_active(cid):
            if self.module.activate_pdp(cid, step="restore: AT+QIACT").ok:
                break
            if time.monotonic() > deadline:
                raise BringUpError(f"restore: PDP context {cid} not active within {limit:.0f} s")
            try:  # still registering: the registration URC (if enabled) or one second, whichever first
                self.module.at.wait_urc(r"^\+C(E|G)?REG: *[15]\b", 1.0, step="restore: wait for registration")
            except ATError:
                pass
        if self.state >= State.CONFIGURED:
            self.state = max(self.state, State.ATTACHED)

    def restore_network(self) -> None:
        """Radio on and the context active: the state a bring-up left the module in."""
        self.radio(1)
        self.reattach()


def power_cycle(command: str, timeout: float) -> None:
    """Run the rig's power-cycle command; a missing, failing or hanging one is a BringUpError."""
    try:
        done = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=timeout)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        raise BringUpError(f"recovery: {command!r} could not be run: {exc}") from exc
    if done.returncode != 0:
        raise BringUpError(f"recovery: {command!r} exited {done.returncode}: {done.stderr.strip()}")

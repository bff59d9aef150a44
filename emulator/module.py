"""The whole module state behind the AT port, and what AT+CFUN=1,1 resets."""
from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Callable, Protocol

from . import urc
from .coap_client import N_CLIENTS, ClientSettings, CoapClient
from .config import Config
from .ufs import Ufs

REG_DOMAINS = ("CREG", "CGREG", "CEREG")
REGISTERED = (1, 5)
#: field knob registration: module seconds from "searching" to "registered"
REGISTRATION_S = (2.0, 6.0)
#: field knob urcs: mean module seconds between unrelated URCs
UNRELATED_URC_MEAN_S = 5.0


@dataclass
class PdpConfig:
    ctx_type: int = 1
    apn: str = ""
    user: str = ""
    password: str = ""
    auth: int = 0


@dataclass
class SslConfig:
    dtls: int = 0
    dtls_version: int = 1


class HostIO(Protocol):
    """What handlers may do on the AT port besides returning a final result."""

    def write(self, data: bytes) -> None: ...

    def info(self, text: str) -> None: ...

    async def read_exact(self, n: int, idle_timeout: float | None = None) -> bytes: ...

    async def read_until(self, stops: bytes, limit: int) -> tuple[bytes, int]:
        """Bytes before the first stop byte (keeps at most limit + 1), and that stop byte."""
        ...

    async def read_idle(self, idle_timeout: float) -> bytes: ...


@dataclass
class ModemState:
    """Volatile state (lost on restart); UFS lives outside it because flash persists."""

    config: Config
    cfun: int = 1
    cmee: int = 1
    echo: bool = True
    reg_n: dict[str, int] = field(default_factory=lambda: {"CREG": 0, "CGREG": 0, "CEREG": 0})
    #: registration <stat> per domain, kept only when field knobs model registration
    reg: dict[str, int] = field(default_factory=dict)
    reg_search: int = 0  # the current search; a timer of an older one is stale
    sim_locked: bool = False  # field knob sim_pin: until AT+CPIN="<pin>"
    pdp_active: set[int] = field(default_factory=set)
    #: contexts the network is activating again after AT+CFUN=1 (OPEN meanwhile: -6)
    pdp_activating: set[int] = field(default_factory=set)
    #: contexts that were active when the radio went off (AT+CFUN=0/4): the attach restores them
    pdp_resume: set[int] = field(default_factory=set)
    attach_done: asyncio.Event | None = None
    pdp: dict[int, PdpConfig] = field(default_factory=dict)
    ssl: dict[int, SslConfig] = field(default_factory=lambda: {i: SslConfig() for i in range(6)})
    clients: list[CoapClient] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sim_locked = self.config.knobs.sim_pin is not None
        if not self.clients:
            self.clients = [
                CoapClient(i, ClientSettings.defaults(self.config.faults)) for i in range(N_CLIENTS)
            ]


@dataclass
class Modem:
    """Everything a command handler needs: state, flash, config, the URC sink and a restart hook."""

    config: Config
    state: ModemState
    ufs: Ufs
    emit_urc: Callable[[bytes], None]
    request_restart: Callable[[], None]
    #: one-shot faults that have fired in this process (a watchdog reset happens once)
    fired: set[str] = field(default_factory=set)
    #: AT+QURCCFG="urcport": kept in NVRAM, so it survives a restart
    urcport: str = "usbat"

    def radio_off(self) -> None:
        """AT+CFUN=0/4: remember the active contexts for the next attach, then lose them."""
        if self.state.cfun == 1:
            self.state.pdp_resume = self.state.pdp_active | self.state.pdp_activating
        self.lose_network()
        if self.config.knobs.tracks_registration:
            self.set_registration(dict.fromkeys(REG_DOMAINS, 0))

    # ---- registration and SIM (field knobs registration, rat, sim_pin; kind: registered at once)
    def power_on(self) -> list[str]:
        """At boot: the SIM's state and, once it is ready, the network search; the boot URCs."""
        knobs = self.config.knobs
        lines = []
        if knobs.sim_pin is not None:
            lines.append("+CPIN: SIM PIN")
        elif knobs.urcs:
            lines += ["+CPIN: READY", "+QUSIM: 1", '+QIND: SMS DONE']
        if knobs.tracks_registration:
            self.state.reg = dict.fromkeys(REG_DOMAINS, 0)
            if not self.state.sim_locked:
                self.search()
        return lines

    def search(self) -> None:
        """Radio on and SIM ready: registered at once, or (knob registration) after seconds."""
        knobs, state = self.config.knobs, self.state
        if not knobs.tracks_registration or state.sim_locked or state.cfun != 1:
            return
        on_gsm = knobs.rat == "gsm"
        target = {"CREG": 1, "CGREG": 1, "CEREG": 0 if on_gsm else 1}
        if not knobs.registration:
            self.set_registration(target)
            return
        state.reg_search += 1
        search = state.reg_search
        self.set_registration(dict.fromkeys(REG_DOMAINS, 2))

        def registered() -> None:
            if state is self.state and state.reg_search == search and state.cfun == 1:
                self.set_registration(target)

        delay = self.config.scaled(knobs.rng("registration").uniform(*REGISTRATION_S))
        asyncio.get_running_loop().call_later(delay, registered)

    def set_registration(self, stats: dict[str, int]) -> None:
        """New <stat> per domain; a URC for each change where AT+C(E/G)REG=1/2 enabled one."""
        for key, stat in stats.items():
            if self.state.reg.get(key) == stat:
                continue
            self.state.reg[key] = stat
            n = self.state.reg_n[key]
            if n:
                self.emit_urc(urc.line(f"+{key}: {urc.registration_fields(key, n, stat)}"))

    def reg_stat(self, key: str) -> int:
        if self.state.cfun != 1:
            return 0
        return self.state.reg.get(key, 0) if self.config.knobs.tracks_registration else 1

    def attached(self) -> bool:
        """Registered in the packet domain (a PDP context can be activated)."""
        return self.reg_stat("CGREG" if self.config.knobs.rat == "gsm" else "CEREG") in REGISTERED

    def unlock_sim(self) -> None:
        """The right PIN was given: the SIM is ready and the search starts."""
        self.state.sim_locked = False
        self.emit_urc(urc.line("+CPIN: READY"))
        self.search()

    # ---- the network and the firmware doing things on their own (field knobs pdp_drop, urcs)
    def start_field_events(self) -> None:
        knobs = self.config.knobs
        if knobs.pdp_drop is not None:
            self._every(knobs.pdp_drop, knobs.rng("pdp-drop"), self._pdp_drop)
        if knobs.urcs:
            self._every(UNRELATED_URC_MEAN_S, knobs.rng("urcs"), lambda rng: self.emit_urc(self.unrelated_urc(rng)))

    def _every(self, mean_s: float, rng: random.Random, action: Callable[[random.Random], None]) -> None:
        """``action`` at random moments, ``mean_s`` module seconds apart on average, forever."""
        loop = asyncio.get_running_loop()

        def tick() -> None:
            action(rng)
            loop.call_later(self.config.scaled(rng.expovariate(1 / mean_s)), tick)

        loop.call_later(self.config.scaled(rng.expovariate(1 / mean_s)), tick)

    def _pdp_drop(self, rng: random.Random) -> None:
        """The network deactivates one active context: +QIURC: "pdpdeact" and it is really down."""
        pick = rng.random()  # drawn even when nothing is active: the schedule stays the seed's
        active = sorted(self.state.pdp_active)
        if not active:
            return
        cid = active[int(pick * len(active))]
        self.lose_network(cid)
        self.emit_urc(urc.line(f'+QIURC: "pdpdeact",{cid}'))

    def unrelated_urc(self, rng: random.Random) -> bytes:
        """One of the lines real firmware prints unasked; +CEREG only where enabled."""
        n = self.state.reg_n["CEREG"]
        extra = [f"+CEREG: {urc.registration_fields('CEREG', n, self.reg_stat('CEREG'))}"] if n else []
        return urc.line(urc.unrelated_text(rng, extra))

    def start_attach(self, seconds: float) -> None:
        """AT+CFUN=1 after 0/4: the network re-activates the remembered contexts after ``seconds``."""
        state = self.state
        state.pdp_activating = set(state.pdp_resume)
        if not state.pdp_activating:
            return
        done = state.attach_done = asyncio.Event()

        def attached() -> None:
            if state is self.state and state.cfun == 1 and state.attach_done is done:
                state.pdp_active |= state.pdp_activating
            state.pdp_activating.clear()
            done.set()

        asyncio.get_running_loop().call_later(seconds, attached)

    def lose_network(self, pdp_cid: int | None = None) -> None:
        """Deactivate one PDP context (or all); clients on it drop silently."""
        if pdp_cid is None:
            self.state.pdp_active.clear()
            self.state.pdp_activating.clear()
        else:
            self.state.pdp_active.discard(pdp_cid)
            self.state.pdp_activating.discard(pdp_cid)
        if not self.state.pdp_activating and self.state.attach_done is not None:
            self.state.attach_done.set()  # nothing left to wait for
        for c in self.state.clients:
            if c.status != 0 and (pdp_cid is None or c.settings.pdpcid == pdp_cid):
                c.drop_session()

    def reset(self) -> None:
        """AT+CFUN=1,1: all volatile state to defaults, sockets closed; UFS kept."""
        for c in self.state.clients:
            c.drop_session()
        kept = [c.settings for c in self.state.clients]
        self.state = ModemState(self.config)
        if self.config.faults.on("settings-survive-restart"):
            for c, s in zip(self.state.clients, kept):
                c.settings = s

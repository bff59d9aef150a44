"""The whole module state behind the AT port, and what AT+CFUN=1,1 resets."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Callable, Protocol

from .coap_client import N_CLIENTS, ClientSettings, CoapClient
from .config import Config
from .ufs import Ufs


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

    def radio_off(self) -> None:
        """AT+CFUN=0/4: remember the active contexts for the next attach, then lose them."""
        if self.state.cfun == 1:
            self.state.pdp_resume = self.state.pdp_active | self.state.pdp_activating
        self.lose_network()

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

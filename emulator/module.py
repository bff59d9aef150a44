"""The whole module state behind the AT port, and what AT+CFUN=1,1 resets."""
from __future__ import annotations

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

    def lose_network(self, pdp_cid: int | None = None) -> None:
        """Deactivate one PDP context (or all); clients on it drop silently."""
        if pdp_cid is None:
            self.state.pdp_active.clear()
        else:
            self.state.pdp_active.discard(pdp_cid)
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

"""Per-client state the host configures (AT+QCOAPCFG/HEADER/OPTION) and the message it describes."""
from __future__ import annotations

import asyncio
import os
import random
from dataclasses import dataclass, field

from .codec import OptionValue, OutgoingMessage
from .coap_engine import CoapEngine
from .faults import Faults
from .link import DatagramLink

N_CLIENTS = 6
N_OPTIONS = 8
STATUS_IDLE, STATUS_OPENING, STATUS_CONNECTING, STATUS_CONNECTED, STATUS_DISCONNECTING = range(5)


@dataclass
class ClientSettings:
    pdpcid: int = 1
    dtls_enable: int = 0
    dtls_ctx: int = 0
    timeout: int = 2
    retry_count: int = 5

    @classmethod
    def defaults(cls, faults: Faults) -> "ClientSettings":
        return cls(timeout=3) if faults.on("wrong-default-trans") else cls()


@dataclass
class Header:
    """Next message ID and token mode; before any AT+QCOAPHEADER: random MID, mode 1."""

    next_mid: int = field(default_factory=lambda: random.randrange(65536))
    mode: int = 1
    token: bytes = b""


@dataclass
class CoapClient:
    cid: int
    settings: ClientSettings
    header: Header = field(default_factory=Header)
    options: list[OptionValue | None] = field(default_factory=lambda: [None] * N_OPTIONS)
    status: int = STATUS_IDLE
    server: str = ""
    port: int = 0
    link: DatagramLink | None = None
    engine: CoapEngine | None = None
    task: asyncio.Task[None] | None = None

    def build(self, mtype: int, code: int, bitmask: int, payload: bytes, faults: Faults) -> OutgoingMessage:
        """Take the next MID (then increment) and the token per header mode."""
        mid = self.header.next_mid
        self.header.next_mid = (mid + 1) % 65536
        if self.header.mode == 0:
            token = self.header.token
        elif code == 0 or faults.on("no-auto-token"):
            token = b""  # an Empty message carries no token (RFC 7252 4.1)
        else:
            token = os.urandom(8)
        if faults.on("bitmask-bit7-ignored"):
            bitmask &= 0x7F
        opts = [o for i, o in enumerate(self.options) if bitmask >> i & 1 and o is not None]
        return OutgoingMessage(mtype, code, mid, token, opts, payload)

    def drop_session(self) -> None:
        """Close the socket and forget the session without any URC (network loss, restart)."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self.task = None
        if self.engine is not None:
            self.engine.shutdown()
        self.engine = None
        if self.link is not None:
            self.link.close(graceful=False)
        self.link = None
        self.status = STATUS_IDLE

"""The server's exchanges: its message IDs, what its own CON/NON messages await, retransmission.

Fields are read through `CoapHeader` (the fixed header, named by aiocoap's numbers, cheap enough
for the recording path) or aiocoap's full decoding (`CoapView`); the timing is aiocoap's
transport tuning (RFC 7252 4.8).
"""
from __future__ import annotations

import random
import threading
from typing import Callable, Optional

from aiocoap.numbers import TransportTuning
from aiocoap.numbers.types import Type

from wire.loop import Loop

from .records import CoapHeader, CoapView, Datagram, Peer

EXCHANGE_TIMER = "exchange"
Resend = Callable[[Peer, bytes, Optional[Datagram]], Datagram]


class Exchanges:
    """Links the peer's ACK/RST (by MID) and responses (by token) to what the server sent."""

    def __init__(self, loop: Loop, resend: Resend, tuning: Optional[TransportTuning] = None) -> None:
        self._loop, self._resend = loop, resend
        self._tuning = tuning if tuning is not None else TransportTuning()
        self._lock = threading.Lock()  # test threads reset and take MIDs
        self._mid = random.randrange(0x10000)
        self._outstanding: dict[tuple[Peer, int], Datagram] = {}
        self._tokens: dict[tuple[Peer, bytes], Datagram] = {}

    def next_mid(self) -> int:
        with self._lock:
            self._mid = (self._mid + 1) & 0xFFFF
            return self._mid

    def forget(self) -> None:
        """Between tests: nothing outstanding any more (the loop cancels the retransmissions)."""
        with self._lock:
            self._outstanding.clear()
            self._tokens.clear()

    def rebind(self, old: Peer, new: Peer) -> None:
        """The peer's NAT mapping moved: what it owed the server from ``old`` it owes from ``new``."""
        with self._lock:
            for table in (self._outstanding, self._tokens):
                for key in [k for k in table if k[0] == old]:
                    table[(new, key[1])] = table.pop(key)

    def match_reply(self, dgram: Datagram) -> None:
        """Link an incoming ACK/RST to our CON/NON by MID (before the record is visible, so that
        waiters always see the link)."""
        header = CoapHeader.read(dgram.plaintext)
        if header is None or header.mtype not in (Type.ACK, Type.RST):
            return
        with self._lock:
            dgram.reply_to = self._outstanding.pop((dgram.peer, header.mid), None)

    def match_token(self, dgram: Datagram, view: CoapView) -> None:
        """Link an incoming response to the server's request by token."""
        with self._lock:
            dgram.reply_to = self._tokens.get((dgram.peer, view.token))

    def sent(self, peer: Peer, dgram: Datagram, retransmit: bool) -> None:
        """Remember a CON/NON the server sent; retransmit a CON until answered, if asked."""
        header = CoapHeader.read(dgram.plaintext)
        if header is None or header.mtype not in (Type.CON, Type.NON):
            return
        with self._lock:
            self._outstanding[(peer, header.mid)] = dgram
            if header.is_request:
                self._tokens[(peer, header.token)] = dgram
        if retransmit and header.mtype == Type.CON:
            tuning = self._tuning
            timeout = random.uniform(tuning.ACK_TIMEOUT, tuning.ACK_TIMEOUT * tuning.ACK_RANDOM_FACTOR)
            data = dgram.plaintext or b""
            self._loop.schedule(timeout, lambda: self._retransmit(peer, header.mid, data, dgram, timeout, 1),
                                EXCHANGE_TIMER)

    def _retransmit(self, peer: Peer, mid: int, data: bytes, first: Datagram, timeout: float, attempt: int) -> None:
        with self._lock:
            pending = self._outstanding.get((peer, mid)) is first
        if not pending or attempt > self._tuning.MAX_RETRANSMIT:
            return
        self._resend(peer, data, first.reply_to)
        with self._lock:
            self._outstanding[(peer, mid)] = first  # an ACK still points at the first copy
        self._loop.schedule(timeout * 2, lambda: self._retransmit(peer, mid, data, first, timeout * 2, attempt + 1),
                            EXCHANGE_TIMER)

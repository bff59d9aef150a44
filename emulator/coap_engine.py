"""CoAP message layer of one open client: CON retransmission, ACK/RST matching, dedup, reporting.

Independent of the link: it gets bytes through a send callable and datagrams through on_datagram().
"""
from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from typing import Callable

import aiocoap
from aiocoap import error as coap_error

from . import urc
from .codec import empty_reply
from .faults import Faults

log = logging.getLogger(__name__)

CON, NON, ACK, RST = 0, 1, 2, 3
EXCHANGE_LIFETIME_S = 247.0
RESULT_OK, RESULT_SEND_FAILURE = 0, -11


def _faulty_copy(data: bytes, k: int, faults: Faults) -> bytes:
    """The k-th retransmission as a faulty firmware builds it (faults retransmit-new-*)."""
    if faults.on("retransmit-new-msgid"):
        data = data[:2] + ((int.from_bytes(data[2:4], "big") + k) % 65536).to_bytes(2, "big") + data[4:]
    tkl = data[0] & 0x0F
    if faults.on("retransmit-new-token") and tkl:
        data = data[:3 + tkl] + bytes([data[3 + tkl] ^ k]) + data[4 + tkl:]
    return data


def _as_reported(msg: aiocoap.Message, faults: Faults) -> aiocoap.Message:
    """What a faulty firmware reports of a downlink message (faults recv-*); the message as is otherwise."""
    if not any(faults.on(f) for f in ("recv-code-detail-off-by-one", "recv-msgid-swapped", "recv-payload-truncated")):
        return msg
    code, payload = int(msg.code), msg.payload
    if faults.on("recv-code-detail-off-by-one") and code & 0x1F < 31:
        code += 1
    if faults.on("recv-payload-truncated"):
        payload = payload[:-1]
    out = aiocoap.Message(code=aiocoap.numbers.codes.Code(code), payload=payload)
    out.mtype, out.token, out.mid = msg.mtype, msg.token, msg.mid
    for o in msg.opt.option_list():
        out.opt.add_option(o)
    if faults.on("recv-msgid-swapped"):
        out.mid = int.from_bytes(msg.mid.to_bytes(2, "big")[::-1], "big")
    return out


@dataclass(frozen=True)
class Timing:
    """Retransmission parameters read at send time (settings of an open client may change)."""

    timeout_s: float
    retry_count: int


@dataclass
class Exchange:
    mid: int
    data: bytes
    retries_left: int
    k: int = 0
    interval: float = 0.0
    handle: asyncio.TimerHandle | None = None
    reported: bool = False  # fault ack-on-send: its +QCOAPACK already went out


@dataclass
class Seen:
    """A CON/NON from the server we already handled, and the reply it got (to repeat for a duplicate)."""

    expires: float
    reply: bytes | None = None


@dataclass
class CoapEngine:
    cid: int
    send_bytes: Callable[[bytes], None]
    emit: Callable[[bytes], None]
    faults: Faults
    scale: float
    exchanges: dict[int, Exchange] = field(default_factory=dict)
    seen: dict[int, Seen] = field(default_factory=dict)
    tokens: dict[bytes, float] = field(default_factory=dict)
    closed: bool = False

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    # ---- uplink
    def send(self, mtype: int, mid: int, code: int, token: bytes, data: bytes, timing: Timing) -> None:
        """Send a host message; CON starts retransmission, others are reported sent at once."""
        if code != 0 and code >> 5 == 0:
            self.tokens[token] = self._now() + EXCHANGE_LIFETIME_S * self.scale
        self.send_bytes(data)
        if mtype == NON and self.faults.on("send-twice"):
            self.send_bytes(data)
        if mtype == CON:
            self._start_exchange(mid, data, timing)
            if self.faults.on("ack-on-send"):  # "delivered" once handed to the socket
                self.exchanges[mid].reported = True
                self.emit(urc.qcoapack(self.cid, CON, mid, RESULT_OK, self.faults))
            return
        if mtype in (ACK, RST) and mid in self.seen:
            self.seen[mid].reply = data
        self.emit(urc.qcoapack(self.cid, mtype, mid, RESULT_OK, self.faults))

    def _start_exchange(self, mid: int, data: bytes, timing: Timing) -> None:
        old = self.exchanges.pop(mid, None)
        if old and old.handle:
            old.handle.cancel()
        retries = timing.retry_count
        if self.faults.on("one-retransmission-too-many"):
            retries += 1
        if self.faults.on("one-retransmission-too-few"):
            retries -= 1
        t = timing.timeout_s * self.scale
        first = random.uniform(t, 1.5 * t)
        ex = Exchange(mid, data, retries, interval=first)
        delay = t / 2 if self.faults.on("first-retransmit-early") else first
        ex.handle = asyncio.get_running_loop().call_later(delay, self._on_timeout, ex)
        self.exchanges[mid] = ex

    def _on_timeout(self, ex: Exchange) -> None:
        if self.closed or self.exchanges.get(ex.mid) is not ex:
            return
        if ex.retries_left <= 0:
            del self.exchanges[ex.mid]
            if not ex.reported:
                self.emit(urc.qcoapack(self.cid, CON, ex.mid, RESULT_SEND_FAILURE, self.faults))
            return
        ex.retries_left -= 1
        ex.k += 1
        if self.faults.on("ind-result-wrong"):
            self.emit(urc.line(f"+QCOAPIND: {self.cid},0,{ex.mid},{ex.k},{RESULT_SEND_FAILURE}"))
        elif not self.faults.on("no-qcoapind"):
            self.emit(urc.qcoapind(self.cid, ex.mid, ex.k))
        self.send_bytes(_faulty_copy(ex.data, ex.k, self.faults))
        if ex.k > 1 or not self.faults.on("first-retransmit-early"):
            if not self.faults.on("constant-retransmit-interval"):
                ex.interval *= 2
        ex.handle = asyncio.get_running_loop().call_later(ex.interval, self._on_timeout, ex)

    # ---- downlink
    def on_datagram(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            msg = aiocoap.Message.decode(data)
        except (coap_error.UnparsableMessage, ValueError, IndexError) as e:
            log.info("client %d: ignoring undecodable datagram %s (%s)", self.cid, data.hex(), e)
            return
        mtype = int(msg.mtype)
        if mtype in (ACK, RST):
            self._on_ack_or_rst(msg, mtype)
        else:
            self._on_con_or_non(msg, mtype)

    def _on_ack_or_rst(self, msg: aiocoap.Message, mtype: int) -> None:
        ex = self.exchanges.pop(msg.mid, None)
        if ex is None:
            if self.faults.on("no-dedup") and mtype == ACK and int(msg.code) != 0:
                self.emit(urc.qcoaprecv(self.cid, _as_reported(msg, self.faults), self.faults))
            else:
                log.info("client %d: ACK/RST %d matches no exchange", self.cid, msg.mid)
            return
        if mtype == RST and self.faults.on("rst-keeps-retransmitting"):
            self.exchanges[msg.mid] = ex  # the RST is reported below, the timer keeps running
            if not ex.reported:
                ex.reported = True
                self.emit(urc.qcoapack(self.cid, CON, ex.mid, RESULT_SEND_FAILURE, self.faults))
            return
        if ex.handle:
            ex.handle.cancel()
        result = RESULT_OK if mtype == ACK else RESULT_SEND_FAILURE
        if not ex.reported:
            self.emit(urc.qcoapack(self.cid, CON, ex.mid, result, self.faults))
        if mtype == ACK and int(msg.code) != 0:
            self.emit(urc.qcoaprecv(self.cid, _as_reported(msg, self.faults), self.faults))

    def _purge(self) -> None:
        now = self._now()
        for mid in [m for m, s in self.seen.items() if s.expires <= now]:
            del self.seen[mid]
        for tok in [t for t, exp in self.tokens.items() if exp <= now]:
            del self.tokens[tok]

    def _on_con_or_non(self, msg: aiocoap.Message, mtype: int) -> None:
        self._purge()
        dup = self.seen.get(msg.mid)
        if dup is not None and not self.faults.on("no-dedup"):
            if mtype == CON and dup.reply is not None:
                self.send_bytes(dup.reply)
            log.info("client %d: duplicate MID %d", self.cid, msg.mid)
            return
        seen = Seen(self._now() + EXCHANGE_LIFETIME_S * self.scale)
        self.seen[msg.mid] = seen
        code = int(msg.code)
        klass = code >> 5
        if mtype == NON:
            if klass in (0, 2, 4, 5) and code != 0:
                self.emit(urc.qcoaprecv(self.cid, _as_reported(msg, self.faults), self.faults))
            return
        # CON
        if code == 0 or klass not in (0, 2, 4, 5):
            seen.reply = empty_reply(RST, msg.mid)  # ping or reserved class: reject
            self.send_bytes(seen.reply)
            return
        if klass == 0:
            self.emit(urc.qcoaprecv(self.cid, _as_reported(msg, self.faults), self.faults))  # host ACKs with AT+QCOAPSEND
            return
        if msg.token not in self.tokens:
            seen.reply = empty_reply(RST, msg.mid)  # RFC 7252 5.3.2: unmatched response
            self.send_bytes(seen.reply)
            return
        if not self.faults.on("no-ack-for-separate-response"):
            seen.reply = empty_reply(ACK, msg.mid)
            self.send_bytes(seen.reply)
        self.emit(urc.qcoaprecv(self.cid, _as_reported(msg, self.faults), self.faults))

    def start_flood(self, period: float = 0.001) -> None:
        """Fault urc-flood: a bogus +QCOAPRECV every ``period`` seconds until the session ends."""
        bogus = urc.line(f"+QCOAPRECV: {self.cid},0,2.05,0,,0,0") + b"\r\n"

        def tick() -> None:
            if not self.closed:
                self.emit(bogus)
                asyncio.get_running_loop().call_later(period, tick)

        tick()

    def shutdown(self) -> None:
        """Stop silently: no more URCs for this session."""
        self.closed = True
        for ex in self.exchanges.values():
            if ex.handle:
                ex.handle.cancel()
        self.exchanges.clear()

"""The DTLS-PSK server's sessions: one tinydtls endpoint per peer address, as aiocoap's
transports/tinydtls_server.py keeps them, but driven by the server's own loop so the test decides
what happens (including server-initiated requests over a session, and lost flights).

Everything but the test-thread accessors runs on the loop thread.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Mapping, NamedTuple, Optional

from wire.dtls_records import is_client_hello
from wire.loop import Loop
from wire.tinydtls import DtlsEndpoint, PskStore

from .capture import Capture
from .records import Datagram, Peer

#: a tinydtls retransmission check never waits longer than this (its clock is approximate)
RETRANSMIT_CHECK_MAX_S = 2.0
RETRANSMIT_CHECK_MIN_S = 0.01
DTLS_TIMER = "dtls"


class DtlsEvent(NamedTuple):
    """A tinydtls event callback: level 0 = internal (0x1DE connected), 1/2 = alert received
    (close_notify arrives as level 1, code 0)."""

    time: float
    peer: Peer
    level: int
    code: int


class DtlsPeer(DtlsEndpoint):
    """One peer's tinydtls server context and session (tinydtls sees a sentinel address, so the
    session follows the peer to a new address after a NAT rebinding)."""

    def __init__(self, peer: Peer, psk: Callable[[], Mapping[bytes, bytes]], send: Callable[[Peer, bytes], None],
                 deliver: Callable[[Peer, bytes], None], event: Callable[[Peer, int, int], None]) -> None:
        super().__init__(lambda wire: send(self.peer, wire), lambda plaintext: deliver(self.peer, plaintext),
                         lambda level, code: event(self.peer, level, code),
                         identity=b"reference-server", psk=PskStore(psk))
        self.peer = peer
        self.timer_armed = False
        self.accept()


class DtlsSessions:
    """Per-peer sessions, the events they report, and the datagrams kept from tinydtls on purpose.

    A received datagram joins the capture here, with its plaintext once tinydtls decrypted it;
    a plaintext to send becomes the record(s) tinydtls writes, each captured before ``sendto``.
    """

    def __init__(self, loop: Loop, capture: Capture, sendto: Callable[[bytes, Peer], None],
                 psk: Callable[[], Mapping[bytes, bytes]], answer: Callable[[Datagram], None],
                 match_reply: Callable[[Datagram], None]) -> None:
        self._loop, self._capture, self._sendto = loop, capture, sendto
        self._psk, self._answer, self._match_reply = psk, answer, match_reply
        self._lock = threading.Lock()  # events, ignores (test threads read them)
        self._events: list[DtlsEvent] = []
        self._ignores: list[tuple[Callable[[bytes], bool], int]] = []
        self._ignored: list[Datagram] = []
        self._peers: dict[Peer, DtlsPeer] = {}
        self._pending_emit: Optional[Datagram] = None
        self._rx_current: Optional[Datagram] = None
        self._tx_plaintext: Optional[bytes] = None
        self._tx_reply_to: Optional[Datagram] = None
        self._tx_records: list[Datagram] = []

    # ---- test threads ------------------------------------------------------------------------
    def events(self) -> list[DtlsEvent]:
        with self._lock:
            return list(self._events)

    def ignored(self) -> list[Datagram]:
        with self._lock:
            return list(self._ignored)

    def ignore(self, count: int, predicate: Callable[[bytes], bool]) -> None:
        with self._lock:
            self._ignores.append((predicate, count))

    def forget_records(self) -> None:
        """Between tests: events and ignores go; the sessions stay."""
        with self._lock:
            self._events.clear()
            self._ignores.clear()
            self._ignored.clear()

    # ---- loop thread: receiving --------------------------------------------------------------
    def receive(self, dgram: Datagram) -> None:
        """Record the datagram and hand a copy to the peer's tinydtls session.

        The record joins the capture here, with the capture held until tinydtls is done with it:
        Capture.wait_count looks at each record once, so a waiter that saw it before its
        plaintext was set would never match it on its plaintext. Records sent meanwhile (the
        handshake's answers, a reply) still join before sendto.
        """
        with self._capture.held():
            self._capture.append(dgram, notify=False)
            try:
                if self._take_ignore(dgram):
                    self._capture.emit(dgram)
                    return
                self._handle(dgram)
            finally:
                self._capture.notify()

    def _take_ignore(self, dgram: Datagram) -> bool:
        with self._lock:
            ignores = list(self._ignores)
        for predicate, _ in ignores:  # outside the lock: a predicate is test code
            if predicate(dgram.wire):
                with self._lock:
                    for i, (p, left) in enumerate(self._ignores):
                        if p is predicate:
                            if left <= 1:
                                del self._ignores[i]
                            else:
                                self._ignores[i] = (p, left - 1)
                            break
                    self._ignored.append(dgram)
                return True
        return False

    def _handle(self, dgram: Datagram) -> None:
        peer = dgram.peer
        session = self._peers.get(peer)
        if session is not None and (session.failed or (session.connected and is_client_hello(dgram.wire))):
            self.drop(peer, notify=False)
            session = None
        if session is None:
            session = DtlsPeer(peer, self._psk, self._on_send, self._on_deliver, self._on_event)
            self._peers[peer] = session
        self._rx_current, self._pending_emit = dgram, dgram
        try:
            session.handle(dgram.wire)
        finally:
            self._rx_current = None
            self._flush_emit()
            self._arm_timer(session)

    def _flush_emit(self) -> None:
        if self._pending_emit is not None:
            d, self._pending_emit = self._pending_emit, None
            self._capture.emit(d)

    def _on_deliver(self, _peer: Peer, plaintext: bytes) -> None:
        dgram = self._rx_current
        if dgram is None:
            return
        if dgram.plaintext is not None:  # second application record in one datagram
            dgram = Datagram("rx", dgram.time, dgram.peer, dgram.wire, dgram.kernel_time, True)
            self._capture.append(dgram)
            self._pending_emit = dgram
        dgram.set_plaintext(plaintext)
        self._match_reply(dgram)
        self._capture.notify()
        self._flush_emit()
        self._answer(dgram)

    def _on_event(self, peer: Peer, level: int, code: int) -> None:
        with self._lock:
            self._events.append(DtlsEvent(time.monotonic(), peer, level, code))
        self._capture.notify()

    # ---- loop thread: sending ----------------------------------------------------------------
    def _on_send(self, peer: Peer, wire: bytes) -> None:
        self._flush_emit()
        dgram = Datagram("tx", time.monotonic(), peer, wire, is_dtls=True)
        if self._tx_plaintext is not None:  # set before append: waiters never see it half-built
            dgram.set_plaintext(self._tx_plaintext)
            dgram.reply_to = self._tx_reply_to
            self._tx_plaintext = self._tx_reply_to = None
        self._capture.append(dgram)
        self._capture.emit(dgram)
        self._tx_records.append(dgram)
        try:
            self._sendto(wire, peer)
        except OSError:
            pass

    def transmit(self, peer: Peer, plaintext: bytes, reply_to: Optional[Datagram]) -> Datagram:
        """Send ``plaintext`` as application data to ``peer``; the first record it became."""
        session = self._peers.get(peer)
        if session is None:
            raise RuntimeError(f"no DTLS session with {peer}")
        if not session.connected:
            raise RuntimeError(f"no established DTLS session with {peer}")
        self._tx_plaintext, self._tx_records, self._tx_reply_to = plaintext, [], reply_to
        try:
            written = session.write(plaintext)
        finally:
            self._tx_plaintext = None
        self._arm_timer(session)
        if written is None or written < 0 or not self._tx_records:
            raise RuntimeError(f"tinydtls refused to write to {peer} ({written})")
        return self._tx_records[0]

    # ---- loop thread: session state ----------------------------------------------------------
    def connected(self, peer: Peer) -> bool:
        session = self._peers.get(peer)
        return bool(session and session.connected)

    def _arm_timer(self, session: DtlsPeer) -> None:
        try:
            delay = session.retransmit_delay()
        except Exception:  # noqa: BLE001 - a context tinydtls already tore down
            return
        if delay is None or session.timer_armed:
            return
        session.timer_armed = True

        def fire() -> None:
            session.timer_armed = False
            if self._peers.get(session.peer) is session:
                self._arm_timer(session)

        self._loop.schedule(min(max(delay, RETRANSMIT_CHECK_MIN_S), RETRANSMIT_CHECK_MAX_S), fire, DTLS_TIMER)

    def rebind(self, old: Peer, new: Peer) -> None:
        """The module's NAT mapping moved: its session goes on with the new address."""
        session = self._peers.pop(old, None)
        if session is not None and new not in self._peers:
            session.peer = new
            self._peers[new] = session

    def drop(self, peer: Peer, notify: bool) -> None:
        """Forget ``peer``'s session, saying close_notify first if ``notify``."""
        session = self._peers.pop(peer, None)
        if session is not None and notify:
            session.close_notify()

    def close_all(self) -> None:
        for peer in list(self._peers):
            self.drop(peer, notify=True)

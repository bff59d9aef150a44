"""The reference server: a raw CoAP peer that owns its UDP socket.

One daemon thread runs a poll loop with a timer heap (scheduled sends, CON
retransmissions if asked, tinydtls timers). Test threads talk to it through a
lock-protected API; anything touching the socket or tinydtls is marshalled onto the
loop thread, so tinydtls is only ever entered from one thread.
"""

from __future__ import annotations

import concurrent.futures
import heapq
import itertools
import random
import select
import socket
import struct
import threading
import time
from collections import deque
from typing import Callable, Mapping, Optional, Sequence, Union

from aiocoap import resource

from . import script
from .capture import Capture, Listener, Predicate
from .dtls_server import DtlsEvent, DtlsPeer, is_client_hello
from .records import CoapView, Datagram, Peer
from .resources import PeerAddress, SiteRenderer, default_site
from .script import ACK, CON, NON, RST, Rule, Send

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
_ANC_SIZE = socket.CMSG_SPACE(16)
_TIMESPEC = struct.Struct("@qq")
RCVBUF = 32 << 20  # a burst of small datagrams costs ~1 KiB of skb each
MAX_DATAGRAM = 65535
ACK_TIMEOUT, ACK_RANDOM_FACTOR, MAX_RETRANSMIT = 2.0, 1.5, 4
CALL_TIMEOUT = 5.0


class ReferenceServer:
    """CoAP (UDP or DTLS-PSK) peer that records every datagram and answers as scripted."""

    def __init__(
        self,
        bind: tuple[str, int] = ("127.0.0.1", 0),
        advertise: Optional[tuple[str, int]] = None,
        psk: Optional[Mapping[bytes, bytes]] = None,
        site: Optional[resource.Site] = None,
        rcvbuf: int = RCVBUF,
    ) -> None:
        self._bind = bind
        self._advertise = advertise
        self._psk: dict[bytes, bytes] = dict(psk) if psk is not None else {}
        self.is_dtls = psk is not None
        self.site = site if site is not None else default_site()
        self._rcvbuf = rcvbuf
        self.capture = Capture()
        self.rules = script.Rules()
        self._lock = threading.Lock()  # peers, outstanding, events, mid counter
        self._peers: dict[Peer, None] = {}
        self._outstanding: dict[tuple[Peer, int], Datagram] = {}
        self._tokens: dict[tuple[Peer, bytes], Datagram] = {}
        self._events: list[DtlsEvent] = []
        self._ignores: list[tuple[Callable[[bytes], bool], int]] = []
        self._ignored: list[Datagram] = []
        self._mid = random.randrange(0x10000)
        self._dtls: dict[Peer, DtlsPeer] = {}
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._commands: deque = deque()
        self._backlog: deque[Datagram] = deque()
        self._rxview = memoryview(bytearray(MAX_DATAGRAM))
        self._sock: Optional[socket.socket] = None
        self._wake_r = self._wake_w = None
        self._thread: Optional[threading.Thread] = None
        self._running = False
        self._stopped = False
        self._pending_emit: Optional[Datagram] = None
        self._tx_plaintext: Optional[bytes] = None
        self._tx_reply_to: Optional[Datagram] = None
        self._tx_records: list[Datagram] = []
        self._rx_current: Optional[Datagram] = None
        self._renderer: Optional[SiteRenderer] = None

    # ---- lifecycle -------------------------------------------------------------------
    def start(self) -> "ReferenceServer":
        if self._thread is not None:
            return self
        family = socket.AF_INET6 if ":" in self._bind[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:  # root may exceed net.core.rmem_max; everyone else gets what the kernel allows
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, self._rcvbuf)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self._rcvbuf)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            pass
        sock.bind(self._bind)
        sock.setblocking(False)
        self._sock = sock
        self._bound = (sock.getsockname()[0], sock.getsockname()[1])
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._renderer = SiteRenderer(self.site)
        self._running = True
        self._thread = threading.Thread(target=self._run, name=f"reference-server {self.bound}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the loop (sending close_notify on DTLS sessions) and join; idempotent."""
        if self._thread is None or self._stopped:
            return
        self._stopped = True
        self._running = False
        self._wake()
        self._thread.join(10)
        for s in (self._sock, self._wake_r, self._wake_w):
            if s is not None:
                s.close()
        if self._renderer is not None:
            self._renderer.close()

    def __enter__(self) -> "ReferenceServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def bound(self) -> tuple[str, int]:
        if self._sock is None:
            raise RuntimeError("server not started")
        return self._bound  # kept after stop() so evidence can still name it

    @property
    def rcvbuf(self) -> int:
        """Receive buffer the kernel actually granted (bytes, as getsockopt reports)."""
        return self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)

    @property
    def advertised(self) -> tuple[str, int]:
        """Where the DUT must dial (differs from `bound` behind NAT on a bench)."""
        return self._advertise if self._advertise is not None else self.bound

    @property
    def scheme(self) -> str:
        return "coaps" if self.is_dtls else "coap"

    # ---- capture ---------------------------------------------------------------------
    def captured(self) -> list[Datagram]:
        return self.capture.snapshot()

    def wait_for(self, predicate: Predicate, timeout: float = 5.0) -> Datagram:
        return self.capture.wait_for(predicate, timeout)

    def wait_count(self, predicate: Predicate, n: int, timeout: float = 5.0) -> list[Datagram]:
        return self.capture.wait_count(predicate, n, timeout)

    def add_listener(self, fn: Listener) -> None:
        """Called on the server thread for every datagram, in capture order."""
        self.capture.add_listener(fn)

    def reset(self) -> list[Datagram]:
        """Between tests: drop rules and capture (returned); keep socket and DTLS sessions."""
        self.rules.clear()
        with self._lock:
            self._outstanding.clear()
            self._tokens.clear()
            self._events.clear()
            self._ignores.clear()
            self._ignored.clear()
        self._call(self._cancel_scheduled_sends)
        return self.capture.clear()

    def peers(self) -> list[Peer]:
        with self._lock:
            return list(self._peers)

    # ---- scripting -------------------------------------------------------------------
    def add_rule(self, rule: Rule) -> Rule:
        return self.rules.add(rule)

    def on(
        self,
        *actions: script.Action,
        mtype: Optional[int] = None,
        code: Optional[Union[int, str]] = None,
        uri_path: Optional[str] = None,
        predicate: Optional[Callable[[Datagram], bool]] = None,
        count: Optional[int] = None,
    ) -> Rule:
        """Shorthand: server.on(Silence(), count=2) then server.on(EmptyAck(), SeparateResponse(...))."""
        return self.add_rule(Rule(list(actions), mtype, code, uri_path, predicate, count))

    def next_mid(self) -> int:
        with self._lock:
            self._mid = (self._mid + 1) & 0xFFFF
            return self._mid

    def send_request(
        self,
        peer: Peer,
        mtype: int,
        code: Union[int, str],
        options: Sequence[tuple[int, bytes]] = (),
        payload: bytes = b"",
        mid: Optional[int] = None,
        token: bytes = b"",
        retransmit: bool = False,
    ) -> Datagram:
        """Server-initiated CON/NON request to the client; returns the tx record."""
        data = script.build(mtype, code, self.next_mid() if mid is None else mid, token, options, payload)
        return self._call(lambda: self._transmit(tuple(peer), data, retransmit=retransmit))

    def send_raw(self, peer: Peer, data: bytes) -> Datagram:
        """Exactly these bytes (as DTLS application data on a DTLS server)."""
        return self._call(lambda: self._transmit(tuple(peer), bytes(data)))

    # ---- DTLS ------------------------------------------------------------------------
    def set_psk(self, psk: Mapping[bytes, bytes]) -> None:
        """Replace the PSK table; used by handshakes that start afterwards."""
        with self._lock:
            self._psk = dict(psk)

    def _psk_table(self) -> Mapping[bytes, bytes]:
        with self._lock:
            return self._psk

    @property
    def dtls_events(self) -> list[DtlsEvent]:
        with self._lock:
            return list(self._events)

    def wait_dtls_event(self, predicate: Callable[[DtlsEvent], bool], timeout: float = 5.0) -> DtlsEvent:
        def found() -> Optional[DtlsEvent]:
            return next((e for e in self.dtls_events if predicate(e)), None)

        return self.capture.wait_until(found, timeout, "DTLS event")

    def ignore_dtls(self, count: int = 1, predicate: Callable[[bytes], bool] = is_client_hello) -> None:
        """Record, but do not hand to tinydtls, the next `count` datagrams whose wire matches
        (default: a ClientHello): a lost flight, so the peer must retransmit it."""
        with self._lock:
            self._ignores.append((predicate, count))

    @property
    def dtls_ignored(self) -> list[Datagram]:
        """The datagrams ignore_dtls() kept from tinydtls, in order."""
        with self._lock:
            return list(self._ignored)

    def dtls_connected(self, peer: Peer) -> bool:
        return self._call(lambda: bool(self._dtls.get(tuple(peer)) and self._dtls[tuple(peer)].connected))

    def close_session(self, peer: Peer) -> None:
        """Send close_notify to `peer` and forget its session."""
        self._call(lambda: self._drop_dtls(tuple(peer), notify=True))

    # ---- loop thread -----------------------------------------------------------------
    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass

    def _call(self, fn: Callable[[], object], timeout: float = CALL_TIMEOUT):
        """Run `fn` on the loop thread and return its result (re-raising its exception)."""
        if threading.current_thread() is self._thread or not self._running:
            return fn()
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._commands.append((fn, fut))
        self._wake()
        return fut.result(timeout)

    def _schedule(self, delay: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self._timers, (time.monotonic() + max(0.0, delay), next(self._seq), fn))

    def _cancel_scheduled_sends(self) -> None:
        self._timers = [t for t in self._timers if getattr(t[2], "dtls_timer", False)]
        heapq.heapify(self._timers)

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._sock.fileno(), select.POLLIN)
        poller.register(self._wake_r.fileno(), select.POLLIN)
        sock_fd = self._sock.fileno()
        try:
            while self._running:
                timeout = None
                if self._backlog:
                    timeout = 0
                elif self._timers:
                    timeout = max(0, int((self._timers[0][0] - time.monotonic()) * 1000) + 1)
                for fd, _ in poller.poll(timeout):
                    if fd == sock_fd:
                        self._drain()
                    else:
                        try:
                            while self._wake_r.recv(4096):
                                pass
                        except (BlockingIOError, OSError):
                            pass
                self._work_backlog()
                self._run_commands()
                now = time.monotonic()
                while self._timers and self._timers[0][0] <= now:
                    _, _, fn = heapq.heappop(self._timers)
                    self._guard(fn)
        finally:
            self._run_commands()
            for peer in list(self._dtls):
                self._drop_dtls(peer, notify=True)

    def _run_commands(self) -> None:
        while self._commands:
            fn, fut = self._commands.popleft()
            try:
                fut.set_result(fn())
            except BaseException as e:
                fut.set_exception(e)

    @staticmethod
    def _guard(fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:  # the server never dies on one bad datagram or timer
            import traceback

            traceback.print_exc()

    def _drain(self) -> int:
        """Record everything the socket holds (recording never waits for answering)."""
        view = self._rxview
        count = 0
        while True:
            try:
                n, anc, _flags, addr = self._sock.recvmsg_into([view], _ANC_SIZE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                continue  # e.g. an ICMP error queued on the socket
            now = time.monotonic()
            ktime = None
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
                    sec, nsec = _TIMESPEC.unpack_from(data)
                    ktime = sec + nsec / 1e9
            peer: Peer = (addr[0], addr[1])
            dgram = Datagram("rx", now, peer, bytes(view[:n]), kernel_time=ktime, is_dtls=self.is_dtls)
            if not self.is_dtls:  # DTLS: appended by _handle_dtls, once tinydtls has seen it
                self._match_reply(dgram)
                self.capture.append(dgram, notify=False)
            if peer not in self._peers:
                with self._lock:
                    self._peers[peer] = None
            if not self.is_dtls:
                self.capture.emit(dgram)
            self._backlog.append(dgram)
            count += 1
        if count:
            self.capture.notify()
        return count

    def _work_backlog(self) -> None:
        """Answer recorded datagrams, re-draining the socket every few so none is lost."""
        for i in range(256):
            if not self._backlog:
                return
            if i % 8 == 7:
                self._drain()
            dgram = self._backlog.popleft()
            if self.is_dtls:
                self._guard(lambda: self._handle_dtls(dgram))
            else:
                self._guard(lambda: self._process(dgram))

    # ---- incoming CoAP ---------------------------------------------------------------
    def _process(self, dgram: Datagram) -> None:
        """Answer one recorded datagram whose plaintext is known."""
        view = dgram.message
        if view is None:
            return
        if view.mtype in (ACK, RST):
            return  # matched to what we sent when recorded; never answered
        rule = self.rules.pick(dgram, view)
        if rule is not None:
            sends: list[Send] = []
            for action in rule.actions:
                sends.extend(script.plan(action, view, dgram, self))
        else:
            sends = self._default_answer(dgram, view)
        for s in sends:
            if s.delay > 0:
                self._schedule(s.delay, lambda s=s: self._transmit(dgram.peer, s.data, dgram, s.retransmit))
            else:
                self._transmit(dgram.peer, s.data, dgram, s.retransmit)

    def _default_answer(self, dgram: Datagram, view: CoapView) -> list[Send]:
        """RFC 7252 behaviour: reject malformed/empty CON with RST, ACK separate responses."""
        if dgram.violations or view.is_empty:
            return [Send(script.build(RST, 0, view.mid))] if view.mtype == CON else []
        if view.is_request:
            return self.site_answer(dgram, view)
        self._match_token(dgram, view)
        return [Send(script.build(ACK, 0, view.mid))] if view.mtype == CON else []

    def site_answer(self, dgram: Datagram, view: CoapView) -> list[Send]:
        """The default resources' answer, piggybacked (CON) or as NON (NON)."""
        remote = PeerAddress(dgram.peer, self.bound, self.scheme)
        response = self._renderer.render(dgram.plaintext, remote)
        if response is None:
            return []
        if view.mtype == CON:
            response.mtype, response.mid = ACK, view.mid
        else:
            response.mtype, response.mid = NON, self.next_mid()
        response.token = view.token
        return [Send(response.encode())]

    def _match_reply(self, dgram: Datagram) -> None:
        """Link an incoming ACK/RST to our CON/NON by MID (header bytes only: cheap, and
        done before the record is visible so waiters always see the link)."""
        p = dgram.plaintext
        if p is None or len(p) < 4 or p[0] >> 6 != 1 or (p[0] >> 4) & 3 not in (ACK, RST):
            return
        with self._lock:
            dgram.reply_to = self._outstanding.pop((dgram.peer, int.from_bytes(p[2:4], "big")), None)

    def _match_token(self, dgram: Datagram, view: CoapView) -> None:
        with self._lock:
            dgram.reply_to = self._tokens.get((dgram.peer, view.token))

    # ---- outgoing --------------------------------------------------------------------
    def _transmit(self, peer: Peer, data: bytes, reply_to: Optional[Datagram] = None, retransmit: bool = False) -> Datagram:
        if self.is_dtls:
            dgram = self._transmit_dtls(peer, data, reply_to)
        else:
            dgram = Datagram("tx", time.monotonic(), peer, data, reply_to=reply_to)
            self.capture.append(dgram)  # before sendto: a test woken by the reply sees it
            self.capture.emit(dgram)
            self._sock.sendto(data, peer)
        if len(data) >= 4 and (data[0] >> 4) & 3 in (CON, NON) and data[0] >> 6 == 1:
            mid = int.from_bytes(data[2:4], "big")
            tkl = data[0] & 0x0F
            with self._lock:
                self._outstanding[(peer, mid)] = dgram
                if 1 <= data[1] <= 31:
                    self._tokens[(peer, data[4 : 4 + tkl])] = dgram
            if retransmit and (data[0] >> 4) & 3 == CON:
                timeout = random.uniform(ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR)
                self._schedule(timeout, lambda: self._retransmit(peer, mid, data, dgram, timeout, 1))
        return dgram

    def _retransmit(self, peer: Peer, mid: int, data: bytes, first: Datagram, timeout: float, attempt: int) -> None:
        with self._lock:
            pending = self._outstanding.get((peer, mid)) is first
        if not pending or attempt > MAX_RETRANSMIT:
            return
        self._transmit(peer, data, first.reply_to)
        with self._lock:
            self._outstanding[(peer, mid)] = first  # an ACK still points at the first copy
        self._schedule(timeout * 2, lambda: self._retransmit(peer, mid, data, first, timeout * 2, attempt + 1))

    # ---- DTLS plumbing (loop thread only) --------------------------------------------
    def _handle_dtls(self, dgram: Datagram) -> None:
        """Record the datagram and hand a copy to the peer's tinydtls session.

        The record joins the capture here, not in _drain, and with the capture held until
        tinydtls is done with it: Capture.wait_count looks at each record once, so a waiter
        that saw it before its plaintext was set would never match it on its plaintext.
        Records sent meanwhile (the handshake's answers, a reply) still join before sendto.
        """
        with self.capture.held():
            self.capture.append(dgram, notify=False)
            try:
                if self._take_ignore(dgram):
                    self.capture.emit(dgram)
                    return
                self._handle_dtls_session(dgram)
            finally:
                self.capture.notify()

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

    def _handle_dtls_session(self, dgram: Datagram) -> None:
        peer = dgram.peer
        session = self._dtls.get(peer)
        if session is not None and (session.failed or (session.connected and is_client_hello(dgram.wire))):
            self._drop_dtls(peer, notify=False)
            session = None
        if session is None:
            session = DtlsPeer(peer, self._psk_table, self._dtls_send, self._dtls_deliver, self._dtls_event)
            self._dtls[peer] = session
        self._rx_current, self._pending_emit = dgram, dgram
        try:
            session.handle(dgram.wire)
        finally:
            self._rx_current = None
            self._flush_emit()
            self._arm_dtls_timer(session)

    def _flush_emit(self) -> None:
        if self._pending_emit is not None:
            d, self._pending_emit = self._pending_emit, None
            self.capture.emit(d)

    def _dtls_deliver(self, session: DtlsPeer, plaintext: bytes) -> None:
        dgram = self._rx_current
        if dgram is None:
            return
        if dgram.plaintext is not None:  # second application record in one datagram
            dgram = Datagram("rx", dgram.time, dgram.peer, dgram.wire, dgram.kernel_time, True)
            self.capture.append(dgram)
            self._pending_emit = dgram
        dgram.set_plaintext(plaintext)
        self._match_reply(dgram)
        self.capture.notify()
        self._flush_emit()
        self._process(dgram)

    def _dtls_send(self, session: DtlsPeer, wire: bytes) -> None:
        self._flush_emit()
        dgram = Datagram("tx", time.monotonic(), session.peer, wire, is_dtls=True)
        if self._tx_plaintext is not None:  # set before append: waiters never see it half-built
            dgram.set_plaintext(self._tx_plaintext)
            dgram.reply_to = self._tx_reply_to
            self._tx_plaintext = self._tx_reply_to = None
        self.capture.append(dgram)
        self.capture.emit(dgram)
        self._tx_records.append(dgram)
        try:
            self._sock.sendto(wire, session.peer)
        except OSError:
            pass

    def _transmit_dtls(self, peer: Peer, plaintext: bytes, reply_to: Optional[Datagram]) -> Datagram:
        session = self._dtls.get(peer)
        if session is None:
            raise RuntimeError(f"no DTLS session with {peer}")
        self._tx_plaintext, self._tx_records, self._tx_reply_to = plaintext, [], reply_to
        try:
            written = session.write(plaintext)
        finally:
            self._tx_plaintext = None
        self._arm_dtls_timer(session)
        if written is None or written < 0 or not self._tx_records:
            raise RuntimeError(f"tinydtls refused to write to {peer} ({written})")
        return self._tx_records[0]

    def _dtls_event(self, session: DtlsPeer, level: int, code: int) -> None:
        with self._lock:
            self._events.append(DtlsEvent(time.monotonic(), session.peer, level, code))
        self.capture.notify()

    def _arm_dtls_timer(self, session: DtlsPeer) -> None:
        try:
            delay = session.retransmit_delay()
        except Exception:
            return
        if delay is None or getattr(session, "timer_armed", False):
            return
        session.timer_armed = True  # type: ignore[attr-defined]

        def fire() -> None:
            session.timer_armed = False  # type: ignore[attr-defined]
            if self._dtls.get(session.peer) is session:
                self._arm_dtls_timer(session)

        fire.dtls_timer = True  # type: ignore[attr-defined]
        self._schedule(delay, fire)

    def _drop_dtls(self, peer: Peer, notify: bool) -> None:
        session = self._dtls.pop(peer, None)
        if session is not None and notify:
            session.close()

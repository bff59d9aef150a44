"""The reference server: a raw CoAP peer that owns its UDP socket.

It stands on one network loop (wire.loop: poll, timer heap, calls from test threads), so the
socket and tinydtls are only ever touched from one thread. The parts beside it: ``udp`` reads the
socket, ``sessions`` holds the DTLS sessions, ``exchanges`` matches MIDs and tokens and
retransmits, ``script`` plans scripted answers and ``resources`` renders the default site.
"""

from __future__ import annotations

import socket
import time
from collections import deque
from typing import Callable, Mapping, Optional, Sequence, Union

from aiocoap import resource
from aiocoap.numbers.types import Type

from wire.dtls_records import is_client_hello
from wire.loop import CALL_TIMEOUT, Loop

from . import script
from .attribution import ModuleSources, Rebinding, Verdict
from .capture import Capture, Listener, Predicate
from .exchanges import EXCHANGE_TIMER, Exchanges
from .records import CoapHeader, CoapView, Datagram, Peer
from .resources import PeerAddress, SiteRenderer, default_site
from .script import Rule, Send
from .sessions import DtlsEvent, DtlsSessions
from .udp import MAX_DATAGRAM, RCVBUF, Reader, open_socket

__all__ = ["CALL_TIMEOUT", "MAX_DATAGRAM", "RCVBUF", "ReferenceServer"]

#: received datagrams answered per loop turn before the socket is read again
ANSWER_BATCH, REDRAIN_EVERY = 256, 8


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
        #: strangers' datagrams and the server's answers to them, apart from the module's
        self.foreign_capture = Capture()
        self.sources = ModuleSources(self.is_dtls)
        self.rules = script.Rules()
        self._peers: dict[Peer, None] = {}
        self._backlog: deque[tuple[Datagram, bool]] = deque()  # (datagram, foreign)
        #: the module's CONs answered during this test, by (peer, MID): their bytes and the
        #: ACK/RST a duplicate gets again (loop thread; reset() forgets them)
        self._answered: dict[tuple[Peer, int], tuple[bytes, list[Send]]] = {}
        self._loop = Loop("reference-server", busy=lambda: bool(self._backlog), after_poll=self._work_backlog,
                          on_exit=self._on_exit)
        self.exchanges = Exchanges(self._loop, self._transmit)
        self.sessions = DtlsSessions(self._loop, self.capture, self._sendto, self._psk_table, self._process,
                                     self.exchanges.match_reply)
        self._sock = None
        self._reader: Optional[Reader] = None
        self._started = self._stopped = False
        self._renderer: Optional[SiteRenderer] = None

    # ---- lifecycle -------------------------------------------------------------------
    def start(self) -> "ReferenceServer":
        if self._started:
            return self
        self._sock = open_socket(self._bind, self._rcvbuf)
        self._bound = (self._sock.getsockname()[0], self._sock.getsockname()[1])
        self._reader = Reader(self._sock)
        self._renderer = SiteRenderer(self.site)
        self._loop.name = f"reference-server {self.bound}"
        self._loop.add_reader(self._sock, self._drain)
        self._started = True
        self._loop.start()
        return self

    def stop(self) -> None:
        """Stop the loop (sending close_notify on DTLS sessions) and join; idempotent."""
        if not self._started or self._stopped:
            return
        self._stopped = True
        self._loop.stop()
        self._sock.close()
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
        """Between tests: drop rules, capture (returned), foreign traffic and rebindings; keep
        socket, DTLS sessions and what the server learned of the module's sources."""
        self.rules.clear()
        self.exchanges.forget()
        self.sessions.forget_records()
        self._loop.call(lambda: self._loop.cancel(EXCHANGE_TIMER))
        self._loop.call(self._answered.clear)
        self.foreign_capture.clear()
        self.sources.forget_rebindings()
        return self.capture.clear()

    def peers(self) -> list[Peer]:
        return list(self._peers)  # the loop only adds; a copy of a dict is atomic under the GIL

    # ---- attribution: the module's datagrams and the strangers' ----------------------------
    def attribute(self, networks: Sequence[str] = (), peers: Sequence[Peer] = ()) -> None:
        """From now on only the module's datagrams count (see reference_server.attribution):
        sources in ``networks`` (the operator's NAT range), ``peers``, and those learned."""
        self.sources.configure(networks, peers)

    def expect_module(self, client: Optional[int] = None, expect: Optional[Callable[[bytes], bool]] = None) -> None:
        """An OPEN towards this server was written: learn the module's new source from the first
        datagram of the expected exchange (``expect`` on its wire; default: a ClientHello over
        DTLS, a CoAP message over UDP)."""
        self.sources.expect(client, expect)

    def foreign(self) -> list[Datagram]:
        """Strangers' datagrams (rx) and what the server answered them (tx), since the last reset."""
        return self.foreign_capture.snapshot()

    def rebindings(self) -> list[Rebinding]:
        """The module's NAT rebindings since the last reset: old and new source, and why."""
        return self.sources.rebindings()

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
        return self.exchanges.next_mid()

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
        return self._loop.call(lambda: self._transmit(tuple(peer), data, retransmit=retransmit))

    def send_raw(self, peer: Peer, data: bytes) -> Datagram:
        """Exactly these bytes (as DTLS application data on a DTLS server)."""
        return self._loop.call(lambda: self._transmit(tuple(peer), bytes(data)))

    # ---- DTLS ------------------------------------------------------------------------
    def set_psk(self, psk: Mapping[bytes, bytes]) -> None:
        """Replace the PSK table; used by handshakes that start afterwards."""
        self._psk = dict(psk)

    def _psk_table(self) -> Mapping[bytes, bytes]:
        return self._psk

    @property
    def dtls_events(self) -> list[DtlsEvent]:
        return self.sessions.events()

    def wait_dtls_event(self, predicate: Callable[[DtlsEvent], bool], timeout: float = 5.0) -> DtlsEvent:
        def found() -> Optional[DtlsEvent]:
            return next((e for e in self.dtls_events if predicate(e)), None)

        return self.capture.wait_until(found, timeout, "DTLS event")

    def ignore_dtls(self, count: int = 1, predicate: Callable[[bytes], bool] = is_client_hello) -> None:
        """Record, but do not hand to tinydtls, the next `count` datagrams whose wire matches
        (default: a ClientHello): a lost flight, so the peer must retransmit it."""
        self.sessions.ignore(count, predicate)

    @property
    def dtls_ignored(self) -> list[Datagram]:
        """The datagrams ignore_dtls() kept from tinydtls, in order."""
        return self.sessions.ignored()

    def dtls_connected(self, peer: Peer) -> bool:
        return self._loop.call(lambda: self.sessions.connected(tuple(peer)))

    def close_session(self, peer: Peer) -> None:
        """Send close_notify to `peer` and forget its session."""
        self._loop.call(lambda: self.sessions.drop(tuple(peer), notify=True))

    # ---- loop thread: receiving ------------------------------------------------------
    def _drain(self) -> int:
        """Record everything the socket holds (recording never waits for answering)."""
        count = 0
        for got in self._reader:
            dgram = Datagram("rx", got.time, got.peer, got.data, kernel_time=got.kernel_time, is_dtls=self.is_dtls)
            count += 1
            verdict, old = self.sources.classify(got.peer, got.data, got.time)
            if verdict is Verdict.FOREIGN:
                self.foreign_capture.append(dgram, notify=False)
                if not self.is_dtls:  # a stranger's DTLS never reaches tinydtls
                    self._backlog.append((dgram, True))
                continue
            if old is not None:  # the module's NAT mapping moved: its session and exchanges follow
                self.exchanges.rebind(old, got.peer)
                for key in [k for k in self._answered if k[0] == old]:
                    self._answered[(got.peer, key[1])] = self._answered.pop(key)
                if self.is_dtls:
                    self.sessions.rebind(old, got.peer)
            if not self.is_dtls:  # DTLS: recorded by the sessions, once tinydtls has seen it
                self.exchanges.match_reply(dgram)
                self.capture.append(dgram, notify=False)
            self._peers.setdefault(got.peer, None)
            if not self.is_dtls:
                self.capture.emit(dgram)
            self._backlog.append((dgram, False))
        if count:
            self.capture.notify()
            self.foreign_capture.notify()
        return count

    def _work_backlog(self) -> None:
        """Answer recorded datagrams, re-draining the socket every few so none is lost."""
        handle = self.sessions.receive if self.is_dtls else self._process
        for i in range(ANSWER_BATCH):
            if not self._backlog:
                return
            if i % REDRAIN_EVERY == REDRAIN_EVERY - 1:
                self._drain()
            dgram, foreign = self._backlog.popleft()
            try:
                if foreign:
                    self._answer_stranger(dgram)
                else:
                    handle(dgram)
            except Exception:  # noqa: BLE001 - the server never dies on one bad datagram
                import traceback

                traceback.print_exc()

    def _on_exit(self) -> None:
        self.sessions.close_all()

    # ---- answering -------------------------------------------------------------------
    def _process(self, dgram: Datagram) -> None:
        """Answer one recorded datagram whose plaintext is known."""
        view = dgram.message
        if view is None or view.mtype in (Type.ACK, Type.RST):
            return  # ACK/RST: matched to what we sent when recorded; never answered
        sends = self._duplicate_answer(dgram, view)
        if sends is None:
            rule = self.rules.pick(dgram, view)
            if rule is not None:
                sends = []
                for action in rule.actions:
                    sends.extend(script.plan(action, view, dgram, self))
            else:
                sends = self._default_answer(dgram, view)
            self._remember_answer(dgram, view, sends)
        for s in sends:
            if s.delay > 0:
                self._loop.schedule(s.delay, lambda s=s: self._transmit(dgram.peer, s.data, dgram, s.retransmit),
                                    EXCHANGE_TIMER)
            else:
                self._transmit(dgram.peer, s.data, dgram, s.retransmit)

    def _duplicate_answer(self, dgram: Datagram, view: CoapView) -> Optional[list[Send]]:
        """RFC 7252 4.5: a copy of a CON already answered (same MID, same bytes, same peer) is
        acknowledged again but not processed again: its ACK/RST again, no second separate
        response. A module retransmits a request whose ACK the path held beyond ACK_TIMEOUT (an
        RRC set-up); a second response with a new MID would be a second message to report.
        None: not such a copy, answer it as scripted."""
        earlier = self._answered.get((dgram.peer, view.mid)) if view.mtype == Type.CON else None
        if earlier is None or earlier[0] != dgram.plaintext:
            return None
        return earlier[1]

    def _remember_answer(self, dgram: Datagram, view: CoapView, sends: list[Send]) -> None:
        """A CON that got an answer: its later copies are duplicates. One that got none (a script's
        Silence: the copy is "lost") is not remembered, so its retransmission is heard afresh."""
        if view.mtype != Type.CON or not sends or dgram.plaintext is None:
            return
        replies = [Send(s.data, s.delay) for s in sends
                   if (h := CoapHeader.read(s.data)) is not None and h.mtype in (Type.ACK, Type.RST) and h.mid == view.mid]
        self._answered[(dgram.peer, view.mid)] = (dgram.plaintext, replies)

    def _default_answer(self, dgram: Datagram, view: CoapView) -> list[Send]:
        """RFC 7252 behaviour: reject malformed/empty CON with RST, ACK separate responses."""
        if dgram.violations or view.is_empty:
            return [Send(script.build(Type.RST, 0, view.mid))] if view.mtype == Type.CON else []
        if view.is_request:
            return self.site_answer(dgram, view)
        self.exchanges.match_token(dgram, view)
        return [Send(script.build(Type.ACK, 0, view.mid))] if view.mtype == Type.CON else []

    def _answer_stranger(self, dgram: Datagram) -> None:
        """The default resources' answer, never a test's script, within the rate limit and never
        larger than the request (no reflection amplification); what is left unsaid is noted."""
        view = dgram.message
        if view is None or view.mtype in (Type.ACK, Type.RST):
            return
        if dgram.violations or view.is_empty:
            sends = [Send(script.build(Type.RST, 0, view.mid))] if view.mtype == Type.CON else []
        elif view.is_request:
            sends = self.site_answer(dgram, view)
        else:
            sends = []  # a response the server never asked a stranger for
        for s in sends:
            if len(s.data) > len(dgram.wire) or not self.sources.answer_allowed(time.monotonic()):
                continue
            self.foreign_capture.append(Datagram("tx", time.monotonic(), dgram.peer, s.data, reply_to=dgram))
            try:
                self._sendto(s.data, dgram.peer)
            except OSError:
                pass  # a stranger gone: nothing to tell it

    def site_answer(self, dgram: Datagram, view: CoapView) -> list[Send]:
        """The default resources' answer, piggybacked (CON) or as NON (NON)."""
        remote = PeerAddress(dgram.peer, self.bound, self.scheme)
        response = self._renderer.render(dgram.plaintext, remote)
        if response is None:
            return []
        if view.mtype == Type.CON:
            response.mtype, response.mid = Type.ACK, view.mid
        else:
            response.mtype, response.mid = Type.NON, self.next_mid()
        response.token = view.token
        return [Send(response.encode())]

    # ---- loop thread: sending --------------------------------------------------------
    def _sendto(self, wire: bytes, peer: Peer) -> None:
        self._sock.sendto(wire, peer)

    def _transmit(self, peer: Peer, data: bytes, reply_to: Optional[Datagram] = None, retransmit: bool = False) -> Datagram:
        if self.is_dtls:
            dgram = self.sessions.transmit(peer, data, reply_to)
        else:
            dgram = Datagram("tx", time.monotonic(), peer, data, reply_to=reply_to)
            self.capture.append(dgram)  # before sendto: a test woken by the reply sees it
            self.capture.emit(dgram)
            self._sendto(data, peer)
        self.exchanges.sent(peer, dgram, retransmit)
        return dgram

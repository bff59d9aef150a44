"""DTLS-PSK client link over a UdpLink, on the project's one tinydtls layer (wire.tinydtls)."""
from __future__ import annotations

import asyncio
import logging

from wire.tinydtls import EVENT_CONNECTED, LEVEL_FATAL, LEVEL_NOALERT, DtlsEndpoint, weak_callback

from .link import Receiver
from .psk import Psk
from .udp_link import UdpLink

log = logging.getLogger(__name__)

#: the handshake gives up after 8 s (the first 2 s retransmission period of tinydtls, doubled
#: once, and the 4 s after it), scaled by the time scale ...
HANDSHAKE_TIMEOUT_S = 8.0
#: ... but never sooner than this: tinydtls retransmits a lost flight after 2 s of real time
#: (its clock cannot be scaled), and a loaded host must not turn a slow peer into -9.
HANDSHAKE_FLOOR_S = 4.0
#: checkRetransmit() is asked again at least this often (harmless when early): tinydtls's
#: clock origin is only approximately aiocoap's, so its deadline is not trusted to the second
RETRANSMIT_POLL_S = 0.25


def handshake_deadline(time_scale: float) -> float:
    """Seconds AT+QCOAPOPEN waits for the DTLS handshake before it reports -9."""
    return max(HANDSHAKE_TIMEOUT_S * time_scale, HANDSHAKE_FLOOR_S)


class DtlsHandshakeError(Exception):
    """Handshake failed, timed out or got a fatal alert (result -9)."""


class DtlsLink:
    """Plaintext send()/receiver over an encrypted UdpLink; plaintext_after_handshake models a fault."""

    def __init__(self, raw: UdpLink, psk: Psk, receiver: Receiver, plaintext_after_handshake: bool) -> None:
        self._raw = raw
        self._receiver = receiver
        self._plain = plaintext_after_handshake
        self._connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._timer: asyncio.TimerHandle | None = None
        # weak callbacks: the link <-> endpoint <-> UDP link trio holds no reference cycle
        self._dtls: DtlsEndpoint | None = DtlsEndpoint(raw.send, receiver, weak_callback(self, "_on_event", None),
                                                       identity=psk.identity, psk={psk.identity: psk.key})
        raw.receiver = weak_callback(self, "_on_datagram", None)

    async def handshake(self, timeout: float) -> None:
        assert self._dtls is not None
        self._dtls.connect()
        self._schedule()
        self._raw.path.hold(self._raw)  # the retransmitted flights: see RadioPath.hold
        try:
            await asyncio.wait_for(asyncio.shield(self._connected), timeout)
        except asyncio.TimeoutError as e:
            raise DtlsHandshakeError("handshake timeout") from e
        finally:
            self._raw.path.unhold(self._raw)

    def _on_event(self, level: int, code: int) -> None:
        if (level, code) == (LEVEL_NOALERT, EVENT_CONNECTED) and not self._connected.done():
            self._connected.set_result(None)
        elif level == LEVEL_FATAL:
            log.info("DTLS fatal alert %d", code)
            if not self._connected.done():
                self._connected.set_exception(DtlsHandshakeError(f"fatal alert {code}"))

    def _on_datagram(self, data: bytes) -> None:
        if self._dtls is None:
            return
        self._dtls.handle(data)
        self._schedule()

    def _schedule(self) -> None:
        """Drive tinydtls's own handshake retransmissions from its checkRetransmit() deadline."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._dtls is None:
            return
        delay = self._dtls.retransmit_delay()
        if delay is None:
            return
        self._timer = asyncio.get_running_loop().call_later(min(delay, RETRANSMIT_POLL_S), self._schedule)

    def send(self, data: bytes) -> None:
        if self._plain:  # fault dtls-plaintext
            self._raw.send(data)
        elif self._dtls is not None:
            self._dtls.write(data)

    def close(self, graceful: bool = True) -> None:
        """graceful (AT+QCOAPCLOSE of a connected session): close_notify, then forget the peer.

        Not graceful (a failed handshake, the network gone): nothing more on the wire. The UDP
        link is closed first, because tinydtls itself sends a close_notify when a peer is reset
        or its context freed; with the link closed that alert goes nowhere.
        """
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not graceful:
            self._raw.close()
        elif self._dtls is not None:
            self._dtls.close_notify()
        if not self._connected.done():
            self._connected.cancel()
        if self._dtls is not None:
            self._dtls.release()
        self._dtls = None
        self._raw.close()

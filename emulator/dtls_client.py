"""DTLS-PSK client link over a UdpLink, using DTLSSocket the way aiocoap's tinydtls transport does."""
from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Any, Callable

from DTLSSocket import dtls

from .link import Receiver
from .psk import Psk
from .udp_link import UdpLink

log = logging.getLogger(__name__)

_SENTINEL_ADDRESS = "::1"
_SENTINEL_PORT = 1234
EVENT_CONNECT = 0x01DC
EVENT_CONNECTED = 0x01DE
LEVEL_FATAL = 2
TICKS_PER_SECOND = 1000
try:  # the tinydtls clock origin aiocoap uses; same process-wide library
    from aiocoap.transports.tinydtls import DTLS_CLOCK_OFFSET as _CLOCK_OFFSET
except Exception:  # pragma: no cover
    _CLOCK_OFFSET = time.time()

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


def _weak(obj: object, method: str, dead: Any) -> Callable[..., Any]:
    """Callback that does not keep obj alive, so DTLS object <-> link is no reference cycle."""
    ref = weakref.ref(obj)

    def call(*args: Any) -> Any:
        target = ref()
        return dead if target is None else getattr(target, method)(*args)

    return call


class DtlsLink:
    """Plaintext send()/receiver over an encrypted UdpLink; plaintext_after_handshake models a fault."""

    def __init__(self, raw: UdpLink, psk: Psk, receiver: Receiver, plaintext_after_handshake: bool) -> None:
        self._raw = raw
        self._receiver = receiver
        self._plain = plaintext_after_handshake
        self._connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._timer: asyncio.TimerHandle | None = None
        self._dtls: Any = dtls.DTLS(
            read=_weak(self, "_on_read", 0),
            write=_weak(self, "_on_write", 0),
            event=_weak(self, "_on_event", 0),
            pskId=psk.identity,
            pskStore={psk.identity: psk.key},
        )
        raw.receiver = _weak(self, "_on_datagram", None)
        self._session: Any = None

    async def handshake(self, timeout: float) -> None:
        self._session = self._dtls.connect(_SENTINEL_ADDRESS, _SENTINEL_PORT)
        self._schedule()
        try:
            await asyncio.wait_for(asyncio.shield(self._connected), timeout)
        except asyncio.TimeoutError as e:
            raise DtlsHandshakeError("handshake timeout") from e

    # DTLSSocket callbacks
    def _on_read(self, _sender: object, data: bytes) -> int:
        self._receiver(bytes(data))
        return len(data)

    def _on_write(self, _recipient: object, data: bytes) -> int:
        self._raw.send(bytes(data))
        return len(data)

    def _on_event(self, level: int, code: int) -> int:
        if level == 0 and code == EVENT_CONNECTED and not self._connected.done():
            self._connected.set_result(None)
        elif level == LEVEL_FATAL:
            log.info("DTLS fatal alert %d", code)
            if not self._connected.done():
                self._connected.set_exception(DtlsHandshakeError(f"fatal alert {code}"))
        return 0

    def _on_datagram(self, data: bytes) -> None:
        if self._session is None:
            return
        # a private copy: DTLSSocket passes the object's own buffer to tinydtls, which
        # decrypts in place (it would rewrite an immutable bytes object someone else holds)
        self._dtls.handleMessage(self._session, bytearray(data))
        self._schedule()

    def _schedule(self) -> None:
        """Drive tinydtls's own handshake retransmissions from its checkRetransmit() deadline."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._dtls is None:
            return
        when = self._dtls.checkRetransmit() / TICKS_PER_SECOND
        if when == 0:
            return
        delay = min(max(0.0, when - (time.time() - _CLOCK_OFFSET)), RETRANSMIT_POLL_S)
        self._timer = asyncio.get_running_loop().call_later(delay, self._schedule)

    def send(self, data: bytes) -> None:
        if self._plain:  # fault dtls-plaintext
            self._raw.send(data)
        elif self._session is not None:
            self._dtls.write(self._session, data)

    def close(self, graceful: bool = True) -> None:
        """graceful (AT+QCOAPCLOSE of a connected session): close_notify, then forget the peer.

        Not graceful (a failed handshake, the network gone): nothing more on the wire. The UDP
        link is closed first, because tinydtls itself sends a close_notify when a peer is reset
        or its context freed; with the link closed that alert goes nowhere.
        """
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        ok = self._connected.done() and not self._connected.cancelled() and self._connected.exception() is None
        if not graceful:
            self._raw.close()
        elif ok and self._session is not None:
            try:
                self._dtls.close(self._session)
            except Exception:  # noqa: BLE001 - best effort close_notify
                log.exception("DTLS close")
        if not self._connected.done():
            self._connected.cancel()
        if self._session is not None:
            try:
                self._dtls.resetPeer(self._session)
            except Exception:  # noqa: BLE001
                pass
        self._session = None
        self._dtls = None
        self._raw.close()

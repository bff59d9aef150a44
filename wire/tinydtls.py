"""One tinydtls layer: a DTLSSocket context holding one session with one peer, client or server side.

The emulator's DTLS link, the reference server's per-peer sessions and the harness's test client
all drive tinydtls through this class, the way aiocoap's ``transports/tinydtls.py`` and
``tinydtls_server.py`` do; its constants and its clock origin are aiocoap's own. The owner moves
the datagrams (a socket, an asyncio transport) and asks :meth:`DtlsEndpoint.retransmit_delay`
when to come back; this class never touches a socket or a timer.
"""
from __future__ import annotations

import time
import weakref
from typing import Any, Callable, Mapping, Optional

from aiocoap.transports.tinydtls import (
    _SENTINEL_ADDRESS,
    _SENTINEL_PORT,
    CODE_CLOSE_NOTIFY,
    DTLS_CLOCK_OFFSET,
    DTLS_TICKS_PER_SECOND,
    LEVEL_FATAL,
    LEVEL_NOALERT,
    LEVEL_WARNING,
)
from aiocoap.transports.tinydtls import DTLS_EVENT_CONNECT as EVENT_CONNECT
from aiocoap.transports.tinydtls import DTLS_EVENT_CONNECTED as EVENT_CONNECTED
from aiocoap.transports.tinydtls import DTLS_EVENT_RENEGOTIATE as EVENT_RENEGOTIATE
from DTLSSocket import dtls

# RFC 5246 7.2 alert descriptions the harness names (aiocoap names none)
ALERT_HANDSHAKE_FAILURE = 40
ALERT_DECRYPT_ERROR = 51
ALERT_INTERNAL_ERROR = 80

Sink = Callable[[bytes], None]
EventSink = Callable[[int, int], None]

__all__ = [
    "ALERT_DECRYPT_ERROR", "ALERT_HANDSHAKE_FAILURE", "ALERT_INTERNAL_ERROR", "CODE_CLOSE_NOTIFY",
    "DTLS_CLOCK_OFFSET", "DTLS_TICKS_PER_SECOND", "EVENT_CONNECT", "EVENT_CONNECTED", "EVENT_RENEGOTIATE",
    "LEVEL_FATAL", "LEVEL_NOALERT", "LEVEL_WARNING", "DtlsEndpoint", "PskStore", "weak_callback",
]


class PskStore:
    """The dict-like key store DTLSSocket asks, reading a table that may change between handshakes."""

    def __init__(self, lookup: Callable[[], Mapping[bytes, bytes]]) -> None:
        self._lookup = lookup

    def keys(self) -> "PskStore":
        return self

    def __contains__(self, identity: object) -> bool:
        return bytes(identity) in self._lookup()  # type: ignore[arg-type]

    def __getitem__(self, identity: bytes) -> bytes:
        return self._lookup()[bytes(identity)]


def weak_callback(obj: object, method: str, dead: Any) -> Callable[..., Any]:
    """A callback that does not keep ``obj`` alive (aiocoap's ``_build_accessor``): tinydtls may
    call back while its context is freed, and the context <-> owner pair is then no cycle."""
    ref = weakref.ref(obj)

    def call(*args: Any) -> Any:
        target = ref()
        return dead if target is None else getattr(target, method)(*args)

    return call


class DtlsEndpoint:
    """One tinydtls context and its one session; tinydtls only ever sees aiocoap's sentinel address.

    ``send`` gets each record flight to put on the wire, ``deliver`` each decrypted application
    record, ``event`` each (level, code) tinydtls reports. ``connected`` follows the handshake;
    ``failed`` is set by a fatal alert or a close_notify (the session is over).
    """

    def __init__(self, send: Sink, deliver: Sink, event: Optional[EventSink] = None, *,
                 identity: bytes, psk: Mapping[bytes, bytes] | PskStore) -> None:
        self.connected = False
        self.failed = False
        self._send, self._deliver, self._event = send, deliver, event
        self._ctx: Any = dtls.DTLS(read=weak_callback(self, "_on_read", 0), write=weak_callback(self, "_on_write", 0),
                                   event=weak_callback(self, "_on_event", 0), pskId=identity, pskStore=psk)
        self._session: Any = None

    # -- starting a session ----------------------------------------------------------------------
    def accept(self) -> None:
        """Server side: wait for the peer's ClientHello."""
        self._session = dtls.Session(_SENTINEL_ADDRESS, _SENTINEL_PORT)

    def connect(self) -> None:
        """Client side: send the ClientHello now."""
        self._session = self._ctx.connect(_SENTINEL_ADDRESS, _SENTINEL_PORT)

    # -- tinydtls callbacks ----------------------------------------------------------------------
    def _on_read(self, _sender: object, data: bytes) -> int:
        self._deliver(bytes(data))
        return len(data)

    def _on_write(self, _recipient: object, data: bytes) -> int:
        self._send(bytes(data))
        return len(data)

    def _on_event(self, level: int, code: int) -> int:
        if (level, code) == (LEVEL_NOALERT, EVENT_CONNECTED):
            self.connected = True
        elif level == LEVEL_FATAL or (level == LEVEL_WARNING and code == CODE_CLOSE_NOTIFY):
            self.failed, self.connected = True, False
        if self._event is not None:
            self._event(level, code)
        return 0

    # -- driven by the owner ---------------------------------------------------------------------
    def handle(self, wire: bytes) -> None:
        """Feed one received datagram to tinydtls, on a private copy.

        DTLSSocket hands the buffer of the object it is given to dtls_handle_message() as
        ``uint8 *`` without copying, and tinydtls decrypts application records in place: given a
        recorded ``bytes`` object it would overwrite the ciphertext someone else holds.
        """
        if self._session is not None and self._ctx is not None:
            self._ctx.handleMessage(self._session, bytearray(wire))

    def write(self, plaintext: bytes) -> int:
        """Encrypt and send one application record; tinydtls's return value (< 0: refused)."""
        if self._session is None or self._ctx is None:
            return -1
        return self._ctx.write(self._session, plaintext)

    def retransmit_delay(self) -> Optional[float]:
        """Let tinydtls resend what is due; seconds until it wants this again (None: nothing pending).

        tinydtls's clock starts when its library is loaded, at a whole second; aiocoap's origin is
        the same approximation, so callers poll a little early rather than trust it to the tick.
        """
        if self._ctx is None:
            return None
        when = self._ctx.checkRetransmit()
        if not when:
            return None
        return max(0.0, when / DTLS_TICKS_PER_SECOND - (time.time() - DTLS_CLOCK_OFFSET))

    def close_notify(self) -> None:
        """Send close_notify if the session is established; never raises."""
        try:
            if self.connected and self._session is not None and self._ctx is not None:
                self._ctx.close(self._session)
        except Exception:  # noqa: BLE001 - best effort, the peer may be gone
            pass
        self.connected = False

    def release(self) -> None:
        """Forget the peer and free the context (tinydtls may say close_notify to ``send`` here)."""
        if self._session is not None and self._ctx is not None:
            try:
                self._ctx.resetPeer(self._session)
            except Exception:  # noqa: BLE001
                pass
        self._session = None
        self._ctx = None
        self.connected = False

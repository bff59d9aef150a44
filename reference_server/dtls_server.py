"""DTLS-PSK server side: one tinydtls context per peer address, as aiocoap's
transports/tinydtls_server.py does, but driven by the reference server's own loop so the
test decides what happens (including server-initiated requests over the session).

tinydtls only ever sees a sentinel address; the peer is known from the socket.
"""

from __future__ import annotations

import time
from typing import Callable, Mapping, NamedTuple, Optional

from DTLSSocket import dtls

from .records import Peer

# tinydtls ignores the address it is given; these are what aiocoap passes too
_SENTINEL_ADDRESS = "::1"
_SENTINEL_PORT = 1234

LEVEL_NOALERT = 0
LEVEL_WARNING = 1
LEVEL_FATAL = 2
EVENT_CONNECT = 0x01DC
EVENT_CONNECTED = 0x01DE
EVENT_RENEGOTIATE = 0x01DF
CODE_CLOSE_NOTIFY = 0
ALERT_INTERNAL_ERROR = 80
ALERT_DECRYPT_ERROR = 51
ALERT_HANDSHAKE_FAILURE = 40

DTLS_TICKS_PER_SECOND = 1000
# tinydtls' clock starts near module load (seconds granularity); good enough for
# scheduling the next checkRetransmit(), which is harmless to call early.
_DTLS_CLOCK_OFFSET = time.time()


class DtlsEvent(NamedTuple):
    """A tinydtls event callback: level 0 = internal (0x1DE connected), 1/2 = alert received
    (close_notify arrives as level 1, code 0)."""

    time: float
    peer: Peer
    level: int
    code: int


class PskStore:
    """Dict-like view DTLSSocket asks for keys; reads the server's current PSK table."""

    def __init__(self, lookup: Callable[[], Mapping[bytes, bytes]]) -> None:
        self._lookup = lookup

    def keys(self) -> "PskStore":
        return self

    def __contains__(self, identity: object) -> bool:
        return bytes(identity) in self._lookup()  # type: ignore[arg-type]

    def __getitem__(self, identity: bytes) -> bytes:
        return self._lookup()[bytes(identity)]


class DtlsPeer:
    """One peer's tinydtls server context and session."""

    def __init__(
        self,
        peer: Peer,
        psk: Callable[[], Mapping[bytes, bytes]],
        send: Callable[["DtlsPeer", bytes], None],
        deliver: Callable[["DtlsPeer", bytes], None],
        event: Callable[["DtlsPeer", int, int], None],
    ) -> None:
        self.peer = peer
        self.connected = False
        self.failed = False  # fatal alert / close_notify: drop before the next datagram
        self._send, self._deliver, self._on_event = send, deliver, event
        self.ctx = dtls.DTLS(
            read=self._read,
            write=self._write,
            event=self._event,
            pskId=b"reference-server",
            pskStore=PskStore(psk),
        )
        self.session = dtls.Session(_SENTINEL_ADDRESS, _SENTINEL_PORT)

    # tinydtls callbacks (run inside handleMessage/write/close on the server thread)
    def _read(self, _sender, data: bytes) -> int:
        self._deliver(self, bytes(data))
        return len(data)

    def _write(self, _recipient, data: bytes) -> int:
        self._send(self, bytes(data))
        return len(data)

    def _event(self, level: int, code: int) -> int:
        if (level, code) == (LEVEL_NOALERT, EVENT_CONNECTED):
            self.connected = True
        elif level == LEVEL_FATAL or (level == LEVEL_WARNING and code == CODE_CLOSE_NOTIFY):
            self.failed, self.connected = True, False
        self._on_event(self, level, code)
        return 0

    # driven by the server loop
    def handle(self, wire: bytes) -> None:
        """Feed one datagram to tinydtls, on a private copy.

        DTLSSocket hands the buffer of the object it is given to dtls_handle_message() as
        ``uint8 *`` without copying, and tinydtls decrypts application records in place:
        given the recorded ``bytes`` it would overwrite the capture's ciphertext with the
        plaintext (that is what made captured type-23 records look "readable").
        """
        self.ctx.handleMessage(self.session, bytearray(wire))

    def write(self, plaintext: bytes) -> int:
        if not self.connected:
            raise RuntimeError(f"no established DTLS session with {self.peer}")
        return self.ctx.write(self.session, plaintext)

    def retransmit_delay(self) -> Optional[float]:
        """Seconds until tinydtls wants checkRetransmit() again; None if nothing pending."""
        when = self.ctx.checkRetransmit()
        if not when:
            return None
        delay = when / DTLS_TICKS_PER_SECOND - (time.time() - _DTLS_CLOCK_OFFSET)
        return min(max(delay, 0.01), 2.0)

    def close(self) -> None:
        """Send close_notify if a session exists; never raises."""
        try:
            if self.connected:
                self.ctx.close(self.session)
        except Exception:
            pass
        self.connected = False


def is_client_hello(wire: bytes) -> bool:
    """Epoch-0 handshake record carrying a ClientHello (a peer starting over)."""
    return len(wire) > 13 and wire[0] == 22 and wire[3:5] == b"\x00\x00" and wire[13] == 1

"""The names the suites and tests import for the DTLS server: tinydtls's levels, events and alerts
(wire.tinydtls, aiocoap's values), the session and event records (sessions.py), the ClientHello test."""

from __future__ import annotations

from wire.dtls_records import is_client_hello
from wire.tinydtls import (
    ALERT_DECRYPT_ERROR,
    ALERT_HANDSHAKE_FAILURE,
    ALERT_INTERNAL_ERROR,
    CODE_CLOSE_NOTIFY,
    EVENT_CONNECT,
    EVENT_CONNECTED,
    EVENT_RENEGOTIATE,
    LEVEL_FATAL,
    LEVEL_NOALERT,
    LEVEL_WARNING,
    PskStore,
)

from .sessions import DtlsEvent, DtlsPeer

__all__ = [
    "ALERT_DECRYPT_ERROR", "ALERT_HANDSHAKE_FAILURE", "ALERT_INTERNAL_ERROR", "CODE_CLOSE_NOTIFY",
    "EVENT_CONNECT", "EVENT_CONNECTED", "EVENT_RENEGOTIATE", "LEVEL_FATAL", "LEVEL_NOALERT", "LEVEL_WARNING",
    "DtlsEvent", "DtlsPeer", "PskStore", "is_client_hello",
]

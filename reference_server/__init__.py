"""Reference CoAP peer for the BG96 conformance suite: records every datagram, answers as scripted.

Public API: `ReferenceServer`, the scripting actions and `Rule`, the capture records and
`write_pcap`. See server.py for the loop, script.py for actions, validate.py for the rules.
"""

from .attribution import ModuleSources, Rebinding
from .capture import coap, rx, tx
from .sessions import DtlsEvent
from .pcap import PcapWriter, write_pcap
from .records import CoapView, Datagram, DtlsRecord
from .script import (
    ACK,
    CON,
    NON,
    RST,
    Duplicate,
    EmptyAck,
    Piggyback,
    Raw,
    Reset,
    Rule,
    SeparateResponse,
    Silence,
    SiteAnswer,
)
from .server import ReferenceServer
from .validate import violations

__all__ = [
    "ACK", "CON", "NON", "RST",
    "CoapView", "Datagram", "DtlsEvent", "DtlsRecord", "ModuleSources", "Rebinding",
    "Duplicate", "EmptyAck", "Piggyback", "Raw", "Reset", "Rule", "SeparateResponse",
    "Silence", "SiteAnswer",
    "PcapWriter", "ReferenceServer", "coap", "rx", "tx", "violations", "write_pcap",
]

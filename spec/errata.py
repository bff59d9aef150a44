"""Inconsistencies in the document, and how the suite reads each one (listed in the report, not failed)."""
from __future__ import annotations

from .model import Erratum

ERRATA: tuple[Erratum, ...] = (
    Erratum(
        "ERRATUM-COAPACK", "5.1 and 5.2, examples",
        "+COAPACK: 0,1,1234,0",
        "The URC is +QCOAPACK (3.4.2); the suite expects +QCOAPACK.",
        ("URC-ACK-FORMAT",),
    ),
    Erratum(
        "ERRATUM-QCOAPRCV", "5.1, example",
        "+QCOAPRCV: 0,1234,4.04,6,D204D52E814B,0,9",
        "The URC is +QCOAPRECV (3.4.1, and the same line in 5.2); the suite expects +QCOAPRECV.",
        ("URC-RECV-FORMAT",),
    ),
    Erratum(
        "ERRATUM-PDPCTXID", "5.2, example",
        'AT+QCOAPCFG="pdpctxid",0,1',
        'The keyword is "pdpcid" (3.3.1 and 5.1); the suite sends "pdpcid" and records what the '
        'module answers to "pdpctxid" (an observation, no requirement): ERROR, or OK with the '
        'same effect as "pdpcid" (the value reads back).',
        ("CFG-PDPCID-WRITE",),
    ),
    Erratum(
        "ERRATUM-OPTION-NO-INDEX", "5.1, example",
        'AT+QCOAPOPTION=0,0,11,"19"',
        "The write form has <opt_index> before <opt_number> (3.3.5, and the same line in 5.2: "
        'AT+QCOAPOPTION=0,0,0,11,"19"); the suite sends the index.',
        ("OPT-WRITE-ADD",),
    ),
    Erratum(
        "ERRATUM-BITMASK-4", "3.3.6, <opt_bitmask>",
        "4 / 00000100: Add the option of option index 3 (and 5 / 00000101: index 0 and 3)",
        "Bit 2 is set, and by the rule the rest of the table follows (bit i selects index i, "
        "e.g. 253 = 11111101 selects 0 and 2-7), these rows select index 2; the suite checks index 2.",
        ("SEND-BITMASK",),
    ),
    Erratum(
        "ERRATUM-TABLE3-COUNT", "3.3.6, Table 3",
        "Table 3 lists 26 code values (5 method/empty, 5 success, 10 client error, 6 server error)",
        "The suite walks every row of the table as printed: 26 codes, not the 30 sometimes quoted.",
        ("SEND-CODE",),
    ),
    Erratum(
        "ERRATUM-DTLS-DEFAULT", "3.3.1, <DTLS_enable>",
        "No default is marked for <DTLS_enable> or <DTLS_contextID> (the underline is lost)",
        "The suite expects DTLS disabled on a fresh client (the examples enable it explicitly) "
        "and records the context ID it reads as an observation. The query form prints "
        "<DTLS_enable>[,<DTLS_contextID>]: with DTLS disabled both \"dtls\",0 and \"dtls\",0,<ctx> conform.",
        ("CFG-DTLS-DEFAULT",),
    ),
    Erratum(
        "ERRATUM-SEND-MRT", "3.3.6, Maximum Response Time",
        "300 ms for AT+QCOAPSEND",
        "Measured from the end of the payload (Ctrl+Z or the last counted byte) to OK, "
        "and from the command line to the '>' prompt; not the CON acknowledgement, which "
        "+QCOAPACK reports later.",
        ("SEND-MRT",),
    ),
    Erratum(
        "ERRATUM-PSK-KEY", "5.2, example PSK file",
        "864508030012428&313233343446473839",
        "<PSK key> is read as hex (313233343446473839 = the bytes '12344FG89'); "
        "the suite uploads keys hex-encoded.",
        ("DTLS-PSK-FILE",),
    ),
    Erratum(
        "ERRATUM-QFUPL-CHECKSUM", "5.2, example AT+QFUPL",
        "+QFUPL: 34,2802 for the content 864508030012428&313233343446473839",
        "The 16-bit XOR checksum of the FILE manual over that content is 322e, not 2802 (the "
        "example's content or its number was edited); the suite checks the checksum the module "
        "prints against the one computed from the bytes it uploaded.",
        ("DTLS-PSK-FILE", "EX-5.2"),
    ),
    Erratum(
        "ERRATUM-CLIENTID-SPELLING", "3.3.6, write command response",
        "+QCOAPACK: <cliendID>,<type>,<msgID>,<result>",
        "<cliendID> is <clientID>.",
        ("URC-ACK-FORMAT",),
    ),
    Erratum(
        "ERRATUM-TKL-4-BIT", "3.3.4, <TKL>",
        "<TKL> 4-bit unsigned integer ... Range: 0-8",
        "The 4-bit field is the header's TKL on the wire (RFC 7252 3); on the AT line <TKL> is decimal "
        "text 0-8 (9-15 are reserved on the wire and answer ERROR here). The suite types decimal and "
        "checks the low nibble of the first header byte.",
        ("HDR-RANGES", "HDR-TOKEN-GIVEN"),
    ),
    Erratum(
        "ERRATUM-MSGID-BYTE-ORDER", "3.3.4, 3.3.6, 3.4.1-3.4.3, <msgID>",
        "<msgID> 16-bit unsigned integer in network byte order",
        "Byte order is a property of the two bytes on the wire (RFC 7252 3: big-endian); the AT "
        "interface carries <msgID> as decimal text, which has no byte order. The suite types and reads "
        "decimal, and checks the wire bytes big-endian (1234 -> 04 D2).",
        ("HDR-MSGID-WIRE", "URC-ACK-FORMAT", "URC-RECV-FORMAT", "URC-IND-FORMAT"),
    ),
)
ERRATA_BY_ID = {e.id: e for e in ERRATA}

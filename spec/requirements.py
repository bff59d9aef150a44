"""A stable id for each checkable statement of the document (and of RFC 7252 where it defers).

Tests name the ids they check with ``@pytest.mark.req(...)``; the report's traceability matrix
lists every id here with the tests that check it, and shows an id no test checks as uncovered.
"""
from __future__ import annotations

from .model import Requirement
from .tables import CODES, OPTIONS, RESULT_CODES
from .verdicts import verdict_of

#: Where the document is silent, and why (the only observation-class requirements; README lists them).
SILENT: dict[str, str] = {
    "SYNTAX-UNDOCUMENTED-FORMS": "Table 1 names read and execution forms, but 3.3 does not define them for "
                                 "these commands: what they answer is not said.",
    "CFG-DTLS-DEFAULT": "No default is underlined for <DTLS_enable> or <DTLS_contextID> (ERRATUM-DTLS-DEFAULT).",
    "OPEN-READ-EMPTY": "The read response line is bracketed (optional); whether idle clients are listed is not said.",
    "CLOSE-NOT-OPEN": "3.3.3 gives no result for closing a client that is not open.",
    "HDR-MSGID-NEXT": "3.3.4 does not say which message ID a second SEND without a new HEADER uses.",
    "HDR-TOKEN-OMITTED": "3.3.4 says <TKL> and <token> are only valid when <mode>=0, but not what a mode 0 "
                         "line without them, or a mode 1 line with them, does.",
    "SEND-NOT-OPEN": "3.3.6 gives no result for a SEND on a client that is not open (-3 is plausible, not stated).",
    "URC-RECV-SERVER-REQUEST": "3.4.1 describes responses only; what a server-initiated request gives is not said.",
    "URC-ACK-RST": "3.4.2 gives no <result> for a CON answered by RST.",
}


def _r(id: str, section: str, text: str, judged_by: str = "") -> Requirement:
    """A requirement whose verdict class follows from spec.verdicts' rule (never chosen by hand)."""
    reason = SILENT.get(id, "")
    return Requirement(id, section, text, verdict_of(section, reason), reason, judged_by)

_BASE: tuple[Requirement, ...] = (
    # 3.1 syntax
    _r("SYNTAX-PREFIX", "3.1.2", "Command lines start with AT or at and end with <CR>."),
    _r("SYNTAX-FRAMING", "3.1.2",
       "Information responses and result codes start and end with <CR><LF>."),
    _r("SYNTAX-UNDOCUMENTED-FORMS", "3.1.2",
       "Forms of Table 1 a command does not define (read/execution) are answered."),
    # 3.3.1 AT+QCOAPCFG
    _r("CFG-TEST", "3.3.1", "AT+QCOAPCFG=? lists the three forms with their ranges."),
    _r("CFG-CLIENTID-RANGE", "3.3.1", "<clientID> range 0-5."),
    _r("CFG-PDPCID-QUERY", "3.3.1",
                'AT+QCOAPCFG="pdpcid",<clientID> answers +QCOAPCFG: "pdpcid",<PDP_cid>.'),
    _r("CFG-PDPCID-WRITE", "3.3.1", '"pdpcid" write answers OK and the value reads back.'),
    _r("CFG-PDPCID-RANGE", "3.3.1", "<PDP_cid> range 1-16; outside answers ERROR."),
    _r("CFG-PDPCID-DEFAULT", "3.3.1", "<PDP_cid> default 1."),
    _r("CFG-DTLS-QUERY", "3.3.1",
                'AT+QCOAPCFG="dtls",<clientID> answers +QCOAPCFG: "dtls",<DTLS_enable>[,<ctx>].'),
    _r("CFG-DTLS-WRITE", "3.3.1", '"dtls" write answers OK and the value reads back.'),
    _r("CFG-DTLS-RANGE", "3.3.1",
       "<DTLS_enable> 0 or 1, <DTLS_contextID> 0-5; outside answers ERROR."),
    _r("CFG-DTLS-DEFAULT", "3.3.1", "DTLS is disabled on a fresh client."),
    _r("CFG-TRANS-QUERY", "3.3.1",
                'AT+QCOAPCFG="trans",<clientID> answers +QCOAPCFG: "trans",<timeout>,<retry_count>.'),
    _r("CFG-TRANS-WRITE", "3.3.1", '"trans" write answers OK and the values read back.'),
    _r("CFG-TRANS-RANGE", "3.3.1",
       "<timeout> 2-60 s, <retry_count> 4-8; outside answers ERROR."),
    _r("CFG-TRANS-DEFAULT", "3.3.1", "<timeout> default 2, <retry_count> default 5."),
    _r("CFG-TRANS-BOTH", "3.3.1",
       "<timeout> and <retry_count> are given together ([,<timeout>,<retry_count>])."),
    _r("CFG-MALFORMED", "3.3.1",
       "A missing, empty, non-numeric or extra parameter, or an unknown keyword, answers ERROR."),
    _r("CFG-IMMEDIATE", "3.3.1", "The commands take effect immediately."),
    _r("SYNTAX-OPTIONAL-PREVIOUS", "3.1.1",
       "An optional parameter not given keeps its previous value (e.g. <DTLS_contextID> of \"dtls\",<id>,1).",
       "the read back after a write that omits the parameter shows the previous value"),
    _r("CFG-PDPCID-EFFECT", "3.3.1", "The CoAP client uses its <PDP_cid> for the next AT+QCOAPOPEN.",
       "OPEN reports -4 on a configured context that is not active, 0 once it is activated"),
    _r("CFG-DTLS-CONTEXT", "3.3.1 NOTE",
       "<DTLS_contextID> 0-5 selects the PSK file <DTLS_contextID>_server.psk the handshake uses.",
       "for each context 0-5, the handshake succeeds only with the key of that context's file"),
    _r("CFG-NOT-SAVED", "3.3.1", "The configurations are not saved (defaults after restart)."),
    _r("CFG-MRT", "3.3.1", "Maximum Response Time 300 ms."),
    # 3.3.2 AT+QCOAPOPEN
    _r("OPEN-TEST", "3.3.2", "AT+QCOAPOPEN=? lists the ranges of <clientID> and <port>."),
    _r("OPEN-READ", "3.3.2",
       "AT+QCOAPOPEN? lists +QCOAPOPEN: <clientID>,<CoAP_server>,<port>,<status> per client."),
    _r("OPEN-READ-EMPTY", "3.3.2", "AT+QCOAPOPEN? with no client open prints no line, only OK."),
    _r("OPEN-STATUS", "3.3.2", "<status> 3 once connected, 0 once closed."),
    _r("OPEN-WRITE", "3.3.2", "AT+QCOAPOPEN answers OK, then +QCOAPOPEN: <clientID>,<result>."),
    _r("OPEN-PORT-RANGE", "3.3.2", "<port> range 1-65535; outside answers ERROR."),
    _r("OPEN-CLIENTID-RANGE", "3.3.2", "<clientID> range 0-5; outside answers ERROR."),
    _r("OPEN-SERVER-LENGTH", "3.3.2", "<CoAP_server> at most 255 bytes."),
    _r("OPEN-SERVER-NAME", "3.3.2", "<CoAP_server> may be an IP address or a domain name.",
       "OPEN by a name that resolves to the reference server reports 0 and a message reaches it"),
    _r("OPEN-MRT", "3.3.2", "Maximum Response Time 75 s."),
    # 3.3.3 AT+QCOAPCLOSE
    _r("CLOSE-TEST", "3.3.3", "AT+QCOAPCLOSE=? lists the range of <clientID>."),
    _r("CLOSE-WRITE", "3.3.3", "AT+QCOAPCLOSE answers OK, then +QCOAPCLOSE: <clientID>,<result>."),
    _r("CLOSE-CLIENTID-RANGE", "3.3.3", "<clientID> range 0-5; outside answers ERROR."),
    _r("CLOSE-NOT-OPEN", "3.3.3", "What AT+QCOAPCLOSE does on a client that is not open."),
    _r("CLOSE-MRT", "3.3.3", "Maximum Response Time 75 s."),
    # 3.3.4 AT+QCOAPHEADER
    _r("HDR-TEST", "3.3.4", "AT+QCOAPHEADER=? lists its ranges."),
    _r("HDR-RANGES", "3.3.4",
       "<clientID> 0-5, <msgID> 0-65535, <mode> 0/1, <TKL> 0-8; outside answers ERROR."),
    _r("HDR-MSGID-WIRE", "3.3.4", "<msgID> goes on the wire in network byte order."),
    _r("HDR-TOKEN-GIVEN", "3.3.4", "<mode> 0 sends <TKL> and <token> as given."),
    _r("HDR-TOKEN-AUTO", "3.3.4", "<mode> 1 generates the token value."),
    _r("HDR-TOKEN-MISMATCH", "3.3.4",
       "<TKL> is the length of <token>: a line where they differ answers ERROR and the header in force "
       "is unchanged on the wire.",
       "the ERROR, and the next message on the wire still carries the previous TKL and token"),
    _r("HDR-TOKEN-OMITTED", "3.3.4", "What a mode 0 line without <TKL>,<token> or a mode 1 line with them does.",
       "the answer is recorded; if accepted, the header on the wire is well-formed (TKL = token length)"),
    _r("HDR-MSGID-NEXT", "3.3.4", "The message ID of a second message without a new header."),
    _r("HDR-MRT", "3.3.4", "Maximum Response Time 300 ms."),
    # 3.3.5 AT+QCOAPOPTION
    _r("OPT-TEST", "3.3.5", "AT+QCOAPOPTION=? lists its ranges."),
    _r("OPT-RANGES", "3.3.5", "<clientID> 0-5, <mode> 0/1, <opt_index> 0-7; outside answers ERROR."),
    _r("OPT-WRITE-ADD", "3.3.5", "<mode> 0 adds the option at <opt_index>."),
    _r("OPT-WRITE-REMOVE", "3.3.5", "<mode> 1 removes the option at <opt_index>."),
    _r("OPT-NUMBERS", "3.3.5", "<opt_number> is one of the options of Table 2 (a closed list): others "
       "answer ERROR and never reach the wire.",
       "ERROR for each number outside Table 2, and a SEND selecting that index carries no such option"),
    _r("OPT-LENGTH", "3.3.5", "<opt_value> length within the bounds of Table 2."),
    _r("OPT-ENCODING", "3.3.5",
       "Option values go on the wire in the format of Table 2 (uint minimal, string, opaque, empty)."),
    _r("OPT-WIRE-ORDER", "RFC 7252 3.1",
       "Options go on the wire in order of option number, whatever the index.",
       "the option numbers of the captured datagram ascend whatever the indexes"),
    _r("OPT-REPEATED-ORDER", "RFC 7252 5.4.5",
       "Repeated options keep their order (here: index order)."),
    _r("OPT-EXTENDED", "RFC 7252 3.1", "Option delta/length use the 13 and 14 extended forms.",
       "the captured option header bytes use delta/length nibbles 13 and 14 where the values need them"),
    _r("OPT-MRT", "3.3.5", "Maximum Response Time 300 ms."),
    # 3.3.6 AT+QCOAPSEND
    _r("SEND-TEST", "3.3.6", "AT+QCOAPSEND=? lists its ranges.",
       "the AT+QCOAPSEND=? lines equal the document's, text for text"),
    _r("SEND-RANGES", "3.3.6",
       "<clientID> 0-5, <type> 0-3, <opt_bitmask> 0-255, <payload_length> 0-1024."),
    _r("SEND-CODE-VALUE", "3.3.6", "<code_value> is one of Table 3 (a closed list): others answer ERROR "
       "and nothing reaches the wire.", "ERROR for each value outside Table 3 and no datagram at the server"),
    _r("SEND-ACK-ORDER", "3.3.6", "AT+QCOAPSEND answers OK, then +QCOAPACK (OK precedes the URC).",
       "in the raw transcript, the OK of AT+QCOAPSEND precedes its +QCOAPACK"),
    _r("SEND-PROMPT", "3.3.6", "The write command answers '>' and takes the data."),
    _r("SEND-CTRLZ", "3.3.6", "Ctrl+Z sends the data."),
    _r("SEND-ESC", "3.3.6", "Esc cancels the operation: nothing is sent."),
    _r("SEND-LENGTH", "3.3.6", "With <payload_length>, that many bytes are sent."),
    _r("SEND-MAX-PAYLOAD", "3.3.6", "At most 1024 bytes of payload."),
    _r("SEND-TYPE", "3.3.6", "<type> sets the message type on the wire."),
    _r("SEND-CODE", "3.3.6", "<code_value> sets the code on the wire (c.dd = value)."),
    _r("SEND-BITMASK", "3.3.6", "Bit i of <opt_bitmask> adds the option of index i."),
    _r("SEND-PAYLOAD-MARKER", "RFC 7252 3", "The payload marker only precedes a non-empty payload."),
    _r("SEND-HEADER-VERSION", "RFC 7252 3", "Version 1 and the configured TKL in the header."),
    _r("SEND-NOT-OPEN", "3.3.6", "AT+QCOAPSEND on a client that is not open."),
    _r("SEND-MRT", "3.3.6", "Maximum Response Time 300 ms."),
    # 3.4 URCs
    _r("URC-RECV-FORMAT", "3.4.1",
       "+QCOAPRECV: <clientID>,<msgID>,<code>,<TKL>,<token>,<opt_count>[,...],<payload_length>"
       "<CR><LF><payload>."),
    _r("URC-RECV-CODE", "3.4.1", "<code> is printed as c.dd."),
    _r("URC-RECV-OPTIONS", "3.4.1", "Incoming options are reported with their count, numbers and values."),
    _r("URC-RECV-PAYLOAD", "3.4.1", "The payload is reported whole, by its length."),
    _r("URC-RECV-DEDUP", "RFC 7252 4.5", "A duplicate message is reported once."),
    _r("URC-RECV-SERVER-REQUEST", "3.4.1",
       "What the module reports and answers for a server-initiated request."),
    _r("URC-RECV-SEPARATE-ACK", "RFC 7252 5.2.2",
       "A separate CON response is acknowledged by the client."),
    _r("URC-ACK-FORMAT", "3.4.2", "+QCOAPACK: <clientID>,<type>,<msgID>,<result>."),
    _r("URC-ACK-CON", "3.4.2", "For a CON, +QCOAPACK says whether the server acknowledged it."),
    _r("URC-ACK-SENT", "3.4.2", "For NON, ACK and RST, +QCOAPACK says whether it was sent."),
    _r("URC-ACK-RST", "3.4.2", "What +QCOAPACK reports for a CON answered by RST."),
    _r("URC-ACK-ONCE", "3.4.2",
       "One +QCOAPACK per CON, whatever the network lost, duplicated or delayed."),
    _r("URC-IND-FORMAT", "3.4.3", "+QCOAPIND: <clientID>,<type>,<msgID>,<retry_times>,<result>."),
    _r("URC-IND-RESULT", "3.4.3",
       "<result> of +QCOAPIND is a code of Table 4; a retransmission that was sent reports 0.",
       "each +QCOAPIND <result> is 0 for a copy the server received"),
    _r("URC-IND-COUNT", "3.4.3",
       "One +QCOAPIND per retransmission, <retry_times> counting up to <retry_count>."),
    # RFC 7252 reliability
    _r("RFC-RETRANSMIT-COUNT", "RFC 7252 4.2",
       "An unacknowledged CON is retransmitted <retry_count> times with the same message ID."),
    _r("RFC-RETRANSMIT-TIMING", "RFC 7252 4.2",
       "The first retransmission after [T, 1.5 T], each next interval doubling."),
    _r("RFC-RETRANSMIT-STOP", "RFC 7252 4.2", "An ACK stops the retransmission."),
    _r("RFC-RST-STOPS", "RFC 7252 4.2", "An RST stops the retransmission.",
       "no copy reaches the server during the next retransmission window after the RST"),
    _r("RFC-SEPARATE-BEFORE-ACK", "RFC 7252 5.2.2",
       "A separate response that arrives before the empty ACK completes the exchange."),
    _r("RESTART-CLOSES-CLIENTS", "3.3.1",
       "After a restart no client is open and an exchange in flight is never reported."),
    _r("RFC-RETRANSMIT-GIVEUP", "3.4.2",
       "After the last retransmission goes unanswered, +QCOAPACK reports failure (-11)."),
    # DTLS
    _r("DTLS-PSK-FILE", "3.3.1 NOTE",
       "The PSK file <DTLS_contextID>_server.psk holds <PSK identifier>&<PSK key>."),
    _r("DTLS-HANDSHAKE", "3.3.1 NOTE", "With DTLS enabled the client establishes a DTLS session.",
       "OPEN reports 0 after a ClientHello, and the server decrypts the module's application data"),
    _r("DTLS-NO-PLAINTEXT", "3.3.1 NOTE", "With DTLS enabled, no plaintext CoAP on the wire.",
       "no decrypted CoAP message appears in clear in any captured datagram"),
    _r("DTLS-FAILURE", "4", "A failed handshake gives <result> -9.",
       "OPEN with a wrong key in the PSK file reports -9"),
    _r("DTLS-CLOSE-NOTIFY", "RFC 7252 9.1",
       "Closing a DTLS session sends a close_notify alert (RFC 6347, RFC 5246 7.2.1)."),
    _r("DTLS-QSSLCFG", "5.2",
                'AT+QSSLCFG="dtls" and "dtlsversion" of the context are honoured by a DTLS client.'),
    _r("DTLS-HANDSHAKE-RETRANSMIT", "RFC 7252 9.1",
       "A lost handshake flight is retransmitted (RFC 6347 4.2.4)."),
    # Examples
    _r("EX-5.1", "5.1", "CoAP client operation without DTLS, as the example."),
    _r("EX-5.2", "5.2", "CoAP client operation with DTLS, as the example."),
)


def _derived() -> tuple[Requirement, ...]:
    """One id per row of Tables 2, 3 and 4, so each row shows in the traceability matrix."""
    rows: list[Requirement] = []
    for o in OPTIONS:
        rows.append(Requirement(
            f"T2-{o.number}", "3.3.5 Table 2",
            f"Option {o.number} {o.name}: {o.format.value}, {o.min_length}-{o.max_length} bytes."))
    for c in CODES:
        rows.append(Requirement(f"T3-{c.text}", "3.3.6 Table 3", f"Code value {c.value} is {c.text} {c.meaning}."))
    for r in RESULT_CODES:
        rows.append(Requirement(f"T4-{r.code}", "4 Table 4", f"<result> {r.code}: {r.meaning}."))
    return tuple(rows)


REQUIREMENTS: tuple[Requirement, ...] = _BASE + _derived()
REQUIREMENTS_BY_ID: dict[str, Requirement] = {r.id: r for r in REQUIREMENTS}
assert len(REQUIREMENTS_BY_ID) == len(REQUIREMENTS), "duplicate requirement id"

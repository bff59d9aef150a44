"""A stable id for each checkable statement of the document (and of RFC 7252 where it defers).

Tests name the ids they check with ``@pytest.mark.req(...)``; the report's traceability matrix
lists every id here with the tests that check it, and shows an id no test checks as uncovered.
"""
from __future__ import annotations

from .model import Requirement, Verdict
from .tables import CODES, OPTIONS, RESULT_CODES

C, RFC, OBS = Verdict.CONFORMANCE, Verdict.RFC7252, Verdict.OBSERVATION

_BASE: tuple[Requirement, ...] = (
    # 3.1 syntax
    Requirement("SYNTAX-PREFIX", "3.1.2", "Command lines start with AT or at and end with <CR>."),
    Requirement("SYNTAX-FRAMING", "3.1.2",
                "Information responses and result codes start and end with <CR><LF>."),
    Requirement("SYNTAX-UNDOCUMENTED-FORMS", "3.1.2",
                "Forms of Table 1 a command does not define (read/execution) are answered.", OBS),
    # 3.3.1 AT+QCOAPCFG
    Requirement("CFG-TEST", "3.3.1", "AT+QCOAPCFG=? lists the three forms with their ranges."),
    Requirement("CFG-CLIENTID-RANGE", "3.3.1", "<clientID> range 0-5."),
    Requirement("CFG-PDPCID-QUERY", "3.3.1",
                'AT+QCOAPCFG="pdpcid",<clientID> answers +QCOAPCFG: "pdpcid",<PDP_cid>.'),
    Requirement("CFG-PDPCID-WRITE", "3.3.1", '"pdpcid" write answers OK and the value reads back.'),
    Requirement("CFG-PDPCID-RANGE", "3.3.1", "<PDP_cid> range 1-16; outside answers ERROR."),
    Requirement("CFG-PDPCID-DEFAULT", "3.3.1", "<PDP_cid> default 1."),
    Requirement("CFG-DTLS-QUERY", "3.3.1",
                'AT+QCOAPCFG="dtls",<clientID> answers +QCOAPCFG: "dtls",<DTLS_enable>[,<ctx>].'),
    Requirement("CFG-DTLS-WRITE", "3.3.1", '"dtls" write answers OK and the value reads back.'),
    Requirement("CFG-DTLS-RANGE", "3.3.1",
                "<DTLS_enable> 0 or 1, <DTLS_contextID> 0-5; outside answers ERROR."),
    Requirement("CFG-DTLS-DEFAULT", "3.3.1", "DTLS is disabled on a fresh client.", OBS),
    Requirement("CFG-TRANS-QUERY", "3.3.1",
                'AT+QCOAPCFG="trans",<clientID> answers +QCOAPCFG: "trans",<timeout>,<retry_count>.'),
    Requirement("CFG-TRANS-WRITE", "3.3.1", '"trans" write answers OK and the values read back.'),
    Requirement("CFG-TRANS-RANGE", "3.3.1",
                "<timeout> 2-60 s, <retry_count> 4-8; outside answers ERROR."),
    Requirement("CFG-TRANS-DEFAULT", "3.3.1", "<timeout> default 2, <retry_count> default 5."),
    Requirement("CFG-TRANS-BOTH", "3.3.1",
                "<timeout> and <retry_count> are given together ([,<timeout>,<retry_count>])."),
    Requirement("CFG-MALFORMED", "3.3.1",
                "A missing, empty, non-numeric or extra parameter, or an unknown keyword, answers ERROR."),
    Requirement("CFG-IMMEDIATE", "3.3.1", "The commands take effect immediately."),
    Requirement("CFG-NOT-SAVED", "3.3.1", "The configurations are not saved (defaults after restart)."),
    Requirement("CFG-MRT", "3.3.1", "Maximum Response Time 300 ms."),
    # 3.3.2 AT+QCOAPOPEN
    Requirement("OPEN-TEST", "3.3.2", "AT+QCOAPOPEN=? lists the ranges of <clientID> and <port>."),
    Requirement("OPEN-READ", "3.3.2",
                "AT+QCOAPOPEN? lists +QCOAPOPEN: <clientID>,<CoAP_server>,<port>,<status> per client."),
    Requirement("OPEN-READ-EMPTY", "3.3.2", "AT+QCOAPOPEN? with no client open prints no line, only OK.",
                OBS),
    Requirement("OPEN-STATUS", "3.3.2", "<status> 3 once connected, 0 once closed."),
    Requirement("OPEN-WRITE", "3.3.2", "AT+QCOAPOPEN answers OK, then +QCOAPOPEN: <clientID>,<result>."),
    Requirement("OPEN-PORT-RANGE", "3.3.2", "<port> range 1-65535; outside answers ERROR."),
    Requirement("OPEN-CLIENTID-RANGE", "3.3.2", "<clientID> range 0-5; outside answers ERROR."),
    Requirement("OPEN-SERVER-LENGTH", "3.3.2", "<CoAP_server> at most 255 bytes."),
    Requirement("OPEN-SERVER-NAME", "3.3.2", "<CoAP_server> may be an IP address or a domain name."),
    Requirement("OPEN-MRT", "3.3.2", "Maximum Response Time 75 s."),
    # 3.3.3 AT+QCOAPCLOSE
    Requirement("CLOSE-TEST", "3.3.3", "AT+QCOAPCLOSE=? lists the range of <clientID>."),
    Requirement("CLOSE-WRITE", "3.3.3", "AT+QCOAPCLOSE answers OK, then +QCOAPCLOSE: <clientID>,<result>."),
    Requirement("CLOSE-CLIENTID-RANGE", "3.3.3", "<clientID> range 0-5; outside answers ERROR."),
    Requirement("CLOSE-NOT-OPEN", "3.3.3", "What AT+QCOAPCLOSE does on a client that is not open.", OBS),
    Requirement("CLOSE-MRT", "3.3.3", "Maximum Response Time 75 s."),
    # 3.3.4 AT+QCOAPHEADER
    Requirement("HDR-TEST", "3.3.4", "AT+QCOAPHEADER=? lists its ranges."),
    Requirement("HDR-RANGES", "3.3.4",
                "<clientID> 0-5, <msgID> 0-65535, <mode> 0/1, <TKL> 0-8; outside answers ERROR."),
    Requirement("HDR-MSGID-WIRE", "3.3.4", "<msgID> goes on the wire in network byte order."),
    Requirement("HDR-TOKEN-GIVEN", "3.3.4", "<mode> 0 sends <TKL> and <token> as given."),
    Requirement("HDR-TOKEN-AUTO", "3.3.4", "<mode> 1 generates the token value."),
    Requirement("HDR-TOKEN-MISMATCH", "3.3.4", "A <token> whose length is not <TKL> bytes is rejected.",
                OBS),
    Requirement("HDR-MSGID-NEXT", "3.3.4", "The message ID of a second message without a new header.",
                OBS),
    Requirement("HDR-MRT", "3.3.4", "Maximum Response Time 300 ms."),
    # 3.3.5 AT+QCOAPOPTION
    Requirement("OPT-TEST", "3.3.5", "AT+QCOAPOPTION=? lists its ranges."),
    Requirement("OPT-RANGES", "3.3.5", "<clientID> 0-5, <mode> 0/1, <opt_index> 0-7; outside answers ERROR."),
    Requirement("OPT-WRITE-ADD", "3.3.5", "<mode> 0 adds the option at <opt_index>."),
    Requirement("OPT-WRITE-REMOVE", "3.3.5", "<mode> 1 removes the option at <opt_index>."),
    Requirement("OPT-NUMBERS", "3.3.5", "<opt_number> is one of the options of Table 2."),
    Requirement("OPT-LENGTH", "3.3.5", "<opt_value> length within the bounds of Table 2."),
    Requirement("OPT-ENCODING", "3.3.5",
                "Option values go on the wire in the format of Table 2 (uint minimal, string, opaque, empty)."),
    Requirement("OPT-WIRE-ORDER", "RFC 7252 3.1",
                "Options go on the wire in order of option number, whatever the index.", RFC),
    Requirement("OPT-REPEATED-ORDER", "RFC 7252 5.4.5",
                "Repeated options keep their order (here: index order).", RFC),
    Requirement("OPT-EXTENDED", "RFC 7252 3.1", "Option delta/length use the 13 and 14 extended forms.",
                RFC),
    Requirement("OPT-MRT", "3.3.5", "Maximum Response Time 300 ms."),
    # 3.3.6 AT+QCOAPSEND
    Requirement("SEND-TEST", "3.3.6", "AT+QCOAPSEND=? lists its ranges."),
    Requirement("SEND-RANGES", "3.3.6",
                "<clientID> 0-5, <type> 0-3, <opt_bitmask> 0-255, <payload_length> 0-1024."),
    Requirement("SEND-CODE-VALUE", "3.3.6", "<code_value> is one of Table 3; others are rejected.", OBS),
    Requirement("SEND-PROMPT", "3.3.6", "The write command answers '>' and takes the data."),
    Requirement("SEND-CTRLZ", "3.3.6", "Ctrl+Z sends the data."),
    Requirement("SEND-ESC", "3.3.6", "Esc cancels the operation: nothing is sent."),
    Requirement("SEND-LENGTH", "3.3.6", "With <payload_length>, that many bytes are sent."),
    Requirement("SEND-MAX-PAYLOAD", "3.3.6", "At most 1024 bytes of payload."),
    Requirement("SEND-TYPE", "3.3.6", "<type> sets the message type on the wire."),
    Requirement("SEND-CODE", "3.3.6", "<code_value> sets the code on the wire (c.dd = value)."),
    Requirement("SEND-BITMASK", "3.3.6", "Bit i of <opt_bitmask> adds the option of index i."),
    Requirement("SEND-PAYLOAD-MARKER", "RFC 7252 3", "The payload marker only precedes a non-empty payload.",
                RFC),
    Requirement("SEND-HEADER-VERSION", "RFC 7252 3", "Version 1 and the configured TKL in the header.", RFC),
    Requirement("SEND-NOT-OPEN", "3.3.6", "AT+QCOAPSEND on a client that is not open.", OBS),
    Requirement("SEND-MRT", "3.3.6", "Maximum Response Time 300 ms."),
    # 3.4 URCs
    Requirement("URC-RECV-FORMAT", "3.4.1",
                "+QCOAPRECV: <clientID>,<msgID>,<code>,<TKL>,<token>,<opt_count>[,...],<payload_length>"
                "<CR><LF><payload>."),
    Requirement("URC-RECV-CODE", "3.4.1", "<code> is printed as c.dd."),
    Requirement("URC-RECV-OPTIONS", "3.4.1", "Incoming options are reported with their count, numbers and values."),
    Requirement("URC-RECV-PAYLOAD", "3.4.1", "The payload is reported whole, by its length."),
    Requirement("URC-RECV-DEDUP", "RFC 7252 4.5", "A duplicate message is reported once.", RFC),
    Requirement("URC-RECV-SERVER-REQUEST", "3.4.1",
                "What the module reports and answers for a server-initiated request.", OBS),
    Requirement("URC-RECV-SEPARATE-ACK", "RFC 7252 5.2.2",
                "A separate CON response is acknowledged by the client.", RFC),
    Requirement("URC-ACK-FORMAT", "3.4.2", "+QCOAPACK: <clientID>,<type>,<msgID>,<result>."),
    Requirement("URC-ACK-CON", "3.4.2", "For a CON, +QCOAPACK says whether the server acknowledged it."),
    Requirement("URC-ACK-SENT", "3.4.2", "For NON, ACK and RST, +QCOAPACK says whether it was sent."),
    Requirement("URC-ACK-RST", "3.4.2", "What +QCOAPACK reports for a CON answered by RST.", OBS),
    Requirement("URC-ACK-ONCE", "3.4.2",
                "One +QCOAPACK per CON, whatever the network lost, duplicated or delayed."),
    Requirement("URC-IND-FORMAT", "3.4.3", "+QCOAPIND: <clientID>,<type>,<msgID>,<retry_times>,<result>."),
    Requirement("URC-IND-COUNT", "3.4.3",
                "One +QCOAPIND per retransmission, <retry_times> counting up to <retry_count>."),
    # RFC 7252 reliability
    Requirement("RFC-RETRANSMIT-COUNT", "RFC 7252 4.2",
                "An unacknowledged CON is retransmitted <retry_count> times with the same message ID.", RFC),
    Requirement("RFC-RETRANSMIT-TIMING", "RFC 7252 4.2",
                "The first retransmission after [T, 1.5 T], each next interval doubling.", RFC),
    Requirement("RFC-RETRANSMIT-STOP", "RFC 7252 4.2", "An ACK stops the retransmission.", RFC),
    Requirement("RFC-SEPARATE-BEFORE-ACK", "RFC 7252 5.2.2",
                "A separate response that arrives before the empty ACK completes the exchange.", RFC),
    Requirement("RESTART-CLOSES-CLIENTS", "3.3.1",
                "After a restart no client is open and an exchange in flight is never reported."),
    Requirement("RFC-RETRANSMIT-GIVEUP", "3.4.2",
                "After the last retransmission goes unanswered, +QCOAPACK reports failure (-11)."),
    # DTLS
    Requirement("DTLS-PSK-FILE", "3.3.1 NOTE",
                "The PSK file <DTLS_contextID>_server.psk holds <PSK identifier>&<PSK key>."),
    Requirement("DTLS-HANDSHAKE", "3.3.1 NOTE", "With DTLS enabled the client establishes a DTLS session."),
    Requirement("DTLS-NO-PLAINTEXT", "3.3.1 NOTE", "With DTLS enabled, no plaintext CoAP on the wire."),
    Requirement("DTLS-FAILURE", "4", "A failed handshake gives <result> -9."),
    Requirement("DTLS-CLOSE-NOTIFY", "RFC 7252 9.1",
                "Closing a DTLS session sends a close_notify alert (RFC 6347, RFC 5246 7.2.1).", RFC),
    Requirement("DTLS-QSSLCFG", "5.2",
                'AT+QSSLCFG="dtls" and "dtlsversion" of the context are honoured by a DTLS client.'),
    Requirement("DTLS-HANDSHAKE-RETRANSMIT", "RFC 7252 9.1",
                "A lost handshake flight is retransmitted (RFC 6347 4.2.4).", RFC),
    # Examples
    Requirement("EX-5.1", "5.1", "CoAP client operation without DTLS, as the example."),
    Requirement("EX-5.2", "5.2", "CoAP client operation with DTLS, as the example."),
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

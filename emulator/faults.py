"""Registry of deliberate deviations the emulator can inject, so the suites can prove they catch them."""
from __future__ import annotations

from dataclasses import dataclass, field

#: name -> what the faulty firmware does. Each name is a small explicit hook in its code path.
FAULTS: dict[str, str] = {
    "mid-little-endian": "message ID bytes swapped on the wire",
    "drop-token": "token omitted on the wire (TKL 0)",
    "options-index-order": "options written in index order, not sorted by number (deltas wrap mod 65536)",
    "uint-not-minimal": "uint option values padded to their maximum length",
    "empty-payload-marker": "0xFF payload marker sent even with an empty payload",
    "constant-retransmit-interval": "retransmission interval does not double",
    "one-retransmission-too-many": "retry_count + 1 retransmissions",
    "one-retransmission-too-few": "retry_count - 1 retransmissions",
    "no-qcoapind": "no +QCOAPIND before retransmissions",
    "recv-code-as-number": "+QCOAPRECV prints the code as an integer instead of c.dd",
    "recv-length-off-by-one": "+QCOAPRECV announces payload length + 1",
    "wrong-default-trans": "default timeout is 3 s (fresh \"trans\" query reports 3,5)",
    "accept-timeout-61": "\"trans\" accepts timeout 61",
    "settings-survive-restart": "CoAP settings survive AT+CFUN=1,1",
    "dtls-plaintext": "DTLS handshake done, then messages go out as plain UDP",
    "no-auto-token": "header mode 1 gives an empty token",
    "ack-wrong-msgid": "+QCOAPACK reports msgID + 1",
    "first-retransmit-early": "first retransmission after T/2",
    "test-response-typo": "AT+QCOAPCLOSE=? answers (0-6)",
    "no-dedup": "a duplicate message from the server is reported again",
    "ack-on-send": "+QCOAPACK for a CON reports 0 once it is sent, before any ACK (and never -11)",
    "ctrl-z-cuts-counted-payload": "a 0x1A byte ends a payload given with <payload_length>",
    "recv-option-quoting": "+QCOAPRECV prints every option value as quoted raw text (opaque, uint too)",
    "echo-stuck-on": "ATE0 answers OK but echo stays on",
    "esc-sends-anyway": "Esc at the '>' prompt sends the typed payload and answers OK",
    "close-no-close-notify": "AT+QCOAPCLOSE ends a DTLS session without a close_notify alert",
    "mode1-ignores-msgid": "AT+QCOAPHEADER mode 1 ignores <msgID>; the running message ID goes out",
    "bitmask-bit7-ignored": "<opt_bitmask> bit 7 (option index 7) is ignored",
    "repeated-options-reversed": "repeated options go out in reverse index order",
    "no-ack-for-separate-response": "a CON separate response from the server is never ACKed",
    "status-connecting-when-open": "AT+QCOAPOPEN? reports <status> 2 for a connected client",
    "dns-error-as-socket-error": "an unresolvable <CoAP_server> reports -7 instead of -5",
    "open-twice-accepted": "AT+QCOAPOPEN of an open client reports 0 instead of -10",
    "option-length-unchecked": "AT+QCOAPOPTION accepts a value one byte longer than Table 2 allows",
    "send-slow-ok": "AT+QCOAPSEND answers OK 400 ms after the data (maximum 300 ms)",
    "payload-1024-rejected": "<payload_length> 1024 answers ERROR (top of 0-1024 off by one)",
    "recv-tkl-hex-digits": "+QCOAPRECV reports <TKL> as the number of hex digits of the token",
    "garbage-output": "a line of binary noise before every final result code",
    "urc-flood": "while a client is open, a bogus +QCOAPRECV every millisecond",
    "go-silent": "from the first AT+QCOAPSEND on, the module never writes another byte (a hang)",
    "out-of-memory": "AT+QCOAPOPEN reports -8 (out of memory) instead of opening",
    "hang-then-reboot": "the first AT+CSQ gets no answer: silent for 300 s (scaled), then a watchdog "
                        "reset (RDY, APP RDY)",
    # issue 16: a deviation per requirement, on the AT port, on the wire, in a URC, in the downlink
    "get-sent-as-post": "<code_value> 1 (GET) goes on the wire as 0.02 (POST)",
    "msgid-off-by-one": "the message ID of a non-empty message on the wire is <msgID> + 1 (the URCs report <msgID>)",
    "ack-sent-as-rst": "<type> 2 (Acknowledgement) goes on the wire as type 3 (Reset)",
    "send-twice": "every NON goes on the wire twice",
    "retransmit-new-msgid": "each retransmission carries the message ID + k instead of the original's",
    "retransmit-new-token": "each retransmission carries a different last token byte",
    "dtls-context-ignored": "<DTLS_contextID> is ignored: the handshake always uses 0_server.psk",
    "pdpcid-ignored": "<PDP_cid> is ignored: OPEN always uses PDP context 1",
    "recv-code-detail-off-by-one": "+QCOAPRECV reports the response code's detail + 1 (4.04 as 4.05)",
    "recv-msgid-swapped": "+QCOAPRECV reports the message ID byte-swapped",
    "recv-payload-truncated": "+QCOAPRECV reports the payload without its last byte (length to match)",
    "option-value-truncated": "string option values lose their last byte on the wire",
    "code-outside-table3-accepted": "AT+QCOAPSEND accepts any <code_value> 0-255 and sends it",
    "option-number-outside-table2-accepted": "AT+QCOAPOPTION accepts any option number as opaque, sent as given",
    "open-urc-before-ok": "AT+QCOAPOPEN prints +QCOAPOPEN before its OK",
    "ind-result-wrong": "+QCOAPIND reports <result> -11 for a retransmission that was sent",
    "rst-keeps-retransmitting": "an RST is reported in +QCOAPACK but the CON is still retransmitted",
    "dtls-omitted-ctx-reset": "\"dtls\",<id>,<enable> without <DTLS_contextID> resets the context to 0",
    "tkl-mismatch-accepted": "AT+QCOAPHEADER accepts a <token> whose length is not <TKL>",
    "dns-always-fails": "every <CoAP_server> that is not an IP address reports -5",
    "urc-bare-lf": "+QCOAPOPEN and +QCOAPCLOSE are framed with a bare LF instead of CR LF",
}


class UnknownFault(ValueError):
    """Raised for a fault name that is not in the registry (a usage error)."""


@dataclass(frozen=True)
class Faults:
    """The set of faults active in this process; asking for an unregistered name is a bug."""

    names: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_names(cls, names: list[str] | tuple[str, ...]) -> "Faults":
        unknown = [n for n in names if n not in FAULTS]
        if unknown:
            raise UnknownFault(", ".join(unknown))
        return cls(frozenset(names))

    def on(self, name: str) -> bool:
        if name not in FAULTS:
            raise KeyError(f"fault {name!r} is not registered")
        return name in self.names

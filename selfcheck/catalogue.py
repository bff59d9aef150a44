"""Which suite tests each emulator fault concerns: the selection data the self-check runs.

A fault is run only against the tests that look at what it breaks, so the whole self-check stays
fast; the clean emulator runs each selection once, and a test only counts as catching a fault if
it passed there. Names of selections are stable: they name the clean runs and the output files.
"""
from __future__ import annotations

from dataclasses import dataclass, field

#: the DTLS variants of the transport-parametrized suites repeat the UDP checks: leave them out
#: where a fault has nothing to do with DTLS (the selection stays correct if no variant exists)
UDP = "not dtls"


@dataclass(frozen=True)
class Selection:
    """A narrow pytest selection: files (or node ids), an optional -k or -m expression, options."""

    paths: tuple[str, ...]
    keyword: str = ""
    marker: str = ""
    options: tuple[str, ...] = ()
    #: rough wall time of a run in seconds (longest runs are started first)
    estimate: float = 3.0

    def args(self) -> list[str]:
        out = list(self.paths)
        if self.keyword:
            out.append(f"-k={self.keyword}")
        if self.marker:
            out.append(f"-m={self.marker}")
        return out + list(self.options)


def _k(*parts: str) -> str:
    return " and ".join(f"({p})" for p in parts if p)


def suite(file: str, keyword: str = "", udp_only: bool = True, **kw: object) -> Selection:
    return Selection((f"suites/{file}",), _k(keyword, UDP if udp_only else ""), **kw)  # type: ignore[arg-type]


SELECTIONS: dict[str, Selection] = {
    "test-forms": suite("test_command_forms.py", "test_command_response", udp_only=False),
    "framing": suite("test_response_framing.py", udp_only=False),
    "cfg-defaults": suite("test_qcoapcfg.py", "documented_default or take_effect_immediately",
                          udp_only=False),
    "cfg-trans-bounds": suite("test_qcoapcfg.py", "write_bounds and trans", udp_only=False),
    "cfg-not-saved": suite("test_qcoapcfg.py", "not_saved", udp_only=False),
    "open-close": suite("test_qcoapopen_close.py"),
    "option-lengths": suite("test_qcoapheader_option.py", "option_value_length_bounds", udp_only=False),
    "msgid-wire": suite("test_uplink_header.py", "network_byte_order"),
    "token-given": suite("test_uplink_header.py", "token_mode0_exact_bytes"),
    "token-auto": suite("test_uplink_header.py", "token_mode1_generated"),
    "example-5.1": suite("test_example_5_1.py"),
    "option-encoding": suite("test_uplink_options.py", "encoding_at_table2_bounds"),
    "option-order": suite("test_uplink_options.py", "number_order or repeated_options"),
    "bitmask": suite("test_uplink_options.py", "bitmask"),
    "payload-length": suite("test_uplink_payload.py", "payload_with_length"),
    "payload-esc": suite("test_uplink_payload.py", "esc_cancels"),
    "send-mrt": suite("test_uplink_payload.py", "prompt_and_ok_within_maximum_response_time"),
    "qcoapack": suite("test_qcoapack.py"),
    "retransmission": suite("test_retransmission.py", "trans-2s-4x or trans-default", estimate=6.0),
    "first-retransmission": suite("test_retransmission.py", "first_retransmission"),
    "recv-code": suite("test_downlink_recv.py", "c_dd"),
    "recv-options": suite("test_downlink_recv.py", "incoming_options"),
    "recv-payload": suite("test_downlink_recv.py", "payload_reported_whole"),
    "recv-dedup": suite("test_downlink_recv.py", "duplicate"),
    "recv-separate": suite("test_downlink_recv.py", "separate_con_response"),
    # a hung module: each test ends at its overall time limit instead of the 75 s OPEN maximum
    "silent": suite("test_uplink_header.py", "network_byte_order and (1234 or 65535)",
                    options=("--test-timeout=5",), estimate=25.0),
    "dtls-session": suite("test_dtls_session.py", "no_plaintext or close_notify", udp_only=False),
    # issue 16
    "message-type": suite("test_uplink_header.py", "message_type_on_the_wire"),
    "dtls-context": suite("test_client_context.py", "dtls_context", udp_only=False, estimate=5.0),
    "client-context": suite("test_client_context.py", "pdpcid or domain_name"),
    "code-outside-table3": suite("test_qcoapsend.py", "outside_table3"),
    "option-numbers": suite("test_qcoapheader_option.py", "outside_table2"),
    "token-mismatch": suite("test_qcoapheader_option.py", "token_length_mismatch"),
    "urc-order": suite("test_framing_every_form.py", "ok_before", udp_only=False),
    "framing-every-form": suite("test_framing_every_form.py", "every_line_framed", udp_only=False),
    "cfg-optional": suite("test_qcoapcfg.py", "omitted", udp_only=False),
}

#: Faults that model an event for the harness rather than something the document forbids (a hang
#: on a command no suite sends, then a watchdog reset). The harness test named here starts the
#: emulator with the fault itself and passes when the harness turns it into one failed test and
#: a recovered module; the self-check runs it and counts the fault caught when it passes.
HARNESS_SELECTIONS: dict[str, Selection] = {
    "hang-then-reboot": Selection(("tests/test_recovery.py",), "stops_answering", estimate=15.0),
}

#: fault -> the selection whose tests must catch it (every fault of emulator.faults.FAULTS)
FAULT_SELECTION: dict[str, str] = {
    "mid-little-endian": "msgid-wire",
    "drop-token": "token-given",
    "options-index-order": "option-order",
    "uint-not-minimal": "option-encoding",
    "empty-payload-marker": "payload-length",
    "constant-retransmit-interval": "retransmission",
    "one-retransmission-too-many": "retransmission",
    "one-retransmission-too-few": "retransmission",
    "no-qcoapind": "retransmission",
    "recv-code-as-number": "recv-code",
    "recv-length-off-by-one": "recv-payload",
    "wrong-default-trans": "cfg-defaults",
    "accept-timeout-61": "cfg-trans-bounds",
    "settings-survive-restart": "cfg-not-saved",
    "dtls-plaintext": "dtls-session",
    "no-auto-token": "token-auto",
    "ack-wrong-msgid": "qcoapack",
    "first-retransmit-early": "first-retransmission",
    "test-response-typo": "test-forms",
    "no-dedup": "recv-dedup",
    "out-of-memory": "open-close",
    "ack-on-send": "qcoapack",
    "ctrl-z-cuts-counted-payload": "payload-length",
    "recv-option-quoting": "recv-options",
    "echo-stuck-on": "framing",
    "esc-sends-anyway": "payload-esc",
    "close-no-close-notify": "dtls-session",
    "mode1-ignores-msgid": "example-5.1",
    "bitmask-bit7-ignored": "bitmask",
    "repeated-options-reversed": "option-order",
    "no-ack-for-separate-response": "recv-separate",
    "status-connecting-when-open": "open-close",
    "dns-error-as-socket-error": "open-close",
    "open-twice-accepted": "open-close",
    "option-length-unchecked": "option-lengths",
    "send-slow-ok": "send-mrt",
    "payload-1024-rejected": "payload-length",
    "recv-tkl-hex-digits": "recv-code",
    "garbage-output": "test-forms",
    "urc-flood": "recv-code",
    "go-silent": "silent",
    # issue 16: a deviation per requirement, on the AT port, on the wire, in a URC, in the downlink
    "get-sent-as-post": "token-given",
    "msgid-off-by-one": "msgid-wire",
    "ack-sent-as-rst": "message-type",
    "send-twice": "token-given",
    "retransmit-new-msgid": "retransmission",
    "retransmit-new-token": "retransmission",
    "dtls-context-ignored": "dtls-context",
    "pdpcid-ignored": "client-context",
    "recv-code-detail-off-by-one": "recv-code",
    "recv-msgid-swapped": "recv-code",
    "recv-payload-truncated": "recv-payload",
    "option-value-truncated": "example-5.1",
    "code-outside-table3-accepted": "code-outside-table3",
    "option-number-outside-table2-accepted": "option-numbers",
    "open-urc-before-ok": "urc-order",
    "ind-result-wrong": "retransmission",
    "rst-keeps-retransmitting": "qcoapack",
    "dtls-omitted-ctx-reset": "cfg-optional",
    "tkl-mismatch-accepted": "token-mismatch",
    "dns-always-fails": "client-context",
    "urc-bare-lf": "framing-every-form",
}


@dataclass(frozen=True)
class Check:
    """One fault and the selection that must catch it (harness: a harness test that must pass)."""

    fault: str
    description: str
    selection_name: str
    selection: Selection = field(compare=False)
    harness: bool = False


def checks(faults: dict[str, str], only: list[str] | None = None) -> list[Check]:
    """The checks for ``faults`` (name -> description); KeyError names a fault with no selection."""
    names = only or list(faults)
    out = []
    for name in names:
        if name not in faults:
            raise KeyError(f"{name!r} is not a fault of the emulator")
        if name in HARNESS_SELECTIONS:
            out.append(Check(name, faults[name], f"harness:{name}", HARNESS_SELECTIONS[name], harness=True))
            continue
        if name not in FAULT_SELECTION:
            raise KeyError(f"fault {name!r} has no selection in selfcheck/catalogue.py")
        sel = FAULT_SELECTION[name]
        out.append(Check(name, faults[name], sel, SELECTIONS[sel]))
    return out

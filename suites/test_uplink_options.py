"""What AT+QCOAPOPTION and <opt_bitmask> put on the wire: Table 2 formats, order, extended forms."""
from __future__ import annotations

import pytest

from dut import BG96
from fixtures.coap import send_and_capture
from evidence import Evidence
from reference_server import ReferenceServer
from reference_server.script import build
from spec import BITMASK_ROWS, OPTIONS, OptionDef, OptionFormat, bitmask_indexes

NON, GET = 1, 1
TOKEN = "C0DE"


def at_value_and_wire(option: OptionDef, length: int) -> tuple[int | str | bytes, bytes]:
    """The value to give AT+QCOAPOPTION for a wire value of ``length`` bytes, and those bytes."""
    if option.format is OptionFormat.UINT:
        value = (1 << (8 * length)) - 1  # all ones: minimal encoding is exactly `length` bytes
        return value, value.to_bytes(length, "big")
    if option.format is OptionFormat.OPAQUE:
        data = bytes(0x10 + i for i in range(length))
        return data, data
    if option.format is OptionFormat.EMPTY:
        return "", b""
    text = ("abcdefghij" * 110)[:length]
    return text, text.encode()


def reference_datagram(mid: int, options: list[tuple[int, bytes]], payload: bytes = b"") -> bytes:
    """The datagram aiocoap encodes for a NON GET with these options (the codec of reference)."""
    return build(NON, GET, mid, bytes.fromhex(TOKEN), options, payload)


def _length_cases() -> list[object]:
    cases = []
    for o in OPTIONS:
        for length in sorted({o.min_length, o.max_length}):
            cases.append(pytest.param(o, length, id=f"{o.number}-{o.name}-{length}-bytes",
                                      marks=pytest.mark.req(f"T2-{o.number}")))
    return cases


@pytest.mark.req("OPT-ENCODING", "OPT-WRITE-ADD", "OPT-EXTENDED")
@pytest.mark.parametrize("option, length", _length_cases())
def test_option_encoding_at_table2_bounds(module: BG96, opened: int, server: ReferenceServer,
                                          evidence: Evidence, option: OptionDef, length: int) -> None:
    """Each option of Table 2 at its minimum and maximum length, exactly encoded (uint minimal)."""
    value, wire_value = at_value_and_wire(option, length)
    assert module.header(opened, 600, 0, 2, TOKEN).ok
    assert module.option(opened, 0, option.number, value).ok
    _, d = send_and_capture(module, server, opened, NON, GET, 1, evidence=evidence)
    assert d.message is not None
    assert d.message.options == [(option.number, wire_value)]
    assert d.plaintext == reference_datagram(600, [(option.number, wire_value)])


@pytest.mark.req("OPT-EXTENDED", "T2-35")
def test_proxy_uri_1034_bytes_uses_both_extended_forms(module: BG96, opened: int, server: ReferenceServer,
                                                       evidence: Evidence) -> None:
    """Proxy-Uri (35) of 1034 bytes: delta 13+22 (one extra byte), length 269+765 (two)."""
    value = ("p" * 1034)
    assert module.header(opened, 601, 0, 2, TOKEN).ok
    assert module.option(opened, 0, 35, value).ok
    _, d = send_and_capture(module, server, opened, NON, GET, 1, evidence=evidence)
    option_start = 4 + 2
    assert d.plaintext[option_start:option_start + 4] == bytes([0xDE, 35 - 13]) + (1034 - 269).to_bytes(2, "big")
    assert d.plaintext[option_start + 4:] == value.encode()


@pytest.mark.req("OPT-WIRE-ORDER")
def test_options_go_out_in_number_order_whatever_the_index(module: BG96, opened: int, server: ReferenceServer,
                                                           evidence: Evidence) -> None:
    configured = [(0, 15, "q=1"), (1, 11, "path"), (2, 12, 50), (3, 3, "host.example")]
    assert module.header(opened, 602, 0, 2, TOKEN).ok
    for index, number, value in configured:
        assert module.option(opened, index, number, value).ok
    _, d = send_and_capture(module, server, opened, NON, GET, 0x0F, evidence=evidence)
    assert d.message is not None
    assert [n for n, _ in d.message.options] == [3, 11, 12, 15]


@pytest.mark.req("OPT-REPEATED-ORDER")
@pytest.mark.td("TD_COAP_CORE_13", "TD_COAP_CORE_14")
@pytest.mark.parametrize("number", [11, 15], ids=["Uri-Path", "Uri-Query"])
def test_repeated_options_keep_index_order(module: BG96, opened: int, server: ReferenceServer,
                                           evidence: Evidence, number: int) -> None:
    """Three of the same option, configured out of order, go out in index order."""
    assert module.header(opened, 603, 0, 2, TOKEN).ok
    for index, value in ((2, "third"), (0, "first"), (1, "second")):
        assert module.option(opened, index, number, value).ok
    _, d = send_and_capture(module, server, opened, NON, GET, 0b111, evidence=evidence)
    assert d.message is not None
    assert d.message.options == [(number, b"first"), (number, b"second"), (number, b"third")]


@pytest.mark.req("OPT-WRITE-REMOVE")
def test_removed_option_is_not_sent(module: BG96, opened: int, server: ReferenceServer, evidence: Evidence) -> None:
    assert module.header(opened, 604, 0, 2, TOKEN).ok
    assert module.option(opened, 0, 11, "kept").ok
    assert module.option(opened, 1, 15, "removed").ok
    assert module.remove_option(opened, 1).ok
    _, d = send_and_capture(module, server, opened, NON, GET, 0b11, evidence=evidence)
    assert d.message is not None and d.message.options == [(11, b"kept")]


def _bitmask_cases() -> list[object]:
    values = [0, *(1 << i for i in range(8)), 255, *(row[0] for row in BITMASK_ROWS)]
    return [pytest.param(v, id=f"bitmask-{v}-{v:08b}") for v in dict.fromkeys(values)]


@pytest.mark.req("SEND-BITMASK")
@pytest.mark.parametrize("bitmask", _bitmask_cases())
def test_bitmask_selects_exactly_its_indexes(module: BG96, opened: int, server: ReferenceServer,
                                             evidence: Evidence, bitmask: int) -> None:
    """With all eight indexes filled, bit i adds index i and nothing else (row 4: see errata)."""
    assert module.header(opened, 605, 0, 2, TOKEN).ok
    for index in range(8):
        assert module.option(opened, index, 15, f"i{index}").ok
    _, d = send_and_capture(module, server, opened, NON, GET, bitmask, evidence=evidence)
    assert d.message is not None
    assert d.message.options == [(15, f"i{i}".encode()) for i in bitmask_indexes(bitmask)]

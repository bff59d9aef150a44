"""3.3.4 AT+QCOAPHEADER and 3.3.5 AT+QCOAPOPTION: every bound, malformed lines (syntax only;
what they put on the wire is checked in test_uplink_*)."""
from __future__ import annotations

import pytest

from dut import BG96
from evidence import Evidence
from fixtures.coap import send_and_capture
from fixtures.server import UDP
from reference_server import ReferenceServer
from spec import OPTIONS, OPTIONS_BY_NUMBER, QCOAPHEADER, QCOAPOPTION, OptionDef, OptionFormat
from spec.commands import CLIENT_ID, HEADER_MODE, MSG_ID, OPT_INDEX, OPTION_MODE, TKL

from .cases import bound_params

NON, GET = 1, 1


def token_hex(length: int) -> str:
    return "".join(f"{0xA0 + i:02X}" for i in range(max(length, 0)))


def header_line(client: int = 0, mid: int = 1234, mode: int = 0, tkl: int = 2) -> str:
    return f'AT+QCOAPHEADER={client},{mid},{mode},{tkl},"{token_hex(tkl)}"'


def _header_cases() -> list[object]:
    return [*bound_params(CLIENT_ID, lambda v: header_line(client=v)),
            *bound_params(MSG_ID, lambda v: header_line(mid=v)),
            *bound_params(HEADER_MODE, lambda v: header_line(mode=v)),
            *bound_params(TKL, lambda v: header_line(tkl=v))]


@pytest.mark.req("HDR-RANGES")
@pytest.mark.parametrize("line, accepted", _header_cases())
@pytest.mark.profile("smoke", cases=["msgID-65536-rejected"])
def test_header_bounds(module: BG96, client: int, line: str, accepted: bool) -> None:
    response = module.command(line)
    assert response.ok if accepted else response.rejected, f"{line}: {response.text!r}"


def _malformed(requirement: str, lines: dict[str, str]) -> list[object]:
    return [pytest.param(line, id=name, marks=pytest.mark.req(requirement)) for name, line in lines.items()]


MALFORMED = [
    *_malformed("HDR-RANGES", {
        "missing-mode": "AT+QCOAPHEADER=0,1234",
        "empty-msgID": "AT+QCOAPHEADER=0,,1",
        "nonnumeric-msgID": "AT+QCOAPHEADER=0,abc,1",
        "non-hex-token": 'AT+QCOAPHEADER=0,1234,0,2,"ZZZZ"',
        "extra-parameter": 'AT+QCOAPHEADER=0,1234,0,2,"A0A1",1'}),
    *_malformed("OPT-WRITE-ADD", {
        "add-without-number-and-value": "AT+QCOAPOPTION=0,0,0",
        "add-without-value": "AT+QCOAPOPTION=0,0,0,11",
        "nonnumeric-number": 'AT+QCOAPOPTION=0,0,0,abc,"x"',
        "nonnumeric-uint-value": "AT+QCOAPOPTION=0,0,0,12,abc",
        "non-hex-opaque-value": 'AT+QCOAPOPTION=0,0,0,4,"XYZ1"'}),
]


@pytest.mark.parametrize("line", MALFORMED)
def test_malformed_line_rejected(module: BG96, client: int, line: str) -> None:
    """A missing, empty, non-numeric, non-hex or extra parameter of AT+QCOAPHEADER/AT+QCOAPOPTION: ERROR."""
    response = module.command(line)
    assert response.rejected, f"{line}: {response.text!r}, expected ERROR"


@pytest.mark.req("HDR-TOKEN-MISMATCH")
@pytest.mark.parametrize("transport", [UDP], indirect=True)  # the AT line, not the transport
@pytest.mark.parametrize("token", ["A0", "A0A1A2", "A", ""], ids=["shorter", "longer", "odd-digit", "empty"])
def test_header_token_length_mismatch(module: BG96, opened: int, server: ReferenceServer, evidence: Evidence,
                                      token: str, transport: str) -> None:
    """<TKL> is the length of <token>: <TKL> 2 with another length answers ERROR, and the header in
    force (TKL 1, token 5B) is what the next message carries on the wire."""
    assert module.header(opened, 5700, 0, 1, "5B").ok
    line = f'AT+QCOAPHEADER={opened},5701,0,2,"{token}"'
    response = module.command(line)
    assert response.rejected, f"{line}: <TKL> 2 and a {len(token) / 2:g}-byte <token>: {response.text!r}, expected ERROR"
    _, d = send_and_capture(module, server, opened, NON, GET, evidence=evidence)
    assert d.plaintext is not None and d.plaintext[0] & 0x0F == 1 and d.plaintext[4:5] == b"\x5b", (
        f"after the rejected line the wire header is {d.plaintext[:6].hex() if d.plaintext else None}, "
        "expected TKL 1 and token 5B")


@pytest.mark.req("HDR-TOKEN-OMITTED")
@pytest.mark.parametrize("transport", [UDP], indirect=True)
@pytest.mark.parametrize("line", [
    pytest.param("AT+QCOAPHEADER={c},5800,0", id="mode0-without-token"),
    pytest.param('AT+QCOAPHEADER={c},5800,1,2,"A0A1"', id="mode1-with-token"),
])
def test_header_loose_forms(module: BG96, opened: int, server: ReferenceServer, evidence: Evidence, line: str,
                            transport: str) -> None:
    """Forms the document leaves open: the answer is recorded; if accepted, the next message on the
    wire is well-formed (TKL 0-8 and that many token bytes: send_and_capture decodes it)."""
    assert module.header(opened, 5799, 0, 1, "5C").ok
    response = module.command(line.format(c=opened))
    evidence.observe(f"HDR {line}", response.final)
    assert response.ok or response.rejected, f"{line}: neither OK nor ERROR: {response.text!r}"
    _, d = send_and_capture(module, server, opened, NON, GET, evidence=evidence)
    assert d.plaintext is not None and 0 <= d.plaintext[0] & 0x0F <= 8, "a TKL of 9-15 on the wire (reserved)"


@pytest.mark.req("HDR-MRT")
def test_header_within_maximum_response_time(module: BG96, client: int) -> None:
    response = module.command(header_line())
    assert response.ok and response.elapsed <= QCOAPHEADER.max_response_time, f"{response.elapsed * 1000:.1f} ms"


# -- AT+QCOAPOPTION ----------------------------------------------------------------------------

def option_value_text(option: OptionDef, length: int) -> str:
    """An AT parameter for ``option`` whose wire value is ``length`` bytes long."""
    if option.format is OptionFormat.UINT:
        return "0" if length == 0 else str((1 << (8 * length)) - 1)
    if option.format is OptionFormat.OPAQUE:
        return f'"{"AB" * length}"'
    if option.format is OptionFormat.EMPTY:
        return '""' if length == 0 else '"x"'
    return f'"{"s" * length}"'


def option_line(option: OptionDef, length: int, client: int = 0, index: int = 0) -> str:
    return f"AT+QCOAPOPTION={client},0,{index},{option.number},{option_value_text(option, length)}"


def _option_length_cases() -> list[object]:
    cases = []
    for o in OPTIONS:
        lengths = [(o.min_length, True), (o.max_length, True), (o.max_length + 1, False)]
        if o.min_length > 0:
            lengths.append((o.min_length - 1, False))
        for length, accepted in lengths:
            cases.append(pytest.param(
                o, length, accepted,
                id=f"{o.number}-{o.name}-{length}-bytes-{'accepted' if accepted else 'rejected'}",
                marks=pytest.mark.req("OPT-LENGTH", f"T2-{o.number}")))
    return cases


@pytest.mark.parametrize("option, length, accepted", _option_length_cases())
def test_option_value_length_bounds(module: BG96, client: int, option: OptionDef, length: int,
                                    accepted: bool) -> None:
    """Each option of Table 2 at its minimum and maximum length, and just outside them."""
    line = option_line(option, length)
    response = module.command(line, timeout=module.at.timeout_for(line) + 1.0)
    assert response.ok if accepted else response.rejected, f"{line[:80]}: {response.text!r}"


def _option_param_cases() -> list[object]:
    uri_path = next(o for o in OPTIONS if o.name == "Uri-Path")
    return [*bound_params(CLIENT_ID, lambda v: option_line(uri_path, 2, client=v)),
            *bound_params(OPT_INDEX, lambda v: option_line(uri_path, 2, index=v)),
            *bound_params(OPTION_MODE, lambda v: f"AT+QCOAPOPTION=0,{v},0" if v == 1 else f'AT+QCOAPOPTION=0,{v},0,11,"ab"')]


@pytest.mark.req("OPT-RANGES")
@pytest.mark.parametrize("line, accepted", _option_param_cases())
@pytest.mark.profile("smoke", cases=["opt_index-8-rejected"])
def test_option_bounds(module: BG96, client: int, line: str, accepted: bool) -> None:
    response = module.command(line)
    try:
        assert response.ok if accepted else response.rejected, f"{line}: {response.text!r}"
    finally:
        for c in range(1, 6):  # an accepted write to another client is undone
            if f"AT+QCOAPOPTION={c}," in line and accepted:
                module.remove_option(c, 0)


@pytest.mark.req("OPT-WRITE-REMOVE")
def test_option_remove_form(module: BG96, client: int) -> None:
    """Mode 1 takes <opt_index> alone; removing a set option and an empty index both answer OK."""
    assert module.option(client, 3, 11, "temp").ok
    assert module.remove_option(client, 3).ok
    assert module.remove_option(client, 3).ok


@pytest.mark.req("OPT-NUMBERS")
@pytest.mark.parametrize("transport", [UDP], indirect=True)  # the AT line, not the transport
@pytest.mark.parametrize("number", [0, 2, 6, 9, 23, 61, 258])
def test_option_number_outside_table2(module: BG96, opened: int, server: ReferenceServer, evidence: Evidence,
                                      number: int, transport: str) -> None:
    """Table 2 is a closed list (Observe 6, Block2 23... are not in it): ERROR, the slot keeps its
    option, and a SEND selecting the slot carries no option outside Table 2."""
    assert number not in OPTIONS_BY_NUMBER
    assert module.option(opened, 0, 11, "kept").ok
    response = module.command(f'AT+QCOAPOPTION={opened},0,0,{number},"01"')
    evidence.observe(f"OPT-NUMBER-{number}", response.final)
    assert response.rejected, f"<opt_number> {number} is not in Table 2: answered {response.text!r}, expected ERROR"
    assert module.header(opened, 5600 + number, 0, 1, "56").ok
    _, d = send_and_capture(module, server, opened, NON, GET, 1, evidence=evidence)
    assert d.message is not None
    outside = [n for n, _ in d.message.options if n not in OPTIONS_BY_NUMBER]
    assert not outside, f"option number(s) {outside} outside Table 2 on the wire"
    assert d.message.options == [(11, b"kept")], "the rejected line changed option index 0"


@pytest.mark.req("OPT-MRT")
def test_option_within_maximum_response_time(module: BG96, client: int) -> None:
    response = module.command('AT+QCOAPOPTION=0,0,0,11,"19"')
    assert response.ok and response.elapsed <= QCOAPOPTION.max_response_time, f"{response.elapsed * 1000:.1f} ms"

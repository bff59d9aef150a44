"""3.3.6 AT+QCOAPSEND: every parameter at its bounds and just outside, on an open client."""
from __future__ import annotations

import pytest

from dut import BG96
from fixtures.coap import datagram_timeout, received_after
from evidence import Evidence
from fixtures.server import UDP
from reference_server import ReferenceServer
from spec import CODES_BY_VALUE
from spec.commands import CLIENT_ID, MSG_TYPE, OPT_BITMASK, PAYLOAD_LENGTH

from .cases import bound_params


def _cases() -> list[object]:
    def line_with(position: int):
        def build(value: int) -> str:
            fields = ["{client}", "1", "1", "0", "4"]
            fields[position] = str(value)
            return ",".join(fields)
        return build
    return [*bound_params(MSG_TYPE, line_with(1)), *bound_params(OPT_BITMASK, line_with(3)),
            *bound_params(PAYLOAD_LENGTH, line_with(4))]


def send_line(module: BG96, line: str):
    """Send a write line; give a payload of the announced length if the prompt comes."""
    length = int(line.split(",")[4]) if line.count(",") >= 4 else 4
    return module.at.send_data(f"AT+QCOAPSEND={line}", b"z" * max(length, 0))


@pytest.mark.req("SEND-RANGES")
@pytest.mark.parametrize("fields, accepted", _cases())
@pytest.mark.profile("smoke", cases=["udp-payload_length-1025-rejected"])
def test_send_bounds(module: BG96, opened: int, server: ReferenceServer, fields: str, accepted: bool) -> None:
    is_next = received_after(server)
    line = fields.format(client=opened)
    if line.split(",")[1] in ("2", "3"):
        module.header(opened, 800, 0, 0, "")  # ACK and RST are sent as Empty messages
        line = ",".join([*line.split(",")[:2], "0", *line.split(",")[3:]])
    response = send_line(module, line)
    if accepted:
        assert response.ok, f"AT+QCOAPSEND={line}: {response.text!r}"
        server.wait_for(is_next, datagram_timeout(module))
    else:
        assert response.rejected, f"AT+QCOAPSEND={line}: {response.text!r}"


@pytest.mark.req("SEND-RANGES")
@pytest.mark.parametrize("value, accepted", bound_params(CLIENT_ID))
def test_send_client_id_bounds(module: BG96, client: int, server: ReferenceServer, value: int,
                               accepted: bool) -> None:
    host, port = server.advertised
    if accepted:
        assert module.open(value, host, port)[1].result == 0
    try:
        response = module.at.send_data(f"AT+QCOAPSEND={value},1,1,0,4", b"abcd")
        assert response.ok if accepted else response.rejected, response.text
    finally:
        if accepted and value != client:
            module.close(value)


#: values Table 3 does not list: gaps of classes 0, 2, 4, 5, the reserved classes 1, 3, 6, 7, and
#: values no 8-bit code holds
OUTSIDE_TABLE3 = [5, 31, 32, 64, 70, 96, 127, 135, 142, 166, 192, 224, 255, 256]


@pytest.mark.req("SEND-CODE-VALUE")
@pytest.mark.parametrize("transport", [UDP], indirect=True)  # the AT line, not the transport
@pytest.mark.parametrize("code_value", OUTSIDE_TABLE3)
def test_code_value_outside_table3(module: BG96, opened: int, server: ReferenceServer, evidence: Evidence,
                                   code_value: int, transport: str) -> None:
    """Table 3 is a closed list: any other <code_value> answers ERROR, and nothing reaches the wire."""
    assert code_value not in CODES_BY_VALUE
    is_next = received_after(server)
    response = module.at.send_data(f"AT+QCOAPSEND={opened},1,{code_value},0,1", b"c")
    evidence.observe(f"SEND-CODE-{code_value}", response.final)
    assert response.rejected, f"<code_value> {code_value} is not in Table 3: answered {response.text!r}, expected ERROR"
    with pytest.raises(TimeoutError):
        stray = server.wait_for(is_next, datagram_timeout(module))
        pytest.fail(f"<code_value> {code_value} outside Table 3 reached the wire: {stray.summary()}")


@pytest.mark.req("SEND-RANGES")
@pytest.mark.parametrize("line", [
    pytest.param("AT+QCOAPSEND={c},1,1", id="missing-bitmask"),
    pytest.param("AT+QCOAPSEND={c},,1,0,1", id="empty-type"),
    pytest.param("AT+QCOAPSEND={c},x,1,0,1", id="nonnumeric-type"),
    pytest.param("AT+QCOAPSEND={c},1,1,0,1,9", id="extra-parameter"),
])
def test_send_malformed_rejected(module: BG96, opened: int, server: ReferenceServer, line: str) -> None:
    is_next = received_after(server)
    response = module.at.send_data(line.format(c=opened), b"q")
    assert response.rejected, response.text
    with pytest.raises(TimeoutError):
        server.wait_for(is_next, datagram_timeout(module))

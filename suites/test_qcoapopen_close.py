"""3.3.2 AT+QCOAPOPEN and 3.3.3 AT+QCOAPCLOSE: write forms, bounds, status, results."""
from __future__ import annotations

import pytest

from dut import BG96
from evidence import Evidence
from reference_server import ReferenceServer
from spec import QCOAPCLOSE, QCOAPOPEN, RESULT_CODES, STATUS_VALUES
from spec.commands import CLIENT_ID, COAP_SERVER, PORT

from .cases import bound_params

CONNECTED = next(k for k, v in STATUS_VALUES.items() if v == "CoAP client is connected")


def unresolvable_name(length: int) -> str:
    """A syntactically plain name of exactly ``length`` bytes under RFC 6761's ``.invalid``."""
    suffix = ".invalid"
    body = (("a" * 62 + ".") * 5)[: length - len(suffix)]
    if body.endswith("."):
        body = body[:-1] + "a"
    return body + suffix


@pytest.mark.req("OPEN-WRITE", "OPEN-STATUS", "CLOSE-WRITE", "T4-0")
def test_open_then_close(module: BG96, client: int, server: ReferenceServer) -> None:
    """OPEN answers OK then +QCOAPOPEN: <id>,0; status 3; CLOSE answers OK then +QCOAPCLOSE: <id>,0."""
    host, port = server.advertised
    response, result = module.open(client, host, port)
    assert response.ok, response.text
    assert result is not None and (result.client, result.result) == (client, 0)
    status = module.status()[client]
    assert (status.server, status.port, status.status) == (host, port, CONNECTED)
    response, result = module.close(client)
    assert response.ok, response.text
    assert result is not None and (result.client, result.result) == (client, 0)
    assert module.status().get(client) is None or module.status()[client].status == 0


@pytest.mark.req("OPEN-READ")
def test_read_lists_every_open_client(module: BG96, client: int, server: ReferenceServer) -> None:
    """AT+QCOAPOPEN? prints one line per open client with its server, port and status."""
    host, port = server.advertised
    others = [1, 5]
    try:
        for c in [client, *others]:
            assert module.open(c, host, port)[1].result == 0
        listed = module.status()
        for c in [client, *others]:
            assert (listed[c].server, listed[c].port, listed[c].status) == (host, port, CONNECTED)
    finally:
        for c in others:
            module.close(c)


@pytest.mark.req("OPEN-READ-EMPTY")
def test_read_with_no_client_open(module: BG96, client: int, evidence: Evidence) -> None:
    """With every client closed, the read form prints no line (or only idle ones): recorded."""
    response = module.command("AT+QCOAPOPEN?")
    evidence.observe("OPEN-READ-EMPTY", " | ".join(response.lines) or "(no line)")
    assert response.ok
    assert all(s.status == 0 for s in module.status().values())


@pytest.mark.req("OPEN-CLIENTID-RANGE")
@pytest.mark.parametrize("value, accepted", bound_params(CLIENT_ID))
def test_open_client_id_bounds(module: BG96, client: int, server: ReferenceServer, value: int,
                               accepted: bool) -> None:
    host, port = server.advertised
    response, result = module.open(value, host, port)
    try:
        if accepted:
            assert response.ok and result is not None and result.result == 0, response.text
        else:
            assert response.rejected, response.text
    finally:
        if accepted and value != client:
            module.close(value)


@pytest.mark.req("OPEN-PORT-RANGE")
@pytest.mark.parametrize("value, accepted", bound_params(PORT))
@pytest.mark.profile("smoke", cases=["port-65536-rejected"])
def test_open_port_bounds(module: BG96, client: int, server: ReferenceServer, value: int, accepted: bool) -> None:
    host, _ = server.advertised
    response, result = module.open(client, host, value)
    if accepted:
        assert response.ok and result is not None and result.result == 0, response.text
    else:
        assert response.rejected, response.text


@pytest.mark.req("OPEN-SERVER-LENGTH")
@pytest.mark.parametrize("length, accepted", [
    pytest.param(COAP_SERVER.max_length, True, id=f"CoAP_server-{COAP_SERVER.max_length}-bytes-accepted"),
    pytest.param(COAP_SERVER.max_length + 1, False, id=f"CoAP_server-{COAP_SERVER.max_length + 1}-bytes-rejected"),
])
def test_open_server_length(module: BG96, client: int, length: int, accepted: bool) -> None:
    """A 255-byte name is taken: OK, and, as it cannot resolve (RFC 6761 .invalid), -5 (DNS
    error), not -1 (invalid parameter); 256 bytes is ERROR."""
    name = unresolvable_name(length)
    assert len(name.encode()) == length
    response, result = module.open(client, name, 5683)
    if accepted:
        assert response.ok, response.text
        assert result is not None and result.result == -5, (
            f"a {length}-byte <CoAP_server> is within 3.3.2's maximum: expected -5 for a name that does not "
            f"resolve, got {None if result is None else result.result}")
    else:
        assert response.rejected, response.text


@pytest.mark.parametrize("line", [
    pytest.param('AT+QCOAPOPEN=0,"127.0.0.1"', id="missing-port"),
    pytest.param("AT+QCOAPOPEN=0", id="missing-server"),
    pytest.param('AT+QCOAPOPEN=0,"127.0.0.1",5683,1', id="extra-parameter"),
    pytest.param('AT+QCOAPOPEN=0,"127.0.0.1",abc', id="nonnumeric-port"),
    pytest.param('AT+QCOAPOPEN=,"127.0.0.1",5683', id="empty-clientID"),
])
@pytest.mark.req("OPEN-WRITE")
def test_open_malformed_rejected(module: BG96, client: int, line: str) -> None:
    response = module.command(line)
    assert response.rejected, response.text


@pytest.mark.req("OPEN-SERVER-NAME")
def test_open_empty_server_not_opened(module: BG96, client: int, evidence: Evidence) -> None:
    """An empty <CoAP_server> cannot open a session: ERROR, or a failing result."""
    response, result = module.open(client, "", 5683)
    evidence.observe("OPEN-EMPTY-SERVER", response.final if result is None else f"OK, result {result.result}")
    assert response.rejected or (result is not None and result.result != 0)


@pytest.mark.req("OPEN-MRT", "CLOSE-MRT")
def test_open_close_within_maximum_response_time(module: BG96, client: int, server: ReferenceServer) -> None:
    """OK and the result URC of OPEN and CLOSE arrive within 75 s each (measured)."""
    host, port = server.advertised
    response, result = module.open(client, host, port)
    assert response.ok and result is not None
    assert response.elapsed <= QCOAPOPEN.max_response_time
    response, result = module.close(client)
    assert response.ok and result is not None
    assert response.elapsed <= QCOAPCLOSE.max_response_time


@pytest.mark.req("CLOSE-CLIENTID-RANGE")
@pytest.mark.parametrize("value, accepted", bound_params(CLIENT_ID))
@pytest.mark.profile("smoke", cases=["clientID-6-rejected"])
def test_close_client_id_bounds(module: BG96, client: int, value: int, accepted: bool) -> None:
    response, result = module.close(value)
    if accepted:
        assert response.ok and result is not None, response.text
    else:
        assert response.rejected, response.text


@pytest.mark.req("CLOSE-NOT-OPEN")
def test_close_client_not_open(module: BG96, client: int, evidence: Evidence) -> None:
    """CLOSE of a closed client: the document is silent; the result is recorded. What can be
    asserted: ERROR, or OK and a +QCOAPCLOSE for that client with a code of Table 4."""
    response, result = module.close(client)
    evidence.observe("CLOSE-NOT-OPEN", response.final if result is None else f"OK, result {result.result}")
    assert response.ok or response.rejected, f"neither OK nor ERROR: {response.text!r}"
    if response.ok:
        assert result is not None and result.client == client, "OK without its +QCOAPCLOSE"
        assert result.result in {r.code for r in RESULT_CODES}, f"<result> {result.result} is not in Table 4"


@pytest.mark.req("T4--10")
def test_open_on_open_client_reports_occupied(module: BG96, client: int, server: ReferenceServer) -> None:
    """A second OPEN of an open client: +QCOAPOPEN: <id>,-10 (CoAP client identifier occupied)."""
    host, port = server.advertised
    assert module.open(client, host, port)[1].result == 0
    response, result = module.open(client, host, port)
    assert response.rejected or (result is not None and result.result == -10), response.text


@pytest.mark.req("T4--5", "OPEN-SERVER-NAME")
def test_open_unresolvable_name_reports_dns_error(module: BG96, client: int) -> None:
    """A name that cannot resolve (RFC 6761 .invalid): +QCOAPOPEN: <id>,-5."""
    response, result = module.open(client, "no-such-host.invalid", 5683)
    assert response.ok, response.text
    assert result is not None and result.result == -5

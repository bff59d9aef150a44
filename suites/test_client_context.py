"""What a client's settings select for its next session, judged by what the session does:
<PDP_cid> (3.3.1), <DTLS_contextID> and its PSK file (3.3.1 NOTE), <CoAP_server> as a name (3.3.2).

On hardware two rig keys are needed: a second PDP context the module can activate
(``network.second_pdp_cid``) and a name the module can resolve to the reference server
(``server.name``); without them the case is skipped ("this rig cannot provoke it"). The emulator
has both: context 2 and ``localhost``.
"""
from __future__ import annotations

import pytest

from dut import BG96
from evidence import Evidence
from fixtures.coap import datagram_timeout, received_after
from fixtures.dtls import PskEntry, enable_dtls, psk_file_name, remove_dtls, rig_psk, upload_psk_file
from fixtures.rig import RigConfig
from reference_server import NON, ReferenceServer
from spec import RESULT_CODES
from spec.commands import CFG_BY_KEYWORD

GET = 1
DTLS_CONTEXTS = CFG_BY_KEYWORD["dtls"].parameters[1].range  # 0-5
LOOPBACK_NAME = "localhost"


def second_pdp_cid(rig: RigConfig) -> int:
    cid = rig.second_pdp_cid
    if cid is None and rig.uses_emulator:
        cid = 2 if rig.pdp_cid != 2 else 3
    if cid is None:
        pytest.skip("this rig names no second PDP context (rig key network.second_pdp_cid)")
    return int(cid)


def one_message_arrives(module: BG96, server: ReferenceServer, client: int, mid: int) -> None:
    """A NON GET on the open client reaches the reference server."""
    is_next = received_after(server)
    assert module.header(client, mid, 0, 1, "71").ok
    assert module.send(client, NON, GET, 0).response.ok
    d = server.wait_for(is_next, datagram_timeout(module))
    assert d.message is not None and d.message.mid == mid, f"expected msgID {mid} at the server, got {d.summary()}"


@pytest.mark.req("CFG-PDPCID-EFFECT", "CFG-PDPCID-WRITE")
def test_pdpcid_selects_the_context_of_the_next_open(module: BG96, client: int, server: ReferenceServer,
                                                     rig: RigConfig, evidence: Evidence) -> None:
    """With <PDP_cid> set to a context that is not active the OPEN cannot succeed (the rig's context
    is active); once that context is activated, the same OPEN reports 0 and a message goes out."""
    cid = second_pdp_cid(rig)
    host, port = server.advertised
    module.deactivate_pdp(cid)  # ERROR when it is not active: fine
    assert module.cfg("pdpcid", client, cid).ok
    response, result = module.open(client, host, port)
    evidence.observe("CFG-PDPCID-INACTIVE", "ERROR" if result is None else result.result)
    assert response.ok and result is not None, response.text
    assert result.result != 0 and result.result in {r.code for r in RESULT_CODES}, (
        f"<PDP_cid> {cid} is not active (context {rig.pdp_cid} is): OPEN reported {result.result}; "
        "the client did not use its <PDP_cid>")
    if rig.apn:
        module.command(f'AT+QICSGP={cid},1,"{rig.apn}"')
    try:
        assert module.activate_pdp(cid).ok, f"AT+QIACT={cid}"
        response, result = module.open(client, host, port)
        assert response.ok and result is not None and result.result == 0, (
            f"OPEN on the activated context {cid}: {response.text!r}, result {result}")
        one_message_arrives(module, server, client, 7100)
    finally:
        module.close(client)
        module.deactivate_pdp(cid)


@pytest.mark.req("CFG-DTLS-CONTEXT", "DTLS-PSK-FILE", "DTLS-HANDSHAKE")
@pytest.mark.dtls
@pytest.mark.parametrize("ctx", range(DTLS_CONTEXTS.low, DTLS_CONTEXTS.high + 1), ids=lambda c: f"context-{c}")
def test_dtls_context_selects_its_psk_file(module: BG96, client: int, rig: RigConfig, evidence: Evidence,
                                           request: pytest.FixtureRequest, ctx: int) -> None:
    """The rig's key in <ctx>_server.psk and a wrong key in every other context's file: the
    handshake succeeds only if the client reads the file of its <DTLS_contextID>."""
    dtls: ReferenceServer = request.getfixturevalue("dtls_reference_server")
    right = rig_psk(rig)
    wrong = PskEntry(right.identity, right.with_wrong_key().key_hex)
    contexts = range(DTLS_CONTEXTS.low, DTLS_CONTEXTS.high + 1)
    try:
        for c in contexts:
            response, info = upload_psk_file(module, (right if c == ctx else wrong).file_content, c)
            assert response.ok and info is not None, f"AT+QFUPL of {psk_file_name(c)}: {response.text!r}"
        enable_dtls(module, client, ctx)
        assert module.cfg_values("dtls", client) == ["1", str(ctx)]
        host, port = dtls.advertised
        response, result = module.open(client, host, port)
        evidence.notes.append(f"OPEN with <DTLS_contextID> {ctx}: {response.final}, result "
                              f"{None if result is None else result.result}")
        assert response.ok and result is not None and result.result == 0, (
            f"<DTLS_contextID> {ctx}: the handshake with the key of {psk_file_name(ctx)} reported "
            f"{None if result is None else result.result} (-9: another context's file was used)")
        module.close(client)
    finally:
        for c in contexts:
            remove_dtls(module, c)


@pytest.mark.req("OPEN-SERVER-NAME", "OPEN-WRITE")
def test_open_by_domain_name(module: BG96, client: int, server: ReferenceServer, rig: RigConfig,
                             evidence: Evidence) -> None:
    """<CoAP_server> as a domain name that resolves to the reference server: OPEN reports 0 and
    a message reaches the server."""
    name = rig.server_name or (LOOPBACK_NAME if rig.uses_emulator else None)
    if not name:
        pytest.skip("this rig names no domain name of the reference server (rig key server.name)")
    host, port = server.advertised
    learn = getattr(server, "expect_module", None)
    if learn is not None:
        learn(client)  # the server learns the module's source from this OPEN (it knows no names)
    response, result = module.open(client, name, port)
    evidence.notes.append(f"OPEN {name}:{port} (the server is at {host}:{port})")
    assert response.ok and result is not None and result.result == 0, (
        f'AT+QCOAPOPEN={client},"{name}",{port}: {response.text!r}, result {result} (a name must resolve: 3.3.2)')
    one_message_arrives(module, server, client, 7200)

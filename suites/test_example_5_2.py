"""Example 5.2 of the document end to end: CoAP over DTLS-PSK, against the DTLS reference server.

Differences from the printed example, each listed in the report's errata table:
the server is the DTLS reference server (not leshan.eclipseprojects.io:5684) and the PSK is the
rig's (example 5.2's own identity and key by default);
"pdpctxid" is sent as "pdpcid" (ERRATUM-PDPCTXID); the key is uploaded hex-encoded
(ERRATUM-PSK-KEY); the +QFUPL checksum is checked against the one computed from the uploaded
bytes, not against the printed 2802 (ERRATUM-QFUPL-CHECKSUM); +COAPACK is read as +QCOAPACK
(ERRATUM-COAPACK). The PSK file is deleted before the upload (AT+QFUPL does not overwrite).
"""
from __future__ import annotations

import pytest

from dut import BG96
from fixtures.coap import datagram_timeout
from fixtures.dtls import (APPLICATION_DATA, DTLS_1_2, PSK_CONTEXT, application_records, checksum_matches,
                           cipher_suite_name, client_hellos, hello_version, negotiated_cipher_suite, plaintext_leaks,
                           psk_file_name, qfupl_checksum, record_problems, record_table, rig_psk)
from evidence import Evidence
from fixtures.rig import RigConfig
from reference_server import ReferenceServer
from wire.tinydtls import CODE_CLOSE_NOTIFY, EVENT_CONNECTED, LEVEL_NOALERT, LEVEL_WARNING

from . import examples

#: what example 5.2 prints for its own PSK file (ERRATUM-QFUPL-CHECKSUM: it is not that file's checksum)
PRINTED_QFUPL = (34, "2802")


@pytest.mark.req("EX-5.2", "DTLS-PSK-FILE", "DTLS-HANDSHAKE", "DTLS-NO-PLAINTEXT", "CFG-DTLS-WRITE",
                 "CFG-PDPCID-WRITE", "CFG-TRANS-WRITE", "OPEN-WRITE", "HDR-TOKEN-AUTO", "OPT-WRITE-ADD",
                 "SEND-BITMASK", "URC-ACK-SENT", "URC-RECV-FORMAT", "CLOSE-WRITE", "T3-4.04")
@pytest.mark.td("TD_COAP_DTLS_01")
@pytest.mark.dtls
def test_example_5_2(module: BG96, client: int, dtls_server: ReferenceServer, rig: RigConfig,
                     evidence: Evidence) -> None:
    server = dtls_server
    psk = rig_psk(rig)
    content = psk.file_content
    host, port = server.advertised
    examples.script_not_found(server)

    examples.configure(module)
    assert module.command(f'AT+QCOAPCFG="dtls",0,1,{PSK_CONTEXT}').ok
    assert module.command(f'AT+QSSLCFG="dtls",{PSK_CONTEXT},1').ok
    assert module.command(f'AT+QSSLCFG="dtlsversion",{PSK_CONTEXT},1').ok
    module.delete_file(psk_file_name())  # +CME ERROR: 405 when there is none
    response, info = module.upload(psk_file_name(), content)
    assert response.ok and info is not None, f"AT+QFUPL: {response.text!r}"
    size, checksum = info
    table = evidence.table("+QFUPL: <size>,<checksum> of the PSK file",
                           ("", "size", "checksum", "content"))
    table.rows += [("module printed", size, checksum, content.decode()),
                   ("computed from the uploaded bytes", len(content), qfupl_checksum(content), content.decode()),
                   ("document prints (example's file)", *PRINTED_QFUPL, "864508030012428&313233343446473839")]
    assert size == len(content)
    assert checksum_matches(checksum, content), f"+QFUPL checksum {checksum}, computed {qfupl_checksum(content)}"

    response, result = module.open(0, host, port)
    assert response.ok and result is not None and (result.client, result.result) == (0, 0), (
        f"AT+QCOAPOPEN to {host}:{port}: {response.text!r}, {result}")
    request = examples.exchange(module, server)
    assert [(r.content_type, r.epoch) for r in request.dtls_records] == [(APPLICATION_DATA, 1)]

    examples.close(module)
    peer = request.peer
    server.wait_dtls_event(lambda e: e.peer == peer and (e.level, e.code) == (LEVEL_WARNING, CODE_CLOSE_NOTIFY),
                           datagram_timeout(module))

    captured = server.captured()
    record_table(evidence, "DTLS records on the wire (handshake, CoAP decrypted by the server, close)", captured)
    coap = evidence.table("CoAP inside the DTLS session (decrypted by the reference server)",
                          ("dir", "record", "CoAP bytes", "message"))
    for d in application_records(captured):
        coap.rows.append((d.direction, f"{len(d.wire)} B", (d.plaintext or b"").hex(" ").upper(),
                          d.message.summary() if d.message else ""))
    suite = negotiated_cipher_suite(captured)
    evidence.observe("EX-5.2-CIPHER-SUITE", cipher_suite_name(suite))

    hellos = client_hellos(captured)
    assert hellos, "no ClientHello from the module"
    asked = {hello_version(h) for h in hellos}
    assert asked == {DTLS_1_2}, f'AT+QSSLCFG="dtlsversion",0,1 but the ClientHello asks for {asked}'
    connected = [e for e in server.dtls_events if e.peer == peer and (e.level, e.code) == (LEVEL_NOALERT, EVENT_CONNECTED)]
    assert connected, "the handshake never completed at the server"
    first_data = application_records(captured, "rx")[0]
    assert first_data is request and request.time > connected[0].time, "application data before the handshake"
    problems = [p for d in captured for p in record_problems(d)]
    assert problems == [], f"datagrams that are not DTLS 1.2 records: {problems}"
    assert plaintext_leaks(captured) == []

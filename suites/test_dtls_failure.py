"""A DTLS handshake that cannot succeed: AT+QCOAPOPEN reports -9 and no application data leaves.

Each case is provoked with AT commands only (the PSK file the module holds, its DTLS settings,
the port it dials), so it runs unchanged on hardware. The capture of the server the module
dialled shows how far the handshake went; none may hold an application_data record.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import pytest

from dut import BG96
from fixtures.dtls import (ALERT, APPLICATION_DATA, PSK_CONTEXT, PskEntry, alert_of, application_records,
                           client_hellos, enable_dtls, psk_file_name, record_names, record_table, records_of,
                           rig_psk, upload_psk_file)
from evidence import Evidence
from fixtures.rig import RigConfig
from fixtures.server import DTLS, UDP, ServerCaptures
from reference_server import ReferenceServer
from wire.tinydtls import EVENT_CONNECTED, LEVEL_NOALERT
from spec import QCOAPOPEN

DTLS_FAILURE = -9


def wrong_key(psk: PskEntry) -> bytes:
    """The rig's identity with a key of the same length, every byte different."""
    return PskEntry(psk.identity, bytes(k ^ 0x5A for k in psk.key).hex()).file_content


def unknown_identity(psk: PskEntry) -> bytes:
    return PskEntry(psk.identity + b"-unknown", psk.key_hex).file_content


@dataclass(frozen=True)
class Failure:
    """One way to make the handshake fail; ``handshake``: the module must have started one."""

    id: str
    what: str
    psk_file: Callable[[PskEntry], bytes | None]  # the PSK file's content; None: no file
    target: str = DTLS  # which reference server the module dials
    version: int = 1  # AT+QSSLCFG="dtlsversion"
    handshake: bool = True
    td: tuple[str, ...] = ()
    about_psk_file: bool = True  # the PSK file's content is what fails (DTLS-PSK-FILE)

    def param(self) -> object:
        marks = [pytest.mark.td(*self.td)] if self.td else []
        if self.about_psk_file:
            marks.append(pytest.mark.req("DTLS-PSK-FILE"))
        if self.version != 1:
            marks.append(pytest.mark.req("DTLS-QSSLCFG"))
        return pytest.param(self, id=self.id, marks=marks)


FAILURES = (
    Failure("wrong-key", "a PSK file with the right identity and a wrong key: the Finished cannot verify "
            "(the tinydtls server stays silent after the module's Finished)", wrong_key, td=("TD_COAP_DTLS_02",)),
    Failure("unknown-identity", "a PSK identity the server does not know (tinydtls answers a fatal "
            "internal_error alert)", unknown_identity, td=("TD_COAP_DTLS_03",)),
    Failure("missing-psk-file", "no <ctx>_server.psk on UFS", lambda psk: None, handshake=False),
    Failure("malformed-no-ampersand", "a PSK file without the '&' between identity and key",
            lambda psk: psk.identity + psk.key_hex.encode(), handshake=False),
    Failure("malformed-key-not-hex", "a PSK file whose key is not hex (read as text, it is a wrong key)",
            lambda psk: psk.identity + b"&" + b"not-a-hex-key!", handshake=False),
    Failure("plain-udp-port", "DTLS enabled, OPEN towards the plain-UDP reference server (nobody answers "
            "the handshake)", lambda psk: psk.file_content, target=UDP, about_psk_file=False),
    Failure("dtls-1.0-against-1.2-server", 'AT+QSSLCFG="dtlsversion",<ctx>,0 (DTLS 1.0) towards the DTLS 1.2 '
            "server", lambda psk: psk.file_content, version=0, handshake=False, about_psk_file=False),
)


@pytest.fixture
def psk_restored(module: BG96, rig: RigConfig) -> Iterator[PskEntry]:
    """The rig's PSK; afterwards its file and DTLS 1.2 are back on the context (a case changes them)."""
    psk = rig_psk(rig)
    yield psk
    upload_psk_file(module, psk.file_content)
    module.command(f'AT+QSSLCFG="dtlsversion",{PSK_CONTEXT},1')


@pytest.mark.req("DTLS-FAILURE", "T4--9", "OPEN-WRITE")
@pytest.mark.dtls
@pytest.mark.parametrize("case", [f.param() for f in FAILURES])
def test_failed_handshake_reports_9(module: BG96, client: int, server: ReferenceServer, dtls_server: ReferenceServer,
                                    captures: ServerCaptures, psk_restored: PskEntry, evidence: Evidence,
                                    case: Failure) -> None:
    """+QCOAPOPEN: <id>,-9, the client is not left open, and no application_data record on the wire."""
    target = dtls_server if case.target == DTLS else server
    content = case.psk_file(psk_restored)
    evidence.notes.append(f"provocation: {case.what}")
    if content is None:
        module.delete_file(psk_file_name())
    else:
        response, info = upload_psk_file(module, content)
        assert response.ok and info is not None, f"AT+QFUPL: {response.text!r}"
        evidence.notes.append(f"PSK file {psk_file_name()}: {content!r}")
    enable_dtls(module, client, version=case.version)
    host, port = target.advertised
    response, result = module.open(client, host, port, timeout=QCOAPOPEN.max_response_time + module.at.grace)

    captured = captures.datagrams(target)
    record_table(evidence, f"datagrams at the {case.target} reference server {host}:{port}", captured)
    kinds = sorted({name for d in captured if d.direction == "rx" for name in record_names(d)})
    evidence.observe(f"DTLS-FAILURE-{case.id}-WIRE", ", ".join(kinds) or "nothing sent")
    assert response.ok, f"AT+QCOAPOPEN: {response.text!r}"
    assert result is not None and (result.client, result.result) == (client, DTLS_FAILURE), f"result {result}"
    status = module.status().get(client)
    assert status is None or status.status == 0, f"client {client} left as {status} after -9"
    assert application_records(captured) == [], "application data on the wire without a handshake"
    if case.handshake:
        assert client_hellos(captured), "the module never started a handshake"
    if case.target == DTLS:
        assert not any((e.level, e.code) == (LEVEL_NOALERT, EVENT_CONNECTED) for e in dtls_server.dtls_events), (
            "the server completed a handshake that should fail")
    alerts = [(d.direction, alert_of(d)) for d in captured if any(r.content_type == ALERT for r in records_of(d))]
    if alerts:
        evidence.notes.append(f"alerts: {alerts}")
    if case.target == UDP:  # what reached the plain port is handshake only, never CoAP
        assert all(r.content_type != APPLICATION_DATA for d in captured for r in records_of(d))
        assert all(d.message is None for d in captured if d.direction == "rx"), "CoAP reached the plain port"

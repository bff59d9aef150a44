"""Chapter 4, Table 4: every <result> code, each provoked with what a bench has.

The provocations use AT commands, the reference server and the impairment relay only, so each
case runs unchanged on hardware. Every attempt (command, answer, reported result) goes to the
evidence table "Provocations"; where the document does not say which command reports a code,
what the module did is recorded as an observation. Codes that cannot be provoked from the AT
port on hardware are skipped there with the reason, and still checked on the emulator.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import pytest

from dut import BG96, DutStrategy, Response
from dut.urc import AckUrc, ResultUrc
from evidence import Evidence, EvidenceTable
from fixtures.dtls import prepare_dtls_client, remove_dtls, rig_psk
from fixtures.rig import RigConfig
from reference_server import CON, NON, EmptyAck, ReferenceServer, Silence
from relay import Relay
from spec import QCOAPOPEN, RESULT_CODES, STATUS_VALUES
from spec.commands import CLIENT_ID, COAP_SERVER, PORT

GET = 1
UNRESOLVABLE = "no-such-host.invalid"  # RFC 6761: never resolves
BROADCAST = "255.255.255.255"  # a socket cannot be connected to it without SO_BROADCAST
OOM_FAULT = "out-of-memory"  # the emulator's model of an exhausted module (see tests/test_recovery.py)
IDLE = next(k for k, v in STATUS_VALUES.items() if v.lower().startswith("idle"))


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# -- the bench: helpers that run a provocation and record it ----------------------------------
@dataclass
class Bench:
    """What a provocation may use, and the evidence table every attempt is written to."""

    module: BG96
    dut: DutStrategy  # takes the network away and gives it back
    client: int
    rig: RigConfig
    evidence: Evidence
    request: pytest.FixtureRequest
    table: EvidenceTable

    def fixture(self, name: str):  # noqa: ANN201 - whatever the fixture is
        return self.request.getfixturevalue(name)

    @property
    def result_timeout(self) -> float:
        return QCOAPOPEN.max_response_time + self.module.at.grace

    def record(self, provocation: str, response: Response, result: int | None) -> int | None:
        self.table.rows.append((provocation, response.command, response.final,
                                "" if result is None else str(result)))
        return result

    def open(self, provocation: str, host: str, port: int, client: int | None = None) -> int | None:
        """AT+QCOAPOPEN and its result (None when the command itself was rejected)."""
        response, urc = self.module.open(self.client if client is None else client, host, port,
                                         timeout=self.result_timeout)
        return self.record(provocation, response, None if urc is None else urc.result)

    def close(self, provocation: str, client: int | None = None) -> int | None:
        response, urc = self.module.close(self.client if client is None else client, timeout=self.result_timeout)
        return self.record(provocation, response, None if urc is None else urc.result)

    def command_result(self, provocation: str, line: str, urc_prefix: str) -> int | None:
        """A raw command line; if it answered OK, the result URC with ``urc_prefix`` that follows."""
        response = self.module.command(line)
        result = None
        if response.ok:
            urc = self.module.at.wait_urc(rf"^{re.escape(urc_prefix)} *\d+,", self.result_timeout,
                                          step=f"{line}: wait for its result")
            result = (AckUrc.parse(urc).result if urc_prefix == "+QCOAPACK:" else ResultUrc.parse(urc).result)
        return self.record(provocation, response, result)

    def send(self, provocation: str, mtype: int, code: int = GET, payload: bytes = b"",
             client: int | None = None) -> int | None:
        """AT+QCOAPSEND (payload counted) and the result of its +QCOAPACK (None if rejected)."""
        cid = self.client if client is None else client
        sent = self.module.send(cid, mtype, code, 0, payload)
        ack = self.module.wait_ack(cid) if sent.response.ok else None
        return self.record(provocation, sent.response, None if ack is None else ack.result)

    def on_hardware(self) -> bool:
        return not self.rig.uses_emulator


# -- one provocation per code --------------------------------------------------------------------
def success(b: Bench) -> None:
    """0: OPEN, a CON the server acknowledges, a NON, CLOSE: each reports 0."""
    server: ReferenceServer = b.fixture("server")
    server.on(EmptyAck(), mtype=CON)
    host, port = server.advertised
    results = {"OPEN": b.open("OPEN to the reference server", host, port)}
    assert b.module.header(b.client, 4000, 0, 1, "0A").ok
    results["SEND CON"] = b.send("CON the server acknowledges", CON)
    results["SEND NON"] = b.send("NON", NON)
    results["CLOSE"] = b.close("CLOSE of the open client")
    assert results == dict.fromkeys(results, 0), f"results: {results}"


@dataclass(frozen=True)
class Invalid:
    """One invalid parameter; ``documented``: the document bounds it (ERROR or -1 expected)."""

    what: str
    line: Callable[[int, str, int], str]  # (client, server host, server port) -> command line
    urc: str
    documented: bool
    needs_open: bool = False


INVALID: tuple[Invalid, ...] = (
    Invalid("OPEN with <port> 0", lambda c, h, p: f'AT+QCOAPOPEN={c},"{h}",{PORT.valid_values[0] - 1}',
            "+QCOAPOPEN:", True),
    Invalid(f"OPEN with <clientID> {CLIENT_ID.valid_values[-1] + 1}",
            lambda c, h, p: f'AT+QCOAPOPEN={CLIENT_ID.valid_values[-1] + 1},"{h}",{p}', "+QCOAPOPEN:", True),
    Invalid(f"OPEN with a {COAP_SERVER.max_length + 1}-byte <CoAP_server>",
            lambda c, h, p: f'AT+QCOAPOPEN={c},"{"a" * (COAP_SERVER.max_length + 1)}",{p}', "+QCOAPOPEN:", True),
    Invalid("OPEN with an empty <CoAP_server>", lambda c, h, p: f'AT+QCOAPOPEN={c},"",{p}', "+QCOAPOPEN:", False),
    Invalid("OPEN with a <CoAP_server> holding a space", lambda c, h, p: f'AT+QCOAPOPEN={c},"bad host.invalid",{p}',
            "+QCOAPOPEN:", False),
    Invalid(f"CLOSE with <clientID> {CLIENT_ID.valid_values[-1] + 1}",
            lambda c, h, p: f"AT+QCOAPCLOSE={CLIENT_ID.valid_values[-1] + 1}", "+QCOAPCLOSE:", True),
    Invalid("SEND with <type> 4", lambda c, h, p: f"AT+QCOAPSEND={c},4,{GET},0,0", "+QCOAPACK:", True, True),
    Invalid("SEND with <code_value> 6 (not in Table 3)", lambda c, h, p: f"AT+QCOAPSEND={c},{NON},6,0,0",
            "+QCOAPACK:", False, True),
)


def invalid_parameter(b: Bench) -> None:
    """-1: the document gives no command that reports it; each invalid parameter's answer is recorded.

    A parameter out of a range the document gives must be refused: ERROR, or OK followed by
    -1. The others (empty or malformed name, a code outside Table 3) are recorded; every
    reported result must be a code of Table 4.
    """
    server: ReferenceServer = b.fixture("server")
    server.on(Silence())
    host, port = server.advertised
    reported: list[str] = []
    answers: list[str] = []
    opened = False
    for case in INVALID:
        if case.needs_open and not opened:
            assert b.open("OPEN (for the SEND cases)", host, port) == 0
            opened = True
        result = b.command_result(case.what, case.line(b.client, host, port), case.urc)
        answers.append(f"{case.what}: {'ERROR' if result is None else f'OK, {result}'}")
        if result == -1:
            reported.append(case.what)
        assert result is None or result in {r.code for r in RESULT_CODES}, f"{case.what}: result {result}"
        if case.documented:  # out of a documented range: refused, as ERROR or as -1
            assert result in (None, -1), f"{case.what}: documented as invalid, reported {result}"
    b.evidence.observe("T4--1-REPORTED-BY", "; ".join(reported) or "nowhere", "; ".join(answers))


def in_processing(b: Bench) -> None:
    """-2: OPEN towards a relay that blackholes keeps the DTLS handshake (so the OPEN) pending;
    a second OPEN and a CLOSE meanwhile report -2."""
    relay: Relay = b.fixture("relay")
    relay.blackhole()
    prepare_dtls_client(b.module, b.client, rig_psk(b.rig))
    host, port = relay.advertised
    at = b.module.at
    line = f'AT+QCOAPOPEN={b.client},"{host}",{port}'
    try:
        for attempt in (1, 2):
            first = b.module.command(line)
            assert first.ok, first.text
            second = b.module.command(line)
            close = b.module.command(f"AT+QCOAPCLOSE={b.client}")
            opens = [at.wait_urc(rf"^\+QCOAPOPEN: *{b.client},", b.result_timeout, step="wait for the OPEN results")
                     for _ in range(1 + second.ok)]
            closed = (ResultUrc.parse(at.wait_urc(rf"^\+QCOAPCLOSE: *{b.client},", b.result_timeout,
                                                  step="wait for the CLOSE result")) if close.ok else None)
            results = [ResultUrc.parse(u).result for u in opens]
            # a -2 comes at once; the pending OPEN's own result only when its handshake gives up
            b.record(f"attempt {attempt}: OPEN towards the blackhole (handshake pending)", first, results[-1])
            b.record(f"attempt {attempt}: second OPEN meanwhile", second, results[0] if second.ok else None)
            b.record(f"attempt {attempt}: CLOSE meanwhile", close, None if closed is None else closed.result)
            status = b.module.status().get(b.client)
            if status is not None and status.status != IDLE:
                b.close("clean-up: CLOSE")
            if -2 in results[:-1] or (closed is not None and closed.result == -2):
                return
            if opens[0].time >= second.sent_at:
                break  # the first OPEN was still pending: the module just does not report -2
            # else its handshake gave up before the second OPEN was typed: try once more
        pytest.fail(f"no -2 while an OPEN was pending: OPEN results {results}, CLOSE "
                    f"{close.final if closed is None else closed.result}")
    finally:
        remove_dtls(b.module)


def not_allowed(b: Bench) -> None:
    """-3: CLOSE and SEND on a client that is not open; HEADER/OPTION there are recorded only."""
    results = {"CLOSE": b.close("CLOSE on a client that is not open"),
               "SEND": b.send("SEND (NON, no payload) on a client that is not open", NON)}
    header = b.module.header(b.client, 4100, 0, 1, "0B")
    option = b.module.option(b.client, 0, 11, "x")
    b.record("HEADER on a client that is not open (no result URC)", header, None)
    b.record("OPTION on a client that is not open (no result URC)", option, None)
    b.evidence.observe("SEND-NOT-OPEN", "ERROR" if results["SEND"] is None else f"OK, result {results['SEND']}")
    b.evidence.observe("T4--3-REPORTED-BY", ", ".join(k for k, v in results.items() if v == -3) or "nothing")
    assert results["SEND"] != 0, "SEND on a client that is not open reported success"
    assert -3 in results.values(), f"no -3 from CLOSE or SEND on a client that is not open: {results}"


def network_failure(b: Bench) -> None:
    """-4: OPEN with the radio off (AT+CFUN=4), and with the PDP context deactivated (AT+QIDEACT)."""
    server: ReferenceServer = b.fixture("server")
    host, port = server.advertised
    assert b.module.cfg("pdpcid", b.client, b.rig.pdp_cid).ok
    results = {}
    b.dut.radio(4)
    try:
        results["CFUN=4"] = b.open("OPEN with the radio off (AT+CFUN=4)", host, port)
    finally:
        b.dut.restore_network()
    b.dut.detach()
    try:
        results["QIDEACT"] = b.open(f"OPEN with PDP context {b.rig.pdp_cid} deactivated", host, port)
    finally:
        b.dut.reattach()
    assert results == {"CFUN=4": -4, "QIDEACT": -4}, f"results: {results}"


def dns_error(b: Bench) -> None:
    """-5: a name that cannot resolve (RFC 6761 .invalid)."""
    assert b.open(f"OPEN to {UNRESOLVABLE}", UNRESOLVABLE, 5683) == -5


def data_call_activating(b: Bench) -> None:
    """-6: OPEN right after AT+CFUN=0 / AT+CFUN=1, while the network activates the context again."""
    server: ReferenceServer = b.fixture("server")
    host, port = server.advertised
    assert b.module.cfg("pdpcid", b.client, b.rig.pdp_cid).ok
    b.dut.radio(0)
    try:
        b.dut.radio(1)
        result = b.open("OPEN right after AT+CFUN=1 (context being activated)", host, port)
    finally:
        if b.module.status().get(b.client) is not None:
            b.close("clean-up: CLOSE")
        b.dut.reattach()
    b.evidence.observe("T4--6-AFTER-CFUN1", result)
    if result == 0 and b.on_hardware():  # the context was up again: the rig cannot provoke it
        pytest.skip("OPEN right after AT+CFUN=1 reported 0: this module/network gives no window in which "
                    "the data call is activating and the AT port is free (any other result fails)")
    assert result == -6, f"OPEN while the context is being activated reported {result}, Table 4: -6"


def socket_failure(b: Bench) -> None:
    """-7: a UDP socket cannot be connected to the broadcast address (EACCES without SO_BROADCAST)."""
    result = b.open(f"OPEN to the broadcast address {BROADCAST}", BROADCAST, 5683)
    b.evidence.observe("T4--7-BROADCAST", result)
    if result == 0:
        b.close("clean-up: CLOSE")
    assert result == -7, f"OPEN to {BROADCAST} (no socket can be connected to it) reported {result}, Table 4: -7"


def out_of_memory(b: Bench) -> None:
    """-8: the module's memory cannot be exhausted from the AT port; the emulator models it with a fault."""
    if b.on_hardware():
        pytest.skip("out of memory cannot be provoked from the AT port of a real module")
    args = list(getattr(b.rig, "emulator_args", ())) or list(b.request.config.getoption("--emulator-arg"))
    if f"--fault={OOM_FAULT}" not in args and OOM_FAULT not in args:
        pytest.skip(f"the emulator reports -8 only with --emulator-arg=--fault={OOM_FAULT} "
                    "(tests/test_recovery.py runs this case that way)")
    server: ReferenceServer = b.fixture("server")
    host, port = server.advertised
    assert b.open("OPEN with the module's memory exhausted", host, port) == -8
    status = b.module.status().get(b.client)
    assert status is None or status.status == IDLE, "a client that failed with -8 is listed as open"


def dtls_failure(b: Bench) -> None:
    """-9: a PSK file with the wrong key: the server cannot verify the handshake."""
    dtls: ReferenceServer = b.fixture("dtls_reference_server")
    relay: Relay = b.fixture("relay")
    dtls.reset()
    relay.retarget(dtls.bound)
    prepare_dtls_client(b.module, b.client, rig_psk(b.rig).with_wrong_key())
    host, port = relay.advertised
    try:
        result = b.open("OPEN with a wrong key in the PSK file", host, port)
    finally:
        remove_dtls(b.module)
    b.evidence.notes.append("DTLS server: " + "; ".join(d.summary() for d in dtls.captured()[:20]))
    assert any(d.direction == "rx" for d in dtls.captured()), "the module never started a handshake"
    assert result == -9


def occupied(b: Bench) -> None:
    """-10: OPEN on a client that is open."""
    server: ReferenceServer = b.fixture("server")
    host, port = server.advertised
    assert b.open("OPEN", host, port) == 0
    assert b.open("second OPEN of the same client", host, port) == -10


def sending_failure(b: Bench) -> None:
    """-11: a CON the server never acknowledges, after the last retransmission."""
    server: ReferenceServer = b.fixture("server")
    server.on(Silence())
    host, port = server.advertised
    assert b.open("OPEN", host, port) == 0
    assert b.module.cfg("trans", b.client, 2, 4).ok
    assert b.module.header(b.client, 4200, 0, 1, "0C").ok
    sent = b.module.send(b.client, CON, GET, 0)
    assert sent.response.ok, sent.response.text
    ack = b.module.wait_ack(b.client, b.module.exchange_timeout(2, 4))
    b.record("CON never acknowledged (trans 2,4)", sent.response, ack.result)
    assert ack == AckUrc(b.client, CON, 4200, -11)


PROVOKE: dict[int, Callable[[Bench], None]] = {
    0: success, -1: invalid_parameter, -2: in_processing, -3: not_allowed, -4: network_failure,
    -5: dns_error, -6: data_call_activating, -7: socket_failure, -8: out_of_memory, -9: dtls_failure,
    -10: occupied, -11: sending_failure,
}
EXTRA_REQUIREMENTS: dict[int, tuple[str, ...]] = {
    0: ("OPEN-WRITE", "CLOSE-WRITE", "URC-ACK-CON", "URC-ACK-SENT"),
    -1: ("OPEN-PORT-RANGE", "OPEN-CLIENTID-RANGE", "OPEN-SERVER-LENGTH", "SEND-RANGES"),
    -3: ("CLOSE-NOT-OPEN", "SEND-NOT-OPEN"),
    -5: ("OPEN-SERVER-NAME",),
    -9: ("DTLS-FAILURE", "DTLS-PSK-FILE"),
    -11: ("RFC-RETRANSMIT-GIVEUP",),
}
#: codes whose provoking command the document does not name: what the module did is recorded
OBSERVED = {-1}


def _cases() -> list[object]:
    cases = []
    for r in RESULT_CODES:
        marks = [pytest.mark.req(f"T4-{r.code}", *EXTRA_REQUIREMENTS.get(r.code, ()))]
        if r.code in OBSERVED:
            marks.append(pytest.mark.verdict("observation"))
        cases.append(pytest.param(r.code, id=f"result-{r.code}-{slug(r.meaning)}", marks=marks))
    return cases


@pytest.mark.parametrize("code", _cases())
def test_result_code(module: BG96, strategy: DutStrategy, client: int, rig: RigConfig, evidence: Evidence,
                     request: pytest.FixtureRequest, code: int) -> None:
    """Provoke <result> ``code`` with AT commands, the reference server or the relay, and see it reported."""
    assert set(PROVOKE) == {r.code for r in RESULT_CODES}, "a Table 4 code without a provocation"
    table = evidence.table(f"Provocations of <result> {code}", ("provocation", "command", "answer", "result"))
    PROVOKE[code](Bench(module, strategy, client, rig, evidence, request, table))

"""3.1.2 framing of every form of every command and of the URCs, and OK before a result URC
(3.3.2, 3.3.3, 3.3.6), judged on the raw bytes of the AT port (``suites.at_checks``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest

from dut import BG96
from evidence import Evidence
from reference_server import CON, NON, EmptyAck, Piggyback, ReferenceServer
from spec import COMMANDS

from .at_checks import framing_problems, order_problems, received

GET = 1


@dataclass
class Port:
    """What an exchange needs: the module, its client and the reference server."""

    module: BG96
    client: int
    server: ReferenceServer

    def open(self) -> None:
        host, port = self.server.advertised
        response, result = self.module.open(self.client, host, port)
        assert response.ok and result is not None and result.result == 0, (
            f"AT+QCOAPOPEN: {response.text!r}, result {result}")


def _command(line: str) -> Callable[[Port], None]:
    return lambda p: p.module.command(line.format(c=p.client)) and None


def _open_close(p: Port) -> None:
    p.open()
    response, result = p.module.close(p.client)
    assert response.ok and result is not None, f"AT+QCOAPCLOSE: {response.text!r}"


def _send_recv(p: Port) -> None:
    """AT+QCOAPSEND with its '>' prompt, +QCOAPACK, and +QCOAPRECV with a payload holding CR and LF."""
    p.server.on(Piggyback("2.05", b"line1\r\nline2\rx\n"), mtype=CON)
    p.open()
    assert p.module.header(p.client, 6100, 0, 1, "61").ok
    sent = p.module.send(p.client, CON, GET, 0, b"abc")
    assert sent.response.ok, sent.response.text
    p.module.wait_ack(p.client)
    p.module.wait_recv(p.client)


def _forms() -> dict[str, Callable[[Port], None]]:
    """One exchange per form: the concrete forms of spec.COMMANDS, and each write form filled in."""
    out = {f"{c.name}-{f.kind.value}": _command(f.syntax) for c in COMMANDS for f in c.forms if "<" not in f.syntax}
    out.update({
        "QCOAPCFG-pdpcid-query": _command('AT+QCOAPCFG="pdpcid",{c}'),
        "QCOAPCFG-pdpcid-write": _command('AT+QCOAPCFG="pdpcid",{c},1'),
        "QCOAPCFG-dtls-query": _command('AT+QCOAPCFG="dtls",{c}'),
        "QCOAPCFG-dtls-write": _command('AT+QCOAPCFG="dtls",{c},0,0'),
        "QCOAPCFG-trans-query": _command('AT+QCOAPCFG="trans",{c}'),
        "QCOAPCFG-trans-write": _command('AT+QCOAPCFG="trans",{c},2,5'),
        "QCOAPCFG-write-error": _command('AT+QCOAPCFG="trans",{c},1,5'),
        "QCOAPHEADER-write": _command('AT+QCOAPHEADER={c},1234,0,2,"A0A1"'),
        "QCOAPOPTION-add": _command('AT+QCOAPOPTION={c},0,0,11,"19"'),
        "QCOAPOPTION-remove": _command("AT+QCOAPOPTION={c},1,0"),
        "QCOAPOPEN-write-and-QCOAPCLOSE-write": _open_close,
        "QCOAPSEND-write-QCOAPACK-QCOAPRECV": _send_recv,
    })
    return out


FORMS = _forms()


@pytest.mark.req("SYNTAX-FRAMING")
@pytest.mark.parametrize("form", list(FORMS))
def test_every_line_framed(module: BG96, client: int, server: ReferenceServer, evidence: Evidence,
                           form: str) -> None:
    """Every byte the module sends for the form, its result code and its URCs: <CR><LF>line<CR><LF>."""
    mark = module.at.line_mark()  # not in the middle of a URC that is still arriving
    FORMS[form](Port(module, client, server))
    rx = received(module, mark)
    problems = framing_problems(rx)
    evidence.table(f"{form}: bytes received", ("bytes", "framing")).rows.append((rx, "; ".join(problems) or "framed"))
    assert not problems, f"3.1.2: responses and result codes start and end with <CR><LF>: {problems}"


@pytest.mark.req("OPEN-WRITE", "CLOSE-WRITE", "SEND-ACK-ORDER")
@pytest.mark.parametrize("command", ["OPEN", "CLOSE", "SEND-CON", "SEND-NON"])
def test_ok_before_result_urc(module: BG96, client: int, server: ReferenceServer, evidence: Evidence,
                              command: str) -> None:
    """The write command answers OK, then its result URC (+QCOAPOPEN, +QCOAPCLOSE, +QCOAPACK)."""
    host, port = server.advertised
    server.on(EmptyAck(), mtype=CON)
    if command != "OPEN":
        assert module.open(client, host, port)[1].result == 0  # type: ignore[union-attr]
    mark = module.at.transcript.mark()
    if command == "OPEN":
        module.open(client, host, port)
        urc = b"+QCOAPOPEN:"
    elif command == "CLOSE":
        module.close(client)
        urc = b"+QCOAPCLOSE:"
    else:
        assert module.header(client, 6200, 0, 1, "62").ok
        mark = module.at.transcript.mark()
        sent = module.send(client, CON if command == "SEND-CON" else NON, GET, 0, b"x")
        assert sent.response.ok, sent.response.text
        module.wait_ack(client)
        urc = b"+QCOAPACK:"
    rx = received(module, mark)
    problems = order_problems(rx, b"OK", [urc])
    evidence.table(f"{command}: bytes received", ("bytes", "order")).rows.append((rx, "; ".join(problems) or "OK first"))
    assert not problems, f"{command}: {problems}"

"""Property-based: the emulator's AT front end on random, malformed and overlong lines, lone Ctrl+Z and
Esc, split anywhere, and on commands typed at the ``>`` prompt.

Properties: every command line gets exactly one final result code, text typed at the prompt is
payload (never a command), no handler raises (no traceback on the emulator's stderr), and the
module answers ``AT`` afterwards. (tests/test_emulator_at.py has the fixed cases and a byte fuzz.)
"""
from __future__ import annotations

import re
import select
import socket
from collections.abc import Iterator

import aiocoap
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.at_frontend import MAX_LINE
from emulator.testing import AtClient, EmulatorProcess

SCALE = "0.01"
FINAL = re.compile(rb"\r\n(OK|ERROR|\+CME ERROR: [^\r\n]*)\r\n")
CTRL_Z, ESC = b"\x1a", b"\x1b"
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
#: lines that change the mode of the port or of the radio: not for a random walk (the prompt
#: and data mode get their own properties below)
MODAL = (b"ATE", b"AT+CFUN", b"AT+QFUPL", b"AT+QIACT", b"AT+QCOAPSEND", b"AT&")


def module_port() -> Iterator[AtClient]:
    """A fresh emulator process, echo off; at the end it must exit cleanly, no handler having raised."""
    e = EmulatorProcess(["--tcp", "127.0.0.1:0", "--time-scale", SCALE])
    e.start()
    c = AtClient.connect(e.address)
    c.expect(rb"APP RDY\r\n", timeout=5)
    assert FINAL.search(c.cmd("ATE0"))
    yield c
    c.close()
    assert e.stop() == 0
    assert "Traceback" not in e.stderr_text(), "a command handler raised"


#: random lines: never a PDP context here, so a random AT+QCOAPOPEN never resolves a random name
at = pytest.fixture(scope="module", name="at")(module_port)
#: the prompt: its own module, with a context and client 0 open
prompt_at = pytest.fixture(scope="module", name="prompt_at")(module_port)


def finals_in(client: AtClient, count: int, timeout: float = 5.0) -> list[bytes]:
    """Read until ``count`` final result codes have come; return them (the buffer keeps the rest)."""
    got: list[bytes] = []
    for _ in range(count):
        m = client.expect(FINAL, timeout)
        got.append(m.group(1))
    return got


def still_answers(client: AtClient) -> None:
    """``AT`` gets OK; a URC of an earlier line (a CLOSE's +QCOAPCLOSE) may come before it."""
    lines = [ln for ln in client.cmd("AT").split(b"\r\n") if ln]
    assert lines[-1:] == [b"OK"], f"the module stopped answering AT: {lines!r}"
    assert all(ln.startswith(b"+") for ln in lines[:-1]), f"AT answered more than OK: {lines!r}"
    assert client.silent_for(rb"\r\n(OK|ERROR)", 0.02), "a final result code came unasked"


# -- random lines ---------------------------------------------------------------------------------
NAMES = [b"", b"I", b"E", b"+QCOAPCFG", b"+QCOAPOPEN", b"+QCOAPCLOSE", b"+QCOAPHEADER", b"+QCOAPOPTION",
         b"+QCOAPSEND", b"+QFLST", b"+QFDEL", b"+QSSLCFG", b"+CMEE", b"+CEREG", b"+QGMR", b"+NOSUCH",
         b"+QCOAPCFGX", b"+", b"+Q\xff"]
_param_byte = st.sampled_from(list(b'0123456789,"-+ =?;.xAZ\x00\xff') + [0x1A, 0x1B, 0x0A, 0x7F])
_params = st.lists(_param_byte, max_size=60).map(bytes)
_command = st.builds(lambda pre, name, form, params: pre + name + form + params,
                     st.sampled_from([b"AT", b"at", b"At", b"A", b"", b"AT AT"]), st.sampled_from(NAMES),
                     st.sampled_from([b"", b"=", b"?", b"=?", b"=?=", b"??"]), _params)
_garbage = st.binary(max_size=80).map(lambda b: b.replace(b"\r", b""))
_overlong = st.builds(lambda n, fill: b"AT+QCOAPCFG=" + fill * n, st.integers(MAX_LINE - 16, MAX_LINE + 64),
                      st.sampled_from([b"9", b",", b'"', CTRL_Z]))
line = (_command | _garbage | _overlong).filter(lambda b: not b.upper().lstrip(b"\n").startswith(MODAL))


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted({c % (len(data) + 1) for c in cuts}), len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


@SETTINGS
@given(st.lists(line, min_size=1, max_size=8), st.lists(st.integers(0, 100_000), max_size=10))
def test_every_line_gets_one_final_result(at: AtClient, lines: list[bytes], cuts: list[int]) -> None:
    for piece in chunks(b"".join(ln + b"\r" for ln in lines), cuts):
        at.send(piece)
    finals_in(at, len(lines))
    still_answers(at)


@SETTINGS
@given(st.sampled_from([CTRL_Z, ESC, CTRL_Z + ESC, b">", b"\n"]), st.integers(0, 3))
def test_lone_ctrl_z_and_esc_outside_the_prompt(at: AtClient, byte: bytes, repeat: int) -> None:
    """Ctrl+Z or Esc with no prompt open: part of a line like any byte, one final result."""
    at.send(byte * (repeat + 1) + b"\r")
    assert len(finals_in(at, 1)) == 1
    still_answers(at)


# -- the prompt: what is typed there is payload -------------------------------------------------------
@pytest.fixture(scope="module")
def peer() -> Iterator[socket.socket]:
    """A UDP socket standing in for the server; it only receives."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    yield s
    s.close()


@pytest.fixture(scope="module")
def port(prompt_at: AtClient, peer: socket.socket) -> AtClient:
    """The prompt module's port, with a PDP context and client 0 open towards ``peer``."""
    assert b"OK" in prompt_at.cmd("AT+QIACT=1", timeout=5)
    assert b"OK" in prompt_at.cmd(f'AT+QCOAPOPEN=0,"127.0.0.1",{peer.getsockname()[1]}')
    prompt_at.expect(rb"\+QCOAPOPEN: 0,0\r\n")
    return prompt_at


def drain(peer: socket.socket) -> None:
    while select.select([peer], [], [], 0)[0]:
        peer.recv(65535)


def datagram(peer: socket.socket, timeout: float = 2.0) -> aiocoap.Message | None:
    if not select.select([peer], [], [], timeout)[0]:
        return None
    return aiocoap.Message.decode(peer.recv(65535))


_typed_line = st.sampled_from([b"AT", b"AT+QCOAPCLOSE=0", b"AT+CFUN=1,1", b"ATE1", b"OK", b"", b">"]) | \
    st.binary(max_size=30).map(lambda b: b.replace(CTRL_Z, b"").replace(ESC, b""))
_typed = st.lists(st.tuples(_typed_line, st.sampled_from([b"\r", b"\r\n", b"\n", b""])), max_size=10).map(
    lambda parts: b"".join(a + b for a, b in parts)[:1024])


@SETTINGS
@given(_typed, st.lists(st.integers(0, 2000), max_size=6))
def test_commands_typed_at_the_prompt_are_payload(port: AtClient, peer: socket.socket,
                                                  typed: bytes, cuts: list[int]) -> None:
    drain(peer)
    port.send(b"AT+QCOAPSEND=0,1,2,0\r")
    port.expect(rb"^\r\n> ")
    for piece in chunks(typed + CTRL_Z, cuts):
        port.send(piece)
    assert finals_in(port, 1) == [b"OK"]
    port.expect(rb"\+QCOAPACK: 0,1,\d+,0\r\n")
    msg = datagram(peer)
    assert msg is not None and msg.payload == typed
    still_answers(port)
    assert b'+QCOAPOPEN: 0,"127.0.0.1"' in port.cmd("AT+QCOAPOPEN?"), "a typed CLOSE closed the client"


@SETTINGS
@given(st.binary(min_size=1, max_size=200), st.lists(st.integers(0, 400), max_size=6))
def test_counted_payload_takes_any_byte(port: AtClient, peer: socket.socket,
                                        data: bytes, cuts: list[int]) -> None:
    """With <payload_length>, Ctrl+Z, Esc, CR and "AT..." inside the count are data."""
    drain(peer)
    payload = (b"AT\r" + data + CTRL_Z + ESC + b"\r\n")[:1024]
    port.send(f"AT+QCOAPSEND=0,1,2,0,{len(payload)}\r".encode())
    port.expect(rb"^\r\n> ")
    for piece in chunks(payload, cuts):
        port.send(piece)
    assert finals_in(port, 1) == [b"OK"]
    port.expect(rb"\+QCOAPACK: 0,1,\d+,0\r\n")
    msg = datagram(peer)
    assert msg is not None and msg.payload == payload
    still_answers(port)


@settings(SETTINGS, max_examples=30)  # each example waits out a short no-datagram window
@given(_typed, st.booleans())
def test_esc_or_an_overlong_typed_payload_sends_nothing(port: AtClient, peer: socket.socket,
                                                        typed: bytes, overlong: bool) -> None:
    drain(peer)
    port.send(b"AT+QCOAPSEND=0,1,2,0\r")
    port.expect(rb"^\r\n> ")
    port.send((typed + b"y" * 1025 + CTRL_Z) if overlong else (typed + ESC))
    assert finals_in(port, 1) == [b"ERROR"]
    assert datagram(peer, 0.05) is None  # sent at once when sent at all; the emulator runs at x0.01
    still_answers(port)
    assert not re.search(rb"\+QCOAPACK", bytes(port.buf))

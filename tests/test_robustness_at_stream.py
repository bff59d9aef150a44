"""Property-based: the AT line reader and the channel's routing on generated module output.

A generated exchange is what a BG96 prints for one command: the echo or not, information lines,
URCs anywhere between them (``+QCOAPRECV`` with binary payloads that hold CR LF, ``OK`` and URC
look-alikes), the ``>`` prompt, the final result code. Whatever the byte boundaries of the reads,
the parser must give exactly the events the module meant, and the channel must hand the command
its lines and final result and every URC (with its payload) to the URC stream, in order.
(tests/test_at_parser.py splits one fixed stream; this generates the streams.)
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dut import ATChannel
from dut.parser import ATStreamParser, Line, Payload, Prompt

from .scripted_peer import ScriptedPeer

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

# -- what the module prints ---------------------------------------------------------------------
# a text byte: anything but CR/LF; lines neither start nor end with a space (the reader strips
# spaces at the ends) and never start with ">" (at a line start that is the prompt)
_safe_text = st.binary(min_size=1, max_size=40).map(
    lambda b: bytes(x for x in b if x not in (0x0D, 0x0A, 0x20)) or b"x").filter(lambda b: not b.startswith(b">"))


@dataclass(frozen=True)
class Urc:
    line: bytes
    payload: bytes | None = None  # +QCOAPRECV: read by its announced length

    def wire(self) -> bytes:
        if self.payload is None:
            return b"\r\n" + self.line + b"\r\n"
        return b"\r\n" + self.line + b"\r\n" + self.payload + b"\r\n"


_plain_urc = st.sampled_from([
    b"+QCOAPACK: 0,0,1234,0", b"+QCOAPIND: 0,0,1234,1,0", b"+QCOAPOPEN: 1,-5", b"+QCOAPCLOSE: 0,0",
    b"APP RDY", b"+QCOAPACK: 5,1,65535,-11"]).map(Urc)
_tricky_payload = st.lists(st.sampled_from([b"\r\n", b"OK", b"ERROR", b"+QCOAPACK: 0,0,1,0", b"> ",
                                            b"\x1a", b"\x00\xff", b"\r", b"\n", b"+QCOAPRECV: 0,1,2.05,0,,0,3"])
                           | st.binary(max_size=20), max_size=12).map(b"".join)
_recv_urc = st.builds(
    lambda mid, payload: Urc(f"+QCOAPRECV: 0,{mid},2.05,2,A0A1,1,11,\"19\",{len(payload)}".encode(), payload),
    st.integers(0, 65535), _tricky_payload)
urc = _plain_urc | _recv_urc


@dataclass(frozen=True)
class Exchange:
    """One command and everything the module prints for it."""

    command: bytes
    echo: bool
    info: tuple[bytes, ...]
    urcs_before: tuple[tuple[int, Urc], ...]  # (position among the info lines, URC)
    final: bytes
    urcs_after: tuple[Urc, ...]

    def wire(self) -> bytes:
        out = bytearray(self.command + b"\r" if self.echo else b"")
        for i, line in enumerate(self.info):
            out += b"".join(u.wire() for pos, u in self.urcs_before if pos == i)
            out += b"\r\n" + line + b"\r\n"
        out += b"".join(u.wire() for pos, u in self.urcs_before if pos >= len(self.info))
        out += b"\r\n" + self.final + b"\r\n"
        return bytes(out + b"".join(u.wire() for u in self.urcs_after))

    def urcs(self) -> list[Urc]:
        ordered = [u for i in range(len(self.info) + 1) for pos, u in self.urcs_before
                   if pos == i or (i == len(self.info) and pos > i)]
        return ordered + list(self.urcs_after)


_info = _safe_text.map(lambda t: b"+QCOAPCFG: " + t)  # the command's own prefix: never a URC
exchange = st.builds(
    Exchange,
    command=st.just(b'AT+QCOAPCFG="trans",0'),
    echo=st.booleans(),
    info=st.lists(_info, max_size=4).map(tuple),
    urcs_before=st.lists(st.tuples(st.integers(0, 5), urc), max_size=4).map(tuple),
    final=st.sampled_from([b"OK", b"ERROR", b"+CME ERROR: 50", b"+CME ERROR: operation not allowed"]),
    urcs_after=st.lists(urc, max_size=3).map(tuple),
)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted({c % (len(data) + 1) for c in cuts}), len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


def expected_events(ex: Exchange) -> list[object]:
    events: list[object] = [Line(ex.command.decode("latin-1"), 0)] if ex.echo else []
    for i, line in enumerate(ex.info):
        events += [_urc_event(u) for pos, u in ex.urcs_before if pos == i]
        events.append(Line(line.decode("latin-1"), 0))
    events += [_urc_event(u) for pos, u in ex.urcs_before if pos >= len(ex.info)]
    events.append(Line(ex.final.decode("latin-1"), 0))
    return events + [_urc_event(u) for u in ex.urcs_after]


def _urc_event(u: Urc) -> object:
    text = u.line.decode("latin-1")
    return Line(text, 0) if u.payload is None else Payload(text, u.payload, 0)


# -- the parser ---------------------------------------------------------------------------------
@SETTINGS
@given(st.lists(exchange, min_size=1, max_size=4), st.lists(st.integers(0, 10_000), max_size=30))
def test_parser_gives_the_same_events_for_any_split(exchanges: list[Exchange], cuts: list[int]) -> None:
    stream = b"".join(ex.wire() for ex in exchanges)
    parser = ATStreamParser()
    events = [e for chunk in split(stream, cuts) for e in parser.feed(chunk, 0)]
    assert events == [e for ex in exchanges for e in expected_events(ex)]
    assert parser.pending == b""


@SETTINGS
@given(st.binary(max_size=40).filter(lambda b: b"\r" not in b and b"\n" not in b), st.integers(1, 40))
def test_prompt_then_ok_after_any_split(typed: bytes, cut: int) -> None:
    """The echoed command, the prompt and its space, then what follows the data: OK and a URC."""
    stream = b"AT+QCOAPSEND=0,1,2,0\r\r\n> \r\nOK\r\n\r\n+QCOAPACK: 0,1,7,0\r\n"
    parser = ATStreamParser()
    events = [e for chunk in split(stream, [cut]) for e in parser.feed(chunk, 0)]
    assert events == [Line("AT+QCOAPSEND=0,1,2,0", 0), Prompt(0), Line("OK", 0), Line("+QCOAPACK: 0,1,7,0", 0)]


# -- the channel ----------------------------------------------------------------------------------
class Script:
    """What the scripted peer answers to the next command (set per example)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.lock = threading.Lock()

    def __call__(self, line: bytes) -> list[bytes]:
        with self.lock:
            return list(self.chunks)


@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[Script, ATChannel]]:
    script = Script()
    peer = ScriptedPeer(script)
    channel = ATChannel(peer.url, grace=1.0).open()
    yield script, channel
    channel.close()
    peer.close()


SENTINEL = b'+QIND: "sentinel"'


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(exchange, st.lists(st.integers(0, 10_000), max_size=12))
def test_channel_routes_lines_finals_and_urcs(scripted: tuple[Script, ATChannel], ex: Exchange,
                                             cuts: list[int]) -> None:
    script, at = scripted
    at.clear_urcs()
    with script.lock:
        script.chunks = split(ex.wire() + Urc(SENTINEL).wire(), cuts)
    response = at.command(ex.command.decode("latin-1"), timeout=3.0)
    assert [line.encode("latin-1") for line in response.lines] == list(ex.info)
    assert response.final.encode("latin-1") == ex.final
    at.wait_urc(r'^\+QIND: "sentinel"$', 3.0)  # everything the module printed has been read
    got = [(u.line.encode("latin-1"), u.payload) for u in at.urcs()]
    assert got == [(u.line, u.payload) for u in ex.urcs()]
    assert at.stray == []

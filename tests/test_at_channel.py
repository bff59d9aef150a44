"""The AT channel against a scripted peer: echo, URCs mid-response, prompts, payloads, silence."""
from __future__ import annotations

import threading
import time

import pytest

from dut import ATChannel, ATTimeout, PortUnavailable, RecvUrc

from .scripted_peer import ScriptedPeer


def echo_and(reply: bytes, echo: bool = True) -> object:
    def respond(line: bytes) -> list[bytes]:
        return ([line + b"\r"] if echo else []) + [reply]
    return respond


@pytest.fixture
def make_channel():
    peers: list[ScriptedPeer] = []
    channels: list[ATChannel] = []

    def make(respond) -> tuple[ScriptedPeer, ATChannel]:
        peer = ScriptedPeer(respond)
        channel = ATChannel(peer.url, grace=0.5).open()
        peers.append(peer)
        channels.append(channel)
        return peer, channel

    yield make
    for c in channels:
        c.close()
    for p in peers:
        p.close()


@pytest.mark.parametrize("echo", [True, False], ids=["echo-on", "echo-off"])
def test_information_lines_and_final(make_channel, echo: bool) -> None:
    _, at = make_channel(echo_and(b"\r\nQuectel\r\nBG96\r\nRevision: BG96MAR02A07M1G\r\n\r\nOK\r\n", echo))
    response = at.command("ATI")
    assert response.lines == ["Quectel", "BG96", "Revision: BG96MAR02A07M1G"]
    assert response.ok and response.elapsed >= 0


def test_cme_error_is_a_rejection(make_channel) -> None:
    _, at = make_channel(echo_and(b"\r\n+CME ERROR: 407\r\n"))
    response = at.command("AT+QFUPL=\"x\",1")
    assert response.rejected and response.cme_error == "407"


def test_urc_in_the_middle_of_a_response_goes_to_the_urc_stream(make_channel) -> None:
    reply = (b"\r\n+QCOAPCFG: \"trans\",2,5\r\n\r\n+QCOAPACK: 0,0,7,0\r\n"
             b"\r\n+QCOAPOPEN: 1,0\r\n\r\nOK\r\n")
    _, at = make_channel(lambda line: [reply[:17], reply[17:40], reply[40:]])
    response = at.command('AT+QCOAPCFG="trans",0')
    assert response.lines == ['+QCOAPCFG: "trans",2,5'] and response.ok
    assert at.wait_urc(r"\+QCOAPACK", 1).fields == ["0", "0", "7", "0"]
    assert at.wait_urc(r"\+QCOAPOPEN", 1).fields == ["1", "0"]


def test_read_form_lines_are_not_urcs(make_channel) -> None:
    _, at = make_channel(echo_and(b'\r\n+QCOAPOPEN: 0,"1.2.3.4",5683,3\r\n\r\nOK\r\n'))
    response = at.command("AT+QCOAPOPEN?")
    assert response.lines == ['+QCOAPOPEN: 0,"1.2.3.4",5683,3'] and not at.urcs()


def test_prompt_then_data_then_ctrl_z(make_channel) -> None:
    def respond(line: bytes) -> list[bytes]:
        if line.startswith(b"AT+QCOAPSEND"):
            return [b"\r\n> "]
        if line.endswith(b"\x1a"):
            return [b"\r\nOK\r\n\r\n+QCOAPACK: 0,1,1234,0\r\n"]
        return []
    peer, at = make_channel(respond)
    response = at.send_data("AT+QCOAPSEND=0,1,2,0", b"Hello\n", b"\x1a")
    assert response.ok and response.prompt_latency is not None
    assert at.wait_urc(r"\+QCOAPACK: 0,1,1234,0", 1)
    assert peer.received.endswith(b"Hello\n\x1a")


def test_error_instead_of_prompt_writes_no_data(make_channel) -> None:
    peer, at = make_channel(echo_and(b"\r\nERROR\r\n"))
    response = at.send_data("AT+QCOAPSEND=0,1,2,0,5", b"Hello")
    assert response.rejected and response.data_sent_at is None
    assert b"Hello" not in peer.received


def test_recv_payload_with_crlf_and_urc_lookalike(make_channel) -> None:
    payload = b"line1\r\n+QCOAPACK: 0,0,1,0\r\n\x00\xff"
    peer, at = make_channel(lambda line: [])
    peer.push(b"\r\n+QCOAPRECV: 0,1234,2.05,2,A0A1,1,11,\"19\"," + str(len(payload)).encode()
              + b"\r\n" + payload + b"\r\n")
    recv = RecvUrc.parse(at.wait_urc(r"\+QCOAPRECV", 2))
    assert (recv.mid, recv.code, recv.token, recv.options) == (1234, "2.05", "A0A1", ((11, '"19"'),))
    assert recv.payload == payload
    assert not at.urcs(r"\+QCOAPACK")


def test_silent_dut_times_out_naming_the_step(make_channel) -> None:
    _, at = make_channel(lambda line: [])
    with pytest.raises(ATTimeout, match="step 'probe'"):
        at.command("AT", timeout=0.2, step="probe")


def test_garbage_outside_commands_is_kept_as_stray(make_channel) -> None:
    _, at = make_channel(echo_and(b"\r\nOK\r\n\r\n\x07garbled%%\r\n"))
    first = at.command("AT")
    assert first.ok and first.lines == []
    assert at.command("AT").ok
    assert any("garbled" in s for s in at.stray)


def test_reconnects_after_the_port_drops(make_channel) -> None:
    peer, at = make_channel(echo_and(b"\r\nOK\r\n"))
    assert at.command("AT").ok
    peer.drop_connection()
    for _ in range(20):  # the first command after the drop may fail while the port reopens
        try:
            if at.command("AT", timeout=0.5).ok:
                break
        except Exception:
            continue
    assert at.command("AT").ok and peer.connections == 2


def test_transcript_records_both_directions(make_channel) -> None:
    _, at = make_channel(echo_and(b"\r\nOK\r\n"))
    mark = at.transcript.mark()
    at.command("AT")
    entries = at.transcript.since(mark)
    assert entries[0].direction == "tx" and entries[0].data == b"AT\r"
    assert b"".join(e.data for e in entries if e.direction == "rx").endswith(b"OK\r\n")


# -- a bench's habits (issue 14) ----------------------------------------------------------------
def test_unknown_prefix_lines_are_urcs_and_stay_out_of_the_response(make_channel) -> None:
    reply = (b'\r\n+QCOAPCFG: "trans",2,5\r\n\r\n+CTZV: +04\r\n\r\nOK\r\n\r\n+QIND: "csq",20,99\r\n'
             b"\r\n+XYZZY: 1\r\n")
    _, at = make_channel(echo_and(reply))
    response = at.command('AT+QCOAPCFG="trans",0')
    assert response.lines == ['+QCOAPCFG: "trans",2,5']
    assert response.raw == b'AT+QCOAPCFG="trans",0\r\r\n+QCOAPCFG: "trans",2,5\r\n\r\nOK\r\n'
    at.wait_urc(r"^\+XYZZY", 2)
    assert [u.name for u in at.urcs()] == ["+CTZV", "+QIND"] and at.stray == []


def test_a_registration_urc_during_its_own_read_command_is_a_urc(make_channel) -> None:
    _, at = make_channel(echo_and(b"\r\n+CEREG: 5\r\n\r\n+CEREG: 0,1\r\n\r\nOK\r\n", echo=False))
    response = at.command("AT+CEREG?")
    assert response.lines == ["+CEREG: 0,1"] and [u.line for u in at.urcs()] == ["+CEREG: 5"]


def test_a_command_waits_for_a_payload_being_read(make_channel) -> None:
    """The payload comes in two parts: the command is written after it, so its OK is its own."""
    peer, at = make_channel(echo_and(b"\r\nOK\r\n", echo=False))
    header_read = threading.Event()
    at.transcript.add_sink(lambda e: header_read.set() if e.direction == "rx" and e.data.endswith(b"ab") else None)
    peer.push(b"\r\n+QCOAPRECV: 0,1,2.05,0,,0,6\r\nab")
    assert header_read.wait(2.0)
    threading.Timer(0.3, lambda: peer.push(b"cdef\r\n")).start()
    assert at.command("AT", timeout=2.0).ok
    urc = at.wait_urc(r"^\+QCOAPRECV", 1)
    assert urc.complete and urc.payload == b"abcdef"


def test_a_port_that_drops_during_a_command_fails_it_at_once(make_channel) -> None:
    peer, at = make_channel(lambda line: [])
    threading.Timer(0.2, peer.drop_connection).start()
    started = time.monotonic()
    with pytest.raises(PortUnavailable, match="dropped while waiting"):
        at.command("AT", timeout=5.0)
    assert time.monotonic() - started < 4.0


def test_a_line_mark_waits_for_the_line_being_read(make_channel) -> None:
    peer, at = make_channel(lambda line: [])
    half_read = threading.Event()
    at.transcript.add_sink(lambda e: half_read.set() if e.data.endswith(b"+CTZV") else None)
    peer.push(b"\r\n+CTZV")
    assert half_read.wait(2.0)
    threading.Timer(0.2, lambda: peer.push(b": +04\r\n")).start()
    mark = at.line_mark(timeout=3.0)
    assert at.transcript.since(mark) == [] and at.urcs(r"^\+CTZV: \+04$")

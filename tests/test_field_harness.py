"""The harness against what a real BG96 on a bench does (issue 14): the emulator's field knobs and
hand-made byte streams. A PTY that vanishes and returns as another node with RDY lost; a module
parked at ``>``; a +QCOAPRECV announcing the wrong length; unknown URCs inside a response and
bytes one at a time; a SIM PIN; a PDP drop in the middle of a test; ports picked by USB interface;
an rfc2217 port through ser2net.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path
from typing import Callable, Iterator

import pytest

from dut import BG96, ATChannel, BringUpError, DutSettings, DutStrategy, State, bringup
from dut.channel import NetworkLost
from dut.port import Candidate, PortMissing, PortRefused, resolve_url
from dut.urc import network_loss
from emulator.field import FieldKnobs
from emulator.launcher import EmulatorProcess, start_emulator

from .forked_pytest import runpytest_forked
from .scripted_peer import ScriptedPeer
from .test_recovery import ROOT, SUB_RUN_TIMEOUT, root_plugins

pytest_plugins = ["pytester"]

TIME_SCALE, AT_GRACE = 0.01, 0.2
SETTINGS = DutSettings(name="field", bring_up_timeout=5.0, registration_timeout=5.0, pdp_timeout=5.0)

Start = Callable[..., tuple[EmulatorProcess, DutStrategy]]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    """An emulator (``args``) and a strategy on a channel to it; both stopped afterwards."""
    made: list[tuple[EmulatorProcess, ATChannel]] = []

    def make(*args: str, transport: str = "pty", settings: DutSettings = SETTINGS) -> tuple[EmulatorProcess, DutStrategy]:
        emulator = start_emulator(transport, TIME_SCALE, list(args), log_path=tmp_path / "emulator.log")
        channel = ATChannel(emulator.url, grace=AT_GRACE).open()
        made.append((emulator, channel))
        return emulator, DutStrategy(BG96(channel, time_scale=TIME_SCALE), settings)

    yield make
    for emulator, channel in made:
        channel.close()
        emulator.stop()


def seed_where(boot_urcs_lost: bool) -> str:
    """A --field-seed whose first re-enumeration comes after the boot URCs (lost) or before RDY."""
    from emulator.at_frontend import BOOT_URCS_LOST_P

    return str(next(s for s in range(100)
                    if (FieldKnobs(seed=s).rng("reenumerate").random() < BOOT_URCS_LOST_P) == boot_urcs_lost))


# -- USB re-enumeration ------------------------------------------------------------------------
def test_restart_with_the_node_gone_and_back_elsewhere_and_rdy_lost(start: Start) -> None:
    emulator, strategy = start("--field-reenumerate", "--field-seed", seed_where(boot_urcs_lost=True))
    strategy.transition(State.READY)
    at = strategy.module.at
    seen = strategy.restart()
    assert at.reconnects == 1, "the channel did not reopen the port behind the symlink"
    assert os.path.islink(emulator.url), "the stable symlink is gone"
    assert [u.line for u in seen if u.line == "RDY"] == [], f"RDY was not lost: {seen}"
    assert strategy.state is State.READY and strategy.module.pdp_active(1)


def test_restart_when_the_node_is_back_before_rdy(start: Start) -> None:
    _, strategy = start("--field-reenumerate", "--field-seed", seed_where(boot_urcs_lost=False))
    strategy.transition(State.READY)
    strategy.restart()
    assert strategy.module.at.reconnects == 1 and strategy.state is State.READY


# -- a module parked at the data prompt ----------------------------------------------------------
def parked(strategy: DutStrategy, length: str) -> BG96:
    """A module at the ``>`` of AT+QCOAPSEND (the prompt waits for its bytes forever)."""
    strategy.transition(State.READY)
    module = strategy.module
    response, result = module.open(1, "127.0.0.1", 9)
    assert response.ok and result is not None and result.result == 0
    module.at.write_raw(f"AT+QCOAPSEND=1,1,1,0{length}\r".encode())
    return module


@pytest.mark.parametrize("length", ["", ",500"], ids=["ctrl-z-prompt", "counted-prompt"])
def test_recovery_leaves_a_prompt_before_probing(start: Start, length: str) -> None:
    _, strategy = start(transport="tcp")
    module = parked(strategy, length)
    log = strategy.recover("a test was killed at the prompt")
    assert "restart: AT+CFUN=1,1 written without waiting for an answer" not in log, log
    assert strategy.state is State.READY and module.command("AT").ok


def test_a_session_starts_on_a_module_left_at_the_prompt(start: Start) -> None:
    emulator, strategy = start(transport="tcp")
    parked(strategy, "")
    strategy.module.at.close()  # the run that left it there is gone
    with ATChannel(emulator.url, grace=AT_GRACE) as channel:
        fresh = DutStrategy(BG96(channel, time_scale=TIME_SCALE), SETTINGS)
        fresh.bring_up()
        assert fresh.module.command("AT").ok


# -- what comes over the line ---------------------------------------------------------------------
@pytest.fixture
def scripted() -> Iterator[Callable[..., tuple[ScriptedPeer, ATChannel]]]:
    made: list[tuple[ScriptedPeer, ATChannel]] = []

    def make(respond: Callable[[bytes], list[bytes]]) -> tuple[ScriptedPeer, ATChannel]:
        peer = ScriptedPeer(respond)
        channel = ATChannel(peer.url, grace=0.5).open()
        made.append((peer, channel))
        return peer, channel

    yield make
    for peer, channel in made:
        channel.close()
        peer.close()


def test_bring_up_waits_for_a_port_still_re_enumerating(scripted) -> None:  # noqa: ANN001
    """Right after AT+CFUN=1,1 the port may be gone: the ready step's Esc and probes wait for it
    within the step's limit instead of failing at once on a closed port."""
    peer, at = scripted(lambda line: [b"\r\nOK\r\n"])
    peer.unplug()
    assert at.wait_disconnected(5.0), "the channel did not see the port go"
    back = threading.Timer(0.5, peer.replug)  # the device re-enumerates half a second later
    back.start()
    try:
        how = bringup.wait_ready(BG96(at), timeout=5.0)
    finally:
        back.join()
    assert at.reconnects == 1 and how.startswith("answered AT"), how


def received(at: ATChannel, data: bytes) -> threading.Event:
    """Set once ``data`` has been read from the port (a transcript sink: no polling)."""
    seen, got = threading.Event(), bytearray()

    def sink(entry) -> None:  # noqa: ANN001
        if entry.direction == "rx":
            got.extend(entry.data)
            if data in got:
                seen.set()
    at.transcript.add_sink(sink)
    return seen


@pytest.mark.parametrize("wait_for_it", [True, False], ids=["urc-awaited", "command-right-after"])
def test_a_wrong_recv_length_does_not_swallow_the_next_ok(scripted, wait_for_it: bool) -> None:  # noqa: ANN001
    """+QCOAPRECV announces 10 bytes, 5 come: whether the test waits for the URC or sends its next
    command right after the header was read, that command gets its OK; the partial payload is kept
    (incomplete) as evidence."""
    peer, at = scripted(lambda line: [b"\r\nOK\r\n"])
    header = b"+QCOAPRECV: 0,1,2.05,0,,0,10"
    read = received(at, b"abc\r\n")
    peer.push(b"\r\n" + header + b"\r\nabc\r\n")
    assert read.wait(2.0)
    if wait_for_it:
        urc = at.wait_urc(r"^\+QCOAPRECV", 3.0)
    assert at.command("AT", timeout=1.0).ok
    urc = urc if wait_for_it else at.wait_urc(r"^\+QCOAPRECV", 1.0)
    assert not urc.complete and urc.payload == b"abc\r\n"
    assert at.partial_payloads == [(header.decode(), b"abc\r\n")]


def test_a_payload_cut_by_a_reconnect_is_kept_and_the_parser_starts_afresh(scripted) -> None:  # noqa: ANN001
    peer, at = scripted(lambda line: [b"\r\nOK\r\n"])
    peer.push(b'\r\n+QCOAPRECV: 0,1,2.05,0,,0,500\r\npart')
    peer.drop_connection()
    urc = at.wait_urc(r"^\+QCOAPRECV", 3.0)
    assert not urc.complete and urc.payload == b"part"
    for _ in range(20):
        try:
            if at.command("AT", timeout=0.5).ok:
                break
        except Exception:
            continue
    assert at.command("AT").ok and at.reconnects == 1


INFO = b'\r\n+QCOAPCFG: "trans",2,5\r\n'
URCS = (b'\r\n+CTZE: "+04",0,"2024/05/01,10:00:00"\r\n', b'\r\n+QIND: "csq",21,99\r\n',
        b"\r\n+CMTI: \"ME\",3\r\n", b"\r\n+CEREG: 5\r\n")


def test_unknown_urcs_inside_a_response_one_byte_at_a_time(scripted) -> None:  # noqa: ANN001
    """URCs (known and unknown prefixes) before, between and after the lines of a response, the
    bytes arriving one at a time: the response has exactly its own lines and bytes."""
    wire = URCS[0] + INFO + URCS[1] + b"\r\nOK\r\n" + URCS[2] + URCS[3]
    _, at = scripted(lambda line: [bytes([b]) for b in wire])
    response = at.command('AT+QCOAPCFG="trans",0', timeout=2.0)
    assert response.lines == ['+QCOAPCFG: "trans",2,5'] and response.final == "OK"
    assert response.raw == INFO + b"\r\nOK\r\n", "a URC or a late LF counted as the response's bytes"
    at.wait_urc(r"^\+CEREG: 5$", 2.0)
    assert [u.name for u in at.urcs()] == ["+CTZE", "+QIND", "+CMTI"]
    received = b"".join(e.data for e in at.transcript.since(0) if e.direction == "rx")
    assert received == wire, "the transcript keeps every byte, URCs included"


def test_network_losses_are_named() -> None:
    assert network_loss('+QIURC: "pdpdeact",1') == 'the network deactivated PDP context 1 (+QIURC: "pdpdeact",1)'
    assert "no longer registered" in (network_loss("+CEREG: 2") or "")
    assert "no longer registered" in (network_loss('+CGREG: 0,"2F07","C0D1",0') or "")
    assert network_loss("+CEREG: 5") is None and network_loss("+CEREG: 0,1") is None  # roaming; a read form
    assert network_loss('+QIURC: "recv",0') is None


def test_a_urc_wait_fails_at_once_naming_a_pdp_drop(scripted) -> None:  # noqa: ANN001
    peer, at = scripted(lambda line: [])
    threading.Timer(0.1, lambda: peer.push(b'\r\n+QIURC: "pdpdeact",1\r\n')).start()
    with pytest.raises(NetworkLost, match=r"network deactivated PDP context 1 .* while waiting for"):
        at.wait_urc(r"^\+QCOAPACK", 5.0, step="wait for +QCOAPACK")


# -- SIM, registration domains, URC port, PDP type ------------------------------------------------
def test_sim_pin_from_the_rig(start: Start) -> None:
    _, strategy = start("--sim-pin", "4321", transport="tcp", settings=dataclasses.replace(SETTINGS, sim_pin="4321"))
    outcomes = {step: outcome for step, _, outcome in strategy.bring_up().steps}
    assert outcomes["SIM (AT+CPIN)"] == "PIN entered (AT+CPIN)"


@pytest.mark.parametrize("pin, message", [("", r"the SIM needs its PIN .*sim\.pin.*--sim-pin"),
                                          ("1111", r"sim\.pin is wrong")], ids=["no-pin", "wrong-pin"])
def test_sim_pin_missing_or_wrong_is_named(start: Start, pin: str, message: str) -> None:
    _, strategy = start("--sim-pin", "4321", transport="tcp", settings=dataclasses.replace(SETTINGS, sim_pin=pin))
    with pytest.raises(BringUpError, match=r"bring-up step 'SIM \(AT\+CPIN\)'.*" + message):
        strategy.bring_up()


def test_gsm_only_registration_and_slow_registration(start: Start) -> None:
    _, strategy = start("--field-rat", "gsm", "--field-registration", transport="tcp")
    outcomes = {step: outcome for step, _, outcome in strategy.bring_up().steps}
    assert "+CGREG" in outcomes["network registration (AT+CEREG/CGREG/CREG)"] or \
        "+CREG" in outcomes["network registration (AT+CEREG/CGREG/CREG)"]
    assert strategy.module.pdp_active(1)


def test_urc_port_and_pdp_type_are_set(start: Start) -> None:
    settings = dataclasses.replace(SETTINGS, urc_port="usbat", pdp_type="IPv4v6", apn="lab.apn", pdp_auth="chap",
                                   pdp_user="u", pdp_password="p")
    _, strategy = start(transport="tcp", settings=settings)
    strategy.transition(State.CONFIGURED)
    assert strategy.module.command('AT+QURCCFG="urcport","uart1"').ok  # as a UART bench might have left it
    outcomes = {step: outcome for step, _, outcome in strategy.bring_up().steps}
    assert outcomes["URC port (AT+QURCCFG)"] == '"usbat" (was "uart1")'
    assert outcomes["PDP context 1 (AT+QICSGP)"] == 'IPv4v6, APN "lab.apn", chap'
    assert strategy.module.command("AT+QICSGP=1").lines == ['+QICSGP: 3,"lab.apn","u","p",2']


# -- a PDP drop in the middle of a test (a pytest sub-run, as a user runs the suite) ---------------
DROPPING_SUITE = '''
def test_a_waits_through_pdp_drops(module):
    """The context drops every second or so (module time 100 s at scale 0.01): this wait fails."""
    module.at.wait_urc(r"^NEVER$", 30.0)


def test_b_starts_on_a_module_brought_up_again(module):
    assert module.pdp_active(1)
'''


def test_a_pdp_drop_fails_the_test_in_flight_and_the_next_starts_clean(pytester: pytest.Pytester,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    pytester.makeconftest(f"pytest_plugins = {root_plugins()!r}\n")
    pytester.makepyfile(test_dropping=DROPPING_SUITE)
    result = runpytest_forked(pytester, "-p", "no:cacheprovider", "--report-dir", "out",
                              "--emulator-arg=--field-pdp-drop=100", timeout=SUB_RUN_TIMEOUT)
    result.assert_outcomes(failed=1, passed=1)
    data = json.loads((pytester.path / "out" / "report.json").read_text())
    tests = {t["nodeid"].split("::")[1]: t for t in data["tests"]}
    failed = tests["test_a_waits_through_pdp_drops"]
    assert failed["longrepr"].startswith("NetworkLost: the network deactivated PDP context 1")
    assert any(n.startswith("run again after a network loss: attempt 2") for n in failed["notes"])
    assert tests["test_b_starts_on_a_module_brought_up_again"]["outcome"] == "passed"


# -- which port ------------------------------------------------------------------------------------
def bg96_ports(location: str = "1-1.2") -> list[Candidate]:
    """The four ttyUSB ports of one BG96, as the port listing shows them."""
    return [Candidate(f"/dev/ttyUSB{i}", f"USB VID:PID=2C7C:0296 LOCATION={location}:1.{i}",
                      f"{location}:1.{i}", 0x2C7C, 0x0296) for i in range(4)]


def test_hwgrep_of_the_usb_id_alone_is_refused_with_the_candidates() -> None:
    with pytest.raises(PortRefused, match=r"matches 4 ports.*candidates: /dev/ttyUSB0 .*/dev/ttyUSB3"):
        resolve_url("hwgrep://2c7c:0296", bg96_ports())


def test_hwgrep_by_usb_location_picks_interface_2() -> None:
    two = bg96_ports("1-1.2") + [dataclasses.replace(p, device=p.device.replace("USB", "USB1")) for p in bg96_ports("1-1.3")]
    assert resolve_url(r"hwgrep://2c7c:0296.*LOCATION=1-1\.2:1\.2", two) == "/dev/ttyUSB2"
    with pytest.raises(PortRefused, match="interface 0 of the BG96, not its AT port"):
        resolve_url(r"hwgrep://2c7c:0296.*LOCATION=1-1\.2:1\.0", two)
    with pytest.raises(PortMissing):
        resolve_url(r"hwgrep://2c7c:0296.*LOCATION=9-9:1\.2", two)


def test_a_device_path_to_a_non_at_interface_is_refused() -> None:
    with pytest.raises(PortRefused, match="/dev/ttyUSB1 is USB interface 1 of the BG96"):
        resolve_url("/dev/ttyUSB1", bg96_ports())
    assert resolve_url("/dev/ttyUSB2", bg96_ports()) == "/dev/ttyUSB2"


def test_rfc2217_gets_the_options_ser2net_needs() -> None:
    assert resolve_url("rfc2217://rig3:4000", []) == "rfc2217://rig3:4000?ign_set_control&timeout=5"
    assert resolve_url("rfc2217://rig3:4000?timeout=2", []) == "rfc2217://rig3:4000?timeout=2"


def test_the_pty_is_opened_exclusively(start: Start) -> None:
    emulator, strategy = start(transport="pty")
    with pytest.raises(Exception, match="exclusively lock"):
        ATChannel(emulator.url).open(timeout=0.5)
    assert strategy.module.command("AT").ok


@pytest.mark.skipif(shutil.which("ser2net") is None, reason="ser2net is not installed")
def test_an_rfc2217_port_through_ser2net(start: Start, tmp_path: Path) -> None:
    """labgrid places serve the AT port with ser2net in RFC 2217 mode: commands work through it."""
    emulator, strategy = start(transport="pty")
    strategy.module.at.close()  # ser2net opens the node instead
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        ["ser2net", "-d", "-n", "-Y", f"connection: &con01#  accepter: telnet(rfc2217,mode=server),tcp,127.0.0.1,{port}",
         "-Y", f"  connector: serialdev(nouucplock=true),{os.path.realpath(emulator.url)},115200n81,local"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with ATChannel(f"rfc2217://127.0.0.1:{port}", grace=AT_GRACE) as channel:
            fresh = DutStrategy(BG96(channel, time_scale=TIME_SCALE), SETTINGS)
            fresh.transition(State.CONFIGURED)
            assert fresh.report.identity is not None and fresh.report.identity.model == "BG96"
    finally:
        server.terminate()
        server.wait(5)


def test_a_con_copy_is_a_retransmission_only_ack_timeout_after_the_send() -> None:
    """The wire invariant: a second copy of a CON is a retransmission if it arrives at least
    ACK_TIMEOUT (scaled) after AT+QCOAPSEND was written, however late the first copy arrived (an
    RRC set-up holding it until the retransmission joined it); a sooner one is a second send."""
    from fixtures.coap import early_copies
    from reference_server import Datagram

    def at(t: float) -> Datagram:
        return Datagram("rx", t, ("127.0.0.1", 1), b"\x40\x01\x00\x01")

    scale, written = 0.01, 100.0  # ACK_TIMEOUT 2 s -> 0.02 s
    assert early_copies([at(written + 0.0201)], written, scale) == []  # joined a first copy held by RRC
    assert early_copies([at(written + 0.005)], written, scale) == [pytest.approx(0.005)]

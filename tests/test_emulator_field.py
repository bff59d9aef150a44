"""The emulator's field personality (emulator/field.py): each realism knob alone, against the real
emulator process, and the knobs combined with each other and with a fault.

Waits are events with deadlines; the one poll (a symlink coming back) has one too.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from emulator.field import FieldKnobs
from emulator.testing import ROOT, AtClient, EmulatorProcess, final_of, lines_of, running_emulator

#: a seed whose first re-enumeration brings the node back only after APP RDY (boot URCs lost)
SEED = "2"
UNRELATED = re.compile(rb'\+CTZE: |\+CTZV: |\+CMTI: |\+QIND: |\+CEREG: |\+CPIN: |\+QUSIM: ')
ATI_LINES = {b"Quectel", b"BG96", b"Revision: BG96MAR02A07M1G", b"OK"}


def booted(e: EmulatorProcess) -> AtClient:
    c = AtClient.connect(e.address)
    c.expect(rb"\r\nAPP RDY\r\n", timeout=5)
    return c


def open_client(c: AtClient, cid: int = 0) -> None:
    """A PDP context and client ``cid`` open towards a local port (UDP: no server needed)."""
    assert final_of(c.cmd("AT+QIACT=1")) == "OK"
    assert final_of(c.cmd(f'AT+QCOAPOPEN={cid},"127.0.0.1",5683')) == "OK"
    c.expect(rf"\+QCOAPOPEN: {cid},0\r\n".encode())


def reconnect(addr: tuple[str, int], timeout: float = 10.0) -> tuple[AtClient, bytes]:
    """Until a connection answers AT (and what came before the OK): refused or dropped ones (the
    device is away) are retried."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            c = AtClient.connect(addr)
            c.send(b"AT\r")
            return c, c.expect(rb"(?s)(.*?)\r\nOK\r\n", timeout=1).group(1)
        except (ConnectionError, TimeoutError, OSError):
            if time.monotonic() > deadline:
                raise


# ---- knob reenumerate
def read_until_gone(port: serial.Serial, timeout: float) -> bytes:
    """Read until the port vanishes under us (an error, as a USB serial adapter that is unplugged)."""
    got = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:  # only what is there: pyserial drops what a read had gathered when the port goes
            got += port.read(max(1, port.in_waiting))
        except (serial.SerialException, OSError):
            return got
    raise AssertionError(f"the port did not vanish; read {got!r}")


def wait_for_link(link: Path, timeout: float) -> str:
    """The node behind the symlink, once it is back (polled: udev tells no one here either)."""
    deadline = time.monotonic() + timeout
    while not link.exists():
        assert time.monotonic() < deadline, f"{link} did not come back"
        time.sleep(0.005)
    return os.path.realpath(link)


def test_reenumerate_pty_node_vanishes_and_returns_behind_the_symlink(tmp_path: Path) -> None:
    link = tmp_path / "usb-Quectel_Incorporated_BG96_test-if02-port0"
    e = EmulatorProcess(["--pty", "--pty-link", str(link), "--time-scale", "0.2",
                         "--field-reenumerate", "--field-seed", SEED]).start()
    try:
        assert e.url == str(link) and e.banner == f"EMULATOR pty {link}"
        before = os.path.realpath(link)
        assert before.startswith("/dev/pts/")
        port = serial.Serial(str(link), 115200, timeout=0.2)
        port.write(b"AT+CFUN=1,1\r")
        assert b"\r\nOK\r\n" in read_until_gone(port, 5), "the OK of AT+CFUN=1,1 comes before the reset"
        port.close()
        assert not link.exists(), "the by-id link goes with the device"
        after = wait_for_link(link, 5)
        assert after.startswith("/dev/pts/")
        port = serial.Serial(str(link), 115200, timeout=0.3)
        port.write(b"AT\r")
        got = b""
        while b"OK\r\n" not in got:
            chunk = port.read(64)
            assert chunk, got
            got += chunk
        assert b"RDY" not in got, "the boot URCs went out before the node existed"
        assert got.endswith(b"AT\r\r\nOK\r\n"), got  # echo on again after the boot
        port.close()
    finally:
        assert e.stop() == 0
    assert not link.exists(), "the link is removed at exit"
    assert "Traceback" not in e.stderr_text()


def test_reenumerate_tcp_connection_drops_and_module_is_back_after_boot() -> None:
    with running_emulator("--field-reenumerate", "--field-seed", SEED) as e:
        c = booted(e)
        c.send(b"AT+CFUN=1,1\r")
        c.expect(rb"\r\nOK\r\n")
        with pytest.raises(ConnectionError):
            c.expect(rb"will never come", timeout=5)
        c.close()
        c, seen = reconnect(e.address)
        assert seen == b"AT\r", "the boot URCs went out before the device was back; echo is on"
        c.close()


def test_watchdog_reset_of_a_fault_reenumerates_too() -> None:
    """Knobs combine with faults: hang-then-reboot's watchdog reset also drops the USB device."""
    with running_emulator("--field-reenumerate", "--fault", "hang-then-reboot", time_scale="0.002") as e:
        c = booted(e)
        c.send(b"AT+CSQ\r")
        with pytest.raises(ConnectionError):
            c.expect(rb"\r\nOK\r\n", timeout=5)  # no answer, then the device goes
        c.close()
        c, _ = reconnect(e.address)
        assert lines_of(c.cmd("AT+CSQ"))[-1] == "OK"
        c.close()


# ---- knob urcs
def test_urcs_between_lines_and_after_the_result_never_inside_a_line() -> None:
    # module time at real pace: the idle URCs (every 5 s on average) do not mask the boundary ones
    with running_emulator("--field-urcs", "--field-seed", "7", time_scale="1") as e:
        c = booted(e)
        c.cmd("ATE0")
        inside = after = False
        for _ in range(200):
            r = c.cmd("ATI")
            lines = [ln for ln in r.split(b"\r\n") if ln]
            for ln in lines:
                assert ln in ATI_LINES or UNRELATED.match(ln), f"a line was split: {r!r}"
            body = [ln for ln in lines if not UNRELATED.match(ln)]
            assert body == [b"Quectel", b"BG96", b"Revision: BG96MAR02A07M1G", b"OK"], r
            inside |= lines[-1] == b"OK" and UNRELATED.match(lines[-2]) is not None
            if not c.silent_for(UNRELATED, 0.02):  # written with the OK, in the same loop turn
                after = True
            if inside and after:
                break
        assert inside, "no URC between the information lines and OK in 200 commands"
        assert after, "no URC right after OK in 200 commands"
        c.close()


def test_urcs_not_inside_a_data_phase_and_own_urcs_after_the_result() -> None:
    with running_emulator("--field-urcs", "--field-seed", "11") as e:
        c = booted(e)
        c.cmd("ATE0")
        for i in range(30):
            c.send(f'AT+QFUPL="f{i}.txt",8\r'.encode())
            c.expect(rb"CONNECT\r\n")
            c.send(b"01234567")
            m = c.expect(rb"(?s)(.*?)\+QFUPL: 8,")
            assert m.group(1) == b"\r\n", f"a URC inside the upload's data phase: {m.group(1)!r}"
            c.expect(rb"\r\nOK\r\n")
        open_client(c)
        for _ in range(20):  # +QCOAPACK of a NON is caused by the SEND: it waits for the OK
            c.send(b"AT+QCOAPSEND=0,1,1,0,0\r")
            m = c.expect(rb"(?s)(.*?)\r\nOK\r\n")
            assert b"+QCOAPACK" not in m.group(1)
            c.expect(rb"\+QCOAPACK: 0,1,\d+,0\r\n")
        c.close()


# ---- knob baud
def test_baud_delivers_bytes_one_at_a_time_at_the_line_pace() -> None:
    baud = 9600
    with running_emulator("--baud", str(baud), time_scale="1") as e:
        c = booted(e)
        c.cmd("ATE0")
        c.send(b"ATI\r")
        chunks: list[bytes] = []
        start = time.monotonic()
        while not b"".join(chunks).endswith(b"\r\nOK\r\n"):
            c.sock.settimeout(3)
            chunk = c.sock.recv(4096)
            assert chunk
            chunks.append(chunk)
        elapsed = time.monotonic() - start
        data = b"".join(chunks)
        assert data == b"\r\nQuectel\r\nBG96\r\nRevision: BG96MAR02A07M1G\r\n\r\nOK\r\n"
        assert elapsed >= 0.9 * (len(data) - 1) * 10 / baud, "faster than the line allows"
        assert len(chunks) > len(data) // 2, f"bytes came in bursts: {chunks!r}"
        c.close()


# ---- echo on at boot (always, every personality) and the prompt with no time limit
def test_echo_on_after_every_boot_with_every_knob() -> None:
    with running_emulator("--field", "--field-pdp-drop", "100000") as e:
        c = booted(e)
        for _ in range(2):
            r = c.cmd("AT")
            assert r.count(b"AT\r") == 1 and final_of(r) == "OK", r
            c.send(b"AT+CFUN=1,1\r")
            c.expect(rb"\r\nOK\r\n")
            c.close()
            c, seen = reconnect(e.address)
            assert seen.endswith(b"AT\r") or re.search(rb"AT\r\r\n\+[A-Z]+: [^\r]*\r\n$", seen), seen
        c.close()


def test_prompt_waits_for_its_bytes_with_no_time_limit() -> None:
    with running_emulator() as e:
        c = booted(e)
        c.cmd("ATE0")
        open_client(c)
        c.send(b"AT+QCOAPSEND=0,1,1,0,5\r")
        c.expect(rb"\r\n> ")
        c.send(b"AB")
        assert c.silent_for(rb"OK|ERROR", 1.0), "the counted prompt gave up (1 s real = 100 module s)"
        c.send(b"CDE")
        c.expect(rb"\r\nOK\r\n")
        c.send(b"AT+QCOAPSEND=0,1,1,0\r")
        c.expect(rb"\r\n> ")
        c.send(b"AT\rAT+CFUN=1,1\r")  # a host's recovery typed at the prompt: payload, not commands
        assert c.silent_for(rb"OK|ERROR", 1.0)
        c.send(b"\x1b")
        c.expect(rb"\r\nERROR\r\n")
        assert final_of(c.cmd("AT")) == "OK"
        c.close()


# ---- knobs registration and rat
def test_registration_takes_seconds_then_a_urc() -> None:
    with running_emulator("--field-registration", "--field-seed", SEED, time_scale="0.1") as e:
        c = AtClient.connect(e.address)
        c.cmd("ATE0")
        assert lines_of(c.cmd("AT+CEREG?")) == ["+CEREG: 0,2", "OK"]  # searching
        assert final_of(c.cmd("AT+QIACT=1")) == "ERROR"
        c.cmd("AT+CEREG=2")
        c.expect(rb'\r\n\+CEREG: 1,"[0-9A-F]{4}","[0-9A-F]{8}",8\r\n', timeout=5)
        assert lines_of(c.cmd("AT+CEREG?")) == ["+CEREG: 2,1", "OK"]
        assert final_of(c.cmd("AT+QIACT=1")) == "OK"
        c.cmd("AT+CFUN=0")
        c.expect(rb"\r\n\+CEREG: 0\r\n")
        c.cmd("AT+CFUN=1")
        c.expect(rb"\r\n\+CEREG: 2\r\n")
        c.expect(rb"\r\n\+CEREG: 1,", timeout=5)
        c.close()


def test_rat_gsm_registers_through_creg_and_cgreg_only() -> None:
    with running_emulator("--field-registration", "--field-rat", "gsm", time_scale="0.1") as e:
        c = AtClient.connect(e.address)
        c.cmd("ATE0")
        c.cmd("AT+CREG=1")
        c.cmd("AT+CGREG=1")
        c.expect(rb"\r\n\+CGREG: 1\r\n", timeout=5)
        assert lines_of(c.cmd("AT+CREG?")) == ["+CREG: 1,1", "OK"]
        assert lines_of(c.cmd("AT+CEREG?")) == ["+CEREG: 0,0", "OK"]
        assert final_of(c.cmd("AT+QIACT=1")) == "OK"
        c.close()


# ---- knob sim_pin
def test_sim_pin_needed_before_registration() -> None:
    with running_emulator("--sim-pin", "4321", "--field-registration", time_scale="0.1") as e:
        c = booted(e)
        c.cmd("ATE0")
        assert lines_of(c.cmd("AT+CPIN?")) == ["+CPIN: SIM PIN", "OK"]
        assert lines_of(c.cmd("AT+CEREG?")) == ["+CEREG: 0,0", "OK"]  # not even searching
        assert final_of(c.cmd("AT+QIACT=1")) == "ERROR"
        assert final_of(c.cmd('AT+CPIN="0000"')) == "+CME ERROR: 16"
        assert lines_of(c.cmd("AT+CPIN?")) == ["+CPIN: SIM PIN", "OK"]
        c.cmd("AT+CEREG=1")
        assert c.cmd('AT+CPIN="4321"') == b"\r\nOK\r\n"
        c.expect(rb"\r\n\+CPIN: READY\r\n")
        c.expect(rb"\r\n\+CEREG: 2\r\n")
        c.expect(rb"\r\n\+CEREG: 1\r\n", timeout=5)
        assert lines_of(c.cmd("AT+CPIN?")) == ["+CPIN: READY", "OK"]
        assert final_of(c.cmd('AT+CPIN="4321"')) == "+CME ERROR: 3"
        c.close()


# ---- knob pdp_drop
def test_pdp_drop_takes_the_context_really_down_until_qiact() -> None:
    with running_emulator("--field-pdp-drop", "20", "--field-seed", SEED, time_scale="0.05") as e:
        c = booted(e)
        c.cmd("ATE0")
        for _ in range(5):  # a drop may come between AT+QIACT and the open: then once more
            assert final_of(c.cmd("AT+QIACT=1")) == "OK"
            c.cmd('AT+QCOAPOPEN=0,"127.0.0.1",5683')
            if c.expect(rb"\+QCOAPOPEN: 0,(0|-4)\r\n").group(1) == b"0":
                break
            c.expect(rb'\+QIURC: "pdpdeact",1\r\n')
        c.expect(rb'\r\n\+QIURC: "pdpdeact",1\r\n', timeout=10)
        assert lines_of(c.cmd("AT+QIACT?")) == ["OK"]
        assert lines_of(c.cmd("AT+QCOAPOPEN?")) == ["OK"]
        assert final_of(c.cmd("AT+QCOAPSEND=0,1,1,0,0")) == "ERROR"  # the client went with it
        c.cmd('AT+QCOAPOPEN=0,"127.0.0.1",5683')
        c.expect(rb"\+QCOAPOPEN: 0,-4\r\n")  # network failure, as the document says
        assert final_of(c.cmd("AT+QIACT=1")) == "OK"
        assert lines_of(c.cmd("AT+QIACT?"))[0].startswith("+QIACT: 1,1,")
        c.close()


def test_field_seed_makes_the_draws_repeatable() -> None:
    a, b = FieldKnobs(seed=5), FieldKnobs(seed=5)
    assert [a.rng("pdp-drop").random() for _ in range(3)] == [b.rng("pdp-drop").random() for _ in range(3)]
    assert a.rng("pdp-drop").random() != a.rng("urcs").random()


# ---- commands the field needs, in every personality: QURCCFG, QICSGP, CGDCONT
def test_qurccfg_urcport_routes_urcs_and_survives_a_restart() -> None:
    with running_emulator() as e:
        c = booted(e)
        c.cmd("ATE0")
        assert lines_of(c.cmd('AT+QURCCFG="urcport"')) == ['+QURCCFG: "urcport","usbat"', "OK"]
        assert final_of(c.cmd('AT+QURCCFG="urcport","usb2"')) == "ERROR"
        assert final_of(c.cmd('AT+QURCCFG="urcport","uart1"')) == "OK"
        assert final_of(c.cmd("AT+QIACT=1")) == "OK"
        assert final_of(c.cmd('AT+QCOAPOPEN=0,"127.0.0.1",5683')) == "OK"
        assert c.silent_for(rb"\+QCOAPOPEN", 0.5), "a URC reached the AT port while urcport is uart1"
        c.send(b"AT+CFUN=1,1\r")
        c.expect(rb"\r\nOK\r\n")
        c.expect(rb"\r\nRDY\r\n")
        c.cmd("ATE0")
        assert lines_of(c.cmd('AT+QURCCFG="urcport"')) == ['+QURCCFG: "urcport","uart1"', "OK"]
        assert final_of(c.cmd('AT+QURCCFG="urcport","usbat"')) == "OK"
        c.close()


def test_qicsgp_and_cgdcont_validate_and_read_back() -> None:
    with running_emulator() as e:
        c = booted(e)
        c.cmd("ATE0")
        for bad in ('AT+QICSGP=1,4,"apn","","",1', 'AT+QICSGP=1,1,"apn","","",4', 'AT+QICSGP=1,1,"apn",""',
                    "AT+QICSGP=17", 'AT+QICSGP=1,0,"apn"'):
            assert final_of(c.cmd(bad)) == "ERROR", bad
        assert final_of(c.cmd('AT+QICSGP=1,3,"iot.example"')) == "OK"
        assert lines_of(c.cmd("AT+QICSGP=1")) == ['+QICSGP: 3,"iot.example","","",0', "OK"]
        assert final_of(c.cmd('AT+QICSGP=2,2,"v6.example","u","p",2')) == "OK"
        assert lines_of(c.cmd("AT+CGDCONT?")) == ['+CGDCONT: 1,"IPV4V6","iot.example","0.0.0.0",0,0,0,0',
                                                  '+CGDCONT: 2,"IPV6","v6.example","0.0.0.0",0,0,0,0', "OK"]
        assert final_of(c.cmd('AT+CGDCONT=1,"IP","other"')) == "OK"
        assert lines_of(c.cmd("AT+QICSGP=1")) == ['+QICSGP: 1,"other","","",0', "OK"]
        assert final_of(c.cmd('AT+CGDCONT=1,"X25"')) == "+CME ERROR: 50"
        c.close()


def test_bad_knob_values_are_usage_errors() -> None:
    for args, words in ((["--baud", "12"], b"--baud"), (["--sim-pin", "12ab"], b"--sim-pin"),
                        (["--field-rat", "nr"], b"--field-rat"), (["--field-pdp-drop", "-1"], b"MEAN_S"),
                        (["--pty", "--pty-link", "/no/such/dir/link"], b"--pty-link")):
        r = subprocess.run([sys.executable, "-m", "emulator", *args], cwd=ROOT, capture_output=True, timeout=20)
        assert r.returncode == 2 and words in r.stderr and b"Traceback" not in r.stderr, (args, r.stderr)


@pytest.fixture
def field_emulator() -> Iterator[EmulatorProcess]:
    with running_emulator("--field", "--field-seed", SEED, time_scale="0.05") as e:
        yield e


def test_every_knob_together_still_serves_a_bring_up(field_emulator: EmulatorProcess) -> None:
    """--field: PIN, slow registration, noise, UART pace; a careful host still gets a session."""
    c = booted(field_emulator)
    c.cmd("ATE0")
    assert "+CPIN: SIM PIN" in lines_of(c.cmd("AT+CPIN?"))
    assert final_of(c.cmd('AT+CPIN="1234"')) == "OK"
    c.cmd("AT+CEREG=1")
    c.expect(rb"\r\n\+CEREG: 1\r\n", timeout=10)
    open_client(c)
    c.close()

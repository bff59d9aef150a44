"""The emulator's AT front end, generic commands, UFS and QCOAP command forms, over raw TCP bytes."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from emulator.testing import ROOT, AtClient, EmulatorProcess, final_of, lines_of, running_emulator

SCALE = "0.01"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    with running_emulator(time_scale=SCALE) as e:
        yield e


@pytest.fixture
def at(emulator: EmulatorProcess) -> Iterator[AtClient]:
    """A freshly restarted module with echo off."""
    c = AtClient.connect(emulator.address)
    c.send(b"AT+CFUN=1,1\r")
    c.expect(rb"\r\nOK\r\n")
    c.expect(rb"\r\nAPP RDY\r\n", timeout=3)
    assert final_of(c.cmd("ATE0")) == "OK"
    yield c
    c.close()
    assert emulator.alive()


def test_boot_urcs_only_on_first_connection_and_echo_on() -> None:
    e = EmulatorProcess(["--tcp", "127.0.0.1:0", "--time-scale", SCALE])
    e.start()
    try:
        c = AtClient.connect(e.address)
        c.expect(rb"^\r\nRDY\r\n")
        c.expect(rb"^\r\nAPP RDY\r\n")
        assert c.cmd("ATI") == b"ATI\r\r\nQuectel\r\nBG96\r\nRevision: BG96MAR02A07M1G\r\n\r\nOK\r\n"  # as BG96 prints it
        c.cmd('AT+QCOAPCFG="trans",1,9,7')
        c.close()
        c2 = AtClient.connect(e.address)
        assert c2.cmd("AT") == b"AT\r\r\nOK\r\n"  # no RDY again, echo still on
        assert b'"trans",9,7' in c2.cmd('AT+QCOAPCFG="trans",1')  # state survived the reconnection
        c2.close()
    finally:
        assert e.stop() == 0


def test_generic_identity(at: AtClient) -> None:
    assert lines_of(at.cmd("AT+QGMR")) == ["BG96MAR02A07M1G_01.019.01.019", "OK"]
    assert lines_of(at.cmd("AT+CGMR")) == ["BG96MAR02A07M1G", "OK"]
    assert lines_of(at.cmd("AT+GSN")) == ["864508030012428", "OK"]
    assert lines_of(at.cmd("at+cgsn")) == ["864508030012428", "OK"]
    assert lines_of(at.cmd("AT+CPIN?")) == ["+CPIN: READY", "OK"]
    assert lines_of(at.cmd("AT+CEREG?")) == ["+CEREG: 0,1", "OK"]


def test_cmee_modes(at: AtClient) -> None:
    assert lines_of(at.cmd("AT+CMEE?")) == ["+CMEE: 1", "OK"]
    assert final_of(at.cmd("AT+CMEE=9")) == "+CME ERROR: 50"
    at.cmd("AT+CMEE=2")
    assert final_of(at.cmd("AT+CMEE=9")) == "+CME ERROR: Incorrect parameters"
    at.cmd("AT+CMEE=0")
    assert final_of(at.cmd("AT+CMEE=9")) == "ERROR"
    assert final_of(at.cmd("AT+NOSUCH")) == "ERROR"
    assert final_of(at.cmd('AT+QCOAPCFG="pdpcid",9')) == "ERROR"


@pytest.mark.parametrize(
    "raw",
    [b"hello\r", b"\r", b"\x1a\r", b"\x1b\r", b"\xff\xfe\x00garbage\r", b"AT" + b"X" * 3000 + b"\r",
     b'AT+QCOAPCFG="pdpcid,0\r', b"AT+\r", b"ATE7\r"],
)
def test_malformed_lines_get_error_and_module_lives(at: AtClient, raw: bytes) -> None:
    at.send(raw)
    at.expect(rb"\r\nERROR\r\n")
    assert at.cmd("AT") == b"\r\nOK\r\n"


def test_lf_ignored_and_split_reads(at: AtClient) -> None:
    at.send(b"\n")
    for ch in b"AT+CMEE?":
        at.send(bytes([ch]))
    at.send(b"\r\n")
    assert lines_of(at.expect(rb"(?s).*OK\r\n").group(0)) == ["+CMEE: 1", "OK"]


def test_long_proxy_uri_line_accepted(at: AtClient) -> None:
    uri = "coap://" + "a" * 1027
    assert len(uri) == 1034
    assert final_of(at.cmd(f'AT+QCOAPOPTION=0,0,0,35,"{uri}"')) == "OK"
    assert final_of(at.cmd(f'AT+QCOAPOPTION=0,0,0,35,"{uri}a"')) == "ERROR"


def test_restart_resets_settings_keeps_ufs(emulator: EmulatorProcess) -> None:
    c = AtClient.connect(emulator.address)
    c.cmd("ATE0")
    c.cmd('AT+QFDEL="*"')
    c.cmd('AT+QCOAPCFG="trans",2,10,8')
    c.cmd("AT+CMEE=0")
    c.send(b'AT+QFUPL="keep.txt",3\r')
    c.expect(rb"CONNECT\r\n")
    c.send(b"abc")
    c.expect(rb"\+QFUPL: 3,[0-9a-f]+\r\n\r\nOK\r\n")
    c.send(b"AT+CFUN=1,1\r")
    c.expect(rb"^\r\nOK\r\n")
    c.expect(rb"^\r\nRDY\r\n")
    c.expect(rb"^\r\nAPP RDY\r\n")
    assert c.cmd("AT+CMEE?") == b"AT+CMEE?\r\r\n+CMEE: 1\r\n\r\nOK\r\n"  # echo back on, CMEE 1
    c.cmd("ATE0")
    assert lines_of(c.cmd('AT+QCOAPCFG="trans",2')) == ['+QCOAPCFG: "trans",2,5', "OK"]
    assert '+QFLST: "UFS:keep.txt",3' in lines_of(c.cmd("AT+QFLST"))
    assert lines_of(c.cmd("AT+QIACT?")) == ["OK"]
    c.close()


def test_qfupl_document_example(at: AtClient) -> None:
    at.cmd('AT+QFDEL="*"')
    at.send(b'AT+QFUPL="UFS:0_server.psk",34\r')
    at.expect(rb"^\r\nCONNECT\r\n")
    at.send(b"864508030012428&313233343446473839")
    m = at.expect(rb"\r\n\+QFUPL: (\d+),([0-9a-f]+)\r\n\r\nOK\r\n")
    assert m.group(1) == b"34"
    # 16-bit big-endian XOR of the 34 bytes; the document prints 2802 (reported to the lead)
    assert m.group(2) == b"322e"
    assert final_of(at.cmd('AT+QFUPL="0_server.psk",3')) == "+CME ERROR: 407"
    assert lines_of(at.cmd('AT+QFLST="*"')) == ['+QFLST: "UFS:0_server.psk",34', "OK"]
    assert final_of(at.cmd('AT+QFDEL="0_server.psk"')) == "OK"
    assert final_of(at.cmd('AT+QFDEL="0_server.psk"')) == "+CME ERROR: 405"


def test_qfupl_odd_length_and_binary(at: AtClient) -> None:
    at.cmd('AT+QFDEL="*"')
    at.send(b'AT+QFUPL="b.bin",3\r')
    at.expect(rb"CONNECT\r\n")
    at.send(b"\x1a\x1b\x0d")
    at.expect(rb"\+QFUPL: 3,171b\r\n\r\nOK\r\n")  # 0x1a1b ^ 0x0d00


def test_qsslcfg(at: AtClient) -> None:
    assert lines_of(at.cmd('AT+QSSLCFG="dtls",0')) == ['+QSSLCFG: "dtls",0,0', "OK"]
    assert lines_of(at.cmd('AT+QSSLCFG="dtlsversion",3')) == ['+QSSLCFG: "dtlsversion",3,1', "OK"]
    assert final_of(at.cmd('AT+QSSLCFG="dtls",0,1')) == "OK"
    assert lines_of(at.cmd('AT+QSSLCFG="dtls",0')) == ['+QSSLCFG: "dtls",0,1', "OK"]
    assert final_of(at.cmd('AT+QSSLCFG="dtls",6,1')) == "ERROR"


def test_pdp_and_cfun(at: AtClient) -> None:
    assert final_of(at.cmd("AT+QIACT=1")) == "OK"
    assert final_of(at.cmd("AT+QIACT=17")) == "ERROR"
    assert lines_of(at.cmd("AT+QIACT?")) == ['+QIACT: 1,1,1,"10.0.0.2"', "OK"]
    assert lines_of(at.cmd("AT+QICSGP=1")) == ['+QICSGP: 1,"","","",0', "OK"]
    at.cmd('AT+QICSGP=1,1,"apn","","",1')
    assert lines_of(at.cmd("AT+QICSGP=1")) == ['+QICSGP: 1,"apn","","",1', "OK"]
    assert final_of(at.cmd("AT+CFUN=0")) == "OK"
    assert lines_of(at.cmd("AT+CFUN?")) == ["+CFUN: 0", "OK"]
    assert lines_of(at.cmd("AT+CEREG?")) == ["+CEREG: 0,0", "OK"]
    assert lines_of(at.cmd("AT+QIACT?")) == ["OK"]
    assert final_of(at.cmd("AT+QIACT=1")) == "ERROR"
    at.cmd("AT+CFUN=1")


CFG_TEST = [
    '+QCOAPCFG: "pdpcid",(0-5),(1-16)',
    '+QCOAPCFG: "dtls",(0-5),(0,1),(0-5)',
    '+QCOAPCFG: "trans",(0-5),(2-60),(4-8)',
    "OK",
]


def test_qcoapcfg(at: AtClient) -> None:
    assert lines_of(at.cmd("AT+QCOAPCFG=?")) == CFG_TEST
    assert lines_of(at.cmd('AT+QCOAPCFG="pdpcid",0')) == ['+QCOAPCFG: "pdpcid",1', "OK"]
    assert final_of(at.cmd('at+qcoapcfg=PDPCID,"5",16')) == "OK"
    assert lines_of(at.cmd('AT+QCOAPCFG="pdpcid",5')) == ['+QCOAPCFG: "pdpcid",16', "OK"]
    assert lines_of(at.cmd('AT+QCOAPCFG="dtls",0')) == ['+QCOAPCFG: "dtls",0', "OK"]
    at.cmd('AT+QCOAPCFG="dtls",0,1,4')
    at.cmd('AT+QCOAPCFG="dtls",0,0')
    at.cmd('AT+QCOAPCFG="dtls",0,1')
    assert lines_of(at.cmd('AT+QCOAPCFG="dtls",0')) == ['+QCOAPCFG: "dtls",1,4', "OK"]
    assert lines_of(at.cmd('AT+QCOAPCFG="trans",0')) == ['+QCOAPCFG: "trans",2,5', "OK"]
    assert final_of(at.cmd('AT+QCOAPCFG="trans",0,60,8')) == "OK"
    for bad in ['"pdpcid",6', '"pdpcid",0,0', '"pdpcid",0,17', '"pdpcid",0,', '"pdpcid",0,x', '"pdpcid",0,1,1',
                '"pdpcid"', '"nope",0', '"dtls",0,2', '"dtls",0,1,6', '"trans",0,61,5', '"trans",0,1,5',
                '"trans",0,4,3', '"trans",0,4,9', '"trans",0,4', '"trans",0,4,5,1']:
        assert at.cmd("AT+QCOAPCFG=" + bad) == b"\r\nERROR\r\n", bad
    assert final_of(at.cmd("AT+QCOAPCFG?")) == "ERROR"
    assert final_of(at.cmd("AT+QCOAPCFG")) == "ERROR"


def test_test_commands(at: AtClient) -> None:
    assert lines_of(at.cmd("AT+QCOAPOPEN=?")) == ["+QCOAPOPEN: (0-5),<CoAP_server>,(1-65535)", "OK"]
    assert lines_of(at.cmd("AT+QCOAPCLOSE=?")) == ["+QCOAPCLOSE: (0-5)", "OK"]
    assert lines_of(at.cmd("AT+QCOAPHEADER=?")) == ["+QCOAPHEADER: (0-5),(0-65535),(0,1),(0-8),<token>", "OK"]
    assert lines_of(at.cmd("AT+QCOAPOPTION=?")) == ["+QCOAPOPTION: (0-5),(0,1),(0-7),<opt_number>,<opt_value>", "OK"]
    assert lines_of(at.cmd("AT+QCOAPSEND=?")) == ["+QCOAPSEND: (0-5),(0-3),<code_value>,<opt_bitmask>,(0-1024)", "OK"]
    assert lines_of(at.cmd("AT+QCOAPOPEN?")) == ["OK"]


@pytest.mark.parametrize("args,ok", [
    ("0,1234,1", True), ("0,65535,0,0,\"\"", True), ("0,0,0,0,", True), ("5,1,0,6,\"D204D52E814B\"", True),
    ("0,1,0,2,abcd", True), ("0,1,1,3", True), ("0,1,0,2,\"abc\"", False), ("0,1,0,2,\"abcdef\"", False),
    ("0,1,0,9,\"00\"", False), ("0,65536,1", False), ("6,1,1", False), ("0,1,2", False), ("0,1,0,2", False),
    ("0,1", False), ("0,1,0,1,\"zz\"", False),
])
def test_qcoapheader_forms(at: AtClient, args: str, ok: bool) -> None:
    assert final_of(at.cmd("AT+QCOAPHEADER=" + args)) == ("OK" if ok else "ERROR")


@pytest.mark.parametrize("args,ok", [
    ('0,0,0,11,"19"', True), ("0,0,1,12,40", True), ("0,0,1,12,\"0\"", True), ("0,0,7,11,", True),
    ("0,0,0,3,\"\"", False), ("0,0,0,1,\"\"", True), ("0,0,0,1,0102030405060708", True),
    ("0,0,0,1,010203040506070809", False), ("0,0,0,4,\"\"", False), ("0,0,0,4,AB", True),
    ("0,0,0,5,\"\"", True), ("0,0,0,5,\"x\"", False), ("0,0,0,7,65535", True), ("0,0,0,7,65536", False),
    ("0,0,0,14,4294967295", True), ("0,0,0,14,4294967296", False), ("0,0,0,60,0", True),
    ("0,0,0,2,\"x\"", False), ("0,0,0,9,\"x\"", False), ("0,0,8,11,\"x\"", False), ("0,0,0,11", False),
    ("0,1,3", True), ("0,2,3", False), ("6,1,3", False), ("0,0,0,39,\"\"", False), ("0,0,0,15,\"a,b\"", True),
])
def test_qcoapoption_forms(at: AtClient, args: str, ok: bool) -> None:
    assert final_of(at.cmd("AT+QCOAPOPTION=" + args)) == ("OK" if ok else "ERROR")


def test_open_close_errors_without_network(at: AtClient) -> None:
    for bad in ['6,"127.0.0.1",5683', '0,"127.0.0.1",0', '0,"127.0.0.1",65536', '0,"127.0.0.1"',
                '0,"127.0.0.1",5683,1', '0,"",5683', '0,"' + "a" * 256 + '",5683']:
        assert final_of(at.cmd("AT+QCOAPOPEN=" + bad)) == "ERROR", bad
    assert at.cmd('AT+QCOAPOPEN=0,"127.0.0.1",5683') == b"\r\nOK\r\n"
    at.expect(rb"^\r\n\+QCOAPOPEN: 0,-4\r\n")  # no PDP context active
    assert at.cmd("AT+QCOAPCLOSE=0") == b"\r\nOK\r\n"
    at.expect(rb"^\r\n\+QCOAPCLOSE: 0,-3\r\n")
    assert final_of(at.cmd("AT+QCOAPCLOSE=6")) == "ERROR"
    assert final_of(at.cmd("AT+QCOAPSEND=0,0,1,0,0")) == "ERROR"  # not connected


def test_cli_rejects_unknown_fault() -> None:
    r = subprocess.run([sys.executable, "-m", "emulator", "--fault", "no-such-fault"], cwd=ROOT,
                       capture_output=True, timeout=20)
    assert r.returncode == 2 and b"unknown fault" in r.stderr


def test_pty_mode_opens_with_pyserial() -> None:
    serial = pytest.importorskip("serial")
    e = EmulatorProcess(["--pty", "--time-scale", SCALE])
    banner = e.start().banner
    try:
        m = re.fullmatch(r"EMULATOR pty (/\S+/usb-Quectel_Incorporated_BG96_\w+-if02-port0)", banner)
        assert m, banner  # a stable by-id style symlink, as udev makes for a real module
        assert os.path.realpath(m.group(1)).startswith("/dev/pts/")
        port = serial.Serial(m.group(1), 115200, timeout=3)
        buf = b""
        while b"APP RDY\r\n" not in buf:
            chunk = port.read(64)
            assert chunk, buf
            buf += chunk
        port.write(b"AT\r")
        buf = b""
        while b"OK\r\n" not in buf:
            chunk = port.read(64)
            assert chunk, buf
            buf += chunk
        assert buf == b"AT\r\r\nOK\r\n"
        port.close()
    finally:
        assert e.stop() == 0


def test_latency_file_applies_per_command(tmp_path) -> None:  # noqa: ANN001
    spec = tmp_path / "lat.json"
    spec.write_text('{"AT+CMEE": 300, "default": 0}')
    e = EmulatorProcess(["--tcp", "127.0.0.1:0", "--time-scale", SCALE, "--latency", str(spec)])
    e.start()
    try:
        c = AtClient.connect(e.address)
        c.expect(rb"APP RDY\r\n")
        import time

        t0 = time.monotonic()
        c.cmd("AT")
        fast = time.monotonic() - t0
        t0 = time.monotonic()
        c.cmd("AT+CMEE?")
        slow = time.monotonic() - t0
        assert fast < 0.2 <= 0.29 < slow
        c.close()
    finally:
        assert e.stop() == 0


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=300))
def test_fuzzed_bytes_never_kill_the_port(at: AtClient, junk: bytes) -> None:
    at.send(junk.replace(b"A", b"").replace(b"a", b"") + b"\r")  # never a command line
    at.send(b"AT+CMEE?\r")
    at.expect(rb"\+CMEE: 1\r\n\r\nOK\r\n")

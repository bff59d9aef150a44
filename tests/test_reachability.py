"""The network path at session start (lab/reachability.py, fixtures/reachability.py): an
unreachable server stops the run in seconds with one message, a hardware rig advertising an
address its module cannot dial is refused, and the measured latency reaches the run info.

The end-to-end cases are pytest runs in a subprocess against the emulator, as tests/test_rigs.py
runs them.
"""
from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from emulator.launcher import start_emulator
from lab.reachability import EMULATOR_PATH_S, HOST_SLACK_S, address_problem, arrival_window, max_rtt
from lab.rig import RigConfig
from spec import QCOAPSEND

from .test_rigs import run_pytest

EXAMPLE = "suites/test_example_5_1.py"


def closed_udp_port() -> int:
    """A loopback port nothing listens on (bound, then given back)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session_seconds(output: str) -> float:
    """pytest's own duration of the session, from its last line ("... in 6.12s")."""
    found = re.findall(r" in (\d+\.\d+)s", output)
    assert found, output[-2000:]
    return float(found[-1])


def test_unreachable_server_stops_the_run_within_seconds(tmp_path: Path) -> None:
    """Nothing listens on the advertised port: at scale 1 the run stops in under 10 s, naming the
    plain server and what to check, instead of a suite of timeouts."""
    port = closed_udp_port()
    run = run_pytest([EXAMPLE, "--time-scale", "1", "--server-advertise", f"127.0.0.1:{port}"],
                     tmp_path / "out", timeout=60)
    assert run.returncode != 0, run.output[-3000:]
    assert f"plain server coap://127.0.0.1:{port}" in run.output, run.output[-3000:]
    assert "no CoAP ping arrived" in run.output and "port forwarding" in run.output and "APN" in run.output
    assert "not checked after it: DTLS server, relay" in run.output
    assert session_seconds(run.output) < 10.0


def test_loopback_advertised_on_a_hardware_rig_is_refused(tmp_path: Path) -> None:
    """``--dut socket://`` is a hardware rig for the loader: its module is on an operator's
    network, so the server's loopback address is refused, unless the rig says otherwise."""
    emulator = start_emulator("tcp", 0.01, log_path=tmp_path / "emulator.log")
    try:
        run = run_pytest([EXAMPLE, "--dut", emulator.url, "--time-scale", "0.01"], tmp_path / "refused")
        assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.output[-3000:]
        assert "advertised at 127.0.0.1 (loopback" in run.output and "server.on_module_network" in run.output
        accepted = run_pytest([EXAMPLE, "--dut", emulator.url, "--time-scale", "0.01", "--server-on-module-network"],
                              tmp_path / "accepted", "accepted")
        assert accepted.returncode == 0, accepted.output[-3000:]
        info = accepted.results()["run"]["info"]
        assert info["path latency"][0].startswith("worst ") and "relay" in info["path latency"][0]
        assert info["AT round trip"][0].endswith("(median of plain AT round trips)")
    finally:
        emulator.stop()


@pytest.mark.parametrize("host, refused", [
    ("127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("172.20.0.1", "private"), ("192.168.1.10", "private"),
    ("100.64.0.1", "private"), ("169.254.3.4", "link-local"), ("fd00::1", "private"),
    ("203.0.113.7", ""), ("198.51.100.1", ""), ("lab.example.org", ""),
])
def test_advertised_addresses_a_module_cannot_dial(host: str, refused: str) -> None:
    rig = RigConfig(dut_url="/dev/ttyUSB2")
    problem = address_problem(rig, {"plain server": (host, 5683)})
    assert (f"({refused}," in problem) if refused else problem == ""
    assert address_problem(RigConfig(dut_url="/dev/ttyUSB2", server_on_module_network=True),
                           {"plain server": (host, 5683)}) == ""
    assert address_problem(RigConfig(), {"plain server": (host, 5683)}) == ""  # the emulator shares this machine


def test_arrival_window_derives_from_the_rigs_latency() -> None:
    emulator, bench = RigConfig(time_scale=0.01, at_grace=0.3), RigConfig(dut_url="/dev/ttyUSB2", at_grace=1.0)
    assert max_rtt(emulator) == pytest.approx(EMULATOR_PATH_S * 0.01 + HOST_SLACK_S)
    assert arrival_window(bench) == pytest.approx(QCOAPSEND.max_response_time + 1.0 + 4.0)
    slow = RigConfig(dut_url="/dev/ttyUSB2", at_grace=1.0, max_rtt=8.0)
    assert arrival_window(slow) == pytest.approx(QCOAPSEND.max_response_time + 1.0 + 8.0)

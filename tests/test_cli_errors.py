"""The three programs' command lines: every bad argument is one line on stderr and exit 2, never a traceback."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def taken() -> Iterator[tuple[int, int]]:
    """(a UDP port, a TCP port) that something else already holds."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    udp.bind(("127.0.0.1", 0))
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    yield udp.getsockname()[1], tcp.getsockname()[1]
    udp.close()
    tcp.close()


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True, timeout=30,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


def assert_usage_error(result: subprocess.CompletedProcess[str], says: str) -> None:
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert len(lines) == 1, result.stderr
    assert says in lines[0], lines[0]


SERVER, RELAY, EMULATOR = "reference_server", "relay", "emulator"
UNWRITABLE = "/nonexistent-directory/capture.pcap"


@pytest.mark.parametrize("argv, says", [
    ([SERVER, "--bind", "127.0.0.1:99999"], "99999"),
    ([SERVER, "--bind", "127.0.0.1:port"], "HOST:PORT"),
    ([SERVER, "--bind", "127.0.0.1:0", "--pcap", UNWRITABLE], "--pcap"),
    ([SERVER, "--bind", "127.0.0.1:0", "--dtls", "--psk-identity", "id", "--psk-key", ""], "PSK key is empty"),
    ([SERVER, "--bind", "127.0.0.1:0", "--dtls", "--psk-identity", "id", "--psk-key-hex", ""], "PSK key is empty"),
    ([SERVER, "--bind", "127.0.0.1:0", "--dtls", "--psk-identity", "id", "--psk-key-hex", "zz"], "not valid hex"),
    ([SERVER, "--no-such-option"], "--no-such-option"),
    ([RELAY, "--bind", "127.0.0.1:99999", "--to", "127.0.0.1:5683"], "99999"),
    ([RELAY, "--to", "127.0.0.1:0"], "port 0"),
    ([RELAY], "--to"),
    ([EMULATOR, "--tcp", "127.0.0.1:99999"], "99999"),
    ([EMULATOR, "--time-scale", "0"], "time-scale"),
    ([EMULATOR, "--fault", "no-such-fault"], "no-such-fault"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_argument_is_one_line(argv: list[str], says: str) -> None:
    assert_usage_error(run(*argv), says)


@pytest.mark.parametrize("program", [SERVER, RELAY, EMULATOR])
def test_port_in_use_is_one_line(program: str, taken: tuple[int, int]) -> None:
    udp_port, tcp_port = taken
    argv = {SERVER: [SERVER, "--bind", f"127.0.0.1:{udp_port}"],
            RELAY: [RELAY, "--bind", f"127.0.0.1:{udp_port}", "--to", "127.0.0.1:5683"],
            EMULATOR: [EMULATOR, "--tcp", f"127.0.0.1:{tcp_port}"]}[program]
    assert_usage_error(run(*argv), str(udp_port if program != EMULATOR else tcp_port))

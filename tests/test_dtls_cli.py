"""The reference server's bench CLI: DTLS only with a PSK identity and key, and then it works."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from reference_server.cli import main
from reference_server.testing import DtlsClient, request_bytes

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("argv, complaint", [
    (["--dtls"], "--dtls needs --psk-identity and --psk-key or --psk-key-hex"),
    (["--dtls", "--psk-identity", "id"], "--dtls needs --psk-identity"),
    (["--dtls", "--psk-key-hex", "3132"], "--dtls needs --psk-identity"),
    (["--dtls", "--psk-identity", "id", "--psk-key-hex", "31x2"], "not valid hex"),
    (["--psk-identity", "id", "--psk-key", "k"], "PSK options need --dtls"),
], ids=["dtls-alone", "no-key", "no-identity", "bad-hex", "psk-without-dtls"])
def test_cli_refuses_dtls_without_identity_and_key(argv: list[str], complaint: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--bind", "127.0.0.1:0", *argv]) == 2
    out = capsys.readouterr()
    assert complaint in out.err and "REFERENCE-SERVER" not in out.out


def test_cli_serves_dtls_psk() -> None:
    """`python -m reference_server --dtls ...` prints its address, completes a PSK handshake, answers
    CoAP through the session, prints each datagram, and stops cleanly on SIGTERM."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "reference_server", "--bind", "127.0.0.1:0", "--dtls",
         "--psk-identity", "bench", "--psk-key-hex", "313233343446473839"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    client = None
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 15)
        assert ready, "no banner"
        banner = proc.stdout.readline().decode().split()
        assert banner[:2] == ["REFERENCE-SERVER", "dtls"], banner
        host, port = banner[2].rsplit(":", 1)
        client = DtlsClient((host, int(port)), b"bench", bytes.fromhex("313233343446473839"))
        assert client.connect(timeout=5.0)
        client.send(request_bytes(0, 1, 0x31, b"\x01", "19"))
        assert client.recv(timeout=5.0)[:4] == bytes([0x61, 0x45, 0x00, 0x31])
    finally:
        if client is not None:
            client.close()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert any("dtls[23/e1]" in line and "mid=49" in line for line in lines), lines

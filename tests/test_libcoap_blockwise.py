"""Block-wise transfers (RFC 7959) against the standalone server, with libcoap's coap-client as the peer.

`./suite server` is what a bench points a real client at: a Block1 POST must come back whole
(before, the server answered the first block with a plain 2.05 and the client lost the rest), a
Block2 GET must deliver the whole resource, and a critical option it does not serve gets 4.02.
"""
from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reference_server.resources import LARGE_PAYLOAD

ROOT = Path(__file__).resolve().parents[1]
#: Debian's libcoap3-bin names the client by its TLS library; other builds call it coap-client
CLIENTS = ("coap-client", "coap-client-notls", "coap-client-gnutls", "coap-client-openssl")
COAP_CLIENT = next((path for path in map(shutil.which, CLIENTS) if path), None)
pytestmark = pytest.mark.skipif(COAP_CLIENT is None, reason="libcoap's coap-client is not installed (libcoap3-bin)")
BODY = bytes(0x21 + i % 94 for i in range(1000))  # printable: coap-client writes the payload as it is


@pytest.fixture(scope="module")
def server_port() -> Iterator[int]:
    """`python -m reference_server` on an ephemeral port, read from its banner."""
    proc = subprocess.Popen([sys.executable, "-m", "reference_server", "--bind", "127.0.0.1:0"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 15)
        assert ready, "the server printed no banner"
        banner = proc.stdout.readline().decode().split()
        assert banner[:2] == ["REFERENCE-SERVER", "udp"], banner
        yield int(banner[2].rsplit(":", 1)[1])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)


def coap_client(*argv: str) -> subprocess.CompletedProcess[bytes]:
    """coap-client's run: a 2.xx payload on stdout (plus one newline), an error response on stderr."""
    result = subprocess.run([COAP_CLIENT, "-B", "10", *argv], capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result


def test_block1_post_is_echoed_whole(server_port: int, tmp_path: Path) -> None:
    """`coap-client -b 256 -m post -f FILE .../echo`: four Block1 blocks in, the 1,000 bytes back."""
    body = tmp_path / "body.txt"
    body.write_bytes(BODY)
    out = coap_client("-b", "256", "-m", "post", "-f", str(body), f"coap://127.0.0.1:{server_port}/echo").stdout
    assert out.rstrip(b"\n") == BODY, f"{len(out.rstrip())} of {len(BODY)} bytes came back"


def test_block2_get_delivers_the_whole_resource(server_port: int) -> None:
    """`coap-client -b 256 .../large`: the 1,024-byte resource in 256-byte Block2 blocks."""
    out = coap_client("-b", "256", f"coap://127.0.0.1:{server_port}/large").stdout
    assert out.rstrip(b"\n") == LARGE_PAYLOAD


def test_unserved_critical_option_gets_bad_option(server_port: int) -> None:
    """A critical option the server does not serve (65001, odd) is refused with 4.02, not ignored."""
    result = coap_client("-O", "65001,0x01", f"coap://127.0.0.1:{server_port}/echo")
    assert result.stderr.startswith(b"4.02") and not result.stdout, result

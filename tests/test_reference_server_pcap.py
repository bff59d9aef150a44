"""pcap output must be evidence Wireshark/tshark can read: CoAP fields decoded."""

import shutil
import subprocess

import pytest

from reference_server import CON, ReferenceServer, coap, write_pcap
from reference_server.testing import UdpClient, request_bytes

TSHARK = shutil.which("tshark") or "/usr/bin/tshark"


@pytest.mark.skipif(not shutil.which("tshark"), reason="tshark not installed")
def test_tshark_decodes_mid_token_uri_path_and_payload(tmp_path):
    with ReferenceServer() as server:
        c = UdpClient(server.bound)
        c.send(request_bytes(CON, 2, 0x2A2B, b"\xd2\x04\xd5\x2e", "19", b"hello-bg96"))
        c.recv()
        server.wait_count(lambda d: True, 2)
        path = tmp_path / "cap.pcap"
        write_pcap(str(path), server.captured(), server.bound)
        c.close()
    out = subprocess.run(
        [TSHARK, "-r", str(path), "-d", f"udp.port=={server.bound[1]},coap", "-V"],
        capture_output=True, text=True, timeout=30,
    ).stdout
    assert "Message ID: 10795" in out
    assert "d204d52e" in out
    assert "Uri-Path: 19" in out or "Opt Name: #1: Uri-Path: 19" in out
    assert "hello-bg96" in out or "68656c6c6f2d62673936" in out
    assert "Src Port: %d" % c.address[1] in out
    fields = subprocess.run(
        [TSHARK, "-r", str(path), "-d", f"udp.port=={server.bound[1]},coap", "-T", "fields", "-e", "coap.mid", "-e", "coap.type"],
        capture_output=True, text=True, timeout=30,
    ).stdout.split()
    assert fields == ["10795", "0", "10795", "2"]

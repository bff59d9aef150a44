"""A suite test's pcap, opened by tshark, shows the message the suite checked (issue: bytes on the wire)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .forked_pytest import run_pytest as run_forked

ROOT = Path(__file__).resolve().parent.parent
TEST = "suites/test_uplink_header.py::test_send_con_post_byte_for_byte"

pytestmark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")


def test_pcap_decodes_to_the_checked_datagram(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = run_forked([TEST, "-k", "not dtls", "-p", "no:cacheprovider", "-q", "--report-dir", str(out),
                      "--report-name", "pcap-check"], timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    results = json.loads((out / "pcap-check.json").read_text())
    [test] = [t for t in results["tests"] if "byte_for_byte" in t["nodeid"]]
    pcap = Path(test["pcap"])
    if not pcap.is_absolute():
        pcap = ROOT / pcap
    assert pcap.exists(), f"no pcap at {pcap}"
    fields = subprocess.run(
        ["tshark", "-r", str(pcap), "-d", "udp.port==1-65535,coap", "-T", "fields", "-E", "separator=|",
         "-e", "coap.type", "-e", "coap.code", "-e", "coap.mid", "-e", "coap.token", "-e", "coap.opt.uri_path",
         "-e", "coap.opt.ctype", "-e", "coap.payload"],
        capture_output=True, text=True, timeout=60, check=True).stdout.splitlines()
    # the pcap keeps what the fixtures set aside before the test's message (over UDP, the wake-up
    # ping and its RST): the checked CON is the first message with the test's message ID
    [request, *_] = [f.split("|") for f in fields if f.split("|")[2:3] == ["1234"]] or [[]]
    assert request[:5] == ["0", "2", "1234", "a0a1", "19"], fields
    assert "application/link-format" in request[5]
    verbose = subprocess.run(["tshark", "-r", str(pcap), "-d", "udp.port==1-65535,coap", "-V", "-x"],
                             capture_output=True, text=True, timeout=60, check=True).stdout
    assert "Message ID: 1234" in verbose and "Token: a0a1" in verbose
    assert "48 65 6c 6c 6f" in verbose  # "Hello", the payload, in the hex dump

"""A run killed in the middle of a test (SIGKILL: a power cut, the CI job's limit) leaves its evidence:
valid JSON results up to the last finished test, the transcript of the test it was in, the pcaps
of the tests before it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixtures.transcript_log import log_name

ROOT = Path(__file__).resolve().parents[1]
PCAP_MAGIC = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
EARLIER = "test_message_id_in_network_byte_order"
KILLED = "test_unanswered_con_is_retransmitted"


def wait_for(predicate, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.05)  # polling a file another process writes: no event to wait on


@pytest.mark.timeout(300)
def test_sigkill_mid_test_leaves_results_transcript_and_pcaps(tmp_path: Path) -> None:
    # --rootdir: this run's pcaps go under tmp_path, apart from those of the run this test is in
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "pytest", "suites/test_uplink_header.py", "suites/test_retransmission.py",
           f"-k=({EARLIER} or trans-60s-4x) and not dtls", "-p", "no:cacheprovider", "-p", "no:html",
           "-c", str(ROOT / "pyproject.toml"), f"--rootdir={tmp_path}", f"--report-dir={out}",
           "--report-name=killed"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        def killed_log() -> Path | None:
            logs = [p for p in (out / "transcripts").glob(f"*{KILLED}*.log")] if (out / "transcripts").exists() else []
            return logs[0] if logs else None

        # mid-test: the CON is out and the module has retransmitted it at least once
        wait_for(lambda: (log := killed_log()) is not None and "+QCOAPIND" in log.read_text(), 120,
                 "the long test's transcript showing a retransmission")
        assert proc.poll() is None, "the run ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)  # pytest and the emulator it started: its own session
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    doc = json.loads((out / "killed.json").read_text())  # valid JSON, written after every test
    assert doc["complete"] is False
    earlier = [t for t in doc["tests"] if EARLIER in t["nodeid"]]
    assert len(earlier) == 6 and all(t["outcome"] == "passed" for t in earlier)
    assert not any(KILLED in t["nodeid"] and t["outcome"] == "passed" for t in doc["tests"])
    for record in earlier:
        pcap = Path(record["pcap"])
        data = pcap.read_bytes()
        assert data[:4] in PCAP_MAGIC and len(data) > 24 + 16, f"{pcap}: not a pcap with a packet"
        assert pcap.is_relative_to(tmp_path)
        assert (out / "transcripts" / log_name(record["nodeid"])).exists()
    log = killed_log()
    assert log is not None
    text = log.read_text()
    assert "AT+QCOAPSEND" in text and "+QCOAPIND" in text
    assert "# end of the test" not in text, "the transcript was written as the test ran, not at its end"

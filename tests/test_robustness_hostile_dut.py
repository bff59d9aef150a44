"""A DUT that prints garbage, floods URCs or goes silent: the suites fail the affected tests, each
with its transcript on disk, and the run ends; it never hangs.

Each case is a sub-run of the suites, as a user would start it, against an emulator started with
the fault (``--emulator-arg=--fault --emulator-arg=NAME``), its results in a temporary report dir.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixtures.transcript_log import log_name

from .forked_pytest import run_pytest as run_forked

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class SubRun:
    returncode: int
    elapsed: float
    tests: dict[str, dict]  # nodeid -> JSON record
    complete: bool
    transcripts: Path
    output: str
    info: dict[str, list[str]]  # the run's header facts

    def transcript(self, nodeid: str) -> str:
        path = self.transcripts / log_name(nodeid)
        assert path.exists(), f"no transcript on disk for {nodeid}"
        return path.read_text()


def sub_run(tmp_path: Path, fault: str, selection: list[str], *options: str, limit: float = 240) -> SubRun:
    started = time.monotonic()
    done = run_forked([*selection, "-q", "-p", "no:cacheprovider", "-p", "no:html", f"--report-dir={tmp_path}",
                       "--report-name=hostile", "--emulator-arg=--fault", f"--emulator-arg={fault}", *options],
                      timeout=limit)
    elapsed = time.monotonic() - started
    doc = json.loads((tmp_path / "hostile.json").read_text())
    return SubRun(done.returncode, elapsed, {t["nodeid"]: t for t in doc["tests"]}, doc["complete"],
                  tmp_path / "transcripts", done.stdout[-4000:] + done.stderr[-2000:], doc["run"]["info"])


@pytest.mark.timeout(300)
def test_garbage_output_fails_the_tests_it_garbles(tmp_path: Path) -> None:
    run = sub_run(tmp_path, "garbage-output", ["suites/test_command_forms.py", "-k=test_command_response"])
    assert run.returncode == 1 and run.complete, run.output
    assert len(run.tests) == 6 and all(t["outcome"] == "failed" for t in run.tests.values()), run.output
    for nodeid, record in run.tests.items():
        text = run.transcript(nodeid)
        assert "AT+QCOAP" in text and "\\x" in text, "the transcript shows the command and the noise"
        assert "assert" in record["longrepr"]


@pytest.mark.timeout(300)
def test_urc_flood_fails_the_tests_and_the_run_ends(tmp_path: Path) -> None:
    run = sub_run(tmp_path, "urc-flood",
                  ["suites/test_downlink_recv.py", "-k=c_dd and not dtls and (2.05 or 4.04)"])
    assert run.returncode == 1 and run.complete, run.output
    assert len(run.tests) == 2 and all(t["outcome"] == "failed" for t in run.tests.values()), run.output
    for nodeid in run.tests:
        flood = run.transcript(nodeid).count("+QCOAPRECV: 0,0,2.05,0,,0,0")
        assert flood >= 5, f"{nodeid}: only {flood} bogus URCs in the transcript"


@pytest.mark.timeout(300)
def test_silent_dut_fails_each_test_within_its_limit(tmp_path: Path) -> None:
    """The module hangs at its first AT+QCOAPSEND: that test fails within its limit, its transcript
    showing the step; its clean-up and the next test (the recovery's probe) end at the overall limit,
    not after the 75 s OPEN/CLOSE maxima or a 60 s bring-up each."""
    base = 5.0
    run = sub_run(tmp_path, "go-silent",
                  ["suites/test_uplink_header.py", "-k=network_byte_order and not dtls and (1234 or 65535)"],
                  f"--test-timeout={base}")
    assert run.returncode == 1 and run.complete, run.output
    first, second = (run.tests[n] for n in sorted(run.tests, key=lambda n: "65535" in n))
    # the first AT+QCOAPSEND is the session's reachability ping (a CoAP ping before the first
    # test that uses the server): the hang shows in that test's set-up or in its call
    assert first["outcome"] in ("failed", "error") and "Timeout" in first["longrepr"], first["longrepr"][-2000:]
    hang = " ".join(run.info.get("path latency", []))
    assert "AT+QCOAPSEND" in hang, f"the run names the step that got no answer: {hang!r}"
    assert second["outcome"] in ("failed", "error") and "Timeout" in second["longrepr"]
    limit = base + 2 * 189 * 0.01  # fixtures/timeouts.py: base + two default exchanges, scaled
    assert all(t["duration"] <= limit + 3 for t in run.tests.values()), [t["duration"] for t in run.tests.values()]
    for nodeid in run.tests:
        assert run.transcript(nodeid)

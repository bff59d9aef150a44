"""The DUT guard (fixtures/recovery.py) end to end, the -8 case on the emulator, and the OPEN/CLOSE
result times it puts into the evidence.

The end-to-end checks are sub-runs of pytest against the emulator started with a fault, as a user
would run the suite: ``hang-then-reboot`` (the module stops answering, then a watchdog reset) and
``out-of-memory`` (AT+QCOAPOPEN reports -8).
"""
from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

from evidence import Evidence, Timing, TranscriptEntry
from fixtures.recovery import add_result_timings

from .forked_pytest import run_pytest as run_forked, runpytest_forked

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
SUB_RUN_TIMEOUT = 300  # seconds: a sub-run starts an emulator and brings it up (a few seconds)


def root_plugins() -> list[str]:
    """The plugin list of the project's root conftest.py (the sub-run loads the same)."""
    tree = ast.parse((ROOT / "conftest.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytest_plugins" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise AssertionError("no pytest_plugins in conftest.py")


HANGING_SUITE = '''
import pytest


@pytest.fixture(autouse=True)
def _record_at(at_evidence):
    return at_evidence


def test_a_dut_that_stops_answering(module):
    """AT+CSQ hangs the emulator (fault hang-then-reboot): this test fails on the AT timeout."""
    module.command("AT+CSQ", timeout=1.0)


def test_b_runs_on_a_recovered_module(module, client):
    """The guard recovered the module before this test: it answers, echo off, PDP context up."""
    response = module.command("AT+CSQ")
    assert response.ok and response.lines == ["+CSQ: 31,99"], response.text
    assert module.pdp_active(1)
'''


@pytest.fixture
def hanging(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    pytester.makeconftest(f"pytest_plugins = {root_plugins()!r}\n")
    pytester.makepyfile(test_hanging=HANGING_SUITE)
    return pytester


def test_dut_that_stops_answering_fails_one_test_and_the_next_passes(hanging: pytest.Pytester) -> None:
    result = runpytest_forked(hanging, "-p", "no:cacheprovider", "--report-dir", "out",
                              "--emulator-arg=--fault=hang-then-reboot", timeout=SUB_RUN_TIMEOUT)
    result.assert_outcomes(failed=1, passed=1)
    data = json.loads((hanging.path / "out" / "report.json").read_text())
    tests = {t["nodeid"].split("::")[1]: t for t in data["tests"]}
    failed, passed = tests["test_a_dut_that_stops_answering"], tests["test_b_runs_on_a_recovered_module"]
    assert failed["outcome"] == "failed" and "ATTimeout" in failed["longrepr"]
    assert "AT+CSQ" in failed["longrepr"], "the failure names the step that got no answer"
    assert passed["outcome"] == "passed"
    recovery = [n for n in passed["notes"] if n.startswith("before this test:")]
    assert recovery and "test_a_dut_that_stops_answering" in recovery[0] and "brought up again" in recovery[0]
    html = (hanging.path / "out" / "report.html").read_text()
    assert "bg96-transcript" in html and "AT+CSQ" in html, "the failed test's transcript is in the report"


REBOOTING_SUITE = '''
import pytest


def test_a_module_that_restarts_by_itself(module):
    """A reset nobody asked the harness for (written raw: the test does not wait for RDY itself)."""
    module.at.write_raw(b"AT+CFUN=1,1\\r")
    module.at.wait_urc(r"^APP RDY$", 10.0)  # RDY stays unconsumed, as a URC between tests would


def test_b_finds_the_module_brought_up_again(module):
    assert module.pdp_active(1), "the guard did not bring the module up after its restart"
    assert module.command("AT").lines == [], "echo is on: no bring-up after the restart"
'''


def test_unasked_restart_is_noticed_without_an_at_round_trip(pytester: pytest.Pytester,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    pytester.makeconftest(f"pytest_plugins = {root_plugins()!r}\n")
    pytester.makepyfile(test_rebooting=REBOOTING_SUITE)
    result = runpytest_forked(pytester, "-p", "no:cacheprovider", "--report-dir", "out", timeout=SUB_RUN_TIMEOUT)
    result.assert_outcomes(passed=2)
    data = json.loads((pytester.path / "out" / "report.json").read_text())
    notes = {t["nodeid"].split("::")[1]: t["notes"] for t in data["tests"]}
    assert any("printed 'RDY' unasked" in n for n in notes["test_b_finds_the_module_brought_up_again"])
    assert not any(n.startswith("before this test:") for n in notes["test_a_module_that_restarts_by_itself"])


def test_out_of_memory_case_on_the_emulator(tmp_path: Path) -> None:
    """The suite's -8 case, run as a user would with the emulator's out-of-memory fault: passes,
    and the report shows the provocation with its -8."""
    nodeid = "suites/test_result_codes.py::test_result_code[result--8-out-of-memory-error]"
    done = run_forked([nodeid, "-p", "no:cacheprovider", "-q", "--report-dir", str(tmp_path),
                       "--emulator-arg=--fault=out-of-memory"], timeout=SUB_RUN_TIMEOUT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    data = json.loads((tmp_path / "report.json").read_text())
    (record,) = data["tests"]
    assert record["outcome"] == "passed"
    rows = [row for table in record["tables"] for row in table["rows"]]
    assert any(row[2] == "OK" and row[3] == "-8" for row in rows), rows
    trace = {row["id"]: row["status"] for row in data["traceability"]}
    assert trace["T4--8"] == "passed"


# -- OPEN/CLOSE result times --------------------------------------------------------------------
def _evidence(entries: list[tuple[float, str, bytes]], timings: list[Timing]) -> Evidence:
    ev = Evidence("t")
    ev.transcript = [TranscriptEntry(t, d, data) for t, d, data in entries]
    ev.timings = timings
    return ev


def test_open_timing_runs_to_its_result_urc() -> None:
    line = 'AT+QCOAPOPEN=0,"10.0.0.1",5683'
    ev = _evidence([(10.0, "tx", (line + "\r").encode()), (10.01, "rx", b"\r\nOK\r\n"),
                    (11.5, "rx", b"\r\n+QCOAPOP"), (12.0, "rx", b"EN: 0,0\r\n")],
                   [Timing("AT+QCOAPOPEN", line, 0.01, 75.0)])
    add_result_timings(ev)
    (timing,) = ev.timings
    assert timing.elapsed == pytest.approx(2.0) and timing.line == f"{line} -> +QCOAPOPEN: 0,0"
    assert timing.maximum == 75.0


def test_refused_open_keeps_its_ok_time_and_the_next_open_gets_the_urc() -> None:
    bad, good = 'AT+QCOAPOPEN=0,"10.0.0.1",0', 'AT+QCOAPOPEN=0,"10.0.0.1",5683'
    ev = _evidence([(1.0, "tx", (bad + "\r").encode()), (1.01, "rx", b"\r\nERROR\r\n"),
                    (2.0, "tx", (good + "\r").encode()), (2.01, "rx", b"\r\nOK\r\n"),
                    (2.5, "rx", b"\r\n+QCOAPOPEN: 0,-5\r\n"),
                    (3.0, "tx", b"AT+QCOAPCLOSE=1\r"), (3.01, "rx", b"\r\nOK\r\n\r\n+QCOAPCLOSE: 1,-3\r\n")],
                   [Timing("AT+QCOAPOPEN", bad, 0.01, 75.0), Timing("AT+QCOAPOPEN", good, 0.01, 75.0),
                    Timing("AT+QCOAPCLOSE", "AT+QCOAPCLOSE=1", 0.01, 75.0)])
    add_result_timings(ev)
    assert [(t.line, round(t.elapsed, 3)) for t in ev.timings] == [
        (bad, 0.01), (f"{good} -> +QCOAPOPEN: 0,-5", 0.5), ("AT+QCOAPCLOSE=1 -> +QCOAPCLOSE: 1,-3", 0.01)]

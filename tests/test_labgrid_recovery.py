"""A module that no longer answers AT, power-cycled through its labgrid place's NetworkPowerPort.

Its own lab (tests/labgrid_lab.py) with one place: the test waits out the AT probe's limit and the
power cycle, and with the places' other tests (tests/test_labgrid.py) it made one module of about
90 s, the longest unit a worker of ``./suite test`` could be handed.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterator

import pytest

from tests.labgrid_lab import END_TO_END, SUITE_TIMEOUT, Lab, require_labgrid, start_lab, start_suite
from tests.test_recovery import root_plugins


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Place bg96-b: an emulator that goes silent at its first AT+QCOAPSEND."""
    require_labgrid()
    yield from start_lab(tmp_path_factory.mktemp("lab"), {"bg96-b": "--time-scale 0.01 --fault=go-silent"},
                         sys.executable)


SILENT_SUITE = '''
def test_a_module_that_goes_silent(module):
    """AT+QCOAPSEND hangs the emulator (fault go-silent): this test fails on the AT timeout."""
    module.command("AT+QCOAPSEND=0,0,1,1,0", timeout=1.0)


def test_b_runs_after_a_power_cycle(module):
    assert module.command("AT").ok
'''


@END_TO_END
def test_recovery_power_cycles_through_the_place(lab: Lab, tmp_path: Path) -> None:
    """A module that no longer answers AT is power-cycled through the place's NetworkPowerPort."""
    (tmp_path / "conftest.py").write_text(f"pytest_plugins = {root_plugins()!r}\n")
    (tmp_path / "test_silent.py").write_text(SILENT_SUITE)
    before = lab.power_status("bg96-b")["cycles"]
    # the bring-up timeout is the AT probe's limit and the power cycle's (2 s off, a new emulator)
    run = start_suite(lab, "recovery", "test_silent.py", "--lg-place", "bg96-b", "--bring-up-timeout", "15",
                      "--report-dir", "out", cwd=tmp_path)
    try:
        rc = run.wait(SUITE_TIMEOUT)
    finally:
        run.stop()
    assert rc == pytest.ExitCode.TESTS_FAILED, run.text[-4000:]
    tests = {t["nodeid"].split("::")[1]: t for t in json.loads((tmp_path / "out" / "report.json").read_text())["tests"]}
    assert tests["test_a_module_that_goes_silent"]["outcome"] == "failed"
    assert tests["test_b_runs_after_a_power_cycle"]["outcome"] == "passed", run.text[-4000:]
    notes = " ".join(tests["test_b_runs_after_a_power_cycle"]["notes"])
    assert "power cycle: env" in notes and "lab.labgrid power-cycle --place bg96-b" in notes, notes
    assert lab.power_status("bg96-b")["cycles"] == before + 1, "the emulator was switched off and on once"
    assert lab.holder("bg96-b") is None

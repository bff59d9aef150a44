"""The self-check's own checks: every fault is hooked and mapped, verdicts are computed right, and a
small ``python -m selfcheck`` run end to end prints and writes its table."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.faults import FAULTS
from selfcheck.catalogue import FAULT_SELECTION, HARNESS_SELECTIONS, SELECTIONS, Selection, checks
from selfcheck.runner import ROOT, Run, RunResult
from selfcheck.verdict import CAUGHT, MISSED, clean_verdict, fault_verdict, harness_verdict
from tests.forked_pytest import PROGRAM as PYTEST
from wire import forkserver

EMULATOR_SOURCES = [p for p in (ROOT / "emulator").glob("*.py") if p.name != "faults.py"]


def hooked_faults() -> set[str]:
    text = "".join(p.read_text() for p in EMULATOR_SOURCES)
    return set(re.findall(r"faults\.on\(\s*\"([a-z0-9-]+)\"\s*\)", text))


def test_at_least_twenty_faults_each_with_a_hook_in_the_emulator() -> None:
    assert len(FAULTS) >= 20
    assert sorted(set(FAULTS) - hooked_faults()) == [], "registered faults no emulator code asks for"
    assert sorted(hooked_faults() - set(FAULTS)) == [], "hooks for names the registry does not know"


def test_every_fault_has_a_selection_and_every_selection_exists() -> None:
    assert sorted(set(FAULTS) - set(FAULT_SELECTION) - set(HARNESS_SELECTIONS)) == []
    assert sorted(set(FAULT_SELECTION) - set(FAULTS)) == [], "selections for faults the emulator lacks"
    assert set(FAULT_SELECTION.values()) <= set(SELECTIONS)
    for selection in [*SELECTIONS.values(), *HARNESS_SELECTIONS.values()]:
        for path in selection.paths:
            assert (ROOT / path.split("::")[0]).exists(), path
    assert len(checks(FAULTS)) == len(FAULTS)


def test_unknown_fault_is_a_usage_error() -> None:
    with pytest.raises(KeyError, match="not a fault"):
        checks(FAULTS, ["no-such-fault"])
    done = subprocess.run([sys.executable, "-m", "selfcheck", "--fault", "no-such-fault"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "no-such-fault" in done.stderr


def test_selection_arguments() -> None:
    sel = Selection(("suites/test_x.py",), "a or b", "dtls", ("--test-timeout=5",))
    assert sel.args() == ["suites/test_x.py", "-k=a or b", "-m=dtls", "--test-timeout=5"]
    cmd = Run("fault-x", sel, "drop-token").command(Path("/tmp/out"))
    assert cmd[cmd.index("--emulator-arg=--fault") + 1] == "--emulator-arg=drop-token"
    assert "--emulator-arg=--fault" not in Run("clean-x", sel).command(Path("/tmp/out"))
    assert cmd[:3] == [sys.executable, "-m", "pytest"]
    other = Run("clean-x", sel).command(Path("/tmp/out"), "/venv2/bin/python")
    assert other[:3] == ["/venv2/bin/python", "-m", "pytest"]


def _result(outcomes: dict[str, str], problem: str = "") -> RunResult:
    return RunResult(Run("r", Selection(("suites/t.py",))), 0, 1.0, outcomes, True, problem)


CHECK = checks(FAULTS, ["drop-token"])[0]


def test_a_test_red_on_the_clean_emulator_catches_nothing() -> None:
    clean = _result({"a": "passed", "b": "failed", "c": "passed"})
    v = fault_verdict(CHECK, _result({"a": "failed", "b": "failed", "c": "passed"}), clean)
    assert (v.status, v.caught_by) == (CAUGHT, ("a",))
    v = fault_verdict(CHECK, _result({"a": "passed", "b": "failed", "c": "passed"}), clean)
    assert (v.status, v.caught_by) == (MISSED, ())
    assert not clean_verdict("x", clean).ok and clean_verdict("x", _result({"a": "passed"})).ok


def test_a_run_without_results_or_that_hung_is_missed() -> None:
    clean = _result({"a": "passed"})
    assert fault_verdict(CHECK, _result({}, "no test selected"), clean).status == MISSED
    hung = fault_verdict(CHECK, _result({"a": "error"}, "hung: killed after 300 s"), clean)
    assert hung.status == MISSED and "not hang" in hung.problem
    assert not clean_verdict("x", _result({}, "no test selected")).ok


def test_harness_check_is_caught_only_when_its_tests_pass() -> None:
    check = checks(FAULTS, ["hang-then-reboot"])[0]
    assert check.harness
    assert harness_verdict(check, _result({"t": "passed"})).status == CAUGHT
    assert harness_verdict(check, _result({"t": "failed"})).status == MISSED


def test_selfcheck_end_to_end(tmp_path: Path) -> None:
    """Two faults on the real emulator: caught, clean runs pass, table printed, JSON and Markdown
    written. Its pytest runs fork from the warm server (tests/forked_python)."""
    forkserver.client(PYTEST)
    done = subprocess.run([sys.executable, "-m", "selfcheck", "--fault", "mid-little-endian",
                           "--fault", "test-response-typo", "--out", str(tmp_path),
                           "--python", str(ROOT / "tests" / "forked_python")],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"mid-little-endian\s+caught\s+4: test_uplink_header::test_message_id", done.stdout)
    assert re.search(r"test-response-typo\s+caught\s+1: test_command_forms::test_test_command_response"
                     r"\[AT\+QCOAPCLOSE\]", done.stdout)
    doc = json.loads((tmp_path / "selfcheck.json").read_text())
    assert doc["ok"] and [f["fault"] for f in doc["faults"]] == ["mid-little-endian", "test-response-typo"]
    assert all(c["ok"] for c in doc["clean"]) and {c["selection"] for c in doc["clean"]} == {"msgid-wire", "test-forms"}
    assert "| `mid-little-endian` |" in (tmp_path / "selfcheck.md").read_text()
    assert (tmp_path / "runs" / "fault-mid-little-endian" / "results.json").exists()


def test_field_runs_take_the_field_options() -> None:
    from selfcheck.cli import parse_args
    from selfcheck.runner import FIELD_OPTIONS

    assert parse_args(["--field"]).field and not parse_args([]).field
    cmd = Run("fault-x", Selection(("suites/t.py",)), "drop-token", FIELD_OPTIONS).command(Path("/tmp/out"))
    assert "--emulator-arg=--field" in cmd and "--emulator-transport=pty" in cmd
    assert cmd[cmd.index("--emulator-arg=--fault") + 1] == "--emulator-arg=drop-token"

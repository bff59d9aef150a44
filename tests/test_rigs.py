"""Rig files, rig lists and runs on them: what a bench or a lab job gets from ``--rig``.

The end-to-end tests start pytest as a process of its own, with the arguments a lab job gives
(forked from a warm pytest: tests/forked_pytest.py), against emulators (the bundled one, started
here by hand, or by the fixtures), and read the JSON results.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from emulator.launcher import EmulatorProcess, start_emulator

from .forked_pytest import run_pytest as run_forked

ROOT = Path(__file__).resolve().parent.parent
RIGS = ROOT / "rigs"
#: The suites use no hypothesis; its plugin's import at the summary costs seconds per inner run.
NO_HYPOTHESIS = "no:hypothesispytest"


# -- a pytest run as its own process ---------------------------------------------------------------
@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    report_dir: Path
    name: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def results(self) -> dict[str, Any]:
        return json.loads((self.report_dir / f"{self.name}.json").read_text())


def run_pytest(args: list[str], report_dir: Path, name: str = "run", timeout: float = 180.0) -> Run:
    """``python -m pytest <args>`` from the project root with the reports in ``report_dir``.

    The outer run's xdist and pytest variables are dropped: the inner run is what a user starts
    by hand, not a worker of this one.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT_TEST", "PYTEST_ADDOPTS"))}
    done = run_forked([*args, "-p", "no:cacheprovider", "-p", NO_HYPOTHESIS, "--report-dir", str(report_dir),
                       "--report-name", name], env=env, timeout=timeout)
    return Run(done.returncode, done.stdout, done.stderr, report_dir, name)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# -- bad rig files ------------------------------------------------------------------------------
def test_wrong_key_names_the_key_and_the_file(tmp_path: Path) -> None:
    """The issue's case, end to end: pytest stops before collecting, naming key and file."""
    path = write(tmp_path / "bench9.toml", '[dut]\nurl = "/dev/ttyUSB2"\nbaud_rate = 115200\n')
    run = run_pytest(["suites", "--rig", str(path), "--collect-only", "-q"], tmp_path / "out")
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.output
    assert "'dut.baud_rate'" in run.stderr and str(path) in run.stderr, run.stderr
    assert "did you mean 'dut.baudrate'" in run.stderr


def test_unknown_exclude_entry_names_the_key_and_the_file(tmp_path: Path) -> None:
    """A typo in suites.exclude must not silently run (or leave out) everything."""
    path = write(tmp_path / "typo.toml", '[suites]\nexclude = ["test_retransmision"]\n')
    run = run_pytest(["suites", "--rig", str(path), "--collect-only", "-q"], tmp_path / "out")
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.output
    assert "'suites.exclude'" in run.stderr and str(path) in run.stderr and "test_retransmision" in run.stderr


# -- rig lists on the command line ------------------------------------------------------------
def test_rig_list_needs_one_worker_per_rig(tmp_path: Path) -> None:
    run = run_pytest(["suites", "--rig-list", str(RIGS / "two-emulators.toml"), "-n", "3",
                      "--collect-only", "-q"], tmp_path / "out")
    assert run.returncode == pytest.ExitCode.USAGE_ERROR and "-n 2" in run.stderr, run.output


def test_one_dut_is_not_shared_by_workers(tmp_path: Path) -> None:
    run = run_pytest(["suites", "--dut", "socket://127.0.0.1:7777", "-n", "2", "--collect-only", "-q"],
                     tmp_path / "out")
    assert run.returncode == pytest.ExitCode.USAGE_ERROR and "would share its AT port" in run.stderr, run.output


# -- the time scale: one name from the command line to the emulator ---------------------------
@pytest.mark.parametrize("old", ["--dut-time-scale", "--emulator-time-scale"])
def test_old_time_scale_options_say_the_new_name(tmp_path: Path, old: str) -> None:
    run = run_pytest(["suites", old, "0.01", "--collect-only", "-q"], tmp_path / "out")
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.output
    assert f"option {old} is now --time-scale" in run.stderr, run.stderr


def test_time_scale_reaches_the_emulator(tmp_path: Path) -> None:
    """``--time-scale`` is the rig's dut.time_scale and the scale the fixtures start the emulator at."""
    run = run_pytest(["suites/test_command_forms.py", "-k", "lower_case_prefix", "--time-scale", "0.02"],
                     tmp_path / "out", "scale")
    assert run.returncode == 0, run.output[-3000:]
    assert run.results()["run"]["info"]["time_scale"] == ["0.02"]


# -- end to end ---------------------------------------------------------------------------------
@pytest.fixture
def hand_started_emulator(tmp_path: Path) -> Iterator[EmulatorProcess]:
    """``python -m emulator --tcp 127.0.0.1:0 --time-scale 0.01``, as a user starts it by hand."""
    emulator = start_emulator("tcp", 0.01, log_path=tmp_path / "emulator.log")
    try:
        yield emulator
    finally:
        emulator.stop()


def test_rig_file_on_socket_url_runs_the_smoke_profile(tmp_path: Path, hand_started_emulator: EmulatorProcess) -> None:
    """A rig file pointing at socket:// to an emulator started by hand: the smoke profile end to end."""
    rig = write(tmp_path / "socket-rig.toml", f'name = "socket-rig"\n[dut]\nurl = "{hand_started_emulator.url}"\n'
                                              'time_scale = 0.01\n[timing]\nat_grace = 0.5\ntolerance = 0.02\n'
                                              # the hand-started module and the server share a loopback
                                              '[server]\non_module_network = true\n')
    run = run_pytest(["suites", "--rig", str(rig), "--profile", "smoke"], tmp_path / "out", "smoke")
    assert run.returncode == 0, run.output[-3000:]
    results = run.results()
    info = results["run"]["info"]
    assert info["rig"] == ["socket-rig"] and info["dut_url"] == [hand_started_emulator.url]
    assert info["profile"] == ["smoke"] and info["module"] == ["Quectel BG96"]
    names = {t["nodeid"] for t in results["tests"]}
    assert len(names) >= 12 and all(t["outcome"] == "passed" for t in results["tests"])
    assert "suites/test_example_5_1.py::test_example_5_1" in names
    assert not any("test_retransmission" in n for n in names), "smoke ran a retransmission test"


def test_two_emulator_rigs_give_one_merged_report(tmp_path: Path) -> None:
    """pytest -n 2 with two emulator rigs: one JSON and one HTML naming both rigs."""
    run = run_pytest(["suites", "-n", "2", "--rig-list", str(RIGS / "two-emulators.toml"), "--profile", "smoke"],
                     tmp_path / "out", "two-rigs")
    assert run.returncode == 0, run.output[-3000:]
    results = run.results()
    info = results["run"]["info"]
    assert sorted(info["rig"]) == ["emulator-a", "emulator-b"]
    assert sorted(info["rig_worker"]) == ["gw0: emulator-a", "gw1: emulator-b"]
    assert len(info["dut_url"]) == 2 and len(info["reference_server"]) == 2  # a DUT and a port each
    assert {t["worker"] for t in results["tests"]} == {"gw0", "gw1"}
    assert all(t["outcome"] == "passed" for t in results["tests"]) and results["complete"]
    html = (tmp_path / "out" / "two-rigs.html").read_text()
    assert "emulator-a" in html and "emulator-b" in html


def test_rig_exclusions_are_deselected_and_reported(tmp_path: Path) -> None:
    rig = write(tmp_path / "no-retrans.toml", '[suites]\nexclude = ["test_retransmission", "slow", "test_qcoapack.py"]\n')
    run = run_pytest(["suites", "--rig", str(rig), "--collect-only", "-q"], tmp_path / "out")
    assert run.returncode == 0, run.output[-3000:]
    collected = [line for line in run.stdout.splitlines() if line.startswith("suites/")]
    assert collected and not any("test_retransmission.py" in n or "test_qcoapack.py" in n for n in collected)
    assert "excluded on the rig: test_retransmission (" in run.stdout and "test_qcoapack (" in run.stdout


def test_latency_profile_keeps_the_hardware_path_timeouts(tmp_path: Path) -> None:
    """The emulator with the measured BG96 response times: the waits the suites derive from the
    document (maximum response time + grace) still hold, and the latencies really applied."""
    latency = {k.upper(): v / 1000.0 for k, v in json.loads((RIGS / "latency-bg96.json").read_text()).items()}
    run = run_pytest(["suites/test_command_forms.py", "suites/test_example_5_1.py", "suites/test_qcoapcfg.py",
                      "suites/test_qcoapopen_close.py", "suites/test_qcoapack.py",
                      "-k", "maximum_response_time or example_5_1 or con_acknowledged",
                      "--emulator-arg=--latency", "--emulator-arg=rigs/latency-bg96.json"],
                     tmp_path / "out", "latency")
    assert run.returncode == 0, run.output[-3000:]
    results = run.results()
    assert len(results["tests"]) >= 10 and all(t["outcome"] == "passed" for t in results["tests"])
    measured = {row["command"]: row for row in results["response_times"]}
    assert {"AT+QCOAPCFG", "AT+QCOAPOPEN", "AT+QCOAPSEND"} <= set(measured)
    for command, row in measured.items():
        assert row["min"] >= latency.get(command, latency["DEFAULT"]) * 0.95, f"{command}: latency not applied"
        assert row["over"] == 0, f"{command}: over its documented maximum with the latency profile"


def test_readme_documents_every_rig_key() -> None:
    from lab.rig import KEYS

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Bench rigs, profiles and lab CI"):]
    missing = [k.path for k in KEYS if f"`{k.path}`" not in section]
    assert not missing, f"rig keys missing from the README: {missing}"
    assert all(f"`{k.option}`" in section for k in KEYS if k.option)

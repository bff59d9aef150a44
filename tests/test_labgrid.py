"""Rigs as labgrid places (lab/labgrid.py, fixtures/labgrid.py): the rig keys, and end to end on
loopback with real parts.

The end-to-end lab (tests/labgrid_lab.py): a labgrid coordinator, an exporter exporting two
emulators' ptys through ser2net and their relays on a ``rest`` power switch
(tests/labgrid_power_stub.py), two places made with ``labgrid-client`` (whose own main() serves
every call of these tests in one process, tests/labgrid_client_shell.py: a process per call costs
~0.8 s of CPU in imports). The suite runs from ``.venv-labgrid`` (``scripts/bootstrap.sh
--labgrid``: labgrid brings a pyserial fork that must not go into ``.venv``), as a user would:
``pytest suites --lg-place P --lg-coordinator C``.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from lab.labgrid import DEFAULT_COORDINATOR, PlaceInfo, coordinator_address
from lab.rig import KEYS_BY_PATH, RigError, build_rig, file_values, load_rigs
from tests.labgrid_lab import LABGRID_VENV, ROOT, Lab, Process, start_lab
from tests.test_recovery import root_plugins

SUITE_TIMEOUT = 400  # seconds for one sub-run of the suite (the smoke profile takes well under a minute)
READY_TIMEOUT = 120  # a sub-run's start-up up to "acquired place" on a loaded 2-core machine
#: an end-to-end test: the lab's start-up (the first test's setup), a sub-run, the lab's stop
END_TO_END = pytest.mark.timeout(3 * SUITE_TIMEOUT)


# -- rig keys and options (no labgrid needed) ---------------------------------------------------
def test_a_place_is_a_hardware_rig_named_after_it() -> None:
    rig = build_rig(file_values({"labgrid": {"place": "bg96-3", "coordinator": "lab:20408", "wait": 600,
                                             "on_unavailable": "skip"}}, "r.toml"), {})
    assert (rig.labgrid_place, rig.labgrid_coordinator, rig.labgrid_wait, rig.labgrid_on_unavailable) == (
        "bg96-3", "lab:20408", 600.0, "skip")
    assert not rig.uses_emulator and rig.time_scale == 1.0 and rig.name == "bg96-3"


@pytest.mark.parametrize("table, message", [
    ({"dut": {"url": "/dev/ttyUSB2"}, "labgrid": {"place": "p"}}, "rig file r.toml: key 'labgrid.place' and dut.url"),
    ({"labgrid": {"on_unavailable": "wait"}}, "key 'labgrid.on_unavailable' must be \"stop\""),
    ({"labgrid": {"coordinator": "lab:port"}}, "key 'labgrid.coordinator' must be the coordinator as HOST"),
    ({"labgrid": {"wait": -1}}, "key 'labgrid.wait' must be 0 or more"),
])
def test_bad_labgrid_keys_name_the_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(RigError, match=message.replace("(", r"\(")):
        build_rig(file_values(table, "r.toml"), {}, "r.toml")


def test_lg_place_gives_one_rig_per_place(tmp_path: Path) -> None:
    rig_file = tmp_path / "lab.toml"
    rig_file.write_text('[labgrid]\ncoordinator = "lab:20408"\nwait = 5\n')
    rigs, source = load_rigs([rig_file], None, {}, places=("a", "b"))
    assert [(r.name, r.labgrid_place, r.labgrid_coordinator, r.labgrid_wait) for r in rigs] == [
        ("a", "a", "lab:20408", 5.0), ("b", "b", "lab:20408", 5.0)]
    with pytest.raises(RigError, match="rigs 'a' and 'a' share"):
        load_rigs([], None, {}, places=("a", "a"))
    with pytest.raises(RigError, match="both set"):
        load_rigs([], None, {"dut_url": "/dev/ttyUSB2"}, places=("a",))


def test_the_coordinator_is_found_as_labgrid_finds_it() -> None:
    env = {"LG_COORDINATOR": "env:1"}
    assert coordinator_address("opt:1", "rig:1", env) == "opt:1"
    assert coordinator_address(None, "rig:1", env) == "rig:1"
    assert coordinator_address(None, None, env) == "env:1"
    assert coordinator_address(None, None, {}) == DEFAULT_COORDINATOR


def test_the_power_cycle_is_a_command_the_strategy_can_run() -> None:
    info = PlaceInfo("bg96-3", "lab:20408", "ci:42/suite", "rfc2217://h:1?ign_set_control&timeout=5",
                     power="NetworkPowerPort: model gude, pdu3, index 5")
    command = info.power_cycle_command("/venv/bin/python")
    assert command == (f"env --chdir={ROOT} /venv/bin/python -m lab.labgrid power-cycle --place bg96-3 "
                       "--coordinator lab:20408 --identity ci:42/suite")
    assert PlaceInfo.from_dict(info.as_dict()) == info
    assert PlaceInfo("p", "c", "h/u", "rfc2217://h:1").power_cycle_command() is None


def test_a_place_without_labgrid_installed_is_one_line() -> None:
    """In .venv (no labgrid), a run that names a place stops before any test, saying what to do."""
    if LABGRID_VENV.resolve() == Path(sys.prefix).resolve():
        pytest.skip("this run is in .venv-labgrid, where labgrid is installed")
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/test_layers.py", "-p", "no:cacheprovider",
                           "--lg-place", "bg96-3", "--lg-coordinator", "127.0.0.1:1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=_clean_env())
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert "labgrid is not installed" in done.stderr and "bootstrap.sh --labgrid" in done.stderr
    assert "Traceback" not in done.stderr


# -- end to end on loopback -----------------------------------------------------------------
def _clean_env() -> dict[str, str]:
    """No pytest/xdist variables of this run, no labgrid identity or coordinator of the caller."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("PYTEST_", "LG_")) and k not in ("PYTHONPATH",)}


@pytest.fixture(scope="module")
def labgrid_installed() -> None:
    """.venv-labgrid and ser2net, installed by the set-up when missing; skipped only when they
    cannot be installed here."""
    done = subprocess.run(["bash", "scripts/bootstrap.sh", "--labgrid"], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    if done.returncode != 0:
        tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["(no output)"]
        pytest.skip(f"labgrid cannot be installed here (scripts/bootstrap.sh --labgrid: {tail[0]})")
    if shutil.which("ser2net", path=f"{os.environ.get('PATH', '')}:/usr/sbin") is None:
        pytest.skip("ser2net cannot be installed here (Debian package ser2net; bootstrap.sh needs root)")


@pytest.fixture(scope="module")
def lab(labgrid_installed: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Place bg96-a: a healthy emulator; bg96-b: one that goes silent at its first AT+QCOAPSEND."""
    yield from start_lab(tmp_path_factory.mktemp("lab"), {"bg96-a": "--time-scale 0.01",
                                                          "bg96-b": "--time-scale 0.01 --fault=go-silent"},
                         sys.executable)


def start_suite(lab: Lab, name: str, *args: str, cwd: Path = ROOT) -> Process:
    """``pytest ARGS`` from .venv-labgrid against the lab's coordinator, as a user would run it.
    The emulators behind the places run on this machine: on the reference server's network."""
    env = dict(_clean_env(), PYTHONPATH=str(ROOT))
    same_network = ["--server-on-module-network"] if "server.on_module_network" in KEYS_BY_PATH else []
    return lab.start(name, [str(LABGRID_VENV / "bin" / "python"), "-u", "-m", "pytest", *args,
                            "-p", "no:cacheprovider", "-p", "no:labgrid", "--lg-coordinator", lab.coordinator,
                            "--time-scale", "0.01", *same_network], cwd=cwd, env=env)


def run_info(report_dir: Path) -> dict[str, list[str]]:
    return json.loads((report_dir / "report.json").read_text())["run"]["info"]


@END_TO_END
def test_smoke_profile_through_a_place(lab: Lab, tmp_path: Path) -> None:
    """The place is held for the run (a second user is refused), its AT port and resources are in
    the report header, and it is free again afterwards."""
    run = start_suite(lab, "smoke", "suites", "--lg-place", "bg96-a", "--profile", "smoke",
                      "--report-dir", str(tmp_path))
    try:
        run.wait_line(r"labgrid: acquired place bg96-a as ", READY_TIMEOUT)
        other = lab.client("-p", "bg96-a", "acquire", user="alice")
        assert other.returncode != 0 and "already acquired by" in other.stderr, other
        assert f":{run.proc.pid}/" in (lab.holder("bg96-a") or ""), "the run holds it as <host>:<pid>/<user>"
        rc = run.wait(SUITE_TIMEOUT)
    finally:
        run.stop()
    assert rc == 0, run.text[-4000:]
    assert "labgrid: released place bg96-a" in run.text
    assert lab.holder("bg96-a") is None
    info = run_info(tmp_path)
    assert info["labgrid_place"] == ["bg96-a (board=emulator, module=BG96)"]
    assert info["labgrid_exporter"] == ["bench-emu"] and info["labgrid_coordinator"] == [lab.coordinator]
    resources = info["labgrid_resources"][0]
    assert "NetworkPowerPort: model rest" in resources and "RawSerialPort (NetworkSerialPort): 127.0.0.1:" in resources
    assert info["dut_url"][0].startswith("rfc2217://127.0.0.1:") and "ign_set_control" in info["dut_url"][0]


@END_TO_END
def test_sigterm_releases_the_place(lab: Lab, tmp_path: Path) -> None:
    run = start_suite(lab, "sigterm", "suites", "-v", "--lg-place", "bg96-a", "--profile", "smoke",
                      "--report-dir", str(tmp_path))
    try:
        run.wait_line(r"labgrid: acquired place bg96-a as ", READY_TIMEOUT)
        run.wait_line(r"^suites/\S+::\S+ .*(PASSED|FAILED|SKIPPED|ERROR)", READY_TIMEOUT)  # tests are running
        run.proc.send_signal(signal.SIGTERM)
        rc = run.wait(120)
    finally:
        run.stop()
    assert rc != 0 and "SIGTERM" in run.text, run.text[-3000:]
    assert "labgrid: released place bg96-a" in run.text
    assert lab.holder("bg96-a") is None


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


SMALL_SUITE = '''
def test_the_module_answers(module):
    assert module.command("AT").ok
'''


@END_TO_END
def test_a_place_held_by_another_user_is_left_out_or_stops_the_run(lab: Lab, tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(f"pytest_plugins = {root_plugins()!r}\n")
    (tmp_path / "test_small.py").write_text(SMALL_SUITE)
    held = lab.client("-p", "bg96-b", "acquire", user="alice")
    assert held.returncode == 0, held.stderr
    try:
        for on_unavailable, expected_rc in (("skip", pytest.ExitCode.OK), ("stop", pytest.ExitCode.USAGE_ERROR)):
            rig = tmp_path / f"{on_unavailable}.toml"
            rig.write_text(f'[labgrid]\nwait = 1\non_unavailable = "{on_unavailable}"\n')
            run = start_suite(lab, on_unavailable, "test_small.py", "--rig", str(rig), "--lg-place", "bg96-a",
                              "--lg-place", "bg96-b", "--report-dir", on_unavailable, cwd=tmp_path)
            try:
                rc = run.wait(SUITE_TIMEOUT)
            finally:
                run.stop()
            assert rc == expected_rc, run.text[-4000:]
            assert "labgrid place bg96-b is acquired by alice-desk/alice; waited 1 s" in run.text
            assert lab.holder("bg96-a") is None and lab.holder("bg96-b") == "alice-desk/alice"
        assert "bg96-b" in run_info(tmp_path / "skip")["labgrid_unavailable"][0]
        assert "labgrid: acquired place bg96-a" in run.text and "labgrid: released place bg96-a" in run.text
    finally:
        lab.client("-p", "bg96-b", "release", user="alice")

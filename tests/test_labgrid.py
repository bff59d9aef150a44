"""Rigs as labgrid places (lab/labgrid.py, fixtures/labgrid.py): the rig keys, and end to end on
loopback with real parts (the power cycle of a silent module: tests/test_labgrid_recovery.py).

The end-to-end lab (tests/labgrid_lab.py): a labgrid coordinator, an exporter exporting two
emulators' ptys through ser2net and their relays on a ``rest`` power switch
(tests/labgrid_power_stub.py), two places made with ``labgrid-client`` (whose own main() serves
every call of these tests in one process, tests/labgrid_client_shell.py: a process per call costs
~0.8 s of CPU in imports). The suite runs from ``.venv-labgrid`` (``scripts/bootstrap.sh
--labgrid``: labgrid brings a pyserial fork that must not go into ``.venv``), as a user would:
``pytest suites --lg-place P --lg-coordinator C``, forked from a warm .venv-labgrid python.
"""
from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Iterator

import pytest

from lab.labgrid import DEFAULT_COORDINATOR, PlaceInfo, coordinator_address
from lab.rig import RigError, build_rig, file_values, load_rigs
from tests.labgrid_lab import (END_TO_END, LABGRID_VENV, READY_TIMEOUT, ROOT, SUITE_TIMEOUT, Lab, clean_env,
                               require_labgrid, start_lab, start_suite)
from tests.forked_pytest import run_pytest
from tests.test_recovery import root_plugins


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
    done = run_pytest(["tests/test_layers.py", "-p", "no:cacheprovider", "--lg-place", "bg96-3",
                       "--lg-coordinator", "127.0.0.1:1"], env=clean_env(), timeout=120)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert "labgrid is not installed" in done.stderr and "bootstrap.sh --labgrid" in done.stderr
    assert "Traceback" not in done.stderr


# -- end to end on loopback -----------------------------------------------------------------
@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Place bg96-a: a healthy emulator; bg96-b: a second place, held by another user in a test."""
    require_labgrid()
    yield from start_lab(tmp_path_factory.mktemp("lab"), {"bg96-a": "--time-scale 0.01",
                                                          "bg96-b": "--time-scale 0.01"}, sys.executable)


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

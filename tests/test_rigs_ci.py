"""The lab CI job (ci/nightly.sh, which ci/gitlab-ci.yml and ci/Jenkinsfile call), run for real
against emulator rigs: the release baseline, a clean night, and a night with a regression."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.forked_pytest import PROGRAM as PYTEST
from wire import forkserver

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "ci" / "nightly.sh"
#: the script's $PYTHON: its pytest run forked from the warm server (tests/forked_pytest.py)
FORKED_PYTHON = ROOT / "tests" / "forked_python"


def nightly(tmp_path: Path, rig: Path, name: str, baseline: str) -> subprocess.CompletedProcess[str]:
    forkserver.client(PYTEST)  # started here, so the script's $PYTHON finds it in its environment
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT_TEST", "PYTEST_ADDOPTS"))}
    env.update({"RIG": str(rig), "PROFILE": "smoke", "REPORT_NAME": name, "REPORT_DIR": str(tmp_path / "out"),
                "BASELINE": baseline, "PYTHON": str(FORKED_PYTHON)})
    return subprocess.run(["bash", str(SCRIPT), "-p", "no:hypothesispytest"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


def emulator_rig(path: Path, *emulator_args: str) -> Path:
    args = ", ".join(f'"{a}"' for a in emulator_args)
    path.write_text(f'name = "{path.stem}"\n[dut]\ntime_scale = 0.01\n[emulator]\nargs = [{args}]\n')
    return path


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The last release's results: the smoke profile on a healthy emulator, no baseline."""
    tmp = tmp_path_factory.mktemp("release")
    done = nightly(tmp, emulator_rig(tmp / "release-rig.toml"), "release", "")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    for suffix in (".html", ".json", ".junit.xml"):
        assert (tmp / "out" / f"release{suffix}").stat().st_size > 0
    return tmp / "out" / "release.json"


def test_night_without_regression_passes(tmp_path: Path, release: Path) -> None:
    done = nightly(tmp_path, emulator_rig(tmp_path / "bench.toml"), "nightly", str(release))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (tmp_path / "out" / "nightly-compare.html").exists()


def test_night_with_a_regression_fails_the_job(tmp_path: Path, release: Path) -> None:
    """Firmware whose AT+QCOAPCLOSE=? answers (0-6): a smoke test that passed in the release fails."""
    done = nightly(tmp_path, emulator_rig(tmp_path / "bench.toml", "--fault", "test-response-typo"),
                   "nightly", str(release))
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert "AT+QCOAPCLOSE" in (tmp_path / "out" / "nightly-compare.html").read_text()
    night = json.loads((tmp_path / "out" / "nightly.json").read_text())
    assert night["summary"].get("failed", 0) >= 1 and night["complete"]


def test_broken_run_is_not_a_regression_verdict(tmp_path: Path, release: Path) -> None:
    """A rig file with a typo: exit 2 (the run broke), not a comparison."""
    bad = tmp_path / "typo.toml"
    bad.write_text("[dut]\nspeed = 1\n")
    done = nightly(tmp_path, bad, "nightly", str(release))
    assert done.returncode == 2 and "'dut.speed'" in done.stderr, done.stderr[-2000:]


def test_ci_examples_call_the_script_and_archive_every_output() -> None:
    gitlab = (ROOT / "ci" / "gitlab-ci.yml").read_text()
    assert gitlab.count("ci/nightly.sh") >= 2 and "reports/out/" in gitlab and "junit:" in gitlab
    assert "reports/out/release.json?job=bg96-release" in gitlab
    jenkins = (ROOT / "ci" / "Jenkinsfile").read_text()
    assert "ci/nightly.sh" in jenkins and "archiveArtifacts" in jenkins and "junit" in jenkins

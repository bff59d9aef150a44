"""The forked sub-runs (tests/forked_pytest.py, tests/forked_python): each is a pytest process of
its own, as ``subprocess.run([python, "-m", "pytest", ...])`` gives, only without the interpreter's start."""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from wire import forkserver

from .forked_pytest import PROGRAM, ROOT, run_pytest, runpytest_forked
from .test_emulator_forkserver import is_fork_server

pytest_plugins = ["pytester"]

REPORTS = '''
import json, os, sys
def test_where_it_runs():
    print("FACTS " + json.dumps({"pid": os.getpid(), "ppid": os.getppid(), "cwd": os.getcwd(),
                                 "env": os.environ.get("BG96_FORK_CHECK"), "argv": sys.argv[1:],
                                 "path0": sys.path[0]}))
'''


def _facts(stdout: str) -> dict[str, object]:
    return json.loads(next(line for line in stdout.splitlines() if line.startswith("FACTS "))[6:])


def test_a_sub_run_has_its_own_pid_directory_environment_and_argv(tmp_path: Path) -> None:
    (tmp_path / "test_facts.py").write_text(REPORTS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")} | {"BG96_FORK_CHECK": "yes"}
    first = run_pytest(["test_facts.py", "-s", "-q", "-p", "no:cacheprovider"], cwd=tmp_path, env=env, timeout=60)
    second = run_pytest(["test_facts.py", "-s", "-q", "-p", "no:cacheprovider"], cwd=tmp_path, timeout=60)
    assert first.returncode == 0, first.stdout + first.stderr
    facts, again = _facts(first.stdout), _facts(second.stdout)
    assert facts["pid"] not in (os.getpid(), again["pid"])
    assert facts["cwd"] == str(tmp_path) and facts["path0"] == str(tmp_path)
    assert facts["argv"] == ["test_facts.py", "-s", "-q", "-p", "no:cacheprovider"]
    assert facts["env"] == "yes" and again["env"] is None, "each sub-run gets the environment it is given"


def test_exit_status_and_output_are_the_sub_runs(tmp_path: Path) -> None:
    (tmp_path / "test_fails.py").write_text("def test_fails():\n    value = 1\n    assert value == 2\n")
    failed = run_pytest(["test_fails.py", "-q", "-p", "no:cacheprovider"], cwd=tmp_path, timeout=60)
    assert failed.returncode == pytest.ExitCode.TESTS_FAILED and "1 failed" in failed.stdout
    assert "assert 1 == 2" in failed.stdout, "the test module's assertion is rewritten"
    usage = run_pytest(["--no-such-option"], cwd=tmp_path, timeout=60)
    assert usage.returncode == pytest.ExitCode.USAGE_ERROR and "--no-such-option" in usage.stderr


def test_the_projects_plugins_are_imported_by_the_sub_run_and_rewritten() -> None:
    """The server imported them once to warm their imports, then dropped them: a warning that a
    plugin was already imported (so its asserts are not rewritten) is an error here."""
    done = run_pytest(["tests/test_layers.py", "-q", "-p", "no:cacheprovider", "-W",
                       "error::pytest.PytestAssertRewriteWarning"], cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "RewriteWarning" not in done.stdout + done.stderr


def test_a_sub_run_past_its_timeout_is_killed_and_the_next_one_runs(tmp_path: Path) -> None:
    (tmp_path / "test_hangs.py").write_text("import time\ndef test_hangs():\n    time.sleep(120)\n")
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        run_pytest(["test_hangs.py", "-q", "-p", "no:cacheprovider"], cwd=tmp_path, timeout=3)
    assert time.monotonic() - started < 30
    (tmp_path / "test_quick.py").write_text("def test_quick():\n    pass\n")
    assert run_pytest(["test_quick.py", "-q", "-p", "no:cacheprovider"], cwd=tmp_path, timeout=60).returncode == 0


def test_runpytest_forked_gives_pytesters_result(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_two="def test_passes():\n    pass\n\ndef test_fails():\n    assert False\n")
    result = runpytest_forked(pytester, "-p", "no:cacheprovider", timeout=60)
    result.assert_outcomes(passed=1, failed=1)
    assert list(pytester.path.glob("runpytest-*")), "its own --basetemp, as runpytest_subprocess makes"


def test_a_script_runs_its_pytest_through_forked_python(tmp_path: Path) -> None:
    """tests/forked_python as a script's $PYTHON: ``-m pytest`` and ``-c`` forked, with the
    child's output and exit status; anything else is the venv's python."""
    (tmp_path / "test_facts.py").write_text(REPORTS + "\n\ndef test_fails():\n    assert 1 == 2\n")
    forkserver.client(PROGRAM)
    shim = ROOT / "tests" / "forked_python"
    done = subprocess.run([str(shim), "-m", "pytest", "test_facts.py", "-s", "-q", "-p", "no:cacheprovider"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == pytest.ExitCode.TESTS_FAILED and "1 failed, 1 passed" in done.stdout, done.stderr
    facts = _facts(done.stdout)
    assert facts["cwd"] == str(tmp_path) and facts["argv"] == ["test_facts.py", "-s", "-q", "-p", "no:cacheprovider"]
    assert is_fork_server(int(facts["ppid"]))
    code = subprocess.run([str(shim), "-u", "-c", "import os, sys; print(os.getppid(), sys.argv[1:])", "x"],
                          capture_output=True, text=True, timeout=60)
    ppid, argv = code.stdout.split(maxsplit=1)
    assert is_fork_server(int(ppid)), code.stderr
    assert argv.strip() == "['x']", "-c CODE ARGS, as xdist starts a worker"
    ends = subprocess.run([str(shim), "-c", "import atexit; atexit.register(print, 'bye'); raise SystemExit(3)"],
                          capture_output=True, text=True, timeout=60)
    assert (ends.returncode, ends.stdout, ends.stderr) == (3, "bye\n", ""), "its exit handlers, its status"
    plain = subprocess.run([str(shim), "-V"], capture_output=True, text=True, timeout=60)
    assert plain.returncode == 0 and plain.stdout.startswith("Python 3.")

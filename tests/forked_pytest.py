"""A warm python for the harness: ``python -m pytest ARGS`` sub-runs and ``python -c CODE``,
forked from a process that has pytest loaded already.

The harness's tests start pytest in a subprocess as a user or a lab job does (a rig file, a
profile, a fault on the emulator, a collection), and ./suite test starts eight xdist workers. A
fresh interpreter spends about a second of CPU importing pytest, its plugins and the project
before it reads its first argument, and on the 2-core machine the harness's tests run on that was
a sixth of ``./suite test``. Here a fork server (``wire/forkserver.py``, one for a whole run)
imports all that once; each run is a child forked from it, with its own pid, working directory,
environment, ``sys.argv`` and ``sys.path``, its output in files or pipes, and its exit status: a
process of its own, as ``subprocess.run`` gives. ``tests/forked_python`` is this python for a
script (ci/nightly.sh's $PYTHON, selfcheck --python) and for xdist (``--tx popen//python=``).

What the fork keeps is only what importing left behind. The project's pytest plugins (the
``pytest_plugins`` of the root conftest) and pytest's entry-point plugins are *not* kept: pytest
rewrites their assertions when it imports them, so the child imports them itself (their own
imports, the heavy part, are in place). ``random`` is reseeded in a forked child by Python itself.
"""
from __future__ import annotations

import os
import runpy
import signal
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.launcher import PROGRAM as EMULATOR
from wire import forkserver

if TYPE_CHECKING:
    import pytest

ROOT = Path(__file__).resolve().parent.parent
#: third-party modules the sub-runs and workers import (not the distributions of pytest plugins,
#: xdist and hypothesis among them: pytest rewrites those, so the child imports them itself)
WARM = ("pytest", "_pytest.pytester", "_pytest.junitxml", "_pytest.doctest", "_pytest.legacypath", "_pytest.python",
        "execnet", "jinja2", "pygal", "aiocoap", "asyncio", "serial", "importlib.metadata")
#: a python with pytest warm: ``-m pytest ARGS`` (a sub-run) or ``-c CODE`` (an xdist worker);
#: ./suite test starts its server as it starts pytest (``--entry tests.forked_pytest:main``)
PROGRAM = forkserver.Program("python", "tests.forked_pytest:main", "BG96_PYTHON_FORKSERVER")
#: the same in .venv-labgrid (``scripts/bootstrap.sh --labgrid``), gRPC warm too: labgrid itself is
#: a pytest plugin's distribution, imported by the child
LABGRID = forkserver.Program("python-labgrid", "tests.forked_pytest:main", "BG96_LABGRID_PYTHON_FORKSERVER",
                             ("grpc",), python=str(ROOT / ".venv-labgrid" / "bin" / "python"))
_base: list[str] = []  # the server's sys.path without its own directory and PYTHONPATH


# -- in the server and its children ---------------------------------------------------------------
def warm_up() -> None:
    """Import what a sub-run imports, then drop the modules pytest must import itself to rewrite."""
    own = set(filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep)))
    _base[:] = [p for p in sys.path[1:] if p not in own]
    for name in WARM:
        __import__(name)
    import conftest
    plugins = set(conftest.pytest_plugins)
    for name in plugins:
        __import__(name)  # their imports (spec, dut, lab, reports, ...) stay
    for name in list(sys.modules):
        if name == "conftest" or name in plugins or name.split(".")[0] in ("fixtures", "tests"):
            del sys.modules[name]


def main(argv: list[str]) -> None:
    """Become ``python [-u] -m pytest ARGS`` or ``python [-u] -c CODE ARGS`` in the directory and
    environment the fork server set up, with the path a fresh interpreter would have there; ends
    through SystemExit, as pytest does (or returns, as ``-c`` code may)."""
    while argv and argv[0] in ("-u", "-B"):
        if argv.pop(0) == "-u":
            for stream in (sys.stdout, sys.stderr):
                stream.reconfigure(write_through=True)  # type: ignore[union-attr]
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if argv[:2] == ["-m", "pytest"]:
        sys.path[:] = [os.getcwd(), *extra, *_base]
        sys.argv = ["pytest", *argv[2:]]
        runpy.run_module("pytest", run_name="__main__", alter_sys=True)
    elif argv[:1] == ["-c"] and len(argv) > 1:
        sys.path[:] = ["", *extra, *_base]
        sys.argv = ["-c", *argv[2:]]
        main_module = sys.modules["__main__"] = types.ModuleType("__main__")  # the server's stays its own
        exec(compile(argv[1], "<string>", "exec"), main_module.__dict__)
    else:
        raise SystemExit(f"forked python: only -m pytest ARGS or -c CODE, not {argv[:2]}")


# -- in the test process ------------------------------------------------------------------------
def start(argv: list[str], *, cwd: Path, env: dict[str, str], stdio: tuple[int, int, int]) -> forkserver.ForkedProcess:
    """``python ARGV`` on the descriptors ``stdio``; its emulators fork from this process's server."""
    shared = {EMULATOR.env: forkserver.client(EMULATOR).address}
    return forkserver.spawn(PROGRAM, argv, cwd=cwd, env={**env, **shared}, stdio=stdio)


def as_script(argv: list[str]) -> None:
    """``python ARGV`` for a script or xdist (tests/forked_python): forked, on this process's stdin,
    stdout and stderr; this process ends as the child did. Processes started by one parent (the
    workers of a run) share one server."""
    os.environ.setdefault(PROGRAM.env, f"bg96-python-{os.getppid()}")
    returncode = start(argv, cwd=Path.cwd(), env=dict(os.environ), stdio=(0, 1, 2)).wait()
    if returncode < 0:  # ended by a signal: so is this process
        signal.signal(-returncode, signal.SIG_DFL)
        os.kill(os.getpid(), -returncode)
    sys.exit(returncode)


def run_pytest(args: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None,
               timeout: float) -> subprocess.CompletedProcess[str]:
    """``subprocess.run([sys.executable, "-m", "pytest", *args], cwd=cwd, env=env,
    capture_output=True, text=True, timeout=timeout)``, forked from the server; on timeout the
    sub-run is killed and TimeoutExpired raised with its output so far, as subprocess.run does."""
    cmd = [sys.executable, "-m", "pytest", *args]
    with tempfile.TemporaryDirectory(prefix="forked-pytest-") as tmp:
        out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
        stdio = (os.open(os.devnull, os.O_RDONLY), os.open(out, os.O_WRONLY | os.O_CREAT, 0o600),
                 os.open(err, os.O_WRONLY | os.O_CREAT, 0o600))
        try:
            proc = start(["-m", "pytest", *args], cwd=cwd, env=dict(os.environ if env is None else env), stdio=stdio)
        finally:
            for fd in stdio:
                os.close(fd)
        try:
            returncode = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise subprocess.TimeoutExpired(cmd, timeout, out.read_text(errors="replace"),
                                            err.read_text(errors="replace")) from None
        return subprocess.CompletedProcess(cmd, returncode, out.read_text(errors="replace"),
                                           err.read_text(errors="replace"))


def runpytest_forked(pytester: pytest.Pytester, *args: str, timeout: float) -> pytest.RunResult:
    """``pytester.runpytest_subprocess(*args, timeout=timeout)``, forked from the server: the same
    ``--basetemp``, plugins and PYTHONPATH (the pytester directory first), the output echoed."""
    import pytest
    from _pytest.pathlib import make_numbered_dir
    full = [f"--basetemp={make_numbered_dir(root=pytester.path, prefix='runpytest-', mode=0o700)}", *args]
    for plugin in pytester.plugins:
        full = ["-p", str(plugin), *full]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH", "")])))
    started = time.monotonic()
    done = run_pytest(full, cwd=Path.cwd(), env=env, timeout=timeout)
    print(done.stdout)
    print(done.stderr, file=sys.stderr)
    return pytest.RunResult(done.returncode, done.stdout.splitlines(), done.stderr.splitlines(),
                            time.monotonic() - started)


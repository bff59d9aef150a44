"""``python -m pytest ARGS`` as a sub-run, forked from a process that has pytest loaded already.

The harness's tests start pytest in a subprocess as a user or a lab job does (a rig file, a
profile, a fault on the emulator, a collection). A fresh interpreter spends about a second of CPU
importing pytest, its plugins and the project before it reads its first argument, and on the
2-core machine the harness's tests run on that was a sixth of ``./suite test``. Here one server
process per test process imports all that once; each sub-run is a child forked from it, with its
own pid, working directory, environment, ``sys.argv`` and ``sys.path``, its output in files, and
its exit status from ``waitpid``: a process of its own, as ``subprocess.run`` gives.

What the fork keeps is only what importing left behind. The project's pytest plugins (the
``pytest_plugins`` of the root conftest) and pytest's entry-point plugins are *not* kept: pytest
rewrites their assertions when it imports them, so the child imports them itself (their own
imports, the heavy part, are in place). ``random`` is reseeded in a forked child by Python itself.
"""
from __future__ import annotations

import atexit
import gc
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest

ROOT = Path(__file__).resolve().parent.parent
#: third-party modules the sub-runs import (not pytest plugins: those are imported by the child)
WARM = ("pytest", "_pytest.pytester", "_pytest.junitxml", "_pytest.doctest", "_pytest.legacypath", "_pytest.python",
        "execnet", "jinja2", "pygal", "aiocoap", "asyncio", "serial", "importlib.metadata")
REPLY = "FORKED"


# -- the server ---------------------------------------------------------------------------------
def warm_up() -> None:
    """Import what a sub-run imports, then drop the modules pytest must import itself to rewrite."""
    import importlib
    for name in WARM:
        importlib.import_module(name)
    sys.path.insert(0, str(ROOT))
    import conftest
    plugins = set(conftest.pytest_plugins)
    for name in plugins:
        importlib.import_module(name)  # their imports (spec, dut, lab, reports, ...) stay
    for name in list(sys.modules):
        if name == "conftest" or name in plugins or name.split(".")[0] in ("fixtures", "tests"):
            del sys.modules[name]
    sys.path.remove(str(ROOT))


def base_path() -> list[str]:
    """sys.path without the script's directory and the server's own PYTHONPATH: each sub-run
    starts from the interpreter's own entries, as a fresh ``python -m pytest`` does."""
    own = set(filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep)))
    return [p for p in sys.path[1:] if p not in own]


def child(request: dict[str, Any], base: list[str]) -> None:
    """Become ``python -m pytest ARGS`` in the request's directory and environment; ends the
    process through SystemExit (atexit and buffers as in any interpreter's exit)."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for fd, path, flags in ((0, os.devnull, os.O_RDONLY), (1, request["stdout"], os.O_WRONLY | os.O_TRUNC),
                            (2, request["stderr"], os.O_WRONLY | os.O_TRUNC)):
        opened = os.open(path, flags)
        os.dup2(opened, fd)
        os.close(opened)
    extra = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:] = [os.getcwd(), *extra, *base]
    sys.argv = ["pytest", *request["args"]]
    sys.stdin = open(os.devnull)  # not the server's requests, read ahead into its buffer
    runpy.run_module("pytest", run_name="__main__", alter_sys=True)  # raises SystemExit


def serve() -> None:
    """One request per line on stdin; per request two lines on stdout: the child's pid, then its
    exit status. Requests come one at a time (the client holds a lock)."""
    warm_up()
    gc.freeze()  # what the imports made stays out of each sub-run's collections (pytest collects at its end)
    base = base_path()
    replies = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        replies.flush()
        pid = os.fork()
        if pid == 0:
            child(request, base)
        print(REPLY, json.dumps({"pid": pid}), file=replies, flush=True)
        _, status = os.waitpid(pid, 0)
        print(REPLY, json.dumps({"pid": pid, "returncode": os.waitstatus_to_exitcode(status)}), file=replies,
              flush=True)


# -- the client ---------------------------------------------------------------------------------
class _Server:
    def __init__(self) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="forked-pytest-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([sys.executable, __file__], cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True, bufsize=1)
        self._buffer = ""

    def reply(self, deadline: float | None) -> dict[str, Any] | None:
        """The next reply line; None when ``deadline`` passes first. An error when the server is gone."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while "\n" not in self._buffer:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 65536).decode()
            if not chunk:
                raise RuntimeError(f"the pytest fork server ended; its log:\n{Path(self.log.name).read_text()[-3000:]}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split("\n", 1)
        if not line.startswith(REPLY + " "):
            return self.reply(deadline)  # something the server printed itself
        return json.loads(line[len(REPLY) + 1:])

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        os.unlink(self.log.name)


_server: _Server | None = None
_lock = threading.Lock()


def _running() -> _Server:
    global _server
    if _server is None or _server.proc.poll() is not None:
        _server = _Server()
        atexit.register(_server.stop)
    return _server


def run_pytest(args: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None,
               timeout: float) -> subprocess.CompletedProcess[str]:
    """``subprocess.run([sys.executable, "-m", "pytest", *args], cwd=cwd, env=env,
    capture_output=True, text=True, timeout=timeout)``, forked from the server; on timeout the
    sub-run is killed and TimeoutExpired raised with its output so far, as subprocess.run does."""
    cmd = [sys.executable, "-m", "pytest", *args]
    with _lock, tempfile.TemporaryDirectory(prefix="forked-pytest-") as tmp:
        out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
        out.touch()
        err.touch()
        server = _running()
        # the sub-run's emulators fork from this process's emulator fork server, started if need be
        from emulator import forkserver
        shared = {forkserver.ENV: forkserver.client().address}
        request = {"args": args, "cwd": str(cwd), "env": {**(os.environ if env is None else env), **shared},
                   "stdout": str(out), "stderr": str(err)}
        assert server.proc.stdin is not None
        server.proc.stdin.write(json.dumps(request) + "\n")
        server.proc.stdin.flush()
        started = server.reply(None)
        assert started is not None
        done = server.reply(time.monotonic() + timeout)
        if done is None:
            os.kill(started["pid"], signal.SIGKILL)
            server.reply(None)
        stdout, stderr = out.read_text(errors="replace"), err.read_text(errors="replace")
        if done is None:
            raise subprocess.TimeoutExpired(cmd, timeout, stdout, stderr)
        return subprocess.CompletedProcess(cmd, done["returncode"], stdout, stderr)


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


if __name__ == "__main__":
    serve()

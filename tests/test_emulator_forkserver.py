"""Emulators forked from the warm fork server (wire/forkserver.py) are processes of their own:
the same program as ``python -m emulator``, its own pid, directory, environment and exit status,
and none outlives the process that started it."""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

from emulator.launcher import PROGRAM, EmulatorProcess, EmulatorStartError, start_emulator
from wire import forkserver
from emulator.testing import AtClient

ROOT = Path(__file__).resolve().parents[1]


def ends_within(pid: int, timeout: float) -> bool:
    """True once process ``pid`` has ended (it need not be our child), False at the deadline."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2:].split()[1])


def is_fork_server(pid: int) -> bool:
    return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[1:3] == [b"-m", b"wire.forkserver"]


@pytest.fixture
def emulator() -> Iterator[EmulatorProcess]:
    e = start_emulator("tcp", 0.01)
    yield e
    e.stop()


def test_a_forked_emulator_is_a_process_of_its_own(emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    assert emulator.forked and isinstance(emulator.proc, forkserver.ForkedProcess)
    pid = emulator.proc.pid
    server = parent_of(pid)
    assert pid not in (os.getpid(), server) and server != os.getpid()
    assert is_fork_server(server)
    assert Path(f"/proc/{pid}/cwd").resolve() == ROOT
    # the environment of the moment it is started, as a new process's: the PTY's directory is made
    # where TMPDIR says (/proc/PID/environ shows only the server's, the one it was exec'd with)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    other = start_emulator("pty", 0.01)
    try:
        assert Path(other.url).is_relative_to(tmp_path), other.url
        assert parent_of(other.proc.pid) == server, "one server per process tree"
    finally:
        assert other.stop() == 0


def test_it_serves_as_the_program_does(emulator: EmulatorProcess) -> None:
    """The forked emulator and ``python -m emulator`` answer ATI alike, and both end 0 on SIGTERM."""
    execd = EmulatorProcess(["--tcp", "127.0.0.1:0", "--time-scale", "0.01"], forked=False).start()
    try:
        assert isinstance(execd.proc, subprocess.Popen)
        answers = []
        for e in (emulator, execd):
            at = AtClient.connect(e.address)
            at.expect(rb"APP RDY\r\n")
            answers.append(at.cmd("ATI"))
            at.close()
        assert answers[0] == answers[1] and answers[0].endswith(b"\r\nOK\r\n")
    finally:
        assert execd.stop() == 0
    assert emulator.stop() == 0 and emulator.stderr_text() == ""


@pytest.mark.parametrize("forked", [True, False], ids=["forked", "python -m emulator"])
def test_a_bad_argument_is_the_same_one_line_and_exit_2(forked: bool) -> None:
    e = EmulatorProcess(["--time-scale", "0"], forked=forked)
    with pytest.raises(EmulatorStartError, match=r"exited with 2 before it started: "
                                                 r"python -m emulator: error: --time-scale must be > 0$"):
        e.start()
    assert e.proc is not None and e.proc.poll() == 2


def test_signals_and_exit_statuses(emulator: EmulatorProcess, tmp_path: Path) -> None:
    assert emulator.alive()
    emulator.proc.kill()
    assert emulator.proc.wait(10) == -signal.SIGKILL and not emulator.alive()
    emulator.proc.kill()  # after the end: nothing happens, as with Popen
    logged = start_emulator("pty", 0.01, log_path=tmp_path / "emulator.log")
    assert logged.url.startswith("/") and logged.stop() == 0
    assert (tmp_path / "emulator.log").read_text() == ""


STARTER = textwrap.dedent("""
    import sys
    from emulator.launcher import start_emulator
    emulators = [start_emulator("tcp", 0.01) for _ in range(2)]
    print(" ".join(str(e.proc.pid) for e in emulators), flush=True)
    sys.stdin.read()
""")


def start_starter(env: dict[str, str]) -> tuple[subprocess.Popen[str], list[int]]:
    env = {k: v for k, v in env.items() if k != "PYTEST_XDIST_TESTRUNUID"}  # not this run's shared server
    proc = subprocess.Popen([sys.executable, "-c", STARTER], cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)},
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, f"the starter printed no pids (exit {proc.wait()})"
    return proc, [int(p) for p in line.split()]


def test_emulators_end_with_the_process_that_started_them() -> None:
    """SIGKILL leaves no process a chance to clean up: its server stops its emulators."""
    env = {k: v for k, v in os.environ.items() if k != PROGRAM.env}
    proc, pids = start_starter(env)
    server = parent_of(pids[0])
    proc.kill()
    proc.wait()
    for pid in (*pids, server):
        assert ends_within(pid, forkserver.KILL_AFTER_S + 10), f"process {pid} outlived its starter"


def test_a_process_started_here_joins_this_server_and_takes_only_its_own_emulators(
        emulator: EmulatorProcess) -> None:
    assert os.environ[PROGRAM.env] == forkserver.client(PROGRAM).address
    proc, pids = start_starter(dict(os.environ))
    assert {parent_of(pid) for pid in pids} == {parent_of(emulator.proc.pid)}
    proc.kill()
    proc.wait()
    for pid in pids:
        assert ends_within(pid, forkserver.KILL_AFTER_S + 10), f"process {pid} outlived its starter"
    assert emulator.alive()


def test_a_server_of_another_interpreter_is_not_joined(monkeypatch: pytest.MonkeyPatch) -> None:
    """An address left in the environment by something else (or stale) starts a server of our own."""
    monkeypatch.setenv(PROGRAM.env, "bg96-emulator-nobody-listens-here")
    assert forkserver._connect("bg96-emulator-nobody-listens-here", PROGRAM) is None
    proc, pids = start_starter(dict(os.environ))
    try:
        assert parent_of(pids[0]) != os.getpid() and parent_of(parent_of(pids[0])) == proc.pid
    finally:
        proc.kill()
        proc.wait()

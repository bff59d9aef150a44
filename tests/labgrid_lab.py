"""A labgrid lab on loopback for tests/test_labgrid*.py: real parts, started and stopped by pid.

The emulators sit behind ``tests/labgrid_power_stub.py`` (one relay per place); a
``labgrid-coordinator`` listens on ``127.0.0.1:0`` in a tmp dir (it keeps its places there); a
``labgrid-exporter --hostname 127.0.0.1`` exports each emulator's pty as a ``RawSerialPort``
(through ser2net, with ``tests/labgrid_bin/ser2net`` first on its PATH so ser2net listens on
127.0.0.1 only) and its relay as a ``NetworkPowerPort`` (model ``rest``); the places are made with
``labgrid-client``. Every ``labgrid-client`` call is served by labgrid-client's own main() in one
process, ``tests/labgrid_client_shell.py`` (a process per call costs ~0.8 s of CPU in imports).
Readiness is read from each program's output, never slept for.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

from lab.rig import KEYS_BY_PATH
from tests.forked_pytest import LABGRID as LABGRID_PYTHON
from wire import forkserver

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LABGRID_VENV = ROOT / ".venv-labgrid"
EXPORTER = "bench-emu"
CLIENT_TIMEOUT = 60.0  # seconds for one labgrid-client call
SUITE_TIMEOUT = 400  # seconds for one sub-run of the suite (the smoke profile takes well under a minute)
READY_TIMEOUT = 120  # a sub-run's start-up up to "acquired place" on a loaded 2-core machine
#: an end-to-end test: the lab's start-up (the first test's setup), a sub-run, the lab's stop
END_TO_END = pytest.mark.timeout(3 * SUITE_TIMEOUT)


class Process:
    """A child whose output (stdout and stderr) is read as it comes, to wait on a line: started
    here from ``argv``, or a forked one given as ``proc`` with its output in a text pipe."""

    def __init__(self, name: str, argv: list[str], log: Path, proc: forkserver.ForkedProcess | None = None,
                 **kw: object) -> None:
        self.name, self.log = name, log
        started = proc or subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                           bufsize=1, **kw)  # type: ignore[call-overload]
        self.proc: subprocess.Popen[str] | forkserver.ForkedProcess = started
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with open(self.log, "w") as log:
            for line in self.proc.stdout:
                log.write(line)
                log.flush()
                with self._changed:
                    self.lines.append(line.rstrip("\n"))
                    self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()  # end of output: the process is gone

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_line(self, pattern: str, timeout: float, start: int = 0) -> re.Match[str]:
        """The first output line from line ``start`` on matching ``pattern``; an AssertionError
        with the log when the process ends or ``timeout`` passes first."""
        regex, deadline = re.compile(pattern), time.monotonic() + timeout
        seen = start
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    if m := regex.search(line):
                        return m
                seen = len(self.lines)
                left = deadline - time.monotonic()
                done = not self._reader.is_alive()
                if done or left <= 0:
                    why = "ended" if done else f"gave no line /{pattern}/ in {timeout:.0f} s"
                    raise AssertionError(f"{self.name} {why}; its output:\n" + "\n".join(self.lines[-40:]))
                self._changed.wait(left)

    def wait(self, timeout: float) -> int:
        rc = self.proc.wait(timeout)
        self._reader.join(timeout)
        return rc

    def stop(self) -> None:
        """The end of its input (a child reading requests ends there), SIGTERM, then SIGKILL after
        10 s: this child only, by its pid."""
        if self.proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(10)


@dataclass
class Lab:
    """What the tests use: the coordinator, the power switch, the places, labgrid's tools."""

    tmp: Path
    coordinator: str
    power_url: str
    relays: dict[str, int]  # place -> relay index
    processes: list[Process] = field(default_factory=list)
    shell: Process | None = None  # serves client(): tests/labgrid_client_shell.py
    _shell_lock: threading.Lock = field(default_factory=threading.Lock)
    _requests: Iterator[int] = field(default_factory=itertools.count)

    @property
    def bin(self) -> Path:
        return LABGRID_VENV / "bin"

    def lg_env(self, user: str | None = None) -> dict[str, str]:
        """labgrid's variables for a call: this lab's coordinator, and who calls (None: this desk)."""
        env = {"LG_COORDINATOR": self.coordinator}
        if user is not None:  # another person on another desk
            env.update(LG_USERNAME=user, LG_HOSTNAME=f"{user}-desk")
        return env

    def start_shell(self) -> None:
        """The client shell, started before the coordinator is known: each request names it."""
        self.shell = self.start("client-shell", [str(self.bin / "python"), str(HERE / "labgrid_client_shell.py")],
                                stdin=subprocess.PIPE)

    def client(self, *args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
        """``labgrid-client ARGS`` as ``user``, run by the client shell; an AssertionError with the
        shell's log when it is gone or takes longer than CLIENT_TIMEOUT (then it is stopped: a call
        it is stuck in would hold up every later one)."""
        assert self.shell is not None and self.shell.proc.stdin is not None, "start_lab starts the client shell"
        with self._shell_lock:
            number = next(self._requests)
            request = {"id": number, "argv": list(args), "env": self.lg_env(user)}
            try:
                self.shell.proc.stdin.write(json.dumps(request) + "\n")
                self.shell.proc.stdin.flush()
            except (OSError, ValueError):  # gone (ValueError: stopped); wait_line says so, with its log
                pass
            try:
                reply = json.loads(self.shell.wait_line(rf"LGSHELL-REPLY {number} (.*)$",
                                                        CLIENT_TIMEOUT).group(1))
            except AssertionError as e:
                self.shell.stop()
                raise AssertionError(f"labgrid-client {shlex.join(args)}: {e}") from None
        return subprocess.CompletedProcess([str(self.bin / "labgrid-client"), *args], reply["returncode"],
                                           reply["stdout"], reply["stderr"])

    def holder(self, place: str) -> str | None:
        """Who holds the place, as `labgrid-client show` says (None: free)."""
        shown = self.client("-p", place, "show")
        assert shown.returncode == 0, shown.stderr
        m = re.search(r"^\s*acquired: (\S+)", shown.stdout, re.M)
        return None if m is None or m.group(1) == "None" else m.group(1)

    def power_status(self, place: str) -> dict[str, object]:
        with urllib.request.urlopen(f"{self.power_url}/status", timeout=10) as answer:
            return json.loads(answer.read())[str(self.relays[place])]

    def start(self, name: str, argv: list[str], proc: forkserver.ForkedProcess | None = None,
              **kw: object) -> Process:
        process = Process(name, argv, self.tmp / f"{name}.log", proc, **kw)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        """Every process in reverse order of start (the exporter stops its ser2net itself)."""
        while self.processes:
            self.processes.pop().stop()


def exporter_config(links: dict[str, str], power_url: str) -> str:
    """One group per place: its AT port and its relay. (In an exporter config `#` starts a Jinja2
    line statement: comments are `##`.)"""
    out = ["## tests/labgrid_lab.py: one group per place (an emulator behind a relay)"]
    for index, (place, link) in enumerate(links.items()):
        out += [f"{place}:", f"  location: loopback, emulator behind relay {index}",
                "  RawSerialPort:", f"    port: \"{link}\"", "    speed: 115200",
                "  NetworkPowerPort:", "    model: rest", f"    host: \"{power_url}/relay/{{index}}/value\"",
                f"    index: {index}"]
    return "\n".join(out) + "\n"


def start_lab(tmp: Path, places: dict[str, str], python: str, timeout: float = 60.0) -> Iterator[Lab]:
    """The lab with one place per entry (place -> emulator arguments); stopped when the generator
    is closed. ``python`` runs the power switch and its emulators."""
    links = {p: f"/dev/shm/bg96-lg-{os.getpid()}-{p}" for p in places}
    relays = [f"{links[p]}={args}" for p, args in places.items()]
    lab = Lab(tmp, "", "", {p: i for i, p in enumerate(places)})
    try:
        lab.start_shell()  # its imports overlap the start-up of the rest
        power = lab.start("power", [python, str(HERE / "labgrid_power_stub.py"), "--listen", "127.0.0.1:0",
                                    "--emulator-log", str(tmp / "emulators.log"),
                                    *[a for r in relays for a in ("--relay", r)]], cwd=ROOT)
        lab.power_url = power.wait_line(r"^POWER (http://\S+)$", timeout).group(1)
        state = tmp / "coordinator"
        state.mkdir()
        coordinator = lab.start("coordinator", [str(lab.bin / "labgrid-coordinator"), "--listen", "127.0.0.1:0"],
                                cwd=state)
        lab.coordinator = coordinator.wait_line(r"listening on (127\.0\.0\.1:\d+)", timeout).group(1)
        config = tmp / "exporter.yaml"
        config.write_text(exporter_config(links, lab.power_url))
        env = dict(os.environ, **lab.lg_env(), PATH=f"{HERE / 'labgrid_bin'}{os.pathsep}{os.environ.get('PATH', '')}")
        exporter = lab.start("exporter", [str(lab.bin / "labgrid-exporter"), "-c", lab.coordinator, "--name", EXPORTER,
                                          "--hostname", "127.0.0.1", str(config)], env=env, cwd=tmp)
        exporter.wait_line(r"Exporter ready", timeout)
        for place in places:
            for args in (["create"], ["add-match", f"{EXPORTER}/{place}/*"],
                         ["set-tags", "module=BG96", "board=emulator"]):
                done = lab.client("-p", place, *args)
                assert done.returncode == 0, f"labgrid-client -p {place} {' '.join(args)}: {done.stderr}"
        _wait_resources(lab, coordinator, 2 * len(places), timeout)
        yield lab
    finally:
        lab.stop()
        for link in links.values():  # the switch removes them; a crashed one may not have
            if os.path.lexists(link):
                os.unlink(link)


def _wait_resources(lab: Lab, coordinator: Process, count: int, timeout: float) -> None:
    """The coordinator lists every resource of the exporter as available (``labgrid-client
    resources``), checked again each time it logs a change of a resource (its INFO line
    ``set_resource GROUP NAME ...``): the exporter's "Exporter ready" comes before its resources."""
    deadline = time.monotonic() + timeout
    while True:
        seen = len(coordinator.lines)  # a change logged during the check wakes the next wait
        listed = lab.client("resources").stdout.split()
        if len(listed) >= count:
            return
        try:
            coordinator.wait_line(r"\bset_resource ", deadline - time.monotonic(), seen)
        except AssertionError as e:
            raise AssertionError(f"the coordinator lists {listed}, not {count} resources; {e}") from None


def require_labgrid() -> None:
    """.venv-labgrid and ser2net, installed by the set-up when missing; the test is skipped only
    when they cannot be installed here."""
    done = subprocess.run(["bash", "scripts/bootstrap.sh", "--labgrid"], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    if done.returncode != 0:
        tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["(no output)"]
        pytest.skip(f"labgrid cannot be installed here (scripts/bootstrap.sh --labgrid: {tail[0]})")
    if shutil.which("ser2net", path=f"{os.environ.get('PATH', '')}:/usr/sbin") is None:
        pytest.skip("ser2net cannot be installed here (Debian package ser2net; bootstrap.sh needs root)")


def clean_env() -> dict[str, str]:
    """No pytest/xdist variables of this run, no labgrid identity or coordinator of the caller."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("PYTEST_", "LG_")) and k not in ("PYTHONPATH",)}


def start_suite(lab: Lab, name: str, *args: str, cwd: Path = ROOT) -> Process:
    """``pytest ARGS`` from .venv-labgrid against the lab's coordinator, as a user would run it,
    forked from the warm .venv-labgrid python (tests/forked_pytest.py). The emulators behind the
    places run on this machine: on the reference server's network."""
    env = dict(clean_env(), PYTHONPATH=str(ROOT))
    same_network = ["--server-on-module-network"] if "server.on_module_network" in KEYS_BY_PATH else []
    argv = ["-u", "-m", "pytest", *args, "-p", "no:cacheprovider", "-p", "no:labgrid", "--lg-coordinator",
            lab.coordinator, "--time-scale", "0.01", *same_network]
    out_r, out_w = os.pipe()
    stdin = os.open(os.devnull, os.O_RDONLY)
    try:
        proc = forkserver.spawn(LABGRID_PYTHON, argv, cwd=cwd, env=env, stdio=(stdin, out_w, out_w),
                                streams=(open(out_r, encoding="utf-8", errors="replace"), None))
    finally:
        os.close(stdin)
        os.close(out_w)
    return lab.start(name, [str(LABGRID_VENV / "bin" / "python"), *argv], proc)

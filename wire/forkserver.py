"""Programs forked from one warm interpreter, each child a process of its own.

A fresh ``python -m emulator`` spends about a quarter of a second of CPU in imports before it
answers AT, a fresh ``python -m pytest`` over a second before it reads its first argument, and a
test run on a 2-core machine starts over a hundred of each. A fork server imports one program
once (``python -m wire.forkserver --entry MODULE:FUNCTION --address NAME``); every run of it is
then a child forked from the server that calls ``FUNCTION(ARGS)``, with its own pid, working
directory, environment, stdin, stdout and stderr, signals and exit status. Nothing of the server
is left in the child but its imports.

- **Protocol:** a ``SOCK_SEQPACKET`` Unix socket in the abstract namespace, one JSON object per
  packet. The server greets each connection with its interpreter, project root and entry; a
  request carries the child's arguments, directory and environment, and its stdin, stdout and
  stderr as file descriptors (``SCM_RIGHTS``); the server answers with the pid, and later with the
  exit status (negative: the signal that ended it).
- **Sharing:** a :class:`Program` names the environment variable that holds its server's
  address. The process that starts a server sets it, so the processes it starts join that server;
  the workers of one pytest-xdist run share one address (``PYTEST_XDIST_TESTRUNUID``).
- **Lifetime:** a closed connection (its process ended, however) takes its children down: SIGTERM,
  and SIGKILL after :data:`KILL_AFTER_S`. The server exits when its last connection closes; a
  child whose server is killed gets SIGTERM from the kernel (``PR_SET_PDEATHSIG``).
"""
from __future__ import annotations

import atexit
import ctypes
import gc
import heapq
import importlib
import json
import os
import secrets
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable

ROOT = Path(__file__).resolve().parent.parent
KILL_AFTER_S = 5.0  # a child left by its connection: SIGTERM, then SIGKILL this much later
PACKET = 1 << 16
START_TIMEOUT_S = 60.0  # the server's imports on a loaded 2-core machine
IDLE_EXIT_S = 60.0  # a server nobody connects to ends after this long
PR_SET_PDEATHSIG = 1


class ForkServerError(RuntimeError):
    """The fork server could not be started, or ended while its children were running."""


@dataclass(frozen=True)
class Program:
    """What a server runs: ``entry`` is ``MODULE:FUNCTION(args) -> exit status``; the module's
    ``warm_up()``, if it has one, runs in the server before the first fork."""

    name: str
    entry: str
    env: str  # the environment variable with the address of the server to join
    warm: tuple[str, ...] = field(default=())  # modules the program imports late
    python: str = ""  # the interpreter the server runs (and so its children); "": this one

    @property
    def executable(self) -> str:
        return self.python or sys.executable


def _hello(entry: str, executable: str = sys.executable) -> dict[str, str]:
    return {"executable": executable, "root": str(ROOT), "entry": entry}


# -- the server ---------------------------------------------------------------------------------
def _load(entry: str, warm: list[str]) -> Callable[[list[str]], Any]:
    """Import the program and what it imports late; run its ``warm_up()``; the entry function."""
    module_name, _, function = entry.partition(":")
    module = importlib.import_module(module_name)
    for name in warm:
        importlib.import_module(name)
    if hasattr(module, "warm_up"):
        module.warm_up()
    return getattr(module, function)  # type: ignore[no-any-return]


def _become_child(request: dict[str, Any], fds: list[int], server_pid: int,
                  entry: Callable[[list[str]], Any]) -> None:
    """In the forked child: the request's stdio, directory and environment, then ``entry(ARGS)``;
    leaves through ``os._exit`` with its status, after the interpreter's exit handlers."""
    for sig in (signal.SIGCHLD, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != server_pid:  # the server ended before the line above: so does its child
        os._exit(1)
    for target, fd in enumerate(fds):  # stdin, stdout, stderr
        os.dup2(fd, target)
    for fd in set(fds):
        if fd > 2:
            os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = [entry.__code__.co_filename, *request["args"]]
    try:
        status = entry(list(request["args"]))
    except SystemExit as exc:
        status = exc.code
    except BaseException:  # noqa: BLE001 - what an interpreter does with an uncaught exception
        traceback.print_exc()
        status = 1
    if status is not None and not isinstance(status, int):
        print(status, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status or 0)


class _Server:
    """One thread, one selector: the listening socket, the connections, SIGCHLD, the kill timers."""

    def __init__(self, listener: socket.socket, entry_name: str, entry: Callable[[list[str]], Any]) -> None:
        self.listener, self.entry_name, self.entry = listener, entry_name, entry
        self.sel = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()
        for fd in (self.wake_r, self.wake_w):
            os.set_blocking(fd, False)
        self.conns: set[socket.socket] = set()
        self.accepted = False
        self.stopping = False
        self.children: dict[int, socket.socket | None] = {}  # pid -> its connection (None: left)
        self.kills: list[tuple[float, int]] = []  # (when, pid): SIGKILL if still running then

    def close_in_child(self) -> None:
        """The server's descriptors, closed in a forked child (detached: never closed twice)."""
        signal.set_wakeup_fd(-1)
        self.sel.close()
        for sock in (self.listener, *self.conns):
            os.close(sock.detach())
        os.close(self.wake_r)
        os.close(self.wake_w)

    def run(self) -> None:
        try:
            self._loop()
        finally:
            self.listener.close()  # a late client's connect fails at once, and it starts a new server

    def _loop(self) -> None:
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self._sigterm)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl+C ends the clients, and they end this
        self.sel.register(self.listener, selectors.EVENT_READ)
        self.sel.register(self.wake_r, selectors.EVENT_READ)
        idle_until: float | None = time.monotonic() + IDLE_EXIT_S
        while True:
            deadlines = [t for t in (self.kills[0][0] if self.kills else None, idle_until) if t is not None]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            for key, _ in self.sel.select(timeout):
                if key.fileobj is self.listener:
                    self._accept()
                elif key.fileobj == self.wake_r:
                    while True:
                        try:
                            if not os.read(self.wake_r, 512):
                                break
                        except BlockingIOError:
                            break
                elif isinstance(key.fileobj, socket.socket):
                    self._serve(key.fileobj)
            idle_until = None if self.conns else idle_until
            self._reap()
            self._kill_due()
            if not self.conns and self.accepted and not self.children:
                return  # the last client has gone, and every child with it
            if idle_until is not None and time.monotonic() >= idle_until:
                return
            if self.stopping:
                self._stop_all()
                return

    def _sigterm(self, *_: object) -> None:
        self.stopping = True  # the wake-up descriptor ends the select

    def _accept(self) -> None:
        conn, _ = self.listener.accept()
        conn.send(json.dumps(_hello(self.entry_name)).encode())
        self.sel.register(conn, selectors.EVENT_READ)
        self.conns.add(conn)
        self.accepted = True

    def _serve(self, conn: socket.socket) -> None:
        """One request, or the connection's end: then its children are stopped."""
        try:
            data, fds, _, _ = socket.recv_fds(conn, PACKET, 4)
        except OSError:
            data, fds = b"", []
        if not data:
            for fd in fds:
                os.close(fd)
            self.sel.unregister(conn)
            self.conns.discard(conn)
            conn.close()
            for pid, owner in self.children.items():
                if owner is conn:
                    self.children[pid] = None
                    self._terminate(pid)
            return
        request = json.loads(data)
        server_pid = os.getpid()
        pid = os.fork()
        if pid == 0:
            try:
                self.close_in_child()
                _become_child(request, fds, server_pid, self.entry)
            finally:
                os._exit(1)  # a child never returns into the server's loop
        for fd in fds:
            os.close(fd)
        self.children[pid] = conn
        self._send(conn, {"id": request["id"], "pid": pid})

    def _send(self, conn: socket.socket | None, message: dict[str, Any]) -> None:
        if conn is None:
            return
        try:
            conn.send(json.dumps(message).encode())
        except OSError:
            pass  # the connection is going; its close is read on the next select

    def _terminate(self, pid: int) -> None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        heapq.heappush(self.kills, (time.monotonic() + KILL_AFTER_S, pid))

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            self._send(conn, {"pid": pid, "returncode": os.waitstatus_to_exitcode(status)})

    def _kill_due(self) -> None:
        while self.kills and self.kills[0][0] <= time.monotonic():
            _, pid = heapq.heappop(self.kills)
            if pid in self.children:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def _stop_all(self) -> None:
        """The server is told to end: every child gets SIGTERM, SIGKILL after KILL_AFTER_S."""
        for pid in list(self.children):
            self._terminate(pid)
        deadline = time.monotonic() + KILL_AFTER_S
        while self.children and time.monotonic() < deadline:
            self._reap()
            if self.children:
                self.sel.select(min(0.1, max(0.0, deadline - time.monotonic())))
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)


def serve(argv: list[str] | None = None) -> int:
    """``--address NAME --entry MODULE:FUNCTION [--warm MODULE]...``: prints ``TAKEN`` and ends when
    another server holds the address, else ``READY``; then warms up and serves."""
    import argparse
    ap = argparse.ArgumentParser(prog="python -m wire.forkserver")
    ap.add_argument("--address", required=True)
    ap.add_argument("--entry", required=True)
    ap.add_argument("--warm", action="append", default=[])
    a = ap.parse_args(argv)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        listener.bind("\0" + a.address)
    except OSError:
        print("TAKEN", flush=True)
        return 0
    listener.listen(64)
    print("READY", flush=True)  # clients may connect now; they are greeted after the warm-up
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nothing else of the server goes to its starter
    entry = _load(a.entry, a.warm)
    gc.freeze()  # the imports stay out of every child's collections (and shared, not copied)
    _Server(listener, a.entry, entry).run()
    return 0


# -- the client ---------------------------------------------------------------------------------
class ForkedProcess:
    """A child as ``subprocess.Popen`` shows a process: pid, stdout/stderr (the caller's ends, if
    any), poll, wait, signals and the return code (negative for a signal)."""

    def __init__(self, args: list[str], pid: int, stdout: IO[Any] | None, stderr: IO[Any] | None,
                 server: "_Client") -> None:
        self.args, self.pid, self.stdout, self.stderr = args, pid, stdout, stderr
        self.stdin: IO[Any] | None = None  # a child reads what it was given, never the caller's pipe
        self.returncode: int | None = None
        self._server = server
        self._ended = threading.Event()
        try:  # a handle that stays this process's even if the pid is reused after it ends
            self._pidfd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:
            self._pidfd = None

    def _exited(self, returncode: int) -> None:
        self.returncode = returncode
        self._ended.set()

    def poll(self) -> int | None:
        if self.returncode is None:
            self._server.check()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(timeout):
            self._server.check()
            raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
        if self.returncode is None:
            self._server.check()
        assert self.returncode is not None
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None and self._pidfd is not None:
            try:
                signal.pidfd_send_signal(self._pidfd, sig)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class _Client:
    """This process's connection to a fork server; a thread reads the server's answers."""

    def __init__(self, program: Program, address: str, sock: socket.socket) -> None:
        self.program, self.address, self.sock = program, address, sock
        self.lock = threading.Lock()
        self.ids = iter(range(1, 1 << 62))
        self.pids: dict[int, int] = {}  # request id -> pid
        self.asked = threading.Condition(self.lock)
        self.procs: dict[int, ForkedProcess] = {}
        self.ended: dict[int, int] = {}  # exit statuses read before their process was registered
        self.gone: str | None = None
        threading.Thread(target=self._read, name=f"{program.name}-forkserver", daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(PACKET)
            except OSError:
                data = b""
            with self.lock:
                if not data:
                    self.gone = f"the {self.program.name} fork server ended"
                    self.asked.notify_all()
                    for proc in self.procs.values():
                        proc._ended.set()  # wait() raises: the status is lost with the server
                    return
                message = json.loads(data)
                if "id" in message:
                    self.pids[message["id"]] = message["pid"]
                    self.asked.notify_all()
                elif message["pid"] in self.procs:
                    self.procs.pop(message["pid"])._exited(message["returncode"])
                else:
                    self.ended[message["pid"]] = message["returncode"]

    def check(self) -> None:
        if self.gone is not None:
            raise ForkServerError(self.gone)

    def spawn(self, args: list[str], cwd: Path, env: dict[str, str], stdio: tuple[int, int, int],
              streams: tuple[IO[Any] | None, IO[Any] | None]) -> ForkedProcess:
        with self.lock:
            self.check()
            request_id = next(self.ids)
            request = {"id": request_id, "args": args, "cwd": str(cwd), "env": env}
            socket.send_fds(self.sock, [json.dumps(request).encode()], list(stdio))
            while request_id not in self.pids:
                self.check()
                self.asked.wait()
            pid = self.pids.pop(request_id)
            proc = ForkedProcess(args, pid, *streams, server=self)
            if pid in self.ended:
                proc._exited(self.ended.pop(pid))
            else:
                self.procs[pid] = proc
            return proc


def _connect(address: str, program: Program) -> socket.socket | None:
    """A connection to the server at ``address`` if it runs ``program`` for this interpreter and
    project (an address left in the environment by something else is not joined)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        sock.settimeout(START_TIMEOUT_S)
        sock.connect("\0" + address)
        hello = json.loads(sock.recv(PACKET) or b"null")
    except (OSError, ValueError):
        sock.close()
        return None
    sock.settimeout(None)
    if hello != _hello(program.entry, program.executable):
        sock.close()
        return None
    return sock


def _address(program: Program) -> str:
    """The workers of one xdist run share one server; any other process starts its own."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run:
        return f"bg96-{program.name}-{run}"
    return f"bg96-{program.name}-{os.getpid()}-{secrets.token_hex(6)}"


def _start(program: Program, address: str) -> socket.socket:
    """A server at ``address`` (or the one that took it first), connected."""
    env = {k: v for k, v in os.environ.items() if k != program.env}
    argv = [program.executable, "-m", "wire.forkserver", "--address", address, "--entry", program.entry,
            *[a for name in program.warm for a in ("--warm", name)]]
    starter = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    assert starter.stdout is not None
    said = starter.stdout.readline().strip()  # READY once it listens, TAKEN if another server does
    starter.stdout.close()
    sock = _connect(address, program) if said in (b"READY", b"TAKEN") else None
    if sock is None:
        starter.kill()
        raise ForkServerError(f"the {program.name} fork server did not start at {address} "
                              f"(it said {said!r}, exit status {starter.wait()})")
    if said == b"TAKEN":
        starter.wait()
    return sock


_clients: dict[str, _Client] = {}
_clients_lock = threading.Lock()


def _forget() -> None:
    """In a forked child: the parent's connections are not this process's."""
    global _clients_lock
    _clients.clear()
    _clients_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget)


def client(program: Program) -> _Client:
    """This process's connection to a server of ``program``: the one named in the environment
    (started there if nobody listens), else the xdist run's, else a new one; its address then goes
    into the environment."""
    with _clients_lock:
        known = _clients.get(program.name)
        if known is None or known.gone is not None:
            shared = os.environ.get(program.env)
            sock, address = (_connect(shared, program), shared) if shared else (None, "")
            if sock is None and shared:  # nobody there (yet): start it there, for those who look there
                try:
                    sock = _start(program, shared)
                except ForkServerError:
                    sock = None  # the address is another's
            if sock is None:
                address = _address(program)
                sock = _connect(address, program) or _start(program, address)
            known = _clients[program.name] = _Client(program, address, sock)
            os.environ[program.env] = address
        return known


def spawn(program: Program, args: list[str], *, cwd: Path, env: dict[str, str], stdio: tuple[int, int, int],
          streams: tuple[IO[Any] | None, IO[Any] | None] = (None, None)) -> ForkedProcess:
    """``program``'s entry with ``args`` in a child of its fork server, on the descriptors
    ``stdio`` (stdin, stdout, stderr: the caller closes its copies); ``streams`` are the
    caller's ends of any pipes among them, kept on the process as Popen keeps its own."""
    return client(program).spawn(args, cwd, env, stdio, streams)


if __name__ == "__main__":
    sys.exit(serve())

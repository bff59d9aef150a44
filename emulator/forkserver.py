"""Emulator processes forked from one warm interpreter, each a process of its own.

``python -m emulator`` spends about a quarter of a second of CPU importing asyncio, aiocoap and its
own modules before it answers AT, and a test run starts over a hundred emulators on a 2-core
machine. The fork server (``python -m emulator.forkserver FD``) imports all that once; every
emulator is then a child forked from it that runs the same ``emulator.cli.main(ARGS)`` a fresh
``python -m emulator ARGS`` runs, with its own pid, working directory, environment, stdout and
stderr, signals and exit status. Nothing of the server is left in the child but its imports.

- **Protocol:** a ``SOCK_SEQPACKET`` Unix socket in the abstract namespace, one JSON object per
  packet. The server greets each connection with its interpreter and project root; a request
  carries the child's arguments, directory and environment, and its stdout and stderr as file
  descriptors (``SCM_RIGHTS``); the server answers with the pid, and later with the exit status.
- **Sharing:** the process that starts a server puts its address in ``BG96_EMULATOR_FORKSERVER``,
  so the pytest runs and scripts it starts join that server instead of warming up their own.
- **Lifetime:** a closed connection (its process ended, however) takes its emulators down:
  SIGTERM, and SIGKILL after :data:`KILL_AFTER_S`. When the starter's connection closes, the
  server stops every emulator and exits; an emulator whose server is killed gets SIGTERM from the
  kernel (``PR_SET_PDEATHSIG``).
"""
from __future__ import annotations

import atexit
import ctypes
import gc
import heapq
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
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
ENV = "BG96_EMULATOR_FORKSERVER"
KILL_AFTER_S = 5.0  # an emulator left by its connection: SIGTERM, then SIGKILL this much later
PACKET = 1 << 16
START_TIMEOUT_S = 60.0  # the server's imports on a loaded 2-core machine
PR_SET_PDEATHSIG = 1


class ForkServerError(RuntimeError):
    """The fork server could not be started, or ended while emulators were running."""


def _hello() -> dict[str, str]:
    return {"executable": sys.executable, "root": str(ROOT)}


# -- the server ---------------------------------------------------------------------------------
def _warm_up() -> None:
    """Import what ``python -m emulator`` imports, the transports it imports late included."""
    import emulator.cli  # noqa: F401
    import emulator.host_pty  # noqa: F401
    import emulator.host_tcp  # noqa: F401


def _become_emulator(request: dict[str, Any], fds: list[int], server_pid: int) -> None:
    """In the forked child: the request's stdio, directory and environment, then ``main(ARGS)``;
    leaves through ``os._exit`` with main's status, after the interpreter's exit handlers."""
    for sig in (signal.SIGCHLD, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != server_pid:  # the server ended before the line above: so does its child
        os._exit(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    for target, fd in ((0, devnull), (1, fds[0]), (2, fds[1])):
        os.dup2(fd, target)
    for fd in {devnull, *fds}:
        if fd > 2:
            os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = [str(ROOT / "emulator" / "__main__.py"), *request["args"]]
    from emulator.cli import main
    try:
        status = main(list(request["args"]))
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

    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.sel = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()
        for fd in (self.wake_r, self.wake_w):
            os.set_blocking(fd, False)
        self.owner: socket.socket | None = None
        self.conns: set[socket.socket] = set()
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
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self._sigterm)
        self.sel.register(self.listener, selectors.EVENT_READ)
        self.sel.register(self.wake_r, selectors.EVENT_READ)
        while True:
            timeout = max(0.0, self.kills[0][0] - time.monotonic()) if self.kills else None
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
                elif isinstance(key.fileobj, socket.socket) and not self._serve(key.fileobj):
                    if key.fileobj is self.owner:
                        self._stop_all()
                        return
            self._reap()
            self._kill_due()
            if self.stopping:
                self._stop_all()
                return

    def _sigterm(self, *_: object) -> None:
        self.stopping = True  # the wake-up descriptor ends the select

    def _accept(self) -> None:
        conn, _ = self.listener.accept()
        conn.send(json.dumps(_hello()).encode())
        self.sel.register(conn, selectors.EVENT_READ)
        self.conns.add(conn)
        if self.owner is None:
            self.owner = conn

    def _serve(self, conn: socket.socket) -> bool:
        """One request; False when the connection has closed (its emulators are then stopped)."""
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
            return False
        request = json.loads(data)
        server_pid = os.getpid()
        pid = os.fork()
        if pid == 0:
            self.close_in_child()
            _become_emulator(request, fds, server_pid)
        for fd in fds:
            os.close(fd)
        self.children[pid] = conn
        self._send(conn, {"id": request["id"], "pid": pid})
        return True

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
        """The starter is gone: every emulator gets SIGTERM, SIGKILL after KILL_AFTER_S."""
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


def serve(listen_fd: int) -> None:
    _warm_up()
    gc.freeze()  # the imports stay out of every child's collections (and shared, not copied)
    _Server(socket.socket(fileno=listen_fd)).run()


# -- the client ---------------------------------------------------------------------------------
class ForkedProcess:
    """The emulator as ``subprocess.Popen`` shows a process: pid, stdout/stderr, poll, wait,
    signals and the return code (negative for a signal)."""

    def __init__(self, args: list[str], pid: int, stdout: IO[bytes], stderr: IO[bytes] | None,
                 server: "_Client") -> None:
        self.args, self.pid, self.stdout, self.stderr = args, pid, stdout, stderr
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

    def __init__(self, address: str, sock: socket.socket, starter: subprocess.Popen[bytes] | None) -> None:
        self.address, self.sock, self.starter = address, sock, starter
        self.lock = threading.Lock()
        self.ids = iter(range(1, 1 << 62))
        self.pids: dict[int, int] = {}  # request id -> pid
        self.asked = threading.Condition(self.lock)
        self.procs: dict[int, ForkedProcess] = {}
        self.ended: dict[int, int] = {}  # exit statuses read before their process was registered
        self.gone: str | None = None
        threading.Thread(target=self._read, name="emulator-forkserver", daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(PACKET)
            except OSError:
                data = b""
            with self.lock:
                if not data:
                    self.gone = "the emulator fork server ended"
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

    def spawn(self, args: list[str], cwd: Path, env: dict[str, str], stdout: int, stderr: int,
              streams: tuple[IO[bytes], IO[bytes] | None]) -> ForkedProcess:
        with self.lock:
            self.check()
            request_id = next(self.ids)
            request = {"id": request_id, "args": args, "cwd": str(cwd), "env": env}
            socket.send_fds(self.sock, [json.dumps(request).encode()], [stdout, stderr])
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


def _connect(address: str) -> socket.socket | None:
    """A connection to the server at ``address`` if it serves this interpreter and project."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        sock.settimeout(START_TIMEOUT_S)
        sock.connect("\0" + address)
        hello = json.loads(sock.recv(PACKET) or b"null")
    except (OSError, ValueError):
        sock.close()
        return None
    sock.settimeout(None)
    if hello != _hello():
        sock.close()
        return None
    return sock


def _start() -> _Client:
    """A new server, owned by this process; its address goes into the environment."""
    address = f"bg96-emulator-{os.getpid()}-{secrets.token_hex(6)}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind("\0" + address)
    listener.listen(64)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop(ENV, None)
    starter = subprocess.Popen([sys.executable, "-m", "emulator.forkserver", str(listener.fileno())],
                               cwd=ROOT, env=env, stdin=subprocess.DEVNULL, pass_fds=[listener.fileno()])
    listener.close()
    sock = _connect(address)
    if sock is None:
        starter.kill()
        raise ForkServerError(f"the emulator fork server did not start (exit status {starter.wait()})")
    os.environ[ENV] = address
    return _Client(address, sock, starter)


_client: _Client | None = None
_client_lock = threading.Lock()


def _forget() -> None:
    """In a forked child: the parent's connection is not this process's."""
    global _client, _client_lock
    _client, _client_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget)


def client() -> _Client:
    """This process's fork server: the one named in the environment, else a new one."""
    global _client
    with _client_lock:
        if _client is None or _client.gone is not None:
            shared = os.environ.get(ENV)
            sock = _connect(shared) if shared else None
            _client = _Client(shared, sock, None) if shared and sock is not None else _start()
        return _client


def spawn(args: list[str], *, cwd: Path, env: dict[str, str], stdout: int, stderr: int,
          streams: tuple[IO[bytes], IO[bytes] | None]) -> ForkedProcess:
    """``python -m emulator ARGS`` as a child of the fork server, writing to the descriptors
    ``stdout`` and ``stderr`` (the caller closes its copies); ``streams`` are the caller's ends."""
    return client().spawn(args, cwd, env, stdout, stderr, streams)


if __name__ == "__main__":
    serve(int(sys.argv[1]))

"""One network loop: a daemon thread polling its sockets, a timer heap and a queue of calls.

The reference server and the relay each own one. Everything that touches their sockets (and
tinydtls, which must only ever be entered from one thread) runs on the loop thread; test threads
hand work over with :meth:`Loop.call` and never sleep: a timer is an entry on the heap, and the
poll wakes for the earliest one, for a readable socket or for a call.
"""
from __future__ import annotations

import concurrent.futures
import heapq
import itertools
import select
import socket
import threading
import time
import traceback
from collections import deque
from typing import Any, Callable, Optional

CALL_TIMEOUT = 5.0
Callback = Callable[[], None]


class Loop:
    """Poll, timers and calls on one daemon thread.

    ``busy()`` true means "work is waiting, do not block in poll"; ``after_poll`` runs after each
    poll (before calls and timers); ``on_exit`` runs on the loop thread as it stops, with the
    sockets still open (a last close_notify). A failing callback is printed, never fatal.
    """

    def __init__(self, name: str, busy: Optional[Callable[[], bool]] = None,
                 after_poll: Optional[Callback] = None, on_exit: Optional[Callback] = None) -> None:
        self.name = name
        self._busy, self._after_poll, self._on_exit = busy, after_poll, on_exit
        self._readers: dict[int, Callback] = {}
        self._poller = select.poll()
        self._timers: list[tuple[float, int, Callback, Optional[str]]] = []
        self._seq = itertools.count()
        self._calls: deque[tuple[Callable[[], Any], concurrent.futures.Future]] = deque()
        self._wake_r: Optional[socket.socket] = None
        self._wake_w: Optional[socket.socket] = None
        self._thread: Optional[threading.Thread] = None
        self.running = False

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.add_reader(self._wake_r, self._drain_wake)
        self.running = True
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, join_timeout: float = 10.0) -> None:
        """Stop the thread (``on_exit`` runs on it) and join; then close the wake-up pair."""
        self.running = False
        self.wake()
        if self._thread is not None:
            self._thread.join(join_timeout)
        for s in (self._wake_r, self._wake_w):
            if s is not None:
                s.close()

    @property
    def on_loop_thread(self) -> bool:
        return threading.current_thread() is self._thread

    # -- what runs on the loop -----------------------------------------------------------------
    def add_reader(self, sock: socket.socket, callback: Callback) -> None:
        """Call ``callback`` on the loop thread whenever ``sock`` is readable."""
        self._readers[sock.fileno()] = callback
        self._poller.register(sock.fileno(), select.POLLIN)

    def call(self, fn: Callable[[], Any], timeout: float = CALL_TIMEOUT) -> Any:
        """Run ``fn`` on the loop thread and return its result (re-raising its exception)."""
        if self.on_loop_thread or not self.running:
            return fn()
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._calls.append((fn, future))
        self.wake()
        return future.result(timeout)

    def schedule(self, delay: float, fn: Callback, tag: Optional[str] = None) -> None:
        """Loop thread only: run ``fn`` after ``delay`` seconds; ``tag`` names it for :meth:`cancel`."""
        heapq.heappush(self._timers, (time.monotonic() + max(0.0, delay), next(self._seq), fn, tag))

    def cancel(self, tag: str) -> None:
        """Loop thread only: forget every timer scheduled with ``tag``."""
        self._timers = [t for t in self._timers if t[3] != tag]
        heapq.heapify(self._timers)

    def wake(self) -> None:
        if self._wake_w is None:
            return
        try:
            self._wake_w.send(b"\0")
        except OSError:  # full (a wake-up is pending anyway) or closed
            pass

    # -- the thread ----------------------------------------------------------------------------
    def _drain_wake(self) -> None:
        assert self._wake_r is not None
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def _timeout_ms(self) -> Optional[int]:
        if self._busy is not None and self._busy():
            return 0
        if self._timers:
            return max(0, int((self._timers[0][0] - time.monotonic()) * 1000) + 1)
        return None

    def _run(self) -> None:
        try:
            while self.running:
                for fd, _ in self._poller.poll(self._timeout_ms()):
                    reader = self._readers.get(fd)
                    if reader is not None:
                        guard(reader)
                if self._after_poll is not None:
                    guard(self._after_poll)
                self._run_calls()
                now = time.monotonic()
                while self._timers and self._timers[0][0] <= now:
                    guard(heapq.heappop(self._timers)[2])
        finally:
            self._run_calls()
            if self._on_exit is not None:
                guard(self._on_exit)

    def _run_calls(self) -> None:
        while self._calls:
            fn, future = self._calls.popleft()
            try:
                future.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                future.set_exception(exc)


def guard(fn: Callback) -> None:
    """Run ``fn``; print, never propagate, its exception: one bad datagram or timer must not end
    the loop."""
    try:
        fn()
    except Exception:  # noqa: BLE001
        traceback.print_exc()

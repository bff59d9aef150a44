"""Append-only, thread-safe capture list that tests wait on (no sleeps: a Condition)."""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional

from .records import Datagram

Predicate = Callable[[Datagram], bool]
Listener = Callable[[Datagram], None]


class Capture:
    """Datagrams in wire order; the server thread appends, test threads read and wait."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._items: list[Datagram] = []
        self._listeners: list[Listener] = []

    def append(self, dgram: Datagram, notify: bool = True) -> None:
        with self._cond:
            self._items.append(dgram)
            if notify:
                self._cond.notify_all()

    def notify(self) -> None:
        """Wake waiters, e.g. after a batch or after DTLS decryption set a plaintext."""
        with self._cond:
            self._cond.notify_all()

    def held(self) -> threading.Condition:
        """The capture's re-entrant lock: while it is held no waiter looks at the records, so a
        record can be appended and then completed (DTLS decryption) before anyone sees it."""
        return self._cond

    def snapshot(self) -> list[Datagram]:
        with self._cond:
            return list(self._items)

    def clear(self) -> list[Datagram]:
        with self._cond:
            old, self._items = self._items, []
            return old

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def add_listener(self, fn: Listener) -> None:
        self._listeners.append(fn)

    def emit(self, dgram: Datagram) -> None:
        """Call listeners (CLI printer, pcap writer) from the server thread."""
        for fn in list(self._listeners):
            try:
                fn(dgram)
            except Exception:
                pass

    @staticmethod
    def _safe(pred: Predicate, d: Datagram) -> bool:
        try:
            return bool(pred(d))
        except Exception:
            return False

    def wait_count(self, predicate: Predicate, n: int, timeout: float) -> list[Datagram]:
        """Block until `n` captured datagrams satisfy `predicate`; return the first n."""
        deadline = time.monotonic() + timeout
        checked = 0
        found: list[Datagram] = []
        with self._cond:
            while True:
                if checked > len(self._items):  # reset() cleared the list meanwhile
                    checked = 0
                for d in self._items[checked:]:
                    if self._safe(predicate, d):
                        found.append(d)
                checked = len(self._items)
                if len(found) >= n:
                    return found[:n]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._timeout_message(n, len(found), timeout))
                self._cond.wait(remaining)

    def wait_for(self, predicate: Predicate, timeout: float) -> Datagram:
        return self.wait_count(predicate, 1, timeout)[0]

    def wait_until(self, condition: Callable[[], object], timeout: float, what: str = "condition"):
        """Block until `condition()` is truthy (re-checked on every capture/event notify)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = condition()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{what} not met within {timeout:.3f} s")
                self._cond.wait(remaining)

    def _timeout_message(self, n: int, got: int, timeout: float, limit: int = 40) -> str:
        lines = [f"wanted {n} matching datagram(s), got {got} within {timeout:.3f} s; captured {len(self._items)}:"]
        shown = self._items[-limit:]
        if len(self._items) > limit:
            lines.append(f"  ... {len(self._items) - limit} earlier")
        lines += ["  " + d.summary() for d in shown]
        return "\n".join(lines)


def rx(d: Datagram) -> bool:
    return d.direction == "rx"


def tx(d: Datagram) -> bool:
    return d.direction == "tx"


def coap(direction: Optional[str] = None, **fields) -> Predicate:
    """Predicate on direction and CoapView fields, e.g. coap("rx", mtype=0, mid=7)."""

    def pred(d: Datagram) -> bool:
        if direction is not None and d.direction != direction:
            return False
        m = d.message
        if m is None:
            return False
        return all(getattr(m, k) == v for k, v in fields.items())

    return pred

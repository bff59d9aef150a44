"""A UDP relay between the DUT and the reference server that impairs traffic as a test scripts it.

The DUT dials the relay instead of the server. Each DUT address gets its own upstream socket,
so the server sees one stable peer per DUT session, and what the server sends to that peer goes
back to the DUT address it belongs to. Only the configured upstream (the target server) is
upstream: a datagram on the relay's port from the target itself or from the relay's own upstream
sockets, or from a source the relay was told is not the module's (:meth:`Relay.accept`), is a
stranger's: recorded (action ``foreign``), never forwarded, never trusted as the module's.
One network loop (wire.loop) polls the sockets and a timer heap (delays, reorder holds); tests
change rules and read the record under a lock, and wait on a condition, never a sleep. Works for plain CoAP and DTLS alike: datagrams are opaque here.
"""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable

from wire.address import Address
from wire.loop import Loop

from .impairment import DOWN, UP, Action, Kind, Rule

MAX_DATAGRAM = 65535
DEFAULT_MAX_HOLD = 5.0  # seconds a reordered datagram waits for its successor at most


@dataclass
class _Held:
    """A datagram kept back by a REORDER rule until the next one of its direction passes."""

    direction: str
    index: int
    data: bytes
    peer: Address
    deadline: float


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _reachable(host: str) -> str:
    """A wildcard bind address is not a destination: use the loopback of its family."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


class Relay:
    """Forward datagrams DUT <-> target, applying the installed rules, recording every action."""

    def __init__(self, bind: Address = ("127.0.0.1", 0), target: Address | None = None,
                 advertise: Address | None = None) -> None:
        self._bind = bind
        self._target = (_reachable(target[0]), target[1]) if target else None
        self._advertise = advertise
        self._cond = threading.Condition()  # rules, record, counters
        self._rules: list[Rule] = []
        self._actions: list[Action] = []
        self._counts = {UP: 0, DOWN: 0}
        self._held: dict[str, _Held] = {}
        self._upstream: dict[Address, socket.socket] = {}  # DUT address -> its upstream socket
        self._sock: socket.socket | None = None
        self._loop: Loop | None = None
        self._generation = 0  # reset() invalidates scheduled sends of the previous test
        self._accept: Callable[[Address], bool] = lambda _: True  # sources that may be the DUT
        self._strangers: list[Action] = []

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self) -> "Relay":
        if self._loop is not None:
            return self
        sock = socket.socket(_family(self._bind[0]), socket.SOCK_DGRAM)
        try:
            sock.bind(self._bind)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self._sock = sock
        self._loop = Loop(f"relay {self.bound}")
        self._loop.add_reader(sock, lambda: self._drain(sock, UP, None))
        self._loop.start()
        return self

    def stop(self) -> None:
        if self._loop is None or not self._loop.running:
            return
        self._loop.stop(5)
        for s in [self._sock, *self._upstream.values()]:
            if s is not None:
                s.close()

    def __enter__(self) -> "Relay":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def bound(self) -> Address:
        if self._sock is None:
            raise RuntimeError("relay not started")
        name = self._sock.getsockname()
        return (name[0], name[1])

    def advertise(self, address: Address | None) -> None:
        """Set where the DUT must dial (known once the port is bound, e.g. NAT beside it)."""
        self._advertise = address

    @property
    def advertised(self) -> Address:
        """Where the DUT must dial (differs from ``bound`` behind NAT on a bench)."""
        if self._advertise is not None:
            return self._advertise
        host, port = self.bound
        return (_reachable(host), port)

    @property
    def target(self) -> Address | None:
        with self._cond:
            return self._target

    def retarget(self, target: Address) -> None:
        """Forward to another server from now on (e.g. a DTLS server for one test)."""
        with self._cond:
            self._target = (_reachable(target[0]), target[1])

    def upstream_address(self, dut: Address | None = None) -> Address | None:
        """The address the server sees for ``dut`` (the only DUT address if None)."""
        with self._cond:
            if dut is None:
                socks = list(self._upstream.values())
                sock = socks[0] if len(socks) == 1 else None
            else:
                sock = self._upstream.get(dut)
            if sock is None:
                return None
            name = sock.getsockname()
            return (name[0], name[1])

    def is_upstream(self, peer: Address) -> bool:
        """Whether ``peer`` is the relay's upstream socket for an accepted DUT, connected to the
        configured upstream: what the server hears from it is the module's (a server attributing
        datagrams trusts it). A stranger's datagram is never forwarded, so it never comes from one."""
        with self._cond:
            socks = [s for dut, s in self._upstream.items() if self._accept(dut)]
            target = self._target
        for sock in socks:
            try:
                if sock.getsockname()[:2] == tuple(peer) and sock.getpeername()[:2] == target:
                    return True
            except OSError:
                continue  # closed at stop, or not connected
        return False

    def accept(self, may_be_dut: Callable[[Address], bool]) -> None:
        """Only sources for which ``may_be_dut`` holds are relayed (the rig's operator ranges);
        the others are strangers: recorded, ignored."""
        with self._cond:
            self._accept = may_be_dut

    def strangers(self) -> list[Action]:
        """Datagrams the relay ignored as not the module's, since it started."""
        with self._cond:
            return list(self._strangers)

    def _is_stranger(self, source: Address) -> str:
        """Why a datagram on the relay's port is not a DUT's ('' if it may be): the configured
        upstream or the relay's own upstream sockets (a loop), or a source not accepted."""
        with self._cond:
            target, socks, accept = self._target, list(self._upstream.values()), self._accept
        if source == target:
            return "from the configured upstream itself"
        for sock in socks:
            try:
                if sock.getsockname()[:2] == source:
                    return "from the relay's own upstream socket"
            except OSError:
                continue
        return "" if _safe(accept, source) else "not an accepted source of the module"

    # ---- rules ---------------------------------------------------------------------------
    def add(self, rule: Rule) -> Rule:
        with self._cond:
            self._rules.append(rule)
        return rule

    def drop(self, direction: str, nth: int | None = None, count: int | None = None) -> Rule:
        """Drop the n-th datagram of ``direction`` (every one if ``nth`` is None)."""
        return self.add(Rule(Kind.DROP, direction, nth, count=count))

    def delay(self, direction: str, seconds: float, nth: int | None = None) -> Rule:
        return self.add(Rule(Kind.DELAY, direction, nth, delay=seconds))

    def duplicate(self, direction: str, nth: int | None = None, copies: int = 2) -> Rule:
        return self.add(Rule(Kind.DUPLICATE, direction, nth, copies=copies))

    def reorder(self, direction: str, nth: int, max_hold: float = DEFAULT_MAX_HOLD) -> Rule:
        """Hold the n-th datagram and release it right after the next one (or after ``max_hold``)."""
        return self.add(Rule(Kind.REORDER, direction, nth, delay=max_hold))

    def blackhole(self, *directions: str) -> list[Rule]:
        """Drop everything in the given directions (both if none is given)."""
        return [self.drop(d) for d in (directions or (UP, DOWN))]

    def rules(self) -> list[Rule]:
        with self._cond:
            return list(self._rules)

    def reset(self) -> list[Action]:
        """Between tests: no rules, counters from zero, holds and delays forgotten, target kept."""
        with self._cond:
            self._rules.clear()
            self._counts = {UP: 0, DOWN: 0}
            self._held.clear()
            self._generation += 1
            old, self._actions = self._actions, []
            return old

    # ---- record --------------------------------------------------------------------------
    def actions(self) -> list[Action]:
        with self._cond:
            return list(self._actions)

    def wait_action(self, predicate: Callable[[Action], bool], timeout: float) -> Action:
        """The first recorded action matching ``predicate``; TimeoutError if none within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = next((a for a in self._actions if predicate(a)), None)
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"relay: no matching action within {timeout:.2f} s; "
                                       f"actions: {[(a.direction, a.index, a.action) for a in self._actions]}")
                self._cond.wait(remaining)

    def _record(self, direction: str, index: int, action: str, size: int, peer: Address, note: str = "") -> None:
        with self._cond:
            self._actions.append(Action(time.monotonic(), direction, index, action, size, peer, note))
            self._cond.notify_all()

    # ---- loop thread ---------------------------------------------------------------------
    def _schedule(self, delay: float, fn: Callable[[], None]) -> None:
        """Loop thread only: run ``fn`` after ``delay`` seconds unless a reset comes first."""
        generation = self._generation

        def guarded() -> None:
            if generation == self._generation:
                fn()

        assert self._loop is not None
        self._loop.schedule(delay, guarded)

    def _drain(self, sock: socket.socket, direction: str, dut: Address | None) -> None:
        while True:
            try:
                data, addr = sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue  # an ICMP error queued on the socket (server port closed): nothing to relay
            peer = (addr[0], addr[1]) if direction == UP else dut
            assert peer is not None
            why = self._is_stranger(peer) if direction == UP else ""
            if why:
                stranger = Action(time.monotonic(), UP, 0, "foreign", len(data), peer, why)
                with self._cond:
                    self._strangers.append(stranger)
                    self._actions.append(stranger)
                    self._cond.notify_all()
                continue
            self._handle(direction, data, peer)

    def _upstream_for(self, dut: Address) -> socket.socket:
        sock = self._upstream.get(dut)
        if sock is None:
            target = self.target
            assert target is not None
            family = _family(target[0])
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.connect(target)  # routing picks the source address; only the target is heard
            sock.setblocking(False)
            with self._cond:
                self._upstream[dut] = sock
            assert self._loop is not None
            self._loop.add_reader(sock, lambda: self._drain(sock, DOWN, dut))
        return sock

    def _handle(self, direction: str, data: bytes, peer: Address) -> None:
        with self._cond:
            self._counts[direction] += 1
            index = self._counts[direction]
            rule = next((r for r in self._rules if r.matches(direction, index)), None)
            if rule is not None:
                rule.hits += 1
            held = self._held.pop(direction, None)
        if rule is None:
            self._forward(direction, index, data, peer)
        elif rule.kind is Kind.DROP:
            self._record(direction, index, "drop", len(data), peer, rule.describe())
        elif rule.kind is Kind.DELAY:
            self._record(direction, index, "delay", len(data), peer, rule.describe())
            self._schedule(rule.delay, lambda: self._forward(direction, index, data, peer))
        elif rule.kind is Kind.DUPLICATE:
            for copy in range(max(1, rule.copies)):
                self._forward(direction, index, data, peer, f"copy {copy + 1} of {rule.copies}")
        elif rule.kind is Kind.REORDER:
            self._hold(direction, index, data, peer, rule)
        if held is not None:  # the datagram it waited for has passed (or was dropped): release
            self._forward(held.direction, held.index, held.data, held.peer,
                          f"released after #{index}", action="release")

    def _hold(self, direction: str, index: int, data: bytes, peer: Address, rule: Rule) -> None:
        entry = _Held(direction, index, data, peer, time.monotonic() + rule.delay)
        with self._cond:
            self._held[direction] = entry
        self._record(direction, index, "hold", len(data), peer, rule.describe())

        def expire() -> None:
            with self._cond:
                still = self._held.get(direction) is entry
                if still:
                    del self._held[direction]
            if still:
                self._forward(direction, index, data, peer, f"no next datagram within {rule.delay:.3f} s",
                              action="release")

        self._schedule(rule.delay, expire)

    def _forward(self, direction: str, index: int, data: bytes, peer: Address, note: str = "",
                 action: str = "forward") -> None:
        """Record, then send: a test woken by the datagram's arrival already sees the record."""
        target = self.target if direction == UP else peer
        if target is None:
            self._record(direction, index, "drop", len(data), peer, "no target")
            return
        self._record(direction, index, action, len(data), peer, note)
        try:
            if direction == UP:
                sock = self._upstream_for(peer)
                if sock.getpeername()[:2] != target:
                    sock.connect(target)  # retargeted since this DUT address was first seen
                sock.send(data)
            else:
                assert self._sock is not None
                self._sock.sendto(data, peer)
        except OSError as exc:
            self._record(direction, index, "drop", len(data), peer, f"send failed: {exc}")


def _safe(predicate: Callable[[Address], bool], source: Address) -> bool:
    try:
        return bool(predicate(source))
    except Exception:  # noqa: BLE001 - a rig's predicate must not stop the relay
        return False

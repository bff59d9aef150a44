"""The module's radio path (the network side of the field personality): what a datagram meets
between the module's socket and the operator's gateway.

Field knobs ``net-delay`` (one-way delay with jitter, both directions, in order as RLC keeps
it), ``rrc-idle`` (after IDLE_S without traffic the radio is released: the next datagram, up or
down, waits 1-2.5 s for the RRC connection set-up), ``nat-rebind`` (an operator NAT mapping
expires after IDLE_S without traffic on a socket: the next uplink datagram leaves from a new
source port, for DTLS too) and ``idle-drop`` (the first uplink datagram after the radio went
idle is lost with probability P). All times are module seconds, scaled by ``--time-scale``; the
two idle timers are never shorter than IDLE_FLOOR_S of real time (see there).

There is one radio per module, so one :class:`RadioPath` per process (:func:`install` with the
process's knobs, :func:`current` for the links). With every knob off the path is a plain
function call: nothing is delayed or scheduled, the kind emulator the suites rely on.
"""
from __future__ import annotations

import asyncio
import logging
import random
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Protocol

log = logging.getLogger(__name__)

#: RRC connection set-up from idle on LTE-M (module seconds; coverage enhancement takes longer)
RRC_PROMOTION_S = (1.0, 2.5)
#: the radio's inactivity timer when only ``idle-drop`` is on (module seconds)
DEFAULT_IDLE_S = 10.0
#: the shortest real time the RRC inactivity timer and the NAT timeout last, whatever the scale.
#: The host's AT traffic and its waits are not scaled: at 0.01 a 10 s timer would be 0.1 s and
#: expire while the host is still typing a test's AT+QCOAPHEADER/OPTION/SEND, or while it watches
#: that nothing more arrives (the arrival window: SEND's 0.3 s, the grace and network.max_rtt,
#: ~1.1 s on the emulator). At scale 1 the 10 s timer outlasts both (a bench's window is ~5 s):
#: the floor keeps that order, with the bench's margin. Longer idle periods still idle the radio.
IDLE_FLOOR_S = 2.5


@dataclass(frozen=True)
class Delay:
    """One-way delay: ``BASE_MS[+JITTER_MS]``, each datagram BASE plus a uniform 0..JITTER."""

    base_ms: float
    jitter_ms: float = 0.0

    @classmethod
    def parse(cls, text: str) -> "Delay":
        base, _, jitter = str(text).partition("+")
        value = cls(float(base), float(jitter or 0))
        if value.base_ms < 0 or value.jitter_ms < 0:
            raise ValueError(f"delays are >= 0 ms, got {text!r}")
        return value

    def draw(self, rng: random.Random) -> float:
        """Module seconds for one datagram."""
        return (self.base_ms + rng.uniform(0.0, self.jitter_ms)) / 1000.0

    def __str__(self) -> str:
        return f"{self.base_ms:g}+{self.jitter_ms:g}" if self.jitter_ms else f"{self.base_ms:g}"


@dataclass(frozen=True)
class PathKnobs:
    """The network knobs in force (None: off)."""

    delay: Delay | None = None
    rrc_idle_s: float | None = None
    nat_idle_s: float | None = None
    idle_drop: float | None = None

    @property
    def kind(self) -> bool:
        return self.delay is None and self.rrc_idle_s is None and self.nat_idle_s is None and self.idle_drop is None


class PathLink(Protocol):
    """A client socket as the path sees it (emulator.udp_link.UdpLink)."""

    def put(self, data: bytes) -> None:
        """Hand to the socket now."""
        ...

    def deliver(self, data: bytes) -> None:
        """Hand to the receiver now."""
        ...

    def rebind(self, then: Callable[[], None]) -> None:
        """A new socket (new source port) to the same server, then ``then()``."""
        ...


@dataclass
class _Direction:
    """One direction of one socket: datagrams on their way, released in order at their times."""

    free: float = 0.0  # when the last one queued leaves
    queue: deque[tuple[float, Callable[[], None]]] = field(default_factory=deque)
    armed: bool = False

    def enqueue(self, when: float, fn: Callable[[], None]) -> None:
        self.free = when
        self.queue.append((when, fn))
        if not self.armed:
            self._arm()

    def _arm(self) -> None:
        self.armed = True
        asyncio.get_running_loop().call_at(self.queue[0][0], self._release)

    def _release(self) -> None:
        """Everything due, in the order it was sent (equal times must not reorder a DTLS flight)."""
        self.armed = False
        now = asyncio.get_running_loop().time()
        while self.queue and self.queue[0][0] <= now:
            self.queue.popleft()[1]()
        if self.queue:
            self._arm()


@dataclass
class _LinkState:
    """Per socket: its two directions and when it last carried traffic."""

    up: _Direction = field(default_factory=_Direction)
    down: _Direction = field(default_factory=_Direction)
    last_traffic: float | None = None  # None: no NAT mapping yet (nothing sent)


class RadioPath:
    """The module's one radio between its sockets and the network."""

    def __init__(self, knobs: PathKnobs = PathKnobs(), time_scale: float = 1.0,
                 rng: Callable[[str], random.Random] = lambda _: random.Random(),
                 idle_floor_s: float = IDLE_FLOOR_S) -> None:
        self.knobs = knobs
        self.scale = time_scale
        self.idle_floor_s = idle_floor_s
        self._rng = {name: rng(name) for name in ("net-delay", "rrc-idle", "idle-drop")}
        #: per socket, dropped with it (a closed socket's late datagram must not leave a state behind)
        self._links: weakref.WeakKeyDictionary[PathLink, _LinkState] = weakref.WeakKeyDictionary()
        self._radio_busy_until = 0.0  # the radio is connected (or promoting) until this moment
        self._last_traffic: float | None = None
        #: sockets in a DTLS handshake: its flights keep the radio and the NAT mapping up
        self._held: weakref.WeakSet[PathLink] = weakref.WeakSet()

    def hold(self, link: PathLink) -> None:
        """A DTLS handshake goes on over ``link`` (its first flight already sent): tinydtls
        retransmits a lost flight after 2 s of real time, a clock the time scale cannot reach
        (200 module seconds at 0.01), where on a module the retransmission comes within the RRC
        inactivity timer and the NAT timeout. Until :meth:`unhold`, the link's datagrams find
        the radio connected and the mapping alive, as they would at scale 1."""
        self._held.add(link)

    def unhold(self, link: PathLink) -> None:
        self._held.discard(link)

    # ---- the hooks the links call
    def uplink(self, link: PathLink, data: bytes) -> None:
        """A datagram the module sends: delayed, promoted, rebound or lost as the knobs say."""
        if self.knobs.kind:
            link.put(data)
            return
        now = asyncio.get_running_loop().time()
        state = self._state(link)
        held = link in self._held
        rebind = not held and self._nat_expired(state, now)
        was_idle, wake = (False, 0.0) if held else self._wake(now)
        if was_idle and self.knobs.idle_drop is not None and self._rng["idle-drop"].random() < self.knobs.idle_drop:
            log.info("radio path: first datagram after idle lost (%d bytes)", len(data))
            self._touch(now + wake)  # the radio woke up all the same: the next one goes through
            return
        state.last_traffic = now
        departs = max(now + wake + self._one_way(), state.up.free)
        self._touch(departs)

        def go() -> None:
            if rebind:
                log.info("radio path: NAT mapping expired, the socket rebinds")
                link.rebind(lambda: link.put(data))
            else:
                link.put(data)

        state.up.enqueue(departs, go)

    def downlink(self, link: PathLink, data: bytes) -> None:
        """A datagram for the module: paged and delayed as the knobs say."""
        if self.knobs.kind:
            link.deliver(data)
            return
        now = asyncio.get_running_loop().time()
        state = self._state(link)
        state.last_traffic = now
        arrives = max(now + self._wake(now)[1] + self._one_way(), state.down.free)
        self._touch(arrives)
        state.down.enqueue(arrives, lambda: link.deliver(data))

    def release(self, link: PathLink, close: Callable[[], None]) -> None:
        """The socket is closed: ``close()`` once its last uplink datagram has left (a
        close_notify sent just before must still go out)."""
        state = self._links.pop(link, None)
        if state is None or not state.up.queue:
            close()
        else:
            state.up.enqueue(state.up.free, close)

    # ---- the model
    def _state(self, link: PathLink) -> _LinkState:
        return self._links.setdefault(link, _LinkState())

    def _idle_timer(self, module_s: float) -> float:
        """A module's idle timer in real seconds: scaled, but not below the floor (IDLE_FLOOR_S)."""
        return max(module_s * self.scale, self.idle_floor_s)

    def _nat_expired(self, state: _LinkState, now: float) -> bool:
        idle = self.knobs.nat_idle_s
        return idle is not None and state.last_traffic is not None and now - state.last_traffic > self._idle_timer(idle)

    def _wake(self, now: float) -> tuple[bool, float]:
        """Whether the radio was idle, and the seconds until it can carry a datagram: 0 while
        connected, the RRC set-up after an idle period (datagrams meanwhile wait behind it)."""
        idle_s = self.knobs.rrc_idle_s if self.knobs.rrc_idle_s is not None else (
            DEFAULT_IDLE_S if self.knobs.idle_drop is not None else None)
        if idle_s is None or now < self._radio_busy_until or (
                self._last_traffic is not None and now - self._last_traffic <= self._idle_timer(idle_s)):
            return False, 0.0
        delay = 0.0  # idle-drop alone: the radio goes idle, its set-up takes no time
        if self.knobs.rrc_idle_s is not None:
            delay = self._rng["rrc-idle"].uniform(*RRC_PROMOTION_S) * self.scale
            log.info("radio path: RRC idle, connection set-up takes %.3f s", delay)
        self._radio_busy_until = now + delay
        return True, delay

    def _touch(self, when: float) -> None:
        self._last_traffic = max(when, self._last_traffic or 0.0)

    def _one_way(self) -> float:
        delay = self.knobs.delay
        return delay.draw(self._rng["net-delay"]) * self.scale if delay is not None else 0.0


_current = RadioPath()


def install(path: RadioPath) -> RadioPath:
    """This process's radio (one module, one radio)."""
    global _current
    _current = path
    return path


def current() -> RadioPath:
    return _current

"""Whose datagram is it: the module's, or a stranger's (a scanner, a test's own socket)?

A server on a public address hears more than the module. Attribution is off until the fixtures
turn it on (:meth:`ModuleSources.configure`, at the reachability check): until then every datagram
is the module's, as on a private loopback. Once on, a datagram is the module's when its source is

- a peer already learned as the module's;
- learned now: an OPEN armed the server (:meth:`ModuleSources.expect`, one per AT+QCOAPOPEN the
  fixtures saw written) and this is the first datagram of the expected exchange (a ClientHello
  over DTLS, a CoAP message over UDP) from a host that may be the module's;
- a NAT rebinding: a new port of a module host, unarmed. Where the address tells the module
  apart (a public or operator address, or one in the rig's ``network.module_source`` ranges)
  the host is enough; where it cannot (loopback: the module and a test's socket share it), the
  datagram must continue the module's own sequence, as only the module can: the next CoAP
  message IDs of its last message over UDP, the next DTLS record sequence numbers of its session.

Everything else is foreign: recorded apart, never matched to a test's wait, never scripted.
Only the wire is used: the fixtures never ask the emulator anything.
"""
from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Iterable, NamedTuple, Optional

from wire.dtls_records import is_client_hello, parse_dtls_records

from .records import CoapHeader, Peer

#: how far ahead of the module's last message ID (or DTLS record number) its next one may be
CONTINUITY_WINDOW = 16
#: a foreign datagram is answered at most this often (a token bucket: rate per second, burst)
FOREIGN_ANSWERS_PER_S, FOREIGN_ANSWER_BURST = 5.0, 10.0

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Expectation = Callable[[bytes], bool]


class Verdict(Enum):
    MODULE = "module"
    LEARNED = "learned"  # the first datagram after an OPEN
    REBOUND = "rebound"  # a NAT rebinding: the module's, from a new port
    FOREIGN = "foreign"


class Rebinding(NamedTuple):
    """The module's source moved: ``old`` -> ``new`` (as the server saw it), and why it is the module."""

    time: float
    old: Peer
    new: Peer
    reason: str

    def describe(self) -> str:
        return f"NAT rebinding {self.old[0]}:{self.old[1]} -> {self.new[0]}:{self.new[1]} ({self.reason})"


@dataclass
class _Arm:
    client: Optional[int]
    expect: Expectation


@dataclass
class _Seen:
    """What the module last sent from one peer: CoAP message ID, DTLS (epoch, sequence number)."""

    mid: Optional[int] = None
    record: Optional[tuple[int, int]] = None
    last: float = 0.0


def parse_networks(texts: Iterable[str]) -> list[Network]:
    """``198.51.100.0/24`` or a single address; ValueError says which one is wrong."""
    out = []
    for text in texts:
        try:
            out.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise ValueError(f"not an address or network: {text!r}") from None
    return out


def ambiguous(host: str) -> bool:
    """An address the module may share with strangers on this machine (loopback, unspecified)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _ahead(new: int, last: int, modulo: int) -> int:
    return (new - last) % modulo


class ModuleSources:
    """The module's source addresses as the server learned them; test threads configure and arm,
    the loop thread classifies."""

    def __init__(self, dtls: bool) -> None:
        self._dtls = dtls
        self._lock = threading.Lock()
        self.enabled = False
        self._networks: list[Network] = []
        self._trusted: list[Callable[[Peer], bool]] = []
        self._peers: dict[Peer, _Seen] = {}
        self._arms: list[_Arm] = []
        self._rebindings: list[Rebinding] = []
        self._tokens, self._refill = FOREIGN_ANSWER_BURST, time.monotonic()

    # ---- test threads -------------------------------------------------------------------------
    def configure(self, networks: Iterable[str] = (), peers: Iterable[Peer] = ()) -> None:
        """Attribution on: the rig's operator ranges and peers already known to be the module's."""
        parsed = parse_networks(networks)
        with self._lock:
            self.enabled = True
            self._networks = parsed
            for peer in peers:
                self._peers.setdefault(tuple(peer), _Seen())

    def trust(self, is_module: Callable[[Peer], bool]) -> None:
        """Sources that speak for the module (the relay's upstream sockets)."""
        with self._lock:
            self._trusted.append(is_module)

    def expect(self, client: Optional[int] = None, expect: Optional[Expectation] = None) -> None:
        """An OPEN of ``client`` was written: learn the source of the first datagram of the
        expected exchange (default: a ClientHello over DTLS, a CoAP message over UDP)."""
        with self._lock:
            self._arms = [a for a in self._arms if client is None or a.client != client]
            self._arms.append(_Arm(client, expect or self._default_expectation))

    def armed(self, client: int) -> bool:
        """Whether an OPEN of ``client`` still waits for its first datagram."""
        with self._lock:
            return any(a.client == client for a in self._arms)

    def disarm(self, client: int) -> None:
        """A CLOSE of ``client``: an OPEN that never sent anything teaches nothing."""
        with self._lock:
            self._arms = [a for a in self._arms if a.client != client]

    def peers(self) -> list[Peer]:
        with self._lock:
            return list(self._peers)

    def rebindings(self) -> list[Rebinding]:
        with self._lock:
            return list(self._rebindings)

    def forget_rebindings(self) -> list[Rebinding]:
        with self._lock:
            old, self._rebindings = self._rebindings, []
            return old

    # ---- loop thread --------------------------------------------------------------------------
    def classify(self, peer: Peer, wire: bytes, now: float) -> tuple[Verdict, Optional[Peer]]:
        """The verdict on one received datagram, and the old peer of a rebinding."""
        with self._lock:
            verdict, old = self._classify(peer, wire)
            if verdict is not Verdict.FOREIGN:
                self._note(peer, wire, now)
            if verdict is Verdict.REBOUND and old is not None:
                self._rebindings.append(Rebinding(now, old, peer, self._reason(peer)))
            return verdict, old

    def answer_allowed(self, now: float) -> bool:
        """A token of the foreign-answer bucket, if one is left."""
        with self._lock:
            self._tokens = min(FOREIGN_ANSWER_BURST, self._tokens + (now - self._refill) * FOREIGN_ANSWERS_PER_S)
            self._refill = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True

    def _classify(self, peer: Peer, wire: bytes) -> tuple[Verdict, Optional[Peer]]:
        if not self.enabled or peer in self._peers or any(_safe(t, peer) for t in self._trusted):
            return Verdict.MODULE, None
        host = peer[0]
        hosts = {p[0] for p in self._peers}
        may_be_module = not hosts or host in hosts or self._in_networks(host)
        arm = next((a for a in self._arms if may_be_module and _safe(a.expect, wire)), None)
        if arm is not None:
            self._arms.remove(arm)
            self._peers[peer] = _Seen()
            return Verdict.LEARNED, None
        if self._in_networks(host) or (host in hosts and not ambiguous(host)):
            old = self._continued(peer, wire) or self._latest(host)
            self._peers[peer] = _Seen()
            return (Verdict.REBOUND, old) if old is not None else (Verdict.MODULE, None)
        if host in hosts:
            old = self._continued(peer, wire)
            if old is not None:
                self._peers[peer] = _Seen()
                return Verdict.REBOUND, old
        return Verdict.FOREIGN, None

    def _default_expectation(self, wire: bytes) -> bool:
        return is_client_hello(wire) if self._dtls else CoapHeader.read(wire) is not None

    def _in_networks(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in n for n in self._networks)

    def _latest(self, host: str) -> Optional[Peer]:
        mine = [(seen.last, p) for p, seen in self._peers.items() if p[0] == host]
        return max(mine)[1] if mine else None

    def _continued(self, peer: Peer, wire: bytes) -> Optional[Peer]:
        """The module peer of the same host whose sequence this datagram continues."""
        mid, record = self._sequence(wire)
        for old, seen in sorted(self._peers.items(), key=lambda item: -item[1].last):
            if old[0] != peer[0]:
                continue
            if mid is not None and seen.mid is not None and _ahead(mid, seen.mid, 1 << 16) <= CONTINUITY_WINDOW:
                return old
            if (record is not None and seen.record is not None and record[0] == seen.record[0]
                    and 0 < _ahead(record[1], seen.record[1], 1 << 48) <= CONTINUITY_WINDOW):
                return old
        return None

    def _sequence(self, wire: bytes) -> tuple[Optional[int], Optional[tuple[int, int]]]:
        if self._dtls:
            records = parse_dtls_records(wire)
            return None, ((records[-1].epoch, records[-1].sequence) if records else None)
        header = CoapHeader.read(wire)
        return (header.mid if header is not None and header.mtype in (0, 1) else None), None

    def _note(self, peer: Peer, wire: bytes, now: float) -> None:
        seen = self._peers.setdefault(peer, _Seen())
        mid, record = self._sequence(wire)
        seen.mid = mid if mid is not None else seen.mid
        seen.record = record if record is not None else seen.record
        seen.last = now

    def _reason(self, peer: Peer) -> str:
        if self._in_networks(peer[0]):
            return "source in network.module_source"
        if not ambiguous(peer[0]):
            return "same host as the module"
        return "continues the module's " + ("DTLS record numbers" if self._dtls else "message IDs")


def _safe(fn: Callable[..., object], arg: object) -> bool:
    try:
        return bool(fn(arg))
    except Exception:  # noqa: BLE001 - test code (an expectation, a trust predicate)
        return False

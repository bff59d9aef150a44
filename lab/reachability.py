"""The network path at the start of a run: can the module reach each server, how long does a round
trip take, can the rig's addresses work at all, and how long the AT port itself takes.

Plain Python on the DUT API (``dut.BG96``); the servers are whatever answers :class:`Witness`
(the reference server does), so this runs without pytest. The pytest side is
``fixtures/reachability.py``: it turns a problem into one message that stops the run.
"""
from __future__ import annotations

import ipaddress
import statistics
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from dut import BG96, ATError
from spec import QCOAPSEND

from .rig import RigConfig

#: a round trip on an LTE-M bench, RRC connection set-up from idle included (coverage
#: enhancement needs more: set network.max_rtt)
HARDWARE_MAX_RTT_S = 4.0
#: the emulator's worst path in module seconds (RRC set-up 2.5 s and two one-way delays of the
#: field knobs), scaled, plus what a loaded host adds in real seconds
EMULATOR_PATH_S, HOST_SLACK_S = 3.0, 0.5
#: plain AT round trips measured for the transport delay (the median is reported)
AT_SAMPLES = 5
#: addresses a module on an operator's network cannot dial: loopback, RFC 1918, CGNAT (RFC 6598),
#: link-local, IPv6 unique-local (not ``is_private``: that also holds the documentation ranges)
NOT_FROM_THE_OPERATOR = tuple(ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16",
    "::1/128", "fc00::/7", "fe80::/10"))
CHECKS = "port forwarding of the lab router, the firewall of this machine, the APN (some block inbound or internet traffic)"
EMPTY_CON_HEADER = b"\x40\x00"  # version 1, CON, no token; code 0.00: a CoAP ping (RFC 7252 4.3)


class Unreachable(Exception):
    """A server the module cannot reach; the message names it and what to check. ``silent``: the
    module itself stopped answering on its AT port during the check."""

    def __init__(self, message: str, silent: bool = False) -> None:
        super().__init__(message)
        self.silent = silent


class Witness(Protocol):
    """A server that sees the module's datagrams (reference_server.ReferenceServer)."""

    def wait_for(self, predicate: Callable[[Any], bool], timeout: float = 5.0) -> Any: ...


@dataclass(frozen=True)
class Target:
    """One thing the module must reach: its name, the address it dials, the server that sees it."""

    name: str  # "plain server", "DTLS server", "relay"
    url: str  # coap://host:port
    address: tuple[str, int]
    witness: Witness
    dtls: bool = False


@dataclass(frozen=True)
class PathProbe:
    """A CoAP ping's round trip on the host clock: AT data written -> the ping at the server (up),
    the server's RST -> +QCOAPACK at the host (down)."""

    target: str
    up_s: float
    down_s: float
    source: tuple[str, int]

    @property
    def rtt_s(self) -> float:
        return self.up_s + self.down_s

    def summary(self) -> str:
        return (f"{self.target} {self.rtt_s * 1000:.0f} ms (up {self.up_s * 1000:.0f}, down {self.down_s * 1000:.0f}; "
                f"module seen from {self.source[0]}:{self.source[1]})")


def max_rtt(rig: RigConfig) -> float:
    """The rig's worst round trip: network.max_rtt, else the DUT's default."""
    if rig.max_rtt is not None:
        return rig.max_rtt
    return HARDWARE_MAX_RTT_S if not rig.uses_emulator else EMULATOR_PATH_S * rig.time_scale + HOST_SLACK_S


#: emulator options that let its radio path lose a datagram (the first one after idle)
LOSSY_EMULATOR_OPTIONS = ("--field", "--field-network", "--field-idle-drop")
#: emulator options that give its radio path delays that differ from one datagram to the next
VARYING_EMULATOR_OPTIONS = ("--field", "--field-network", "--field-net-delay", "--field-rrc-idle")


def path_variation(rig: RigConfig, path_rtt: float) -> float:
    """How much the path may shift one datagram's arrival against another's, for judging intervals
    on the wire: on a bench the worst round trip ``path_rtt`` (an RRC set-up can hold any copy); on
    the emulator's loopback nothing, unless the rig gives it radio-path delays."""
    if not rig.uses_emulator or _emulator_has(rig, VARYING_EMULATOR_OPTIONS):
        return path_rtt
    return 0.0


def _emulator_has(rig: RigConfig, options: tuple[str, ...]) -> bool:
    return any(arg.split("=")[0] in options for arg in rig.emulator_args)


def path_may_lose(rig: RigConfig) -> bool:
    """Whether a datagram the module sent may never reach the server: always on a bench (radio,
    operator network); on the emulator only when the rig gives its path the idle-drop habit. Where
    it cannot, a copy the module reported sent and the server never saw is the module's fault."""
    return not rig.uses_emulator or _emulator_has(rig, LOSSY_EMULATOR_OPTIONS)


def arrival_window(rig: RigConfig) -> float:
    """How long a datagram the module was told to send may take to reach the server, and so how
    long "nothing arrives" must be watched: SEND's maximum response time, the AT grace, and the
    path's worst round trip (an uplink from RRC idle included)."""
    return QCOAPSEND.max_response_time + rig.at_grace + max_rtt(rig)


def address_problem(rig: RigConfig, addresses: dict[str, tuple[str, int]]) -> str:
    """Why a module on an operator's network cannot dial one of ``addresses`` (name -> address
    the module is told), or "" where it can, the rig says it is on the server's network, or the
    DUT is the emulator the fixtures start (it shares this machine's loopback)."""
    if rig.uses_emulator or rig.server_on_module_network:
        return ""
    for name, (host, _port) in addresses.items():
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            continue  # a host name: the reachability check tells
        net = next((n for n in NOT_FROM_THE_OPERATOR if ip.version == n.version and ip in n), None)
        if net is not None:
            kind = "loopback" if ip.is_loopback else "link-local" if ip.is_link_local else "private"
            return (f"rig '{rig.name}': the {name} is advertised at {host} ({kind}, {net}), which a module on an "
                    "operator's network cannot dial. Give the public address the lab forwards to this machine "
                    "(server.advertise / --server-advertise, relay.advertise / --relay-advertise), or set "
                    "server.on_module_network = true (--server-on-module-network) if the module really is "
                    "on the server's network")
    return ""


def at_round_trip(module: BG96, samples: int = AT_SAMPLES) -> float:
    """The AT transport delay: the median response time of a plain ``AT`` (USB, ser2net, the
    module's parser), to show beside every maximum-response-time verdict."""
    return statistics.median(module.command("AT").elapsed for _ in range(samples))


#: the message ID of the reachability ping (any value: it is matched by its RST)
PING_MSG_ID = 0x5A5A


def _is_ping(wire: bytes) -> bool:
    return len(wire) == 4 and wire[:2] == EMPTY_CON_HEADER


def probe(module: BG96, client: int, target: Target, limit: float, grace: float) -> PathProbe:
    """OPEN ``target``, send a CoAP ping (``AT+QCOAPSEND=<id>,0,0,0``: an empty CON, answered
    with RST) and time it; Unreachable if nothing reaches the server within ``limit`` + ``grace``.
    Every wait is bounded by the rig's latency, never by the document's 75 s of an OPEN."""
    wait = limit + grace
    host, port = target.address
    try:
        response = module.command(f'AT+QCOAPOPEN={client},"{host}",{port}')
        if not response.ok:
            raise Unreachable(f"{target.name} {target.url}: AT+QCOAPOPEN answered {response.text!r}")
        if target.dtls:
            _seen(target, lambda d: d.direction == "rx" and d.time >= response.sent_at, wait, "no ClientHello")
        urc = module.at.wait_urc(rf"^\+QCOAPOPEN: *{client},", wait * 4 if target.dtls else wait,
                                 step=f"reachability: OPEN of the {target.name}")
        if not urc.line.replace(" ", "").endswith(f"{client},0"):
            raise Unreachable(f"{target.name} {target.url}: the module could not open it ({urc.line})")
        # an Empty message has no token: set the header so an earlier AT+QCOAPHEADER's token
        # cannot turn the ping into a malformed message the server ignores
        if not module.header(client, PING_MSG_ID, 0, 0, "").ok:
            raise Unreachable(f"{target.name} {target.url}: AT+QCOAPHEADER for the CoAP ping was refused")
        sent = module.send(client, 0, 0, 0, b"", with_length=False)
        if not sent.response.ok:
            raise Unreachable(f"{target.name} {target.url}: the CoAP ping was refused ({sent.response.text!r})")
        written = sent.response.data_sent_at or sent.response.sent_at
        ping = _seen(target, lambda d: d.direction == "rx" and d.plaintext is not None and _is_ping(d.plaintext)
                     and d.time >= written, wait, "no CoAP ping")
        rst = _seen(target, lambda d: d.direction == "tx" and d.reply_to is ping, wait, "no RST of the server")
        ack = module.at.wait_urc(rf"^\+QCOAPACK: *{client},", wait, step=f"reachability: +QCOAPACK from the {target.name}")
    except ATError as e:
        raise Unreachable(f"{target.name} {target.url}: {e}", silent=True) from None
    finally:
        _close(module, client)
    return PathProbe(target.name, ping.time - written, max(0.0, ack.time - rst.time), tuple(ping.peer))


def _seen(target: Target, predicate: Callable[[Any], bool], timeout: float, what: str) -> Any:
    try:
        return target.witness.wait_for(predicate, timeout)
    except TimeoutError:
        raise Unreachable(f"{target.name} {target.url}: {what} arrived within {timeout:.1f} s") from None


def _close(module: BG96, client: int) -> None:
    try:
        status = module.status().get(client)
        if status is not None and status.status != 0:
            module.close(client)
    except ATError:
        pass  # the run stops anyway; the next bring-up closes every client


def unreachable_message(problem: Unreachable, unchecked: list[str]) -> str:
    """One message for the whole run: what is unreachable, what to check, what was not tried."""
    rest = f" (not checked after it: {', '.join(unchecked)})" if unchecked else ""
    return f"network path: {problem}{rest}. The module cannot reach it: check {CHECKS}."


def latency_problem(probes: list[PathProbe], limit: float) -> str:
    slow = [p for p in probes if p.rtt_s > limit]
    if not slow:
        return ""
    return ("network path: measured latency over network.max_rtt "
            f"({limit:.3f} s): " + "; ".join(p.summary() for p in slow)
            + ". Raise network.max_rtt (--max-rtt) if this path is really that slow: every arrival window derives from it")

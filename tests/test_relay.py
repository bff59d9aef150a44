"""The impairment relay on loopback, between two plain UDP sockets: every rule and its record."""
from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from relay import DOWN, UP, Relay

WAIT = 2.0  # seconds: loopback delivery is immediate; this only bounds a failure


class Peer:
    """A UDP socket with an event wait (timeout) for the next datagram."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))

    @property
    def address(self) -> tuple[str, int]:
        return self.sock.getsockname()

    def send(self, data: bytes, to: tuple[str, int]) -> None:
        self.sock.sendto(data, to)

    def recv(self, timeout: float = WAIT) -> tuple[bytes, tuple[str, int], float]:
        self.sock.settimeout(timeout)
        data, addr = self.sock.recvfrom(65535)
        return data, addr, time.monotonic()

    def nothing_within(self, seconds: float) -> bool:
        try:
            self.recv(seconds)
        except socket.timeout:
            return True
        return False

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def server() -> Iterator[Peer]:
    p = Peer()
    yield p
    p.close()


@pytest.fixture
def dut() -> Iterator[Peer]:
    p = Peer()
    yield p
    p.close()


@pytest.fixture
def relay(server: Peer) -> Iterator[Relay]:
    with Relay(("127.0.0.1", 0), server.address) as r:
        yield r


def exchange(dut: Peer, server: Peer, relay: Relay, data: bytes) -> tuple[str, int]:
    """DUT -> server through the relay; returns the address the server saw."""
    dut.send(data, relay.advertised)
    got, addr, _ = server.recv()
    assert got == data
    return addr


def test_forwards_both_ways_and_records(relay: Relay, dut: Peer, server: Peer) -> None:
    seen = exchange(dut, server, relay, b"up-1")
    assert seen == relay.upstream_address(dut.address)
    server.send(b"down-1", seen)
    data, addr, _ = dut.recv()
    assert (data, addr) == (b"down-1", relay.bound)
    actions = relay.actions()
    assert [(a.direction, a.index, a.action, a.size) for a in actions] == [(UP, 1, "forward", 4), (DOWN, 1, "forward", 6)]
    assert actions[0].peer == dut.address and actions[0].time <= actions[1].time


@pytest.mark.parametrize("direction", [UP, DOWN])
def test_drop_nth(relay: Relay, dut: Peer, server: Peer, direction: str) -> None:
    relay.drop(direction, 2)
    seen = exchange(dut, server, relay, b"first")
    sender, receiver, to = (dut, server, relay.advertised) if direction == UP else (server, dut, seen)
    if direction == DOWN:
        server.send(b"d1", seen)
        assert dut.recv()[0] == b"d1"
    for payload in (b"two", b"three"):
        sender.send(payload, to)
    assert receiver.recv()[0] == b"three", "the 2nd datagram was not dropped"
    dropped = relay.wait_action(lambda a: a.action == "drop", WAIT)
    assert (dropped.direction, dropped.index, dropped.size) == (direction, 2, 3)


def test_delay(relay: Relay, dut: Peer, server: Peer) -> None:
    relay.delay(UP, 0.2, nth=1)
    sent = time.monotonic()
    dut.send(b"late", relay.advertised)
    data, _, arrived = server.recv()
    assert data == b"late" and arrived - sent >= 0.2
    assert [a.action for a in relay.actions()] == ["delay", "forward"]


def test_duplicate(relay: Relay, dut: Peer, server: Peer) -> None:
    seen = exchange(dut, server, relay, b"req")
    relay.duplicate(DOWN, nth=1, copies=3)
    server.send(b"ack", seen)
    assert [dut.recv()[0] for _ in range(3)] == [b"ack"] * 3
    assert [a.note for a in relay.actions() if a.direction == DOWN] == ["copy 1 of 3", "copy 2 of 3", "copy 3 of 3"]


def test_reorder_swaps_with_the_next(relay: Relay, dut: Peer, server: Peer) -> None:
    seen = exchange(dut, server, relay, b"req")
    relay.reorder(DOWN, 1)
    server.send(b"empty-ack", seen)
    relay.wait_action(lambda a: a.action == "hold", WAIT)
    server.send(b"separate-response", seen)
    assert [dut.recv()[0] for _ in range(2)] == [b"separate-response", b"empty-ack"]
    down = [(a.index, a.action) for a in relay.actions() if a.direction == DOWN]
    assert down == [(1, "hold"), (2, "forward"), (1, "release")]


def test_reorder_releases_after_max_hold(relay: Relay, dut: Peer, server: Peer) -> None:
    seen = exchange(dut, server, relay, b"req")
    relay.reorder(DOWN, 1, max_hold=0.2)
    server.send(b"alone", seen)
    data, _, arrived = dut.recv()
    held = relay.wait_action(lambda a: a.action == "hold", WAIT)
    assert data == b"alone" and arrived - held.time >= 0.2
    assert "no next datagram" in relay.wait_action(lambda a: a.action == "release", WAIT).note


def test_blackhole(relay: Relay, dut: Peer, server: Peer) -> None:
    seen = exchange(dut, server, relay, b"req")
    relay.blackhole()
    dut.send(b"lost-up", relay.advertised)
    server.send(b"lost-down", seen)
    relay.wait_action(lambda a: a.direction == DOWN and a.action == "drop", WAIT)
    relay.wait_action(lambda a: a.direction == UP and a.index == 2 and a.action == "drop", WAIT)
    assert server.nothing_within(0.05) and dut.nothing_within(0.05)


def test_reset_clears_rules_counters_and_pending_delays(relay: Relay, dut: Peer, server: Peer) -> None:
    relay.delay(UP, 0.3)
    dut.send(b"never", relay.advertised)
    relay.wait_action(lambda a: a.action == "delay", WAIT)
    old = relay.reset()
    assert [a.action for a in old] == ["delay"] and relay.rules() == []
    exchange(dut, server, relay, b"fresh")
    assert server.nothing_within(0.4), "a delayed datagram of the previous test was still sent"
    assert [(a.index, a.action) for a in relay.actions()] == [(1, "forward")]


def test_retarget_and_one_upstream_per_dut(relay: Relay, dut: Peer, server: Peer) -> None:
    other_server, other_dut = Peer(), Peer()
    try:
        first = exchange(dut, server, relay, b"a")
        second = exchange(other_dut, server, relay, b"b")
        assert first != second, "two DUT addresses must look like two peers to the server"
        relay.retarget(other_server.address)
        dut.send(b"c", relay.advertised)
        assert other_server.recv()[0] == b"c"
    finally:
        other_server.close()
        other_dut.close()


def test_wait_action_times_out(relay: Relay) -> None:
    with pytest.raises(TimeoutError):
        relay.wait_action(lambda a: True, 0.05)


def test_bad_rule_rejected(relay: Relay) -> None:
    with pytest.raises(ValueError):
        relay.drop("sideways")
    with pytest.raises(ValueError):
        relay.drop(UP, 0)


def test_cli_forwards_until_terminated(server: Peer, dut: Peer) -> None:
    """``python -m relay``: one RELAY line naming its port, forwarding, a clean exit on SIGTERM."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    host, port = server.address
    proc = subprocess.Popen([sys.executable, "-m", "relay", "--to", f"{host}:{port}"],
                            cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        words = proc.stdout.readline().split()
        assert words[:2] == ["RELAY", "udp"], words
        relay_host, relay_port = words[2].rsplit(":", 1)
        dut.send(b"via-cli", (relay_host, int(relay_port)))
        assert server.recv()[0] == b"via-cli"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "up #1 forward 7 B" in out


def test_only_accepted_sources_are_relayed_and_trusted(relay: Relay, dut: Peer, server: Peer) -> None:
    """A stranger on the relay's port is recorded and ignored: nothing forwarded, never upstream."""
    relay.accept(lambda source: source == dut.address)
    seen = exchange(dut, server, relay, b"module")
    assert relay.is_upstream(seen)
    stranger = Peer()
    try:
        stranger.send(b"scan", relay.advertised)
        found = relay.wait_action(lambda a: a.action == "foreign", WAIT)
        assert found.peer == stranger.address and [a.peer for a in relay.strangers()] == [stranger.address]
        assert server.nothing_within(0.2), "a stranger's datagram was forwarded"
        assert not relay.is_upstream(stranger.address)
    finally:
        stranger.close()


def test_the_configured_upstream_is_never_a_dut(relay: Relay, server: Peer) -> None:
    """The server itself sending to the relay's port is not relayed back to it (no loop)."""
    server.send(b"from upstream", relay.advertised)
    found = relay.wait_action(lambda a: a.action == "foreign", WAIT)
    assert found.note == "from the configured upstream itself"
    assert relay.upstream_address() is None and not relay.is_upstream(server.address)

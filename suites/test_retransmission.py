"""RFC 7252 4.2 retransmission as AT+QCOAPCFG="trans" configures it, and +QCOAPIND (3.4.3).

Intervals are measured from the reference server's receive timestamps and compared with the
RFC windows scaled by the DUT's time scale; the tolerance is the rig's (stated in the evidence).
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from dut import BG96, AckUrc
from dut.urc import IndUrc
from fixtures.coap import send_and_capture
from fixtures.evidence import Evidence
from fixtures.rig import RigConfig
from reference_server import CON, Datagram, EmptyAck, ReferenceServer, Silence
from spec import ACK_RANDOM_FACTOR, CFG_BY_KEYWORD

GET = 1
TRANS = CFG_BY_KEYWORD["trans"]
DEFAULT = tuple(p.default for p in TRANS.parameters)
SLOW_ON_HARDWARE = 300.0  # seconds: a setting that takes longer than this at scale 1 is `slow`


def transmit_span(timeout: float, retries: int) -> float:
    """The longest time from the first copy to giving up (RFC 7252 MAX_TRANSMIT_WAIT)."""
    return timeout * (2 ** (retries + 1) - 1) * ACK_RANDOM_FACTOR


def _trans_cases() -> list[object]:
    settings = [(2, 4), (2, 8), (4, 5), (60, 4), DEFAULT]
    cases = []
    for timeout, retries in dict.fromkeys(settings):
        marks = [pytest.mark.slow] if transmit_span(timeout, retries) > SLOW_ON_HARDWARE else []
        label = "default" if (timeout, retries) == DEFAULT else f"{timeout}s-{retries}x"
        cases.append(pytest.param(timeout, retries, id=f"trans-{label}", marks=marks))
    return cases


@dataclass(frozen=True)
class Window:
    low: float
    high: float

    def holds(self, value: float) -> bool:
        return self.low <= value <= self.high


def rfc_windows(first: float, timeout: float, count: int, scale: float, rig: RigConfig) -> list[Window]:
    """[T, 1.5 T] for the first interval; each next one double the measured first (scaled)."""
    def slack(expected: float) -> float:
        return rig.timing_abs_tolerance + rig.timing_rel_tolerance * expected
    t = timeout * scale
    windows = [Window(t - slack(t), t * ACK_RANDOM_FACTOR + slack(t * ACK_RANDOM_FACTOR))]
    for k in range(1, count):
        expected = first * 2 ** k
        windows.append(Window(expected - slack(expected), expected + slack(expected)))
    return windows


def arrival(d: Datagram) -> float:
    """The kernel's receive timestamp where the server has it, its monotonic one otherwise."""
    return d.kernel_time if d.kernel_time is not None else d.time


def copies_of(server: ReferenceServer, mid: int) -> list[Datagram]:
    return [d for d in server.captured() if d.direction == "rx" and d.message is not None
            and d.message.mtype == CON and d.message.mid == mid]


@pytest.mark.req("RFC-RETRANSMIT-COUNT", "RFC-RETRANSMIT-TIMING", "URC-IND-FORMAT", "URC-IND-COUNT",
                 "RFC-RETRANSMIT-GIVEUP", "CFG-TRANS-WRITE", "T4--11")
@pytest.mark.td("TD_COAP_CORE_15")
@pytest.mark.parametrize("timeout, retries", _trans_cases())
def test_unanswered_con_is_retransmitted(module: BG96, opened: int, server: ReferenceServer, rig: RigConfig,
                                         evidence: Evidence, timeout: int, retries: int) -> None:
    """retry_count copies after the first, identical, at RFC intervals, one +QCOAPIND each, then -11."""
    assert module.cfg("trans", opened, timeout, retries).ok
    assert module.option(opened, 0, 11, "19").ok
    assert module.header(opened, 4000 + timeout, 0, 3, "ABCDEF").ok
    server.on(Silence())
    _, first = send_and_capture(module, server, opened, CON, GET, 1, b"retry", evidence=evidence)
    limit = transmit_span(timeout, retries) * module.time_scale + module.at.grace
    ack = module.wait_ack(opened, limit)
    copies = copies_of(server, 4000 + timeout)

    assert len(copies) == retries + 1, f"{len(copies)} copies on the wire, expected 1 + {retries}"
    assert all(c.wire == first.wire for c in copies), "a retransmission differs from the original"
    times = [arrival(c) for c in copies]
    intervals = [b - a for a, b in zip(times, times[1:])]
    windows = rfc_windows(intervals[0], timeout, len(intervals), module.time_scale, rig)
    table = evidence.table(f"retransmission intervals, T={timeout}s x{module.time_scale} scale, "
                           f"tolerance {rig.timing_abs_tolerance}s + {rig.timing_rel_tolerance:.0%}",
                           ("interval", "measured s", "window low", "window high", "holds"))
    for k, (value, window) in enumerate(zip(intervals, windows), start=1):
        table.rows.append((k, f"{value:.4f}", f"{window.low:.4f}", f"{window.high:.4f}", window.holds(value)))
    assert all(w.holds(v) for v, w in zip(intervals, windows)), "an interval is outside its RFC window"

    inds = [IndUrc.parse(u) for u in module.at.urcs(rf"^\+QCOAPIND: *{opened},")]
    assert [i.retry_times for i in inds] == list(range(1, retries + 1))
    assert all((i.type, i.mid) == (CON, 4000 + timeout) for i in inds)
    evidence.observe("URC-IND-RESULTS", ",".join(str(i.result) for i in inds))
    assert ack == AckUrc(opened, CON, 4000 + timeout, -11)


@pytest.mark.req("RFC-RETRANSMIT-STOP", "URC-ACK-CON", "URC-IND-COUNT")
@pytest.mark.td("TD_COAP_CORE_16")
@pytest.mark.parametrize("k", [1, 2, 3], ids=lambda k: f"ack-after-retransmission-{k}")
def test_ack_stops_retransmission(module: BG96, opened: int, server: ReferenceServer, evidence: Evidence,
                                  k: int) -> None:
    """An ACK to the k-th retransmission ends the sequence: no more copies, result 0."""
    timeout, retries = 2, 5
    assert module.cfg("trans", opened, timeout, retries).ok
    assert module.header(opened, 4100 + k, 0, 1, "0F").ok
    server.on(Silence(), count=k)
    server.on(EmptyAck())
    send_and_capture(module, server, opened, CON, GET, evidence=evidence)
    ack = module.wait_ack(opened, transmit_span(timeout, retries) * module.time_scale + module.at.grace)
    assert ack == AckUrc(opened, CON, 4100 + k, 0)
    next_interval = timeout * 2 ** k * ACK_RANDOM_FACTOR * module.time_scale
    module.at.wait_quiet(r"^$", next_interval + module.at.grace)
    assert len(copies_of(server, 4100 + k)) == k + 1
    inds = [IndUrc.parse(u) for u in module.at.urcs(rf"^\+QCOAPIND: *{opened},")]
    assert [i.retry_times for i in inds] == list(range(1, k + 1))

"""RFC 7252 4.2 retransmission as AT+QCOAPCFG="trans" configures it, and +QCOAPIND (3.4.3).

Intervals are measured from the reference server's receive timestamps and compared with the
RFC windows scaled by the DUT's time scale; the tolerance is the rig's (stated in the evidence).
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from dut import BG96, AckUrc
from dut.urc import IndUrc
from fixtures.coap import arrival, copies_of, send_and_capture
from evidence import Evidence
from fixtures.rig import RigConfig
from fixtures.server import UDP
from reference_server import CON, EmptyAck, ReferenceServer, Silence
from spec import ACK_RANDOM_FACTOR, CFG_BY_KEYWORD, max_transmit_wait

GET = 1
TRANS = CFG_BY_KEYWORD["trans"]
DEFAULT = tuple(p.default for p in TRANS.parameters)
SLOW_ON_HARDWARE = 300.0  # seconds: a setting that takes longer than this at scale 1 is `slow`


def _trans_cases() -> list[object]:
    settings = [(2, 4), (2, 8), (4, 5), (60, 4), DEFAULT]
    cases = []
    for timeout, retries in dict.fromkeys(settings):
        marks = [pytest.mark.slow] if max_transmit_wait(timeout, retries) > SLOW_ON_HARDWARE else []
        label = "default" if (timeout, retries) == DEFAULT else f"{timeout}s-{retries}x"
        cases.append(pytest.param(timeout, retries, id=f"trans-{label}", marks=marks))
    return cases


@dataclass(frozen=True)
class Window:
    expected: float
    low: float
    high: float

    def holds(self, value: float) -> bool:
        return self.low <= value <= self.high


def fit_initial_timeout(offsets: list[float]) -> float:
    """Least-squares initial timeout T0 for copy offsets t_k = T0 (2^k - 1) from the first copy.

    A copy that leaves late shifts its own offset only (the module starts each timer when it
    sends), so fitting all copies keeps one scheduling delay from being doubled into every
    later window, as deriving T0 from the first interval alone would.
    """
    weights = [2 ** k - 1 for k in range(1, len(offsets) + 1)]
    return sum(w * t for w, t in zip(weights, offsets)) / sum(w * w for w in weights)


def rfc_windows(offsets: list[float], timeout: float, scale: float, rig: RigConfig) -> tuple[Window, float, list[Window]]:
    """The initial-timeout window [T, 1.5 T], the fitted T0, and each copy's window around T0 (2^k - 1).

    The slack is the rig's: an absolute part for scheduling and radio jitter plus a fraction of
    the interval that ends at that copy (for clocks that run a little fast or slow).
    """
    def slack(interval: float) -> float:
        return rig.timing_abs_tolerance + rig.timing_rel_tolerance * interval
    t = timeout * scale
    initial = Window(t, t - slack(t), t * ACK_RANDOM_FACTOR + slack(t * ACK_RANDOM_FACTOR))
    t0 = fit_initial_timeout(offsets)
    windows = []
    for k in range(1, len(offsets) + 1):
        expected = t0 * (2 ** k - 1)
        windows.append(Window(expected, expected - slack(t0 * 2 ** (k - 1)), expected + slack(t0 * 2 ** (k - 1))))
    return initial, t0, windows


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
    ack = module.wait_ack(opened, module.exchange_timeout(timeout, retries))
    copies = copies_of(server, 4000 + timeout)

    assert len(copies) == retries + 1, f"{len(copies)} copies on the wire, expected 1 + {retries}"
    assert all(c.plaintext == first.plaintext for c in copies), "a retransmission differs from the original"
    times = [arrival(c) for c in copies]
    offsets = [t - times[0] for t in times[1:]]
    initial, t0, windows = rfc_windows(offsets, timeout, module.time_scale, rig)
    table = evidence.table(f"retransmissions, T={timeout}s at time scale {module.time_scale}, tolerance "
                           f"{rig.timing_abs_tolerance}s + {rig.timing_rel_tolerance:.0%} of the interval",
                           ("copy", "interval s", "offset s", "expected offset s", "window low", "window high",
                            "holds"))
    table.rows.append(("T0 (fitted)", "", f"{t0:.4f}", f"[{initial.expected:.4f}, "
                       f"{initial.expected * ACK_RANDOM_FACTOR:.4f}]", f"{initial.low:.4f}", f"{initial.high:.4f}",
                       initial.holds(t0)))
    previous = 0.0
    for k, (offset, window) in enumerate(zip(offsets, windows), start=1):
        table.rows.append((k, f"{offset - previous:.4f}", f"{offset:.4f}", f"{window.expected:.4f}",
                           f"{window.low:.4f}", f"{window.high:.4f}", window.holds(offset)))
        previous = offset
    assert initial.holds(t0), f"initial timeout {t0:.4f} s outside [T, 1.5 T] = [{initial.low:.4f}, {initial.high:.4f}]"
    assert all(w.holds(o) for o, w in zip(offsets, windows)), "a copy left outside its RFC 7252 window"

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
    ack = module.wait_ack(opened, module.exchange_timeout(timeout, retries))
    assert ack == AckUrc(opened, CON, 4100 + k, 0)
    next_interval = timeout * 2 ** k * ACK_RANDOM_FACTOR * module.time_scale
    module.at.wait_quiet(r"^$", next_interval + module.at.grace)
    assert len(copies_of(server, 4100 + k)) == k + 1
    inds = [IndUrc.parse(u) for u in module.at.urcs(rf"^\+QCOAPIND: *{opened},")]
    assert [i.retry_times for i in inds] == list(range(1, k + 1))


@pytest.mark.req("RFC-RETRANSMIT-TIMING", "CFG-TRANS-WRITE")
@pytest.mark.td("TD_COAP_CORE_16")
@pytest.mark.parametrize("transport", [UDP], indirect=True)  # timing, not transport: once is enough
def test_first_retransmission_waits_the_ack_timeout(module: BG96, opened: int, server: ReferenceServer,
                                                     rig: RigConfig, evidence: Evidence, transport: str) -> None:
    """The first retransmission comes ACK_TIMEOUT to 1.5 x ACK_TIMEOUT after the original (RFC 7252
    4.2), with the longest <timeout> of the document so no scaled tolerance can hide an early one;
    the server answers that retransmission, so the exchange ends there."""
    timeout, retries = TRANS.parameters[0].range.high, TRANS.parameters[1].range.low
    assert module.cfg("trans", opened, timeout, retries).ok
    assert module.header(opened, 4500, 0, 1, "1F").ok
    server.on(Silence(), count=1)
    server.on(EmptyAck())
    send_and_capture(module, server, opened, CON, GET, evidence=evidence)
    t = timeout * module.time_scale
    ack = module.wait_ack(opened, t * ACK_RANDOM_FACTOR * 3 + module.at.grace)
    assert ack == AckUrc(opened, CON, 4500, 0)
    first, second = copies_of(server, 4500)[:2]
    interval = arrival(second) - arrival(first)
    slack = rig.timing_abs_tolerance + rig.timing_rel_tolerance * t
    low, high = t - slack, t * ACK_RANDOM_FACTOR + slack
    table = evidence.table(f"first retransmission, T={timeout}s x{module.time_scale} scale",
                           ("measured s", "window low", "window high"))
    table.rows.append((f"{interval:.4f}", f"{low:.4f}", f"{high:.4f}"))
    assert low <= interval <= high, f"first retransmission after {interval:.4f} s, window {low:.4f}-{high:.4f} s"

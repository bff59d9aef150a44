"""RFC 7252 4.2 retransmission as AT+QCOAPCFG="trans" configures it, and +QCOAPIND (3.4.3).

Intervals are judged twice: on the module's clock (the arrival times of +QCOAPIND on the AT port,
free of the radio path) with a tight tolerance, and on the wire (the reference server's receive
timestamps) with the rig's path tolerance; both go to the evidence table. On the emulator each
case runs at the time scale at which its shortest window stands clear of the scheduling jitter
(fixtures.timescale); on hardware the scale is 1. The radio is woken (a CoAP ping first) so that
an RRC-idle promotion does not shift the first copy, and a NAT rebinding during the exchange is
reported as such, with the old and new source, never as a wrong count. The path only delays or
loses: a copy cannot reach the server before the module sent it, so lower bounds measured from the
AT command stay tight; what the path adds (RRC set-up before a copy sent after an idle gap, a
first datagram after idle lost) is bounded by the rig's path round trip (``network.max_rtt``),
and the count and the windows are judged on the module's clock (+QCOAPIND) without it.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from dut import BG96, AckUrc
from dut.urc import IndUrc
from fixtures.coap import arrival, copies_of, send_and_capture, wake_path
from evidence import Evidence
from fixtures.rig import RigConfig
from fixtures.server import UDP
from fixtures.timescale import MIN_WINDOW_S, case_scale, discriminating_scale
from lab.reachability import path_may_lose, path_variation
from reference_server import CON, Datagram, EmptyAck, ReferenceServer, Silence
from spec import ACK_RANDOM_FACTOR, CFG_BY_KEYWORD, max_transmit_wait

GET = 1
TRANS = CFG_BY_KEYWORD["trans"]
DEFAULT = tuple(p.default for p in TRANS.parameters)
SLOW_ON_HARDWARE = 300.0  # seconds: a setting that takes longer than this at scale 1 is `slow`
#: the module's clock (+QCOAPIND arrival on the AT port) has no radio path: its absolute slack is
#: the rig's, capped at this (on a bench the rig's covers the radio path, 0.5 s; the AT port far less)
MODULE_CLOCK_ABS_CAP_S = 0.1


def module_clock_tolerance(rig: RigConfig) -> tuple[float, float]:
    """(absolute s, relative) slack of the windows on the module's clock: the rig's, the absolute
    part capped: host scheduling still shows in a URC's arrival time, the radio path does not."""
    return min(rig.timing_abs_tolerance, MODULE_CLOCK_ABS_CAP_S), rig.timing_rel_tolerance


def scaled(timeout: float) -> pytest.MarkDecorator:
    """The case's time scale: its shortest window (ACK_TIMEOUT = ``timeout``) clear of the jitter."""
    return pytest.mark.time_scale(discriminating_scale(timeout))


def wake_radio(module: BG96, server: ReferenceServer, client: int, evidence: Evidence) -> None:
    """A CoAP ping before the CON under test (before the server's rules: its RST ends it): the
    radio leaves RRC idle now, not during the first copy; a lost ping is retransmitted."""
    wake_path(module, server, client, evidence)
    evidence.notes.append(f"time scale {module.time_scale}")


def arrived_copies(server: ReferenceServer, mid: int, expected: int, path_rtt: float) -> list[Datagram]:
    """The copies of CON ``mid`` at the server once the last one the module sent has had the path's
    worst delay to arrive (returns as soon as ``expected`` are there)."""
    try:
        server.wait_count(lambda d: d.direction == "rx" and d.message is not None and d.message.mtype == CON
                          and d.message.mid == mid, expected, path_rtt)
    except TimeoutError:
        pass  # fewer arrived: the caller judges how many
    return copies_of(server, mid)


def rebinding_finding(server: ReferenceServer, evidence: Evidence) -> None:
    """A NAT rebinding during the exchange makes the later copies unattributable: say so."""
    rebinds = list(getattr(server, "rebindings", lambda: [])())
    if rebinds:
        text = "; ".join(r.describe() for r in rebinds)
        evidence.observe("NAT-REBINDING", text)
        pytest.skip(f"the path changed during the exchange, the copies cannot be counted: {text}")


def _trans_cases() -> list[object]:
    settings = [(2, 4), (2, 8), (4, 5), (60, 4), DEFAULT]
    cases = []
    for timeout, retries in dict.fromkeys(settings):
        marks = [pytest.mark.slow] if max_transmit_wait(timeout, retries) > SLOW_ON_HARDWARE else []
        label = "default" if (timeout, retries) == DEFAULT else f"{timeout}s-{retries}x"
        scale = pytest.mark.time_scale(case_scale(timeout, max_transmit_wait(timeout, retries)))
        cases.append(pytest.param(timeout, retries, id=f"trans-{label}", marks=[*marks, scale]))
    return cases


@dataclass(frozen=True)
class Window:
    expected: float
    low: float
    high: float
    #: the interval that ends at this copy: a window is judged only where it stands clear of the
    #: emulator's jitter (fixtures.timescale.MIN_WINDOW_S; always at scale 1)
    interval: float = MIN_WINDOW_S

    def holds(self, value: float) -> bool:
        return self.low <= value <= self.high

    @property
    def judged(self) -> bool:
        return self.interval >= MIN_WINDOW_S

    def passes(self, value: float) -> bool:
        return self.holds(value) or not self.judged

    def verdict(self, value: float) -> str:
        return str(self.holds(value)) if self.judged else f"not judged ({self.interval * 1000:.0f} ms window)"


def fit_initial_timeout(offsets: list[float]) -> float:
    """Least-squares initial timeout T0 for copy offsets t_k = T0 (2^k - 1) from the first copy.

    A copy that leaves late shifts its own offset only (the module starts each timer when it
    sends), so fitting all copies keeps one scheduling delay from being doubled into every
    later window, as deriving T0 from the first interval alone would.
    """
    weights = [2 ** k - 1 for k in range(1, len(offsets) + 1)]
    return sum(w * t for w, t in zip(weights, offsets)) / sum(w * w for w in weights)


def rfc_windows(offsets: list[float], timeout: float, scale: float, rig: RigConfig,
                path_shift: float = 0.0) -> tuple[Window, float, list[Window]]:
    """The initial-timeout window [T, 1.5 T], the fitted T0, and each copy's window around T0 (2^k - 1),
    on the wire (offsets between arrivals at the server).

    The slack is the rig's: an absolute part for scheduling jitter, or how much the path may shift
    one copy against another where that is larger (``path_shift``: each copy may wait for an RRC
    set-up on a bench; nothing on the emulator's loopback), plus a
    fraction of the interval that ends at that copy (for clocks that run a little fast or slow).
    """
    def slack(interval: float) -> float:
        return max(rig.timing_abs_tolerance, path_shift) + rig.timing_rel_tolerance * interval
    t = timeout * scale
    initial = Window(t, t - slack(t), t * ACK_RANDOM_FACTOR + slack(t * ACK_RANDOM_FACTOR), t)
    t0 = fit_initial_timeout(offsets) if offsets else 0.0
    windows = []
    for k in range(1, len(offsets) + 1):
        expected = t0 * (2 ** k - 1)
        interval = t0 * 2 ** (k - 1)
        windows.append(Window(expected, expected - slack(interval), expected + slack(interval), interval))
    return initial, t0, windows


def module_clock_initial(t: float, tolerance: tuple[float, float]) -> Window:
    """[T, 1.5 T] for the initial timeout on the module's clock: its own tight tolerance, never the
    wire's path allowance."""
    def slack(interval: float) -> float:
        return tolerance[0] + tolerance[1] * interval
    return Window(t, t - slack(t), t * ACK_RANDOM_FACTOR + slack(t * ACK_RANDOM_FACTOR), t)


def module_clock_windows(origin: float, inds: list[IndUrc], tolerance: tuple[float, float]) -> tuple[float, list[Window]]:
    """The RFC windows on the module's clock: +QCOAPIND k is printed as copy k leaves; the origin
    is the OK of AT+QCOAPSEND (the original leaves just before it). Tight tolerance: no radio path."""
    offsets = [i.time - origin for i in inds]
    t0 = fit_initial_timeout(offsets)
    windows = []
    for k in range(1, len(offsets) + 1):
        expected = t0 * (2 ** k - 1)
        slack = tolerance[0] + tolerance[1] * t0 * 2 ** (k - 1)
        windows.append(Window(expected, expected - slack, expected + slack, t0 * 2 ** (k - 1)))
    return t0, windows


@pytest.mark.req("RFC-RETRANSMIT-COUNT", "RFC-RETRANSMIT-TIMING", "URC-IND-FORMAT", "URC-IND-COUNT",
                 "URC-IND-RESULT", "RFC-RETRANSMIT-GIVEUP", "CFG-TRANS-WRITE", "T4--11")
@pytest.mark.td("TD_COAP_CORE_15")
@pytest.mark.parametrize("timeout, retries", _trans_cases())
def test_unanswered_con_is_retransmitted(timed_module: BG96, timed_opened: int, server: ReferenceServer, rig: RigConfig,
                                         evidence: Evidence, timeout: int, retries: int) -> None:
    """retry_count copies after the first, identical, at RFC intervals, one +QCOAPIND each, then -11."""
    module, opened = timed_module, timed_opened  # at this case's time scale
    assert module.cfg("trans", opened, timeout, retries).ok
    assert module.option(opened, 0, 11, "19").ok
    wake_radio(module, server, opened, evidence)
    server.on(Silence())
    assert module.header(opened, 4000 + timeout, 0, 3, "ABCDEF").ok
    sent, first = send_and_capture(module, server, opened, CON, GET, 1, b"retry", evidence=evidence)
    ack = module.wait_ack(opened, module.exchange_timeout(timeout, retries) + module.path_rtt)
    copies = arrived_copies(server, 4000 + timeout, retries + 1, module.path_rtt)
    inds = [IndUrc.parse(u) for u in module.at.urcs(rf"^\+QCOAPIND: *{opened},")]
    if len(copies) > retries + 1:
        rebinding_finding(server, evidence)

    assert len(copies) <= retries + 1, f"{len(copies)} copies on the wire, expected 1 + <retry_count> {retries}"
    assert all(c.plaintext == first.plaintext for c in copies), "a retransmission differs from the original"
    others = [d for d in server.captured() if d.direction == "rx" and d.message is not None and d.time >= first.time
              and d.message.mtype == CON and d.plaintext != first.plaintext]
    assert not others, f"a retransmission differs from the original: {[d.message.summary() for d in others]}"
    lost = len(inds) + 1 - len(copies)
    if lost > 0:  # sent (+QCOAPIND) but not on the wire: the path lost them; the module clock judges
        assert path_may_lose(rig), (f"{len(copies)} copies on the wire, {len(inds) + 1} reported sent (+QCOAPIND), "
                                    "on a path that loses nothing")
        evidence.observe("PATH-LOSS", f"{lost} of {len(inds) + 1} copies reported sent did not reach the server; "
                         "the wire windows are not judged, +QCOAPIND on the module's clock is")
    times = [arrival(c) for c in copies]
    offsets = [t - times[0] for t in times[1:]]
    initial, t0, windows = rfc_windows(offsets, timeout, module.time_scale, rig, path_variation(rig, module.path_rtt))
    if lost > 0 or not offsets:
        initial = Window(initial.expected, initial.low, initial.high, 0.0)
        windows = [Window(w.expected, w.low, w.high, 0.0) for w in windows]
    table = evidence.table(f"retransmissions, T={timeout}s at time scale {module.time_scale}, tolerance "
                           f"{rig.timing_abs_tolerance}s + {rig.timing_rel_tolerance:.0%} of the interval",
                           ("copy", "interval s", "offset s", "expected offset s", "window low", "window high",
                            "holds"))
    table.rows.append(("T0 (fitted)", "", f"{t0:.4f}", f"[{initial.expected:.4f}, "
                       f"{initial.expected * ACK_RANDOM_FACTOR:.4f}]", f"{initial.low:.4f}", f"{initial.high:.4f}",
                       initial.verdict(t0)))
    previous = 0.0
    for k, (offset, window) in enumerate(zip(offsets, windows), start=1):
        table.rows.append((k, f"{offset - previous:.4f}", f"{offset:.4f}", f"{window.expected:.4f}",
                           f"{window.low:.4f}", f"{window.high:.4f}", window.verdict(offset)))
        previous = offset
    clock_tolerance = module_clock_tolerance(rig)
    clock_t0, clock_windows = module_clock_windows(sent.response.finished_at, inds, clock_tolerance)
    clock_initial = module_clock_initial(timeout * module.time_scale, clock_tolerance)
    clock = evidence.table(f"+QCOAPIND on the module's clock (diamonds), tolerance {clock_tolerance[0]}s + "
                           f"{clock_tolerance[1]:.0%}", ("+QCOAPIND", "offset s", "expected offset s", "window low",
                                                       "window high", "holds"))
    clock.rows.append(("T0 (fitted)", f"{clock_t0:.4f}", f"[{clock_initial.expected:.4f}, "
                       f"{clock_initial.expected * ACK_RANDOM_FACTOR:.4f}]", f"{clock_initial.low:.4f}",
                       f"{clock_initial.high:.4f}", clock_initial.verdict(clock_t0)))
    for i, window in zip(inds, clock_windows):
        offset = i.time - sent.response.finished_at
        clock.rows.append((i.retry_times, f"{offset:.4f}", f"{window.expected:.4f}", f"{window.low:.4f}",
                           f"{window.high:.4f}", window.verdict(offset)))
    assert initial.passes(t0), f"initial timeout {t0:.4f} s outside [T, 1.5 T] = [{initial.low:.4f}, {initial.high:.4f}]"
    late = [(k, f"{o:.4f}", f"[{w.low:.4f}, {w.high:.4f}]") for k, (o, w) in enumerate(zip(offsets, windows), 1)
            if not w.passes(o)]
    assert not late, f"copies outside their RFC 7252 window on the wire (copy, offset s, window): {late}"

    assert [i.retry_times for i in inds] == list(range(1, retries + 1)), (
        f"+QCOAPIND <retry_times> {[i.retry_times for i in inds]}, expected 1..{retries} (3.4.3)")
    assert all((i.type, i.mid) == (CON, 4000 + timeout) for i in inds), "+QCOAPIND <type>/<msgID> of another message"
    assert [i.result for i in inds] == [0] * retries, (
        f"+QCOAPIND <result> {[i.result for i in inds]}: each retransmission was sent (Table 4: 0)")
    assert clock_initial.passes(clock_t0), (f"module clock: initial timeout {clock_t0:.4f} s outside [T, 1.5 T] = "
                                            f"[{clock_initial.low:.4f}, {clock_initial.high:.4f}]")
    off_clock = [(i.retry_times, f"{i.time - sent.response.finished_at:.4f}", f"[{w.low:.4f}, {w.high:.4f}]")
                 for i, w in zip(inds, clock_windows) if not w.passes(i.time - sent.response.finished_at)]
    assert not off_clock, f"+QCOAPIND outside its RFC 7252 window on the module's clock: {off_clock}"
    assert ack == AckUrc(opened, CON, 4000 + timeout, -11)


@pytest.mark.req("RFC-RETRANSMIT-STOP", "URC-ACK-CON", "URC-IND-COUNT")
@pytest.mark.td("TD_COAP_CORE_16")
@scaled(2)
@pytest.mark.parametrize("k", [1, 2, 3], ids=lambda k: f"ack-after-retransmission-{k}")
def test_ack_stops_retransmission(timed_module: BG96, timed_opened: int, server: ReferenceServer, evidence: Evidence,
                                  rig: RigConfig, k: int) -> None:
    """An ACK to the k-th retransmission ends the sequence: no more copies, result 0."""
    module, opened = timed_module, timed_opened  # at this case's time scale
    timeout, retries = 2, 5
    assert module.cfg("trans", opened, timeout, retries).ok
    wake_radio(module, server, opened, evidence)
    assert module.header(opened, 4100 + k, 0, 1, "0F").ok
    server.on(Silence(), count=k)
    server.on(EmptyAck())
    send_and_capture(module, server, opened, CON, GET, evidence=evidence)
    ack = module.wait_ack(opened, module.exchange_timeout(timeout, retries) + module.path_rtt)
    assert ack == AckUrc(opened, CON, 4100 + k, 0)
    next_interval = timeout * 2 ** k * ACK_RANDOM_FACTOR * module.time_scale
    module.at.wait_quiet(r"^$", next_interval + module.at.grace + module.path_rtt)
    copies = copies_of(server, 4100 + k)
    if len(copies) != k + 1:
        rebinding_finding(server, evidence)
    # the server answers the (k+1)-th copy that reaches it: one the path lost makes the module send one more
    inds = [IndUrc.parse(u) for u in module.at.urcs(rf"^\+QCOAPIND: *{opened},")]
    assert len(copies) == k + 1, f"{len(copies)} copies, expected {k + 1}: the ACK to copy {k + 1} stops them"
    lost = len(inds) - k
    if lost > 0:
        assert path_may_lose(rig), (f"+QCOAPIND reports {len(inds)} retransmissions, the server saw {k} before its "
                                    "ACK, on a path that loses nothing")
        evidence.observe("PATH-LOSS", f"{lost} copy(ies) reported sent (+QCOAPIND) never reached the server")
    assert [i.retry_times for i in inds] == list(range(1, len(inds) + 1)) and len(inds) >= k, (
        f"+QCOAPIND <retry_times> {[i.retry_times for i in inds]}, expected 1..{k} and one per copy the path lost")


@pytest.mark.req("RFC-RETRANSMIT-TIMING", "CFG-TRANS-WRITE")
@pytest.mark.td("TD_COAP_CORE_16")
@pytest.mark.parametrize("transport", [UDP], indirect=True)  # timing, not transport: once is enough
@scaled(TRANS.parameters[0].range.high)  # type: ignore[union-attr]
def test_first_retransmission_waits_the_ack_timeout(timed_module: BG96, timed_opened: int, server: ReferenceServer,
                                                     rig: RigConfig, evidence: Evidence, transport: str) -> None:
    """The first retransmission comes ACK_TIMEOUT to 1.5 x ACK_TIMEOUT after the original (RFC 7252
    4.2), with the longest <timeout> of the document so no scaled tolerance can hide an early one;
    the server answers that retransmission, so the exchange ends there."""
    module, opened = timed_module, timed_opened  # at this case's time scale
    timeout, retries = TRANS.parameters[0].range.high, TRANS.parameters[1].range.low
    assert module.cfg("trans", opened, timeout, retries).ok
    wake_radio(module, server, opened, evidence)
    assert module.header(opened, 4500, 0, 1, "1F").ok
    server.on(Silence(), count=1)
    server.on(EmptyAck())
    sent, _ = send_and_capture(module, server, opened, CON, GET, evidence=evidence)
    t = timeout * module.time_scale
    ack = module.wait_ack(opened, t * ACK_RANDOM_FACTOR * 3 + module.at.grace + module.path_rtt)
    assert ack == AckUrc(opened, CON, 4500, 0)
    first, second = copies_of(server, 4500)[:2]
    ind = IndUrc.parse(module.at.urcs(rf"^\+QCOAPIND: *{opened},")[0])
    written = sent.response.data_sent_at or sent.response.sent_at
    slack = rig.timing_abs_tolerance + rig.timing_rel_tolerance * t
    clock_abs, clock_rel = module_clock_tolerance(rig)
    clock_slack = clock_abs + clock_rel * t
    # the path only delays: the second copy cannot arrive before T after the command, however late
    # the first one did; its upper bound adds the path's worst delay
    after_send = second.time - written  # the host's monotonic clock, as the AT timestamps
    interval = arrival(second) - arrival(first)
    on_clock = ind.time - sent.response.finished_at
    low, high = t - slack, t * ACK_RANDOM_FACTOR + slack + path_variation(rig, module.path_rtt)
    clock_low, clock_high = t - clock_slack, t * ACK_RANDOM_FACTOR + clock_slack  # high: shown, not judged
    table = evidence.table(f"first retransmission, T={timeout}s x{module.time_scale} scale",
                           ("measured", "s", "window low", "window high"))
    table.rows.append(("second copy at the server after AT+QCOAPSEND", f"{after_send:.4f}", f"{low:.4f}", f"{high:.4f}"))
    table.rows.append(("interval between the copies at the server", f"{interval:.4f}", "", ""))
    table.rows.append(("+QCOAPIND 1 after the OK (module clock)", f"{on_clock:.4f}", f"{clock_low:.4f}", f"{clock_high:.4f}"))
    assert ind.retry_times == 1 and ind.mid == 4500, f"first +QCOAPIND {ind}"
    # the AT path only delays a URC (a busy port, the host): early is the module's, late is judged on the wire
    assert clock_low <= on_clock, (
        f"module clock: first retransmission {on_clock:.4f} s after the OK, before ACK_TIMEOUT ({clock_low:.4f} s)")
    assert after_send >= low, f"second copy {after_send:.4f} s after AT+QCOAPSEND, before ACK_TIMEOUT ({low:.4f} s)"
    retransmissions = len(module.at.urcs(rf"^\+QCOAPIND: *{opened},"))
    if retransmissions == 1 or not path_may_lose(rig):  # else a copy the path lost made the module send one more
        assert retransmissions == 1, f"{retransmissions} retransmissions for one unanswered copy"
        assert after_send <= high, f"first retransmission {after_send:.4f} s after AT+QCOAPSEND, window {low:.4f}-{high:.4f} s"

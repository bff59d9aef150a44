"""AT+CFUN=1,1 in the middle of an open session: the module restarts clean and the run goes on.

The restart waits for ``RDY`` / ``APP RDY`` or for the port to come back (on USB the module
re-enumerates and its boot URCs are usually printed before the host has reopened the port), then a
working ``AT`` decides and the strategy brings the module up again. Afterwards no client is open, every setting is at
its documented default, the CON that was in flight is never reported, and a new session works.
(A DUT that stops answering by itself is handled by fixtures/recovery.py; tests/test_recovery.py
shows it with the emulator's hang-then-reboot fault.)
"""
from __future__ import annotations

import pytest

from dut import BG96, AckUrc, DutStrategy
from evidence import Evidence, TranscriptEntry
from fixtures.coap import datagram_timeout
from fixtures.server import UDP
from reference_server import CON, EmptyAck, ReferenceServer, Silence
from spec import ACK_RANDOM_FACTOR, CFG_SETTINGS, STATUS_VALUES

GET = 1
IDLE = next(k for k, v in STATUS_VALUES.items() if v.lower().startswith("idle"))
CHANGED_TRANS = (4, 6)  # not the defaults, so a setting that survives shows


def default_query(keyword: str) -> list[str]:
    """What the query form prints on a fresh client ("dtls" prints only the disabled flag)."""
    setting = next(s for s in CFG_SETTINGS if s.keyword == keyword)
    if keyword == "dtls":
        return ["0"]
    return [str(p.default) for p in setting.parameters]


def reset_time(entries: list[TranscriptEntry]) -> float:
    """When the module took the reset: the OK of AT+CFUN=1,1 (the first received bytes holding it)."""
    sent = next(i for i, e in enumerate(entries) if e.direction == "tx" and e.data.startswith(b"AT+CFUN=1,1"))
    received = b""
    for entry in entries[sent:]:
        received += entry.data if entry.direction == "rx" else b""
        if b"OK\r" in received:  # the bytes may come one at a time
            return entry.time
    return entries[sent].time


@pytest.mark.req("CFG-NOT-SAVED", "OPEN-STATUS", "OPEN-READ-EMPTY", "CFG-TRANS-DEFAULT", "CFG-PDPCID-DEFAULT",
                 "RESTART-CLOSES-CLIENTS")
@pytest.mark.parametrize("transport", [UDP], indirect=True)  # the new session after it is opened plainly
def test_restart_in_the_middle_of_a_session(module: BG96, opened: int, server: ReferenceServer,
                                            strategy: DutStrategy, evidence: Evidence) -> None:
    """Open client, changed settings, a CON in flight; AT+CFUN=1,1: the module answers AT again, no
    client open, defaults back, the old CON never reported; then a new session exchanges a CON."""
    server.on(Silence(), predicate=lambda d: d.message is not None and d.message.mid == 6000)
    server.on(EmptyAck(), mtype=CON)  # the new session's CON, after the restart
    assert module.cfg("trans", opened, *CHANGED_TRANS).ok
    assert module.option(opened, 0, 11, "before-restart").ok
    assert module.header(opened, 6000, 0, 1, "2A").ok
    assert module.send(opened, CON, GET, 1).response.ok
    server.wait_for(lambda d: d.direction == "rx" and d.message is not None and d.message.mid == 6000,
                    datagram_timeout(module))

    mark = module.at.transcript.mark()
    seen = strategy.restart()  # AT+CFUN=1,1, RDY/APP RDY or the port back, AT, then a full bring-up
    evidence.observe("RESTART-URCS", " | ".join(u.line for u in seen) or "(none seen: the port was reopened)")
    restarted_at = seen[-1].time if seen else reset_time(module.at.transcript.since(mark))

    listed = module.command("AT+QCOAPOPEN?")
    evidence.observe("OPEN-READ-AFTER-RESTART", " | ".join(listed.lines) or "(no line)")
    assert listed.ok and all(s.status == IDLE for s in module.status().values()), listed.text
    for setting in CFG_SETTINGS:
        assert module.cfg_values(setting.keyword, opened) == default_query(setting.keyword), setting.keyword
    window = 2 * CHANGED_TRANS[0] * ACK_RANDOM_FACTOR * module.time_scale + module.at.grace
    late = module.at.wait_quiet(rf"^\+QCOAP(ACK|IND|RECV): *{opened},", window)
    assert late == [], f"the CON of the old session was reported after the restart: {[u.line for u in late]}"
    copies = [d for d in server.captured() if d.direction == "rx" and d.message is not None
              and d.message.mid == 6000 and d.time > restarted_at]
    assert copies == [], "the module retransmitted a CON of the session the restart ended"

    host, port = server.advertised
    assert module.open(opened, host, port)[1].result == 0
    assert module.header(opened, 6001, 0, 1, "2B").ok
    assert module.send(opened, CON, GET, 0).response.ok
    assert module.wait_ack(opened) == AckUrc(opened, CON, 6001, 0)


@pytest.mark.req("OPEN-WRITE", "URC-ACK-CON")
def test_session_after_the_restart(module: BG96, opened: int, server: ReferenceServer) -> None:
    """The test after the restart needs nothing special: open, CON, ACK as usual."""
    server.on(EmptyAck(), mtype=CON)
    assert module.header(opened, 6100, 0, 1, "2C").ok
    assert module.send(opened, CON, GET, 0).response.ok
    assert module.wait_ack(opened) == AckUrc(opened, CON, 6100, 0)

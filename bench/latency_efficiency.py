"""With the emulator's ``--latency`` model on, how much of the wall time is the module's own?

Efficiency = the sum of the modelled module latencies / the wall time of the exchange sequence.
1.0 means the harness adds nothing on top of the module.
"""
from __future__ import annotations

import time

from dut import ATChannel
from emulator.launcher import start_emulator

COMMANDS = ['AT+QCOAPCFG="trans",0', 'AT+QCOAPCFG="pdpcid",0', "AT+QCOAPHEADER=0,1,1",
            'AT+QCOAPOPTION=0,0,0,11,"19"', "AT+QCOAPOPTION=0,1,0", "AT+QCOAPCFG=?"]


def run(latency_ms: float = 20.0, rounds: int = 40) -> dict[str, object]:
    emulator = start_emulator("tcp", 1.0, ["--latency", str(latency_ms)])
    try:
        with ATChannel(emulator.url) as at:
            at.command("ATE0")
            start = time.perf_counter()
            count = 0
            for _ in range(rounds):
                for line in COMMANDS:
                    assert at.command(line).final
                    count += 1
            wall = time.perf_counter() - start
    finally:
        emulator.stop()
    modelled = count * latency_ms / 1000
    return {"commands": count, "latency_ms": latency_ms, "modelled_seconds": modelled,
            "wall_seconds": wall, "efficiency": modelled / wall, "target": 0.9}

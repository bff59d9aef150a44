"""``AT`` -> ``OK`` through the harness's AT channel, beside raw pyserial on the same port."""
from __future__ import annotations

import time

import serial

from dut import ATChannel
from emulator.launcher import start_emulator

from .stats import summary


def raw_roundtrips(url: str, count: int) -> list[float]:
    """The floor: write ``AT\\r`` and read until ``OK\\r\\n`` with plain pyserial."""
    port = serial.serial_for_url(url, timeout=2)
    samples = []
    try:
        port.write(b"ATE0\r")
        buf = b""
        while not buf.endswith(b"OK\r\n"):
            buf += port.read(port.in_waiting or 1)
        for _ in range(count):
            start = time.perf_counter()
            port.write(b"AT\r")
            buf = b""
            while not buf.endswith(b"OK\r\n"):
                buf += port.read(port.in_waiting or 1)
            samples.append(time.perf_counter() - start)
    finally:
        port.close()
    return samples


def harness_roundtrips(url: str, count: int) -> list[float]:
    samples = []
    with ATChannel(url) as at:
        at.command("ATE0")
        for _ in range(count):
            start = time.perf_counter()
            response = at.command("AT")
            samples.append(time.perf_counter() - start)
            assert response.ok
    return samples


def run(count: int = 2000) -> dict[str, object]:
    emulator = start_emulator("tcp", 1.0)
    try:
        raw_roundtrips(emulator.url, 50)  # warm up both paths on the same port
        raw = summary(raw_roundtrips(emulator.url, count))
        harness = summary(harness_roundtrips(emulator.url, count))
    finally:
        emulator.stop()
    return {"raw_pyserial": raw, "harness": harness,
            "overhead_ratio": harness["median"] / raw["median"], "target_ratio": 1.5}

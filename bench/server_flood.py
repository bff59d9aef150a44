"""Datagrams per second the reference server records, from a flood sender on loopback."""
from __future__ import annotations

import socket
import time

from reference_server import ReferenceServer, Silence
from reference_server.script import build


def run(count: int = 30000) -> dict[str, object]:
    """Send ``count`` NON requests as fast as the kernel takes them; count what was recorded."""
    datagram = build(1, 1, 1, b"\x01", [(11, b"flood")])
    with ReferenceServer() as server:
        server.on(Silence())  # measure recording, not answering
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        target = server.bound
        start = time.perf_counter()
        for _ in range(count):
            sender.sendto(datagram, target)
        sent_for = time.perf_counter() - start
        try:
            recorded = server.capture.wait_until(lambda: len(server.capture) >= count or None,
                                                 timeout=30, what=f"{count} datagrams")
        except TimeoutError:
            recorded = None
        elapsed = time.perf_counter() - start
        sender.close()
        received = len([d for d in server.captured() if d.direction == "rx"])
    return {"sent": count, "recorded": received, "lost": count - received, "send_seconds": sent_for,
            "seconds": elapsed, "datagrams_per_second": received / elapsed, "target": 5000,
            "complete": bool(recorded)}

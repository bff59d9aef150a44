"""The benchmark script runs (small counts): it must not rot between the times someone runs it.

The targets themselves are the benchmark's business (``./suite bench``), not asserted here.
"""
from __future__ import annotations

from bench import at_roundtrip, latency_efficiency, server_flood


def test_at_roundtrip_measures_both_paths() -> None:
    result = at_roundtrip.run(count=30)
    assert result["raw_pyserial"]["n"] == result["harness"]["n"] == 30
    assert result["overhead_ratio"] > 0


def test_latency_efficiency_counts_modelled_time() -> None:
    result = latency_efficiency.run(latency_ms=5, rounds=2)
    assert result["commands"] == 12
    assert result["wall_seconds"] >= result["modelled_seconds"] * 0.99  # the model is really applied


def test_server_flood_records_every_datagram() -> None:
    result = server_flood.run(count=2000)
    assert result["recorded"] == 2000 and result["lost"] == 0

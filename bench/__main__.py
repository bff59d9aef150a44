"""``python -m bench [--quick]``: the harness benchmarks, as a table and bench/out/bench.json."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from . import at_roundtrip, latency_efficiency, server_flood, suite_runtime

OUT = Path(__file__).resolve().parent / "out"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the two full runs (./suite conformance and ./suite test)")
    args = parser.parse_args()
    results: dict[str, object] = {"date": time.strftime("%Y-%m-%dT%H:%M:%S")}
    rows: list[tuple[str, str, str, str]] = []

    rt = at_roundtrip.run()
    results["at_roundtrip"] = rt
    rows.append(("AT round trip, raw pyserial (median / p99)",
                 f"{rt['raw_pyserial']['median'] * 1e6:.0f} / {rt['raw_pyserial']['p99'] * 1e6:.0f} us", "", ""))
    rows.append(("AT round trip, harness (median / p99)",
                 f"{rt['harness']['median'] * 1e6:.0f} / {rt['harness']['p99'] * 1e6:.0f} us", "", ""))
    rows.append(("harness overhead (harness / raw)", f"{rt['overhead_ratio']:.2f}x", "<= 1.5x",
                 _ok(rt["overhead_ratio"] <= 1.5)))

    eff = latency_efficiency.run()
    results["latency_efficiency"] = eff
    rows.append((f"harness efficiency, {eff['latency_ms']:.0f} ms latency model", f"{eff['efficiency']:.3f}",
                 ">= 0.9", _ok(eff["efficiency"] >= 0.9)))

    flood = server_flood.run()
    results["server_flood"] = flood
    rows.append(("reference server capture", f"{flood['datagrams_per_second']:.0f} dgram/s, lost {flood['lost']}",
                 ">= 5000/s, 0 lost", _ok(flood["datagrams_per_second"] >= 5000 and flood["lost"] == 0)))

    if not args.quick:
        for run in suite_runtime.run():
            results.setdefault("suite_runtime", []).append(run)  # type: ignore[union-attr]
            rows.append((f"{run['command']} (as the README runs it)",
                         f"{run['wall_seconds']:.1f} s, {run['cases']} cases, exit {run['exit']}",
                         f"< {run['target_seconds']:.0f} s",
                         _ok(run["wall_seconds"] < run["target_seconds"] and run["exit"] == 0)))
            if "html_bytes" in run:
                rows.append(("conformance report (HTML)", f"{run['html_bytes'] / 1024 / 1024:.2f} MB",
                             f"<= {run['html_limit_bytes'] / 1024 / 1024:.0f} MB", _ok(bool(run["html_within"]))))

    OUT.mkdir(exist_ok=True)
    (OUT / "bench.json").write_text(json.dumps(results, indent=2))
    width = max(len(r[0]) for r in rows)
    for name, value, target, verdict in rows:
        print(f"{name:<{width}}  {value:<40} {target:<18} {verdict}")
    print(f"\nwritten: {OUT / 'bench.json'}")
    return 0 if all(r[3] != "MISSED" for r in rows) else 1


def _ok(flag: bool) -> str:
    return "met" if flag else "MISSED"


if __name__ == "__main__":
    raise SystemExit(main())

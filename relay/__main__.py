"""``python -m relay --bind 0.0.0.0:5684 --to 127.0.0.1:5683``: a plain forwarding relay for a bench
check (no impairments; the suites install them per test through the fixtures)."""
from __future__ import annotations

import argparse
import signal
import threading

from .relay import Relay


def _hostport(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m relay", description=__doc__)
    ap.add_argument("--bind", type=_hostport, default=("127.0.0.1", 0))
    ap.add_argument("--to", type=_hostport, required=True, help="the reference server's address")
    args = ap.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with Relay(args.bind, args.to) as relay:
        host, port = relay.bound
        print(f"RELAY udp {host}:{port} -> {args.to[0]}:{args.to[1]}", flush=True)
        stop.wait()
        for action in relay.actions():
            print(f"{action.time:.6f} {action.direction} #{action.index} {action.action} {action.size} B {action.note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

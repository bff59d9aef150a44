"""``python -m relay --bind 0.0.0.0:5684 --to 127.0.0.1:5683``: a plain forwarding relay for a bench
check (no impairments; the suites install them per test through the fixtures)."""
from __future__ import annotations

import signal
import threading

from wire.address import format_hostport, hostport_argument
from wire.cli import ArgumentParser, fail

from .relay import Relay

PROG = "python -m relay"


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog=PROG, description=__doc__)
    ap.add_argument("--bind", type=hostport_argument(), default=("127.0.0.1", 0), metavar="HOST:PORT")
    ap.add_argument("--to", type=hostport_argument(allow_port_zero=False), required=True, metavar="HOST:PORT",
                    help="the reference server's address")
    args = ap.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    relay = Relay(args.bind, args.to)
    try:
        relay.start()
    except OSError as e:
        return fail(PROG, f"cannot bind {format_hostport(args.bind)}: {e.strerror or e}")
    with relay:
        print(f"RELAY udp {format_hostport(relay.bound)} -> {format_hostport(args.to)}", flush=True)
        stop.wait()
        for action in relay.actions():
            print(f"{action.time:.6f} {action.direction} #{action.index} {action.action} {action.size} B {action.note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

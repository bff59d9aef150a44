"""Command line: transport, time scale, latency, faults; prints one EMULATOR line, serves until a signal."""
from __future__ import annotations

import asyncio
import logging
import signal
import sys
from dataclasses import dataclass

from wire.address import format_hostport, hostport_argument
from wire.cli import ArgumentParser, fail

from .at_frontend import AtFrontend
from .config import Config, Latency
from .faults import FAULTS, Faults
from .field import add_arguments as add_field_arguments, knobs_from_args
from .radio_path import RadioPath, install


@dataclass(frozen=True)
class Args:
    tcp: tuple[str, int] | None
    pty: bool
    config: Config


PROG = "python -m emulator"


class ListenError(Exception):
    """The AT port cannot be served (address in use, no such host): a usage error, exit 2."""


def parse_args(argv: list[str] | None = None) -> Args:
    ap = ArgumentParser(prog=PROG, description="BG96 CoAP module emulator")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--tcp", type=hostport_argument(), metavar="HOST:PORT", help="default 127.0.0.1:7777; port 0 picks one")
    where.add_argument("--pty", action="store_true")
    ap.add_argument("--time-scale", type=float, default=1.0)
    ap.add_argument("--latency", default=None, metavar="MS|FILE.json")
    ap.add_argument("--fault", action="append", default=[], metavar="NAME", help=", ".join(sorted(FAULTS)))
    add_field_arguments(ap)
    ap.add_argument("--log-level", default="WARNING")
    a = ap.parse_args(argv)
    unknown = [f for f in a.fault if f not in FAULTS]
    if unknown:
        ap.error(f"unknown fault(s): {', '.join(unknown)}; known: {', '.join(sorted(FAULTS))}")
    if a.time_scale <= 0:
        ap.error("--time-scale must be > 0")
    try:
        latency = Latency.parse(a.latency)
    except (OSError, ValueError) as e:
        ap.error(f"--latency: {e}")
    logging.basicConfig(level=a.log_level.upper(), stream=sys.stderr, format="emulator %(levelname)s %(name)s: %(message)s")
    tcp = None if a.pty else (a.tcp or ("127.0.0.1", 7777))
    return Args(tcp, a.pty, Config(a.time_scale, latency, Faults.from_names(a.fault), knobs_from_args(ap, a)))


async def serve(args: Args) -> None:
    # one module, one radio: every client socket of this process goes through this path
    config = args.config
    install(RadioPath(config.knobs.path_knobs(), config.time_scale, config.knobs.rng))
    frontend = AtFrontend(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = loop.create_task(frontend.run())
    if args.tcp is not None:
        from .host_tcp import TcpHost

        host = TcpHost(frontend)
        try:
            h, p = await host.start(*args.tcp)
        except OSError as e:
            runner.cancel()
            raise ListenError(f"cannot listen on {format_hostport(args.tcp)}: {e.strerror or e}") from None
        print(f"EMULATOR tcp {h}:{p}", flush=True)
        await stop.wait()
        await host.close()
    else:
        from .host_pty import PtyHost

        pty = PtyHost(frontend)
        print(f"EMULATOR pty {pty.start()}", flush=True)
        frontend.boot()
        await stop.wait()
        pty.close()
    runner.cancel()
    for c in frontend.modem.state.clients:
        c.drop_session()


def main(argv: list[str] | None = None) -> int:
    try:
        asyncio.run(serve(parse_args(argv)))
    except ListenError as e:
        return fail(PROG, str(e))
    return 0

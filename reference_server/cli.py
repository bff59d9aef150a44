"""Standalone bench use: `python -m reference_server --bind 0.0.0.0:5683 [--dtls ...]`.

Serves the default resources, prints one line per datagram and optionally writes a pcap
as it goes. Runs until interrupted."""

from __future__ import annotations

import signal
import threading
from typing import Optional, Sequence

from wire.address import format_hostport, hostport_argument
from wire.cli import ArgumentParser, fail

from .pcap import PcapWriter
from .records import Datagram
from .server import ReferenceServer

PROG = "python -m reference_server"


def parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description=__doc__)
    p.add_argument("--bind", type=hostport_argument("0.0.0.0"), default=("0.0.0.0", 5683),
                   help="HOST:PORT to listen on")
    p.add_argument("--server-advertise", type=hostport_argument("0.0.0.0", allow_port_zero=False),
                   help="HOST:PORT the DUT dials (NAT on a bench)")
    p.add_argument("--dtls", action="store_true", help="DTLS-PSK instead of plain UDP")
    p.add_argument("--psk-identity", help="PSK identity (text)")
    key = p.add_mutually_exclusive_group()
    key.add_argument("--psk-key", help="PSK key as text")
    key.add_argument("--psk-key-hex", help="PSK key as hex")
    p.add_argument("--pcap", help="write every datagram to this pcap file as it goes")
    return p


def psk_table(args) -> tuple[Optional[dict[bytes, bytes]], Optional[str]]:
    """(the PSK table or None for plain UDP, what is wrong with the PSK options or None)."""
    if not args.dtls:
        if args.psk_identity or args.psk_key is not None or args.psk_key_hex is not None:
            return None, "PSK options need --dtls"
        return None, None
    if not args.psk_identity or (args.psk_key is None and args.psk_key_hex is None):
        return None, "--dtls needs --psk-identity and --psk-key or --psk-key-hex"
    try:
        key = bytes.fromhex(args.psk_key_hex) if args.psk_key_hex is not None else args.psk_key.encode()
    except ValueError:
        return None, "--psk-key-hex is not valid hex"
    if not key:
        return None, "the PSK key is empty"
    return {args.psk_identity.encode(): key}, None


def main(argv: Optional[Sequence[str]] = None, stop: Optional[threading.Event] = None) -> int:
    args = parser().parse_args(argv)
    psk, problem = psk_table(args)
    if problem:
        return fail(PROG, problem)

    stop = stop or threading.Event()
    server = ReferenceServer(bind=args.bind, advertise=args.server_advertise, psk=psk)

    def show(d: Datagram) -> None:
        print(d.summary(), flush=True)

    server.add_listener(show)
    writer = None
    try:
        server.start()
    except OSError as e:
        return fail(PROG, f"cannot bind {format_hostport(args.bind)}: {e.strerror or e}")
    if args.pcap:
        try:
            writer = PcapWriter(args.pcap, server.bound)
        except OSError as e:
            server.stop()
            return fail(PROG, f"cannot write --pcap {args.pcap}: {e.strerror or e}")
        server.add_listener(writer.write)
    if threading.current_thread() is threading.main_thread():
        # before the ready line: whoever reads it may signal us at once
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    print(f"REFERENCE-SERVER {'dtls' if psk else 'udp'} {format_hostport(server.bound)}", flush=True)
    if args.server_advertise:
        print(f"advertised as {format_hostport(args.server_advertise)}", flush=True)
    try:
        stop.wait()
    finally:
        server.stop()
        if writer is not None:
            writer.close()
    return 0

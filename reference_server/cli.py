"""Standalone bench use: `python -m reference_server --bind 0.0.0.0:5683 [--dtls ...]`.

Serves the default resources, prints one line per datagram and optionally writes a pcap
as it goes. Runs until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Optional, Sequence

from .pcap import PcapWriter
from .records import Datagram
from .server import ReferenceServer


def hostport(text: str) -> tuple[str, int]:
    """"HOST:PORT" or "[v6]:PORT"."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m reference_server", description=__doc__)
    p.add_argument("--bind", type=hostport, default=("0.0.0.0", 5683), help="HOST:PORT to listen on")
    p.add_argument("--server-advertise", type=hostport, help="HOST:PORT the DUT dials (NAT on a bench)")
    p.add_argument("--dtls", action="store_true", help="DTLS-PSK instead of plain UDP")
    p.add_argument("--psk-identity", help="PSK identity (text)")
    key = p.add_mutually_exclusive_group()
    key.add_argument("--psk-key", help="PSK key as text")
    key.add_argument("--psk-key-hex", help="PSK key as hex")
    p.add_argument("--pcap", help="write every datagram to this pcap file as it goes")
    return p


def main(argv: Optional[Sequence[str]] = None, stop: Optional[threading.Event] = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    psk = None
    if args.dtls:
        if not args.psk_identity or (args.psk_key is None and args.psk_key_hex is None):
            print("reference_server: --dtls needs --psk-identity and --psk-key or --psk-key-hex", file=sys.stderr)
            return 2
        try:
            key = bytes.fromhex(args.psk_key_hex) if args.psk_key_hex is not None else args.psk_key.encode()
        except ValueError:
            print("reference_server: --psk-key-hex is not valid hex", file=sys.stderr)
            return 2
        psk = {args.psk_identity.encode(): key}
    elif args.psk_identity or args.psk_key or args.psk_key_hex:
        print("reference_server: PSK options need --dtls", file=sys.stderr)
        return 2

    stop = stop or threading.Event()
    server = ReferenceServer(bind=args.bind, advertise=args.server_advertise, psk=psk)

    def show(d: Datagram) -> None:
        print(d.summary(), flush=True)

    server.add_listener(show)
    writer = None
    try:
        server.start()
    except OSError as e:
        print(f"reference_server: cannot bind {args.bind}: {e}", file=sys.stderr)
        return 1
    if args.pcap:
        writer = PcapWriter(args.pcap, server.bound)
        server.add_listener(writer.write)
    if threading.current_thread() is threading.main_thread():
        # before the ready line: whoever reads it may signal us at once
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    host, port = server.bound
    print(f"REFERENCE-SERVER {'dtls' if psk else 'udp'} {host}:{port}", flush=True)
    if args.server_advertise:
        print(f"advertised as {args.server_advertise[0]}:{args.server_advertise[1]}", flush=True)
    try:
        stop.wait()
    finally:
        server.stop()
        if writer is not None:
            writer.close()
    return 0

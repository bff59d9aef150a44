"""``HOST:PORT`` as every command line and rig file of the project writes it."""
from __future__ import annotations

import argparse

Address = tuple[str, int]


def parse_hostport(text: str, default_host: str = "127.0.0.1", allow_port_zero: bool = True) -> Address:
    """``HOST:PORT``, ``[v6]:PORT`` or a bare ``PORT``; raises ValueError saying what is wrong."""
    host, sep, port = str(text).rpartition(":")
    if not sep:
        host, port = default_host, str(text)
    host = host.strip("[]") or default_host
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"expected HOST:PORT, got {text!r}") from None
    low = 0 if allow_port_zero else 1
    if not low <= number <= 65535:
        raise ValueError(f"port {number} is outside {low}..65535 in {text!r}")
    return (host, number)


def hostport_argument(default_host: str = "127.0.0.1", allow_port_zero: bool = True):
    """An argparse ``type=``: a bad ``HOST:PORT`` becomes a one-line usage error (exit 2)."""
    def parse(text: str) -> Address:
        try:
            return parse_hostport(text, default_host, allow_port_zero)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


def format_hostport(address: Address) -> str:
    """The inverse of :func:`parse_hostport`; IPv6 hosts in brackets."""
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

"""Parsing the `<ctx>_server.psk` UFS file: `<identity>&<hex key>`."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Psk:
    identity: bytes
    key: bytes


def psk_file_name(ctx: int) -> str:
    return f"{ctx}_server.psk"


def parse_psk(content: bytes) -> Psk | None:
    """None when malformed: no '&', empty identity, or a key that is not even-length hex."""
    ident, sep, key_text = content.partition(b"&")
    key_text = key_text.strip(b"\r\n")
    if not sep or not ident or not key_text or len(key_text) % 2:
        return None
    try:
        key = bytes.fromhex(key_text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    return Psk(ident, key)

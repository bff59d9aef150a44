"""Classic libpcap output (LINKTYPE_RAW, synthesized IPv4/IPv6 + UDP headers) so the
capture can be opened in Wireshark/tshark as evidence. Written incrementally and flushed
per packet, so a crash still leaves a readable file."""

from __future__ import annotations

import functools
import ipaddress
import struct
import time
from typing import BinaryIO, Iterable, Optional

from .records import Datagram

LINKTYPE_RAW = 101
_GLOBAL = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")


@functools.lru_cache(maxsize=1024)
def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """A run has a handful of peers and writes every capture again as a test goes on."""
    return ipaddress.ip_address(host)


def _ip_udp(src: tuple[str, int], dst: tuple[str, int], payload: bytes) -> bytes:
    udp_len = 8 + len(payload)
    udp = struct.pack("!HHHH", src[1], dst[1], udp_len & 0xFFFF, 0)
    s, d = _address(src[0]), _address(dst[0])
    if s.version == 4 and d.version == 4:
        header = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, (20 + udp_len) & 0xFFFF, 0, 0x4000, 64, 17, 0, s.packed, d.packed
        )
        checksum = _ip_checksum(header)
        header = header[:10] + struct.pack("!H", checksum) + header[12:]
    else:
        s6 = s if s.version == 6 else ipaddress.IPv6Address(f"::ffff:{s}")
        d6 = d if d.version == 6 else ipaddress.IPv6Address(f"::ffff:{d}")
        header = struct.pack("!IHBB16s16s", 6 << 28, udp_len & 0xFFFF, 17, 64, s6.packed, d6.packed)
    return header + udp + payload


def _ip_checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class PcapWriter:
    """Append datagrams to a pcap file; `server_addr` is the server side of every packet."""

    def __init__(self, path: str, server_addr: tuple[str, int]) -> None:
        self._f: BinaryIO = open(path, "wb")
        self._server = (server_addr[0], server_addr[1])
        self._wall_offset = time.time() - time.monotonic()
        self._f.write(_GLOBAL.pack(0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_RAW))
        self._f.flush()

    def write(self, d: Datagram, flush: bool = True) -> None:
        src, dst = (d.peer, self._server) if d.direction == "rx" else (self._server, d.peer)
        packet = _ip_udp(src, dst, d.wire)
        ts = d.kernel_time if d.kernel_time is not None else d.time + self._wall_offset
        sec = int(ts)
        usec = min(999999, int(round((ts - sec) * 1e6)))
        self._f.write(_RECORD.pack(sec, usec, len(packet), len(packet)) + packet)
        if flush:
            self._f.flush()

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "PcapWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_pcap(path: str, datagrams: Iterable[Datagram], server_addr: tuple[str, int]) -> None:
    """Write a whole capture list (wire bytes; DTLS stays encrypted), flushed once at the end."""
    with PcapWriter(path, server_addr) as w:
        for d in datagrams:
            w.write(d, flush=False)

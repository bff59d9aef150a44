"""In-memory UFS (flash): survives AT+CFUN=1,1, holds the DTLS PSK files."""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

MAX_NAME = 80


def strip_prefix(name: str) -> str:
    return name[4:] if name[:4].upper() == "UFS:" else name


def checksum(data: bytes) -> int:
    """16-bit XOR of big-endian words; an odd last byte is the high byte of a last word."""
    x = 0
    for i in range(0, len(data), 2):
        hi = data[i]
        lo = data[i + 1] if i + 1 < len(data) else 0
        x ^= (hi << 8) | lo
    return x


@dataclass
class Ufs:
    files: dict[str, bytes] = field(default_factory=dict)

    def exists(self, name: str) -> bool:
        return strip_prefix(name) in self.files

    def store(self, name: str, data: bytes) -> None:
        self.files[strip_prefix(name)] = data

    def read(self, name: str) -> bytes | None:
        return self.files.get(strip_prefix(name))

    def match(self, pattern: str) -> list[str]:
        pat = strip_prefix(pattern)
        return sorted(n for n in self.files if fnmatch.fnmatchcase(n, pat))

    def delete(self, name: str) -> None:
        del self.files[strip_prefix(name)]

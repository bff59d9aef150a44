"""Bytes as a reviewer reads them in a transcript: one line per chunk, control bytes escaped."""
from __future__ import annotations

_NAMED = {0x0D: "\\r", 0x0A: "\\n", 0x09: "\\t", 0x5C: "\\\\"}
#: byte -> its text; latin-1 decoding maps byte b to chr(b), so str.translate does it in C (every
#: test's transcript goes through here: a byte at a time in Python cost a second per 200 tests)
_TABLE = {b: _NAMED.get(b) or (chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02x}") for b in range(256)}


def printable(data: bytes | str | None) -> str:
    """Printable ASCII as is, CR/LF/TAB as \\r \\n \\t, every other byte as \\xNN (Ctrl+Z: \\x1a)."""
    if data is None:
        return ""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    return data.decode("latin-1").translate(_TABLE)

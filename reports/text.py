"""Bytes and values as a reviewer can read them: control bytes escaped, hex dumps, HTML-safe."""
from __future__ import annotations

from html import escape

_NAMED = {0x0D: "\\r", 0x0A: "\\n", 0x09: "\\t", 0x5C: "\\\\"}


def printable(data: bytes | str | None) -> str:
    """Printable ASCII as is, CR/LF/TAB as \\r \\n \\t, every other byte as \\xNN (Ctrl+Z: \\x1a)."""
    if data is None:
        return ""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    out: list[str] = []
    for b in data:
        if b in _NAMED:
            out.append(_NAMED[b])
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append(f"\\x{b:02x}")
    return "".join(out)


def hexdump(data: bytes | None) -> str:
    """Space-separated hex bytes, 16 a line, as in a capture viewer."""
    if not data:
        return ""
    lines = []
    for i in range(0, len(data), 16):
        chunk = data[i:i + 16]
        lines.append(f"{i:04x}  " + " ".join(f"{b:02x}" for b in chunk))
    return "\n".join(lines)


def h(value: object) -> str:
    """HTML-escape anything (None as empty)."""
    return "" if value is None else escape(str(value), quote=True)

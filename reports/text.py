"""Bytes and values as a reviewer can read them: control bytes escaped, hex dumps, HTML-safe."""
from __future__ import annotations

from html import escape

from evidence.text import printable  # noqa: F401 (the report's name for it)


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

"""Strict RFC 7252 message-format checks that aiocoap's decoder lets through or rejects.

The conformance suite needs to say *why* a datagram is wrong, not just that aiocoap
refused it, so this walks the bytes itself (headers only; no codec).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OptionSpec:
    """RFC 7252 Table 4 (plus RFC 7641/7959/7967) format of one option."""

    name: str
    min_len: int
    max_len: int
    repeatable: bool = False
    uint: bool = False


KNOWN_OPTIONS: dict[int, OptionSpec] = {
    1: OptionSpec("If-Match", 0, 8, repeatable=True),
    3: OptionSpec("Uri-Host", 1, 255),
    4: OptionSpec("ETag", 1, 8, repeatable=True),
    5: OptionSpec("If-None-Match", 0, 0),
    6: OptionSpec("Observe", 0, 3, uint=True),
    7: OptionSpec("Uri-Port", 0, 2, uint=True),
    8: OptionSpec("Location-Path", 0, 255, repeatable=True),
    11: OptionSpec("Uri-Path", 0, 255, repeatable=True),
    12: OptionSpec("Content-Format", 0, 2, uint=True),
    14: OptionSpec("Max-Age", 0, 4, uint=True),
    15: OptionSpec("Uri-Query", 0, 255, repeatable=True),
    17: OptionSpec("Accept", 0, 2, uint=True),
    20: OptionSpec("Location-Query", 0, 255, repeatable=True),
    23: OptionSpec("Block2", 0, 3, uint=True),
    27: OptionSpec("Block1", 0, 3, uint=True),
    28: OptionSpec("Size2", 0, 4, uint=True),
    35: OptionSpec("Proxy-Uri", 1, 1034),
    39: OptionSpec("Proxy-Scheme", 1, 255),
    60: OptionSpec("Size1", 0, 4, uint=True),
    258: OptionSpec("No-Response", 0, 1, uint=True),
}

RESERVED_CODE_CLASSES = (1, 6, 7)


def _name(number: int) -> str:
    spec = KNOWN_OPTIONS.get(number)
    return f"{number} ({spec.name})" if spec else str(number)


def _extended(nibble: int, data: bytes, pos: int, what: str) -> tuple[int, int]:
    if nibble < 13:
        return nibble, pos
    width = 1 if nibble == 13 else 2
    if pos + width > len(data):
        raise ValueError(f"truncated option: extended {what} missing")
    base = 13 if nibble == 13 else 269
    return int.from_bytes(data[pos : pos + width], "big") + base, pos + width


def _header_violations(raw: bytes) -> tuple[list[str], int]:
    """Fixed header and token; returns (violations, offset of options or -1 to stop)."""
    out: list[str] = []
    if len(raw) < 4:
        return [f"truncated header: {len(raw)} bytes, need 4"], -1
    version, mtype, tkl = raw[0] >> 6, (raw[0] >> 4) & 3, raw[0] & 0x0F
    code = raw[1]
    if version != 1:
        out.append(f"version {version}, must be 1")
    if tkl > 8:
        out.append(f"TKL {tkl} is reserved (9-15)")
        return out, -1
    if len(raw) < 4 + tkl:
        out.append(f"token shorter than TKL: {len(raw) - 4} of {tkl} bytes")
        return out, -1
    cls = code >> 5
    if cls in RESERVED_CODE_CLASSES:
        out.append(f"reserved code class {cls} (code {cls}.{code & 0x1F:02d})")
    if code == 0:
        if tkl:
            out.append("Empty message (0.00) with a token")
        if len(raw) > 4 + tkl:
            out.append("Empty message (0.00) with options or payload")
    elif mtype == 2 and cls == 0:
        out.append(f"request code 0.{code & 0x1F:02d} on an ACK")
    elif mtype == 3:
        out.append(f"RST must be empty, has code {cls}.{code & 0x1F:02d}")
    return out, 4 + tkl


def _option_violations(raw: bytes, pos: int) -> list[str]:
    out: list[str] = []
    number = 0
    seen: dict[int, int] = {}
    while pos < len(raw):
        head = raw[pos]
        if head == 0xFF:
            if pos + 1 == len(raw):
                out.append("payload marker with no payload")
            break
        dn, ln = head >> 4, head & 0x0F
        if dn == 15:
            out.append(f"option delta 15 is reserved (byte 0x{head:02x} at offset {pos})")
            break
        if ln == 15:
            out.append(f"option length 15 is reserved (byte 0x{head:02x} at offset {pos})")
            break
        try:
            delta, p = _extended(dn, raw, pos + 1, "delta")
            length, p = _extended(ln, raw, p, "length")
        except ValueError as e:
            out.append(f"{e} at offset {pos}")
            break
        number += delta
        if number > 0xFFFF:
            out.append(f"option number {number} exceeds 65535")
            break
        if p + length > len(raw):
            out.append(
                f"truncated option {_name(number)}: value {length} bytes, {len(raw) - p} left"
            )
            break
        value = raw[p : p + length]
        spec = KNOWN_OPTIONS.get(number)
        if spec is not None:
            seen[number] = seen.get(number, 0) + 1
            if seen[number] == 2 and not spec.repeatable:
                out.append(f"non-repeatable option {_name(number)} repeated")
            if not spec.min_len <= length <= spec.max_len:
                out.append(
                    f"option {_name(number)} length {length} outside {spec.min_len}-{spec.max_len}"
                )
            if spec.uint and length and value[0] == 0:
                out.append(f"uint option {_name(number)} not minimally encoded ({value.hex()})")
        pos = p + length
    return out


def violations(raw: bytes) -> list[str]:
    """Every RFC 7252 message-format violation found in `raw` (empty list: well formed)."""
    out, pos = _header_violations(raw)
    if pos >= 0:
        out.extend(_option_violations(raw, pos))
    return out

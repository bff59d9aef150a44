"""Tokenizer and typed readers for AT parameters: quotes honoured, numbers may be quoted."""
from __future__ import annotations

from dataclasses import dataclass


class ParamError(ValueError):
    """A parameter is missing, malformed or out of range; the command answers an error."""


@dataclass(frozen=True)
class Param:
    text: str
    quoted: bool

    @property
    def empty(self) -> bool:
        return self.text == "" and not self.quoted


def tokenize(s: str) -> list[Param]:
    """Split on commas outside double quotes; spaces around unquoted tokens are dropped."""
    if s == "":
        return []
    out: list[Param] = []
    i, n = 0, len(s)
    while True:
        while i < n and s[i] == " ":
            i += 1
        if i < n and s[i] == '"':
            j = s.find('"', i + 1)
            if j < 0:
                raise ParamError("unterminated quote")
            out.append(Param(s[i + 1 : j], True))
            i = j + 1
            while i < n and s[i] == " ":
                i += 1
            if i < n and s[i] != ",":
                raise ParamError("text after closing quote")
        else:
            j = s.find(",", i)
            j = n if j < 0 else j
            out.append(Param(s[i:j].strip(" "), False))
            i = j
        if i >= n:
            return out
        i += 1  # skip the comma
        if i >= n:
            out.append(Param("", False))
            return out


def as_int(p: Param, lo: int, hi: int) -> int:
    """Decimal integer in [lo, hi]; quoted digits accepted."""
    t = p.text
    if not t.isdigit() or not t.isascii():
        raise ParamError(f"not a number: {t!r}")
    v = int(t)
    if not lo <= v <= hi:
        raise ParamError(f"{v} outside {lo}-{hi}")
    return v


def as_bytes(p: Param) -> bytes:
    """A string parameter's bytes (lines are decoded with surrogateescape, so bytes round-trip)."""
    return p.text.encode("utf-8", "surrogateescape")


def as_hex(p: Param) -> bytes:
    t = p.text
    if len(t) % 2 or any(c not in "0123456789abcdefABCDEF" for c in t):
        raise ParamError(f"not a hex string: {t!r}")
    return bytes.fromhex(t)


def as_keyword(p: Param) -> str:
    return p.text.lower()

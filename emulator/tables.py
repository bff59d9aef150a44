"""The document's Table 2 (options) and Table 3 (codes) as the emulator's own data (it does not mirror spec/)."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class OptFormat(Enum):
    OPAQUE = "opaque"
    STRING = "string"
    EMPTY = "empty"
    UINT = "uint"


@dataclass(frozen=True)
class OptionDef:
    number: int
    name: str
    fmt: OptFormat
    min_len: int
    max_len: int


_O, _S, _E, _U = OptFormat.OPAQUE, OptFormat.STRING, OptFormat.EMPTY, OptFormat.UINT

OPTION_TABLE: dict[int, OptionDef] = {
    o.number: o
    for o in (
        OptionDef(1, "If-Match", _O, 0, 8),
        OptionDef(3, "Uri-Host", _S, 1, 255),
        OptionDef(4, "ETag", _O, 1, 8),
        OptionDef(5, "If-None-Match", _E, 0, 0),
        OptionDef(7, "Uri-Port", _U, 0, 2),
        OptionDef(8, "Location-Path", _S, 0, 255),
        OptionDef(11, "Uri-Path", _S, 0, 255),
        OptionDef(12, "Content-Format", _U, 0, 2),
        OptionDef(14, "Max-Age", _U, 0, 4),
        OptionDef(15, "Uri-Query", _S, 0, 255),
        OptionDef(17, "Accept", _U, 0, 2),
        OptionDef(20, "Location-Query", _S, 0, 255),
        OptionDef(35, "Proxy-Uri", _S, 1, 1034),
        OptionDef(39, "Proxy-Scheme", _S, 1, 255),
        OptionDef(60, "Size1", _U, 0, 4),
    )
}

#: Table 3 <code_value>s (26 rows).
CODE_VALUES: frozenset[int] = frozenset(
    (0, 1, 2, 3, 4, 65, 66, 67, 68, 69, 128, 129, 130, 131, 132, 133, 134, 140, 141, 143,
     160, 161, 162, 163, 164, 165)
)

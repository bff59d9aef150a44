"""Process-wide settings from the command line: time scale, response latency, faults, field knobs."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .faults import Faults
from .field import FieldKnobs


@dataclass(frozen=True)
class Latency:
    """Milliseconds before a final result code, per command name ("AT+QCOAPCFG") or "default"."""

    default_ms: float = 0.0
    per_command: dict[str, float] = field(default_factory=dict)

    @classmethod
    def parse(cls, spec: str | None) -> "Latency":
        if spec is None or spec == "":
            return cls()
        try:
            return cls(float(spec))
        except ValueError:
            pass
        table = json.loads(Path(spec).read_text())
        if not isinstance(table, dict):
            raise ValueError("latency file must hold a JSON object")
        per = {str(k).upper(): float(v) for k, v in table.items()}
        return cls(per.pop("DEFAULT", 0.0), per)

    def seconds(self, command: str) -> float:
        return self.per_command.get(command.upper(), self.default_ms) / 1000.0


@dataclass(frozen=True)
class Config:
    time_scale: float = 1.0
    latency: Latency = field(default_factory=Latency)
    faults: Faults = field(default_factory=Faults)
    knobs: FieldKnobs = field(default_factory=FieldKnobs)

    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale

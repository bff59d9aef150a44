"""What the relay does to a datagram: the rules a test installs and the record of each action.

A rule names a direction ("up": DUT to server, "down": server to DUT) and which datagram of
that direction it applies to (``nth``, 1-based since the last reset; None = every one). The
first live rule that matches a datagram decides its fate; no rule means "forward".
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

UP, DOWN = "up", "down"
DIRECTIONS = (UP, DOWN)


class Kind(str, Enum):
    DROP = "drop"
    DELAY = "delay"
    DUPLICATE = "duplicate"
    REORDER = "reorder"  # hold this one, release it right after the next one in its direction


@dataclass
class Rule:
    """One impairment; ``count`` limits how many datagrams it may take (None = unlimited)."""

    kind: Kind
    direction: str
    nth: int | None = None
    delay: float = 0.0  # DELAY: seconds; REORDER: longest hold if no next datagram comes
    copies: int = 2  # DUPLICATE: copies in total
    count: int | None = None
    hits: int = 0

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be {UP!r} or {DOWN!r}, not {self.direction!r}")
        if self.nth is not None and self.nth < 1:
            raise ValueError("nth counts from 1")

    def matches(self, direction: str, index: int) -> bool:
        if self.count is not None and self.hits >= self.count:
            return False
        return direction == self.direction and (self.nth is None or self.nth == index)

    def describe(self) -> str:
        which = "every datagram" if self.nth is None else f"datagram #{self.nth}"
        extra = {Kind.DELAY: f" by {self.delay:.3f} s", Kind.DUPLICATE: f" x{self.copies}"}.get(self.kind, "")
        return f"{self.kind.value} {which} {self.direction}{extra}"


@dataclass(frozen=True)
class Action:
    """What the relay did with one datagram, when (time.monotonic(), the server's clock)."""

    time: float
    direction: str
    index: int  # the datagram's number in its direction since the last reset
    action: str  # forward drop delay duplicate hold release foreign (a stranger, ignored)
    size: int
    peer: tuple[str, int]  # the DUT's address (the relay's client side)
    note: str = ""

    def row(self, t0: float) -> tuple[str, str, int, str, int, str]:
        return (f"{self.time - t0:.4f}", self.direction, self.index, self.action, self.size, self.note)

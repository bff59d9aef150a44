"""Scripted answers, modelled on Californium's LockstepEndpoint.

A test installs `Rule`s; the first live rule matching an incoming CON/NON decides the
answer as a list of actions. Actions are plain data; `plan()` turns them into `Send`s
(bytes + delay) that the server's loop puts on its timer heap, so nothing here sleeps.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Optional, Protocol, Sequence, Union

import aiocoap
from aiocoap import optiontypes

from .records import CoapView, Datagram

CON, NON, ACK, RST = 0, 1, 2, 3
OptionList = Sequence[tuple[int, bytes]]


def code_int(code: Union[int, str]) -> int:
    """Accept 69, "2.05" or "2.5"."""
    if isinstance(code, str):
        cls, detail = code.split(".")
        return (int(cls) << 5) | int(detail)
    return int(code)


@dataclass
class Piggyback:
    """Response in the ACK (CON request) or as a NON (NON request)."""

    code: Union[int, str]
    payload: bytes = b""
    options: OptionList = ()
    mid: Optional[int] = None
    token: Optional[bytes] = None


@dataclass
class EmptyAck:
    """Empty ACK with the request's MID (first half of a separate response)."""

    mid: Optional[int] = None


@dataclass
class SeparateResponse:
    """A response in its own CON/NON after `delay` s; retransmitted only if asked."""

    code: Union[int, str]
    payload: bytes = b""
    options: OptionList = ()
    confirmable: bool = True
    delay: float = 0.0
    token: Optional[bytes] = None
    mid: Optional[int] = None
    retransmit: bool = False


@dataclass
class Reset:
    """RST with the request's MID."""

    mid: Optional[int] = None


@dataclass
class Silence:
    """No answer at all."""


@dataclass
class SiteAnswer:
    """What the default resources would answer (useful inside Duplicate)."""


@dataclass
class Duplicate:
    """Send the bytes of `action` `times` times in total (same MID, same token)."""

    action: "Action"
    times: int = 2
    spacing: float = 0.0  # seconds between copies


@dataclass
class Raw:
    """These exact bytes, after `delay` s."""

    data: bytes
    delay: float = 0.0


Action = Union[Piggyback, EmptyAck, SeparateResponse, Reset, Silence, SiteAnswer, Duplicate, Raw]


@dataclass
class Send:
    """One planned transmission."""

    data: bytes
    delay: float = 0.0
    retransmit: bool = False


@dataclass
class Rule:
    """Match an incoming CON/NON; None fields match anything; count None = unlimited."""

    actions: list[Action]
    mtype: Optional[int] = None
    code: Optional[Union[int, str]] = None
    uri_path: Optional[str] = None  # "19" or "a/b", no leading slash
    predicate: Optional[Callable[[Datagram], bool]] = None
    count: Optional[int] = None
    hits: int = 0

    def live(self) -> bool:
        return self.count is None or self.hits < self.count

    def matches(self, dgram: Datagram, view: CoapView) -> bool:
        if not self.live():
            return False
        if self.mtype is not None and view.mtype != self.mtype:
            return False
        if self.code is not None and view.code != code_int(self.code):
            return False
        if self.uri_path is not None and view.uri_path != self.uri_path.strip("/"):
            return False
        return self.predicate is None or bool(self.predicate(dgram))


class Rules:
    """Ordered, lock-protected rule list; the server thread asks `pick()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []

    def add(self, rule: Rule) -> Rule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def snapshot(self) -> list[Rule]:
        with self._lock:
            return list(self._rules)

    def pick(self, dgram: Datagram, view: CoapView) -> Optional[Rule]:
        with self._lock:
            for rule in self._rules:
                try:
                    hit = rule.matches(dgram, view)
                except Exception:
                    hit = False
                if hit:
                    rule.hits += 1
                    return rule
        return None


class PlanContext(Protocol):
    def next_mid(self) -> int: ...

    def site_answer(self, dgram: Datagram, view: CoapView) -> list[Send]: ...


def build(
    mtype: int,
    code: Union[int, str],
    mid: int,
    token: bytes = b"",
    options: OptionList = (),
    payload: bytes = b"",
) -> bytes:
    """Serialise with aiocoap (options go out sorted by number, as the RFC requires)."""
    msg = aiocoap.Message(code=code_int(code), payload=payload)
    msg.mtype, msg.mid, msg.token = mtype, mid, token
    for number, value in options:
        msg.opt.add_option(optiontypes.OpaqueOption(number, bytes(value)))
    return msg.encode()


def plan(action: Action, view: CoapView, dgram: Datagram, ctx: PlanContext) -> list[Send]:
    """The transmissions `action` makes in answer to `view`."""
    if isinstance(action, Piggyback):
        token = view.token if action.token is None else action.token
        if view.mtype == CON:
            mtype, mid = ACK, view.mid if action.mid is None else action.mid
        else:
            mtype, mid = NON, ctx.next_mid() if action.mid is None else action.mid
        return [Send(build(mtype, action.code, mid, token, action.options, action.payload))]
    if isinstance(action, EmptyAck):
        return [Send(build(ACK, 0, view.mid if action.mid is None else action.mid))]
    if isinstance(action, Reset):
        return [Send(build(RST, 0, view.mid if action.mid is None else action.mid))]
    if isinstance(action, SeparateResponse):
        mtype = CON if action.confirmable else NON
        mid = ctx.next_mid() if action.mid is None else action.mid
        token = view.token if action.token is None else action.token
        data = build(mtype, action.code, mid, token, action.options, action.payload)
        return [Send(data, action.delay, action.retransmit and action.confirmable)]
    if isinstance(action, Silence):
        return []
    if isinstance(action, SiteAnswer):
        return ctx.site_answer(dgram, view)
    if isinstance(action, Raw):
        return [Send(bytes(action.data), action.delay)]
    if isinstance(action, Duplicate):
        inner = plan(action.action, view, dgram, ctx)
        out: list[Send] = []
        for copy in range(max(1, action.times)):
            for s in inner:
                out.append(Send(s.data, s.delay + copy * action.spacing, s.retransmit and copy == 0))
        return out
    raise TypeError(f"unknown action {action!r}")


__all__ = [
    "Action",
    "Duplicate",
    "EmptyAck",
    "Piggyback",
    "Raw",
    "Reset",
    "Rule",
    "Rules",
    "SeparateResponse",
    "Send",
    "Silence",
    "SiteAnswer",
    "build",
    "code_int",
    "plan",
]

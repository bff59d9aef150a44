"""Splitting a command line into name, form and parameters, and the handler registry."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable

from .module import HostIO, Modem
from .params import Param, tokenize
from .results import Final, cme

TEST, READ, WRITE, EXEC = "test", "read", "write", "exec"


@dataclass(frozen=True)
class Command:
    name: str  # upper case, e.g. "+QCOAPCFG", "I", "E", ""
    form: str
    params: list[Param]
    arg: str = ""  # basic commands: the text after the letter ("0" in ATE0)

    @property
    def label(self) -> str:
        """Name used for per-command latency, e.g. "AT+QCOAPCFG", "ATE"."""
        return "AT" + self.name


Handler = Callable[[Command, Modem, HostIO], Awaitable[Final]]


@dataclass(frozen=True)
class Entry:
    handler: Handler
    param_error: Final  # the answer when a handler raises ParamError


REGISTRY: dict[str, Entry] = {}


def command(*names: str, param_error: Final | None = None) -> Callable[[Handler], Handler]:
    """Register a handler; generic commands default to +CME ERROR: 50 for bad parameters."""

    def register(fn: Handler) -> Handler:
        for n in names:
            REGISTRY[n.upper()] = Entry(fn, param_error or cme(50))
        return fn

    return register


def parse(body: str) -> Command:
    """body is the line without its leading AT. Raises ParamError on bad quoting."""
    if body == "":
        return Command("", EXEC, [])
    if body[0] in "+&":
        i = 1
        while i < len(body) and (body[i].isalnum() or body[i] == "_"):
            i += 1
        name, rest = body[:i].upper(), body[i:]
        if rest == "=?":
            return Command(name, TEST, [])
        if rest == "?":
            return Command(name, READ, [])
        if rest.startswith("="):
            return Command(name, WRITE, tokenize(rest[1:]))
        if rest == "":
            return Command(name, EXEC, [])
        return Command(name + "\0bad", EXEC, [])
    return Command(body[0].upper(), EXEC, [], body[1:])

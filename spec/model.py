"""Typed building blocks for the document-as-data: commands, parameters, tables, requirements."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Verdict(str, Enum):
    """How a deviation is judged (see DESIGN.md, Verdicts)."""

    CONFORMANCE = "conformance"  # the document states it
    RFC7252 = "rfc7252"  # RFC 7252 states it and the document defers to it
    OBSERVATION = "observation"  # the document is silent: record, do not fail


class ParamType(str, Enum):
    INTEGER = "integer"
    STRING = "string"
    HEX = "hex"  # hex string (token, opaque option values)
    KEYWORD = "keyword"  # the quoted sub-command of AT+QCOAPCFG


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.low <= value <= self.high

    @property
    def text(self) -> str:
        """The range as a test command prints it: ``(0-5)``."""
        return f"({self.low}-{self.high})"


@dataclass(frozen=True)
class Parameter:
    """One ``<name>`` of a command, with what the document says of it."""

    name: str
    type: ParamType
    range: IntRange | None = None
    choices: tuple[int, ...] | None = None  # enumerated values (<mode>, <type>, <DTLS_enable>)
    default: int | str | None = None
    max_length: int | None = None  # bytes, for strings
    description: str = ""

    @property
    def valid_values(self) -> tuple[int, ...]:
        if self.choices is not None:
            return self.choices
        if self.range is not None:
            return (self.range.low, self.range.high)
        return ()

    def accepts(self, value: int) -> bool:
        if self.choices is not None:
            return value in self.choices
        if self.range is not None:
            return value in self.range
        return True

    @property
    def boundary_cases(self) -> tuple[tuple[int, bool], ...]:
        """(value, accepted) at each bound of the range and just outside it."""
        if self.choices is not None:
            low, high = min(self.choices), max(self.choices)
        elif self.range is not None:
            low, high = self.range.low, self.range.high
        else:
            return ()
        return ((low, True), (high, True), (low - 1, False), (high + 1, False))


class FormKind(str, Enum):
    TEST = "test"
    READ = "read"
    WRITE = "write"
    EXECUTION = "execution"


@dataclass(frozen=True)
class CommandForm:
    """One row of a command's table: its syntax and the responses it documents."""

    kind: FormKind
    syntax: str
    responses: tuple[str, ...]
    documented: bool = True  # False: Table 1 names the form but the command does not define it


@dataclass(frozen=True)
class Command:
    name: str  # e.g. "AT+QCOAPCFG"
    tag: str  # requirement id prefix, e.g. "CFG"
    section: str
    title: str
    forms: tuple[CommandForm, ...]
    parameters: tuple[Parameter, ...]
    max_response_time: float  # seconds
    max_response_note: str = ""
    characteristics: str = ""

    @property
    def prefix(self) -> str:
        """The response prefix, ``+QCOAPCFG``."""
        return "+" + self.name[3:]

    def form(self, kind: FormKind) -> CommandForm:
        for form in self.forms:
            if form.kind is kind:
                return form
        raise KeyError(f"{self.name} has no {kind.value} form")

    def has_form(self, kind: FormKind) -> bool:
        return any(f.kind is kind and f.documented for f in self.forms)

    def param(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(f"{self.name} has no parameter {name}")


class OptionFormat(str, Enum):
    OPAQUE = "opaque"
    STRING = "string"
    EMPTY = "empty"
    UINT = "unsigned integer"


@dataclass(frozen=True)
class OptionDef:
    """A row of Table 2."""

    number: int
    name: str
    format: OptionFormat
    min_length: int
    max_length: int
    repeatable: bool  # RFC 7252 Table 4, which the document defers to

    @property
    def max_uint(self) -> int:
        return (1 << (8 * self.max_length)) - 1


@dataclass(frozen=True)
class CodeDef:
    """A row of Table 3: ``<code_value>`` = c x 32 + dd."""

    value: int
    text: str  # "c.dd"
    meaning: str

    @property
    def code_class(self) -> int:
        return self.value >> 5

    @property
    def detail(self) -> int:
        return self.value & 0x1F

    @property
    def is_request(self) -> bool:
        return self.code_class == 0 and self.value != 0

    @property
    def is_response(self) -> bool:
        return self.code_class in (2, 4, 5)


@dataclass(frozen=True)
class ResultCode:
    """A row of Table 4."""

    code: int
    meaning: str


@dataclass(frozen=True)
class UrcFormat:
    name: str  # "+QCOAPRECV"
    section: str
    template: str  # as the document prints it
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Requirement:
    """One checkable statement of the document (or of RFC 7252 where the document defers)."""

    id: str
    section: str
    text: str
    verdict: Verdict = Verdict.CONFORMANCE
    #: observation only: why the document is silent here (spec.verdicts; README lists them)
    silent_reason: str = ""
    #: the assertion that judges it, in the document's terms (the traceability matrix shows it)
    judged_by: str = ""


@dataclass(frozen=True)
class Erratum:
    """An inconsistency in the document and how the suite reads it."""

    id: str
    where: str
    document_says: str
    reading: str
    related: tuple[str, ...] = field(default_factory=tuple)

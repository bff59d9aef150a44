"""The verdict rule, written once: what the document gives a statement decides how a deviation is judged.

A requirement is **conformance** wherever the document gives a value, a range, a closed list, a
format or an order (including "outside the documented domain is rejected"); **rfc7252** where
the document defers to RFC 7252 and the RFC gives it; **observation** only where the document is
silent, and then the reason it is silent is named (the README lists them) and the test still
asserts what can be asserted (the module answers, the answer is well-formed, nothing malformed or
reserved reaches the wire).
"""
from __future__ import annotations

from enum import Enum

from .model import Verdict


class Basis(str, Enum):
    """What the document gives for a statement."""

    VALUE = "a value"
    RANGE = "a range"
    CLOSED_LIST = "a closed list"
    FORMAT = "a format"
    ORDER = "an order"
    DOMAIN = "a domain: outside it is rejected"
    RFC7252 = "RFC 7252, to which the document defers"
    SILENT = "nothing: the document is silent"


def basis_of(section: str, silent_reason: str = "") -> Basis:
    """A statement with a reason for silence is SILENT; one from RFC 7252 is RFC7252; else the
    document states it (the finer kinds only matter for reading, not for the verdict)."""
    if silent_reason:
        return Basis.SILENT
    if section.startswith("RFC"):
        return Basis.RFC7252
    return Basis.VALUE


def verdict_for(basis: Basis) -> Verdict:
    """The one rule: silent -> observation, RFC 7252 -> rfc7252, anything stated -> conformance."""
    if basis is Basis.SILENT:
        return Verdict.OBSERVATION
    if basis is Basis.RFC7252:
        return Verdict.RFC7252
    return Verdict.CONFORMANCE


def verdict_of(section: str, silent_reason: str = "") -> Verdict:
    return verdict_for(basis_of(section, silent_reason))


#: Verdict classes whose tests must hold an assertion a deviating module fails.
JUDGED = (Verdict.CONFORMANCE, Verdict.RFC7252)

"""Parametrized cases generated from ``spec/``: every bound, just outside it, and malformed forms.

Nothing here restates the document: ranges, defaults and keywords come from ``spec``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest

from spec import CFG_SETTINGS, CfgSetting, Parameter
from spec.commands import CLIENT_ID


@dataclass(frozen=True)
class WriteCase:
    """One write command line and whether the document says the module accepts it."""

    id: str
    line: str
    accepted: bool
    requirements: tuple[str, ...]
    readback: tuple[str, int, tuple[int, ...]] | None = None  # (keyword, client, values)

    def param(self) -> object:
        return pytest.param(self, id=self.id, marks=pytest.mark.req(*self.requirements))


def verdict_word(accepted: bool) -> str:
    return "accepted" if accepted else "rejected"


def bound_params(param: Parameter, build: Callable[[int], object] = lambda value: value) -> list[object]:
    """``(build(value), accepted)`` at each bound of ``param`` and just outside it, with readable
    ids such as ``port-65536-rejected``."""
    return [pytest.param(build(value), accepted, id=f"{param.name}-{value}-{verdict_word(accepted)}")
            for value, accepted in param.boundary_cases]


def _valid_values(setting: CfgSetting) -> list[int]:
    """A valid value for each parameter: its default, or its low bound."""
    return [p.default if isinstance(p.default, int) else p.valid_values[0] for p in setting.parameters]


def cfg_write_cases() -> list[WriteCase]:
    """Each parameter of each AT+QCOAPCFG form at each bound and just outside it."""
    cases: list[WriteCase] = []
    for setting in CFG_SETTINGS:
        req_range = f"CFG-{setting.keyword.upper()}-RANGE"
        req_write = f"CFG-{setting.keyword.upper()}-WRITE"
        base = _valid_values(setting)
        for index, param in enumerate(setting.parameters):
            for value, accepted in param.boundary_cases:
                values = list(base)
                values[index] = value
                cases.append(WriteCase(
                    f"{setting.keyword}-{param.name}-{value}-{verdict_word(accepted)}",
                    setting.write(0, *values), accepted, (req_range, req_write),
                    (setting.keyword, 0, tuple(values)) if accepted else None))
        for value, accepted in CLIENT_ID.boundary_cases:
            cases.append(WriteCase(
                f"{setting.keyword}-clientID-{value}-{verdict_word(accepted)}",
                setting.write(value, *base), accepted, ("CFG-CLIENTID-RANGE", req_write),
                (setting.keyword, value, tuple(base)) if accepted else None))
    return cases


def cfg_malformed_cases() -> list[WriteCase]:
    """Missing, empty, non-numeric and extra parameters, and keywords the document does not know."""
    cases: list[WriteCase] = []
    for setting in CFG_SETTINGS:
        k = setting.keyword
        values = [str(v) for v in _valid_values(setting)]
        head = f'AT+QCOAPCFG="{k}"'
        variants = {
            "no-clientID": head,
            "empty-clientID": f"{head},",
            "nonnumeric-clientID": f"{head},x",
            "empty-first-value": ",".join([head, "0", "", *values[1:]]),
            "nonnumeric-first-value": ",".join([head, "0", "abc", *values[1:]]),
            "extra-parameter": ",".join([head, "0", *values, "1"]),
        }
        if setting.all_or_none and len(values) > 1:
            variants["only-first-value"] = ",".join([head, "0", values[0]])
        for name, line in variants.items():
            reqs = ("CFG-MALFORMED", "CFG-TRANS-BOTH") if name == "only-first-value" else ("CFG-MALFORMED",)
            cases.append(WriteCase(f"{k}-{name}-rejected", line, False, reqs))
    cases.append(WriteCase("unknown-keyword-rejected", 'AT+QCOAPCFG="pdpctx",0,1', False,
                           ("CFG-MALFORMED",)))
    cases.append(WriteCase("no-keyword-rejected", "AT+QCOAPCFG=0,1", False, ("CFG-MALFORMED",)))
    return cases

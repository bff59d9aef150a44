"""From run results to the self-check's verdicts: which tests caught each fault, and the clean runs.

A test catches a fault when it fails (or errors) under the fault and passed on the clean emulator
in the same selection: a test that is red on the clean emulator too proves nothing about the fault.
"""
from __future__ import annotations

from dataclasses import dataclass

from .catalogue import Check
from .runner import RunResult

CAUGHT, MISSED = "caught", "MISSED"


@dataclass(frozen=True)
class FaultVerdict:
    fault: str
    description: str
    selection: str
    caught_by: tuple[str, ...]
    selected: int  # tests the selection ran under the fault
    problem: str  # the fault run said nothing usable (hung, no test selected, ...)
    duration: float

    @property
    def status(self) -> str:
        return CAUGHT if self.caught_by and not self.problem else MISSED


@dataclass(frozen=True)
class CleanVerdict:
    selection: str
    passed: int
    not_passed: tuple[tuple[str, str], ...]  # (nodeid, outcome) of every test that did not pass
    problem: str
    duration: float

    @property
    def ok(self) -> bool:
        return not self.problem and not any(o in ("failed", "error") for _, o in self.not_passed)


def clean_verdict(name: str, result: RunResult) -> CleanVerdict:
    passed = sum(1 for o in result.outcomes.values() if o == "passed")
    others = tuple(sorted((n, o) for n, o in result.outcomes.items() if o != "passed"))
    return CleanVerdict(name, passed, others, result.problem, result.duration)


def harness_verdict(check: Check, run: RunResult) -> FaultVerdict:
    """A harness check is caught when its harness tests ran and all passed."""
    passed = tuple(n for n, o in run.outcomes.items() if o == "passed")
    problem = run.problem
    if not problem and len(passed) != len(run.outcomes):
        problem = "harness test failed: " + ", ".join(n for n, o in run.outcomes.items() if o != "passed")
    return FaultVerdict(check.fault, check.description, check.selection_name, passed,
                        len(run.outcomes), problem, run.duration)


def fault_verdict(check: Check, faulty: RunResult, clean: RunResult) -> FaultVerdict:
    green = {n for n, o in clean.outcomes.items() if o == "passed"}
    caught = tuple(n for n in faulty.failing if n in green)
    problem = faulty.problem
    if faulty.problem.startswith("hung"):
        problem = faulty.problem + " (a fault must fail tests, not hang the run)"
    return FaultVerdict(check.fault, check.description, check.selection_name, caught,
                        len(faulty.outcomes), problem, faulty.duration)

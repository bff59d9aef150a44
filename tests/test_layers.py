"""The house's layers: every import goes downward (DESIGN.md, "Layers").

A package may import only the packages listed for it. An import the table does not allow fails
here with the file, the line and the rule, so a wrong-way import is caught the day it is written,
not when a cycle finally breaks an import at start-up.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: package -> the project packages it may import (itself always allowed)
ALLOWED: dict[str, frozenset[str]] = {
    # the document as data and the evidence model: the ground floor, no project imports
    "spec": frozenset(),
    "evidence": frozenset(),
    # one network loop, one tinydtls layer, one DTLS record reader, one address parser
    "wire": frozenset(),
    # the driver and the strategy: the AT port and the module's states, no pytest fixtures
    "dut": frozenset({"spec", "evidence"}),
    # the three programs beside the module: each stands on the wire layer alone
    "emulator": frozenset({"wire"}),
    "reference_server": frozenset({"wire"}),
    "relay": frozenset({"wire"}),
    # what differs between benches: rig files, profiles, the hardware estimate, lab places
    "lab": frozenset({"spec", "wire", "dut", "emulator"}),
    # pytest plugins: wire the parts together for the suites
    "fixtures": frozenset({"spec", "evidence", "wire", "dut", "emulator", "reference_server", "relay", "lab"}),
    "reports": frozenset({"spec", "evidence"}),
    "suites": frozenset({"spec", "evidence", "wire", "dut", "reference_server", "relay", "lab", "fixtures"}),
    # tools that run the suites or time the parts
    "selfcheck": frozenset({"emulator", "reports", "spec"}),
    "bench": frozenset({"spec", "wire", "dut", "emulator", "reference_server", "lab", "reports"}),
}
PACKAGES = frozenset(ALLOWED) | {"tests"}


def project_imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level project package) for every absolute import in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, name.split(".")[0]) for name in names if name.split(".")[0] in PACKAGES]
    return found


def wrong_way_imports(package: str) -> list[str]:
    allowed = ALLOWED[package] | {package}
    return [f"{path.relative_to(ROOT)}:{line}: {package} imports {target}"
            for path in sorted((ROOT / package).rglob("*.py"))
            for line, target in project_imports(path) if target not in allowed]


def test_every_package_is_in_the_table() -> None:
    """A new top-level package must be given its place in the layers."""
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages <= set(ALLOWED), f"packages with no place in the layers: {sorted(packages - set(ALLOWED))}"


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_go_downward(package: str) -> None:
    assert wrong_way_imports(package) == []


def test_the_checker_sees_a_wrong_way_import(tmp_path: Path) -> None:
    """The check itself has teeth: a driver that imports a pytest fixture module is reported."""
    module = tmp_path / "channel.py"
    module.write_text("from fixtures.evidence import TranscriptEntry\nimport dut.parser\n")
    assert project_imports(module) == [(1, "fixtures"), (2, "dut")]

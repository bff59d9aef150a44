"""Every test tagged with a conformance (or rfc7252) requirement asserts something about the module:
a test that cannot fail must not count in the traceability matrix (issue 16)."""
from __future__ import annotations

from pathlib import Path

from tests.conformance_audit import collect, judged_by, unjudged_tests

SYNTHETIC = '''
import pytest

@pytest.mark.req("CFG-MRT")
def test_sends_and_asserts_nothing(module):
    module.command("AT+QCOAPCFG=?")

@pytest.mark.req("CFG-MRT")
def test_asserts_only_that_a_result_came(module):
    response = module.command("AT+QCOAPCFG=?")
    assert response.final

@pytest.mark.req("CFG-MRT")
def test_asserts_on_its_own_inputs(module, value=3):
    module.command("AT+QCOAPCFG=?")
    assert value in (1, 2, 3)

def helper(m):
    assert m.command("AT").ok

@pytest.mark.req("CFG-MRT")
def test_asserts_through_a_helper(module):
    helper(module)

@pytest.mark.req("CFG-MRT")
def test_asserts_on_the_answer(module):
    response = module.command("AT+QCOAPCFG=?")
    assert response.elapsed <= 0.3

@pytest.mark.req("CLOSE-NOT-OPEN")
def test_observation_records(module):
    module.command("AT+QCOAPCLOSE=0")
'''
INI = "[pytest]\nmarkers =\n    req: ids\n    verdict: class\n"


def test_a_synthetic_suite_without_assertions_is_reported(tmp_path: Path) -> None:
    """The check has teeth: tests that assert nothing, or nothing of the module, are named."""
    (tmp_path / "test_synthetic.py").write_text(SYNTHETIC)
    (tmp_path / "pytest.ini").write_text(INI)
    tests = collect([str(tmp_path / "test_synthetic.py")], ini=str(tmp_path / "pytest.ini"))
    reported = {line.split("::")[1].split(" ")[0] for line in unjudged_tests(tests)}
    assert reported == {"test_sends_and_asserts_nothing", "test_asserts_only_that_a_result_came",
                        "test_asserts_on_its_own_inputs"}


def test_every_conformance_tagged_suite_test_asserts_on_the_module() -> None:
    tests = collect(["suites"])
    assert len(tests) > 500, f"only {len(tests)} suite tests collected"
    unjudged = unjudged_tests(tests)
    assert not unjudged, "conformance-tagged tests with no assertion on the module:\n" + "\n".join(unjudged)
    rows = judged_by(tests)
    unchecked = [rid for rid, row in rows.items() if row["verdict"] != "observation" and not row["checks"]]
    assert not unchecked, f"judged requirements no test checks: {unchecked}"

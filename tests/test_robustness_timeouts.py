"""Every test's overall time limit (fixtures/timeouts.py): computed from the rig and the CoAP timing,
and still enforced in the teardown of a test that already failed."""
from __future__ import annotations

import ast
import json
import os
import time
from pathlib import Path

import pytest

from fixtures.rig import RigConfig
from fixtures.timeouts import EMULATOR_BASE_S, hardware_base
from spec import max_transmit_wait

from .forked_pytest import runpytest_forked

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]


def root_plugins() -> list[str]:
    tree = ast.parse((ROOT / "conftest.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytest_plugins" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise AssertionError("no pytest_plugins in conftest.py")


def test_max_transmit_wait_and_the_hardware_base() -> None:
    assert max_transmit_wait(2, 5) == pytest.approx(189.0)  # RFC 7252 with the document's defaults
    assert max_transmit_wait(60, 4) == pytest.approx(2790.0)
    rig = RigConfig(dut_url="/dev/ttyUSB2")
    assert hardware_base(rig) >= rig.bring_up_timeout + 2 * 75.0


LIMITS = '''
import threading

import pytest

SCALE = 0.01


def limit(request):
    return request.node.get_closest_marker("timeout").args[0]


def test_default_timing(request):
    assert limit(request) == round({base} + 2 * 189 * SCALE, 1)


@pytest.mark.coap_timing(60, 4)
def test_marked_timing(request):
    assert limit(request) == round({base} + 2 * 2790 * SCALE, 1)


@pytest.mark.parametrize("timeout, retries", [(4, 8)])
def test_parametrized_timing(request, timeout, retries):
    assert limit(request) == round({base} + 2 * 4 * 511 * 1.5 * SCALE, 1)


@pytest.mark.timeout(7)
def test_explicit_marker_wins(request):
    assert limit(request) == 7


@pytest.fixture
def hangs_in_teardown():
    yield
    threading.Event().wait(120)  # a fixture whose clean-up never returns (a silent DUT)


def test_failed_test_with_a_hanging_teardown(hangs_in_teardown):
    assert False, "fails at once"
'''


def test_limits_and_a_bounded_teardown_after_a_failure(pytester: pytest.Pytester,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    pytester.makeconftest(f"pytest_plugins = {root_plugins()!r}\n")
    pytester.makepyfile(test_limits=LIMITS.format(base=2.0))
    started = time.monotonic()
    result = runpytest_forked(pytester, "-p", "no:cacheprovider", "--report-dir", "out", "--test-timeout=2",
                              timeout=120)
    elapsed = time.monotonic() - started
    result.assert_outcomes(passed=4, failed=1, errors=1)
    assert elapsed < 60, f"the hanging teardown was not cut: {elapsed:.0f} s"
    data = json.loads((pytester.path / "out" / "report.json").read_text())
    [hung] = [t for t in data["tests"] if "hanging_teardown" in t["nodeid"]]
    assert hung["outcome"] == "failed" and "Timeout" in hung["longrepr"] and "[teardown]" in hung["longrepr"]


def test_default_base_against_the_emulator(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    pytester.makeconftest(f"pytest_plugins = {root_plugins()!r}\n")
    pytester.makepyfile(test_limits=LIMITS.format(base=EMULATOR_BASE_S))
    result = runpytest_forked(pytester, "-p", "no:cacheprovider", "--report-dir", "out", "-k", "timing or explicit",
                              timeout=120)
    result.assert_outcomes(passed=4)

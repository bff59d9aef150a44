"""Profiles: what smoke, nightly and full select from the suites, and the hardware estimate."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab.estimate import DEFAULT_TRANS, MEAN_RANDOM_FACTOR, SHORTEST_TRANS, BenchModel, transmit_span
from lab.profiles import PROFILES, case_matches
from spec import ACK_RANDOM_FACTOR, CFG_BY_KEYWORD

from .test_rigs import run_pytest

BOUNDS = ("test_write_bounds", "test_header_bounds", "test_option_bounds", "test_open_port_bounds",
          "test_close_client_id_bounds", "test_send_bounds")  # CFG, HDR, OPT, OPEN, CLOSE, SEND


@dataclass(frozen=True)
class Estimate:
    """What ``--profile-estimate -v`` printed: the per-profile rows and every test's profile."""

    rows: dict[str, tuple[int, float, float]]  # profile -> (tests, expected s, at most s)
    assigned: dict[str, str]  # nodeid -> the smallest profile that includes it

    def members(self, profile: str) -> set[str]:
        rank = PROFILES.index(profile)
        return {n for n, p in self.assigned.items() if PROFILES.index(p) <= rank}


@pytest.fixture(scope="module")
def estimate(tmp_path_factory: pytest.TempPathFactory) -> Estimate:
    run = run_pytest(["suites", "--profile-estimate", "-v"], tmp_path_factory.mktemp("estimate"), "estimate")
    assert run.returncode == 0, run.output[-3000:]
    assert "hardware duration estimate" in run.stdout
    rows = {m.group(1): (int(m.group(2)), _seconds(m.group(3)), _seconds(m.group(4)))
            for m in re.finditer(r"^(smoke|nightly|full) +(\d+) +([\d.]+ (?:s|min)) +([\d.]+ (?:s|min))",
                                 run.stdout, re.M)}
    assigned = {m.group(2): m.group(1)
                for m in re.finditer(r"^(smoke|nightly|full) +[\d.]+s +[\d.]+s  (suites/\S+)", run.stdout, re.M)}
    return Estimate(rows, assigned)


def test_profiles_nest(estimate: Estimate) -> None:
    smoke, nightly, full = (estimate.members(p) for p in PROFILES)
    assert smoke < nightly < full
    assert [estimate.rows[p][0] for p in PROFILES] == [len(smoke), len(nightly), len(full)]


def test_smoke_is_the_documented_handful(estimate: Estimate) -> None:
    """Every test command, one bound per command, example 5.1, a CON exchange, a DTLS handshake."""
    smoke = estimate.members("smoke")
    assert len([n for n in smoke if "test_test_command_response[" in n]) == 6
    bounds = [n.split("::")[1].split("[")[0] for n in smoke if "_bounds[" in n]
    assert sorted(bounds) == sorted(BOUNDS), "not exactly one bound case per command"
    assert "suites/test_example_5_1.py::test_example_5_1" in smoke
    assert any("test_con_acknowledged[udp" in n for n in smoke)
    assert any("[dtls" in n or "test_example_5_2" in n for n in smoke), "no DTLS handshake in smoke"
    assert len(smoke) <= 20


def test_smoke_profile_runs_only_its_tests(tmp_path: Path, estimate: Estimate) -> None:
    run = run_pytest(["suites", "--profile", "smoke", "--collect-only", "-q"], tmp_path / "out", "collect")
    assert run.returncode == 0, run.output[-3000:]
    collected = {line for line in run.stdout.splitlines() if line.startswith("suites/")}
    assert collected == estimate.members("smoke")
    assert f"{len(collected)} selected" in run.stdout


def test_nightly_is_everything_but_slow(tmp_path: Path, estimate: Estimate) -> None:
    run = run_pytest(["suites", "-m", "not slow", "--collect-only", "-q"], tmp_path / "out", "collect")
    assert run.returncode == 0, run.output[-3000:]
    assert estimate.members("nightly") == {line for line in run.stdout.splitlines() if line.startswith("suites/")}
    slow = estimate.members("full") - estimate.members("nightly")
    assert slow and all("test_retransmission.py" in n for n in slow)


def test_estimate_from_the_documented_timers(estimate: Estimate) -> None:
    (_, smoke_s, _), (_, nightly_s, _), (_, full_s, full_max) = (estimate.rows[p] for p in PROFILES)
    assert smoke_s < 5 * 60, "smoke is meant to take minutes on hardware"
    assert nightly_s < 60 * 60, "nightly is meant to finish within the hour on hardware"
    # full adds the slow retransmission matrix: at least the spans of its slow trans settings
    slow_spans = sum(transmit_span(t, r, MEAN_RANDOM_FACTOR) for t, r in ((2, 8), (4, 5), (60, 4)))
    assert full_s - nightly_s >= slow_spans, (full_s, nightly_s, slow_spans)
    assert full_max > full_s > nightly_s > smoke_s


def _seconds(text: str) -> float:
    value, unit = text.split()
    return float(value) * (60 if unit == "min" else 1)


def test_spans_come_from_the_document() -> None:
    trans = CFG_BY_KEYWORD["trans"]
    assert DEFAULT_TRANS == (2, 5) == tuple(p.default for p in trans.parameters)
    assert SHORTEST_TRANS == (2, 4)
    assert transmit_span(2, 4) == 2 * 31 * ACK_RANDOM_FACTOR  # RFC 7252 MAX_TRANSMIT_WAIT at T=2, 4 retries
    model = BenchModel.load()
    assert model.command("AT+QCOAPOPEN") > model.command("AT+QCOAPCFG") > 0


@pytest.mark.parametrize("case_id, case, matches", [
    ("port-0-rejected", "port-0-rejected", True),
    ("udp-port-0-rejected", "port-0-rejected", True),
    ("port-0-rejected-dtls", "port-0-rejected", True),
    ("port-10-rejected", "port-0-rejected", False),
    ("udp-payload_length-1025-rejected", "udp-payload_length-1025-rejected", True),
    ("dtls-payload_length-1025-rejected", "udp-payload_length-1025-rejected", False),
])
def test_profile_marker_cases(case_id: str, case: str, matches: bool) -> None:
    assert case_matches(case_id, case) is matches

"""The xdist ordering: each worker's first share gets a fair part of the estimated time."""
from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.ordering import balanced_order, worksteal_shares
from lab.estimate import harness_durations, write_harness_durations


@pytest.mark.parametrize("count, workers", [(10, 4), (652, 4), (3, 2), (7, 7)])
def test_shares_match_xdist_worksteal(count: int, workers: int) -> None:
    shares = worksteal_shares(count, workers)
    assert sum(shares) == count and max(shares) - min(shares) <= 1


def test_long_tests_land_in_different_shares() -> None:
    durations = [0.1] * 40 + [27.0, 21.0, 15.0, 14.0]  # the four long ones collected last
    order = balanced_order(durations, 4)
    assert sorted(order) == list(range(len(durations)))  # a permutation: nothing lost or doubled
    shares = worksteal_shares(len(durations), 4)
    starts = [sum(shares[:i]) for i in range(4)]
    per_share = [sum(durations[j] for j in order[s:s + n]) for s, n in zip(starts, shares)]
    assert max(per_share) < 28.5, per_share  # each long test in its own share


def test_a_module_of_harness_tests_stays_in_one_share() -> None:
    """A labgrid lab or an emulator shared by a module's tests is set up once, not once per worker."""
    durations = [0.02] * 40
    groups = [None] * 20 + ["tests/test_labgrid.py"] * 6 + ["tests/test_rigs.py"] * 8 + [None] * 6
    order = balanced_order(durations, 4, groups)
    assert sorted(order) == list(range(40))
    shares = worksteal_shares(40, 4)
    starts = [sum(shares[:i]) for i in range(4)]
    share_of = {index: n for n, (s, k) in enumerate(zip(starts, shares)) for index in order[s:s + k]}
    assert len({share_of[i] for i in range(20, 26)}) == 1 and len({share_of[i] for i in range(26, 34)}) == 1
    for group in (range(20, 26), range(26, 34)):  # at the head of its share: stealing takes from the end
        start = starts[share_of[group[0]]]
        assert set(order[start:start + len(group)]) == set(group)
    # a group larger than any share is split, nothing lost
    order = balanced_order([0.02] * 12, 4, ["tests/big.py"] * 12)
    assert sorted(order) == list(range(12))


@pytest.mark.parametrize("argv, expected", [
    (["pytest", "suites", "-n", "4", "--dist", "worksteal"], 4),
    (["pytest", "suites", "-n", "4", "--dist=worksteal"], 4),
    (["pytest", "suites", "-n", "4"], 0),
])
def test_workers_read_the_controllers_command_line(argv: list[str], expected: int) -> None:
    """xdist resets -n and --dist in its workers: the ordering must read the controller's argv."""
    from types import SimpleNamespace

    from fixtures.ordering import worksteal_workers

    config = SimpleNamespace(workerinput={"mainargv": argv, "workercount": 4})
    assert worksteal_workers(config) == expected  # type: ignore[arg-type]
    assert worksteal_workers(SimpleNamespace()) == 0  # type: ignore[arg-type]


def test_harness_times_round_trip_and_a_bad_file_is_no_times(tmp_path: Path) -> None:
    path = tmp_path / "durations.json"
    write_harness_durations([{"nodeid": "tests/test_a.py::test_x", "duration": 12.345},
                             {"nodeid": "suites/test_b.py::test_y", "duration": 3.0}], path)
    assert harness_durations(path) == {"tests/test_a.py::test_x": 12.3}, "suites keep the document's estimate"
    path.write_text("[1, 2")
    assert harness_durations(path) == {} and harness_durations(tmp_path / "missing.json") == {}


def test_a_measured_harness_module_gets_a_share_of_its_own() -> None:
    """A module of sub-runs weighed at its measured 90 s keeps its worker nearly to itself; weighed
    at the 0.02 s of a test without a protocol wait, it was spread over every worker's share."""
    durations = [5.0] * 21 + [30.0] * 3
    groups = [None] * 21 + ["tests/test_lab.py"] * 3
    order = balanced_order(durations, 4, groups)
    bounds = [sum(worksteal_shares(24, 4)[:i]) for i in range(5)]
    shares = [order[a:b] for a, b in zip(bounds, bounds[1:])]
    (lab_share,) = [s for s in shares if 21 in s]
    assert {21, 22, 23} <= set(lab_share) and lab_share[:3] == [21, 22, 23], "together, first in their share"
    assert len(lab_share) - 3 == min(len([i for i in s if i < 21]) for s in shares)

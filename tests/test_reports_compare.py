"""The release comparison: regressions fail it, everything else is reported."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from reports.__main__ import main
from reports.compare import compare, load, to_html


def _run(revision: str = "BG96MAR02A07M1G_01.019.01.019") -> dict[str, Any]:
    def test(nodeid: str, outcome: str, obs: list[tuple[str, str]] = (), timings: list[tuple[str, float]] = (),
             duration: float = 0.01) -> dict[str, Any]:
        return {"nodeid": nodeid, "outcome": outcome, "duration": duration, "verdict": "conformance",
                "requirements": [], "td": [], "observations": [{"key": k, "value": v, "note": ""} for k, v in obs],
                "timings": [{"command": c, "line": c, "elapsed": e, "maximum": 0.3} for c, e in timings],
                "longrepr": "" if outcome == "passed" else "assert 0"}
    return {"schema": "bg96-coap-results/1", "complete": True,
            "run": {"info": {"revision": [revision]}, "started": "2024-01-01T00:00:00", "suite_version": "0.1.0"},
            "tests": [
                test("suites/test_cfg.py::test_trans_range", "passed",
                     timings=[("AT+QCOAPCFG", 0.010), ("AT+QCOAPCFG", 0.012), ("AT+QCOAPCFG", 0.011)]),
                test("suites/test_cfg.py::test_pdpcid", "passed"),
                test("suites/test_close.py::test_close_not_open", "passed", obs=[("CLOSE-NOT-OPEN", "ERROR")]),
                test("suites/test_open.py::test_open_mrt", "failed"),
            ]}


def _write(tmp_path: Path, name: str, data: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_identical_runs_compare_clean(tmp_path: Path) -> None:
    old = _write(tmp_path, "old.json", _run())
    new = _write(tmp_path, "new.json", _run())
    out = tmp_path / "c.html"
    assert main(["compare", str(old), str(new), "--out", str(out)]) == 0
    page = out.read_text()
    for sid in ("regressions", "fixes", "new", "removed", "observations", "timings"):
        assert f'id="{sid}"' in page
    assert "No regressions" in page


def test_one_flipped_verdict_is_exactly_one_regression(tmp_path: Path, capsys: Any) -> None:
    old = _run()
    new = copy.deepcopy(old)
    new["tests"][1]["outcome"] = "failed"
    result = compare(old, new)
    assert [(r.nodeid, r.old, r.new) for r in result.regressions] == \
        [("suites/test_cfg.py::test_pdpcid", "passed", "failed")]
    assert not (result.fixes or result.new or result.removed or result.observations or result.timings)
    rc = main(["compare", str(_write(tmp_path, "o.json", old)), str(_write(tmp_path, "n.json", new)),
               "--out", str(tmp_path / "c.html")])
    assert rc == 1
    assert "REGRESSION suites/test_cfg.py::test_pdpcid" in capsys.readouterr().out


def test_fix_new_and_removed(tmp_path: Path) -> None:
    old, new = _run(), _run()
    new["tests"][3]["outcome"] = "passed"
    new["tests"].append({"nodeid": "suites/test_send.py::test_new", "outcome": "passed"})
    del new["tests"][1]
    result = compare(old, new)
    assert [f.nodeid for f in result.fixes] == ["suites/test_open.py::test_open_mrt"]
    assert [n.nodeid for n in result.new] == ["suites/test_send.py::test_new"]
    assert [r.nodeid for r in result.removed] == ["suites/test_cfg.py::test_pdpcid"]
    assert result.exit_status == 0


def test_observation_changes(tmp_path: Path) -> None:
    old, new = _run(), _run("BG96MAR02A09M1G")
    new["tests"][2]["observations"] = [{"key": "CLOSE-NOT-OPEN", "value": "OK", "note": ""},
                                       {"key": "AUTO-ACK", "value": "yes", "note": ""}]
    old["tests"][0]["observations"] = [{"key": "PDPCTXID", "value": "ERROR", "note": ""}]
    result = compare(old, new)
    changes = {o.key: (o.old, o.new) for o in result.observations}
    assert changes == {"CLOSE-NOT-OPEN": ("ERROR", "OK"), "AUTO-ACK": (None, "yes"), "PDPCTXID": ("ERROR", None)}
    assert result.exit_status == 0  # observations are reported, not judged
    assert "BG96MAR02A09M1G" in to_html(result)


def test_timing_threshold() -> None:
    old, new = _run(), _run()
    for t in new["tests"][0]["timings"]:
        t["elapsed"] *= 1.3  # median +30 %
    assert [(t.kind, t.name) for t in compare(old, new, timing_threshold=0.2).timings] == \
        [("command", "AT+QCOAPCFG")]
    assert compare(old, new, timing_threshold=0.5).timings == []
    new["tests"][1]["duration"], old["tests"][1]["duration"] = 2.0, 1.0
    assert ("test", "suites/test_cfg.py::test_pdpcid") in \
        [(t.kind, t.name) for t in compare(old, new, timing_threshold=0.5).timings]


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    good = _write(tmp_path, "good.json", _run())
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["compare", str(tmp_path / "missing.json"), str(good), "--out", str(tmp_path / "c.html")]) == 2
    assert main(["compare", str(good), str(bad), "--out", str(tmp_path / "c.html")]) == 2
    assert main(["compare", str(good), str(_write(tmp_path, "x.json", {"a": 1})),
                 "--out", str(tmp_path / "c.html")]) == 2
    assert load(good)["complete"] is True

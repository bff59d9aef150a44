"""A pytest plugin for a collect-only run: writes each test's requirement ids, verdict marker and
function to the JSON file named by $BG96_COLLECT_OUT (tests/conformance_audit.py reads it)."""
from __future__ import annotations

import json
import os

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    out = []
    for item in items:
        function = getattr(item, "function", None)
        if function is None:
            continue
        reqs: list[str] = []
        for m in item.iter_markers("req"):
            reqs.extend(str(a) for a in m.args if str(a) not in reqs)
        verdict = item.get_closest_marker("verdict")
        out.append({"nodeid": item.nodeid, "file": str(item.path), "function": function.__name__,
                    "requirements": reqs, "verdict": str(verdict.args[0]) if verdict and verdict.args else ""})
    with open(os.environ["BG96_COLLECT_OUT"], "w", encoding="utf-8") as f:
        json.dump(out, f)

"""Where a run's evidence lives: the stash keys and the output folder, shared by the fixtures
that write evidence and the report plugin that reads it."""
from __future__ import annotations

from pathlib import Path

import pytest

from .model import Evidence

#: the test's :class:`Evidence`, in ``item.stash``
EVIDENCE_KEY = pytest.StashKey[Evidence]()
#: (phase, time.monotonic() at its start) of the test, marked by the phase hooks; the test's
#: :class:`Evidence` shares this list
PHASES_KEY = pytest.StashKey[list[tuple[str, float]]]()
#: run-wide facts (module identity, DUT URL, server address), in ``config.stash``
RUN_INFO_KEY = pytest.StashKey[dict[str, str]]()


def report_dir(config: pytest.Config) -> Path:
    """``--report-dir`` (relative to where pytest was started), or ``<rootdir>/reports/out``."""
    opt = config.getoption("report_dir", default=None)
    path = Path(opt) if opt else config.rootpath / "reports" / "out"
    return path if path.is_absolute() else Path(config.invocation_params.dir) / path

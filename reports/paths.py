"""Where a run's files go; one answer for the report plugin and the fixtures that write evidence."""
from __future__ import annotations

from pathlib import Path

import pytest


def report_dir(config: pytest.Config) -> Path:
    """``--report-dir`` (relative to where pytest was started), or ``<rootdir>/reports/out``."""
    opt = config.getoption("report_dir", default=None)
    path = Path(opt) if opt else config.rootpath / "reports" / "out"
    return path if path.is_absolute() else Path(config.invocation_params.dir) / path

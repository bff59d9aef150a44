"""Every suite test records its AT transcript and response times as evidence."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _record_at(at_evidence):  # noqa: ANN001 - fixture
    """Autouse: the transcript and timings of each suite test go to its evidence."""
    return at_evidence

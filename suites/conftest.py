"""Every suite test records its AT transcript and response times as evidence."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _rig_reference_server(reference_server):  # noqa: ANN001 - fixture
    """A rig is a DUT and its reference server: start the server with the session, so every
    worker (every rig) owns one and names it in the run info even if its tests never use it."""
    return reference_server


@pytest.fixture(autouse=True)
def _record_at(at_evidence):  # noqa: ANN001 - fixture
    """Autouse: the transcript and timings of each suite test go to its evidence."""
    return at_evidence

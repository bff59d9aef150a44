"""Every suite test records its AT transcript and response times as evidence."""
from __future__ import annotations

import pytest

# helper modules of the suites: their assertions report expected and observed values too
pytest.register_assert_rewrite("suites.examples", "suites.cases", "suites.urc_values", "suites.at_checks")

from fixtures.coap import header_tracker  # noqa: E402 - after the rewrite registration


@pytest.fixture(scope="session", autouse=True)
def _track_asked(at_channel):  # noqa: ANN001 - fixture
    """From the first command on, what the AT lines ask for is followed, so every send can be
    checked against it (fixtures.coap.send_and_capture)."""
    return header_tracker(at_channel)


@pytest.fixture(scope="session", autouse=True)
def _rig_reference_server(reference_server):  # noqa: ANN001 - fixture
    """A rig is a DUT and its reference server: start the server with the session, so every
    worker (every rig) owns one and names it in the run info even if its tests never use it."""
    return reference_server


@pytest.fixture(autouse=True)
def _record_at(at_evidence):  # noqa: ANN001 - fixture
    """Autouse: the transcript and timings of each suite test go to its evidence."""
    return at_evidence

"""Root pytest configuration: the project's plugins, one module per concern."""
pytest_plugins = [
    "fixtures.plugin",  # options, rig, evidence refresh
    "fixtures.dut",  # emulator process, AT channel, bring-up, clean client
    "fixtures.evidence_fixture",  # transcript and timings per test
    "fixtures.server",  # the reference server
    "fixtures.coap",  # an opened client
    "reports.plugin",  # HTML, JSON, JUnit, traceability, errata
]

"""Root pytest configuration: the project's plugins, one module per concern."""
pytest_plugins = [
    "fixtures.plugin",  # options, rig, evidence refresh
    "fixtures.dut",  # emulator process, AT channel, bring-up, clean client
    "fixtures.profiles",  # --profile smoke|nightly|full, rig exclusions, --profile-estimate
    "fixtures.evidence_fixture",  # transcript and timings per test
    "fixtures.server",  # the reference server
    "fixtures.dtls",  # the DTLS reference server, PSK file and record layer
    "fixtures.coap",  # an opened client
    "fixtures.timescale",  # a time scale per test on the emulator (a pool of DUTs per scale)
    "fixtures.relay",  # the impairment relay between the DUT and the server
    "fixtures.reachability",  # the network path at session start: reachability, latency, attribution
    "fixtures.recovery",  # recover a DUT that stopped answering; OPEN/CLOSE result times
    "fixtures.labgrid",  # rigs as labgrid places: acquired for the run, one per worker, released
    "fixtures.ordering",  # under xdist, the longest tests first
    "fixtures.timeouts",  # an overall time limit per test, from the rig and the CoAP timing
    "reports.plugin",  # HTML, JSON, JUnit, traceability, errata
]

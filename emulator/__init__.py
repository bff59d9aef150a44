"""A model of a Quectel BG96 reached over its AT port (PTY or TCP), for running the suites without hardware."""

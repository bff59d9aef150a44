"""What differs between benches, as plain Python (no pytest): the rig schema and its TOML loader,
the profiles' selection rules and the hardware duration estimate. ``fixtures`` wires these into
pytest options and hooks; a lab script can load a rig file with :func:`lab.rig.load_rig_file`."""

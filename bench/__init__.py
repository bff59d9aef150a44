"""Benchmarks of the harness itself (run by ``./suite bench`` / ``make bench``)."""

"""The suite checks itself: every emulator fault must make some suite test fail, the clean emulator none.

``python -m selfcheck`` (``./suite selfcheck``, ``make selfcheck``) runs, for each fault of
``emulator.faults.FAULTS``, only the suite tests that fault concerns (``catalogue.py``) against an
emulator started with ``--fault NAME``, and the same selections once against a clean emulator.
"""

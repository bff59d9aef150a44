"""What the three programs' command lines share: a bad argument is one line on stderr and exit 2.

argparse prints its usage block before the error; a bench operator (or a script reading the
output) gets the one line that says what is wrong instead. ``--help`` still shows the usage.
"""
from __future__ import annotations

import argparse
import sys
from typing import NoReturn

USAGE_ERROR = 2


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with every usage error on one line: ``prog: error: what``, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def fail(prog: str, message: str) -> int:
    """Print ``prog: error: message`` (one line) and return the usage-error status for main()."""
    print(f"{prog}: error: {' '.join(str(message).split())}", file=sys.stderr)
    return USAGE_ERROR

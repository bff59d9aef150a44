"""How big a report page is, for ``./suite bench``: a full run's page must stay under 6 MB.

The benchmark (``bench/suite_runtime.py``) calls :func:`measure` on the HTML file of the
conformance run it timed; ``python -m reports.size FILE.html`` does the same by hand.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from .lazy import BLOB

LIMIT = 6 * 1024 * 1024  # bytes


@dataclass(frozen=True)
class ReportSize:
    path: Path
    total: int  # bytes of the page
    evidence: int  # bytes of packed (gzip + base64) evidence in it
    blobs: int  # tests whose evidence is packed
    limit: int = LIMIT

    @property
    def within(self) -> bool:
        return self.total <= self.limit

    def summary(self) -> str:
        mb = 1024 * 1024
        return (f"report {self.path.name}: {self.total / mb:.2f} MB ({'within' if self.within else 'OVER'} "
                f"{self.limit / mb:.0f} MB), packed evidence {self.evidence / mb:.2f} MB in {self.blobs} tests")


def measure(path: Path, limit: int = LIMIT) -> ReportSize:
    """Size of the page and of the evidence packed in it; OSError if the file cannot be read."""
    page = Path(path).read_text(encoding="utf-8", errors="replace")
    blobs = BLOB.findall(page)
    return ReportSize(Path(path), len(page.encode("utf-8")), sum(len(b) for b in blobs), len(blobs), limit)


def main(argv: list[str] | None = None) -> int:
    """``python -m reports.size FILE.html``: the summary line; exit 1 over the limit, 2 unreadable."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m reports.size FILE.html", file=sys.stderr)
        return 2
    try:
        size = measure(Path(args[0]))
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(size.summary())
    return 0 if size.within else 1


if __name__ == "__main__":
    sys.exit(main())

"""``python -m reports compare OLD.json NEW.json [--out compare.html] [--timing-threshold 0.2]``.

Exit status: 0 no regression, 1 at least one regression, 2 an input could not be read.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .compare import UnreadableResults, compare, load, text_summary, to_html


def new_report(new_json: Path, page: Path) -> str:
    """The new run's HTML report beside its JSON (``NAME.json`` -> ``NAME.html``), relative to the page."""
    html = new_json.with_suffix(".html")
    if not html.is_file():
        return ""
    return Path(os.path.relpath(html.resolve(), page.resolve().parent)).as_posix()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cmp = sub.add_parser("compare", help="compare two JSON results files (old release, new release)")
    cmp.add_argument("old", type=Path)
    cmp.add_argument("new", type=Path)
    cmp.add_argument("--out", type=Path, default=Path("reports/out/compare.html"),
                     help="HTML page to write (default: reports/out/compare.html)")
    cmp.add_argument("--timing-threshold", type=float, default=0.2,
                     help="relative change of a median response time or a test duration to report")
    args = parser.parse_args(argv)
    try:
        old, new = load(args.old), load(args.new)
    except UnreadableResults as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = compare(old, new, timing_threshold=args.timing_threshold)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(to_html(result, old, new, new_report(args.new, args.out)), encoding="utf-8")
    print(text_summary(result))
    print(f"comparison page: {args.out}")
    return result.exit_status


if __name__ == "__main__":
    sys.exit(main())

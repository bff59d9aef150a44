"""The report page rearranged after pytest-html wrote it: the verdict first, the review sections
next, pytest-html's environment table after them, then its summary and per-test table (built by
its script after the first paint).

pytest-html's template has no hook before its environment table, so the written file is edited
once at the end of the run (atomically: a reader never sees half a page).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from .html_sections import STYLE
from .lazy import SCRIPT

#: pytest-html's app.js, inline in its footer: wrapped in a function the page calls after its first
#: paint, so the verdict shows before the per-test table is built (that takes seconds in a full run)
APP = re.compile(r"(<footer>.*?<script>)(.*?)(</script>\s*</footer>)", re.DOTALL)
ENVIRONMENT = re.compile(r'\s*<div id="environment-header">.*?</div>\s*<table id="environment"></table>', re.DOTALL)


def arrange(page: str, verdict: str, sections: str) -> str:
    """The page with the verdict and sections before the environment and results tables."""
    env = ENVIRONMENT.search(page)
    environment = env.group(0) if env else ""
    if env:
        page = page[:env.start()] + page[env.end():]
    top = verdict + sections + environment
    for anchor in ('<div class="summary">', '<table id="results-table">', "<footer>", "</body>"):
        at = page.find(anchor)
        if at >= 0:
            page = page[:at] + top + page[at:]
            break
    page = APP.sub(lambda m: m.group(1) + "function bg96RenderTable() {" + m.group(2) + "\n}" + m.group(3),
                   page, count=1)
    head = page.find("</head>")
    if head >= 0:
        page = page[:head] + STYLE + page[head:]
    end = page.rfind("</body>")
    return page[:end] + SCRIPT + page[end:] if end >= 0 else page + SCRIPT


def rewrite(html_path: Path, verdict: str, sections: str) -> None:
    try:
        page = html_path.read_text(encoding="utf-8")
    except OSError:
        return
    tmp = html_path.with_suffix(html_path.suffix + ".tmp")
    tmp.write_text(arrange(page, verdict, sections), encoding="utf-8")
    os.replace(tmp, html_path)

"""pytest plugin: HTML report with evidence and review sections, JUnit XML, JSON results.

Two halves. Wherever tests run (in-process, or on each xdist worker), ``pytest_runtest_makereport``
turns markers and ``item.stash[EVIDENCE_KEY]`` into plain data on the report (``bg96_meta``,
``bg96_evidence``, ``bg96_run``), which xdist serialises with the report. Only the controller
(no ``workerinput``) registers :class:`ReportController`, which merges those reports into the
JSON results (rewritten after every test), pytest-html extras and the sections after the table.
"""
from __future__ import annotations

import datetime as dt
import os
import time
import tomllib
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from evidence.stash import EVIDENCE_KEY, RUN_INFO_KEY

from . import html_evidence, html_sections, results
from evidence.stash import report_dir
from .evidence_codec import serialise_evidence, serialise_run_info, test_meta
from .results import SCHEMA, TestRecord
from .text import h

MARKERS = (
    "req(*ids): requirement ids of spec.REQUIREMENTS this test checks (traceability matrix)",
    "verdict(kind): conformance | rfc7252 | observation; default: the strictest of the req ids",
    "td(*ids): ETSI CoAP plugtest test descriptions this test also covers (TD_COAP_CORE_01...)",
    "slow: takes long (real timeouts, retransmission back-off)",
    "dtls: needs DTLS-PSK on the DUT and the reference server",
    "profile(name): smoke | nightly | full, the run profiles that include this test",
)
CONTROLLER_KEY = pytest.StashKey["ReportController"]()


def suite_version() -> str:
    """The version in pyproject.toml: the report says which suite judged the firmware."""
    try:
        with open(Path(__file__).resolve().parents[1] / "pyproject.toml", "rb") as f:
            return str(tomllib.load(f)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bg96-report", "BG96 conformance report")
    group.addoption("--report-dir", default=None, metavar="DIR",
                    help="directory for the HTML, JUnit and JSON results (default: <rootdir>/reports/out)")
    group.addoption("--report-name", default="report", metavar="NAME",
                    help="base name of the report files (default: report)")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """tryfirst: the html and junitxml plugins read their paths in their own pytest_configure."""
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    if hasattr(config, "workerinput"):
        return  # workers write nothing; the controller's options already carry the paths
    out = report_dir(config)
    name = config.getoption("report_name")
    out.mkdir(parents=True, exist_ok=True)
    if hasattr(config.option, "htmlpath") and not config.option.htmlpath:
        config.option.htmlpath = str(out / f"{name}.html")
        config.option.self_contained_html = True
    if hasattr(config.option, "xmlpath") and not config.option.xmlpath:
        config.option.xmlpath = str(out / f"{name}.junit.xml")
    controller = ReportController(config, out / f"{name}.json")
    config.stash[CONTROLLER_KEY] = controller
    config.pluginmanager.register(controller, "bg96-report-controller")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """Put markers (every phase) and evidence (teardown, when it is complete) on the report."""
    meta = test_meta(item)
    if call.when == "setup":
        item.user_properties.extend([("verdict", meta["verdict"]),
                                     ("requirements", " ".join(meta["requirements"])),
                                     ("td", " ".join(meta["td"]))])
    outcome = yield
    report = outcome.get_result()
    report.bg96_meta = meta
    if call.when == "teardown":
        report.bg96_evidence = serialise_evidence(item.stash.get(EVIDENCE_KEY, None))
        report.bg96_run = serialise_run_info(item.config.stash.get(RUN_INFO_KEY, None))
        report.bg96_worker = os.environ.get("PYTEST_XDIST_WORKER", "")


class ReportController:
    """Controller-side state: the records, the run facts, and every file written."""

    def __init__(self, config: pytest.Config, json_path: Path) -> None:
        self.config = config
        self.json_path = json_path
        self.records: dict[str, TestRecord] = {}
        self._finished: dict[str, str] = {}  # nodeid -> JSON text of a record whose test is over
        self.run_info: dict[str, list[str]] = {}
        self.started = dt.datetime.now().astimezone()
        self.t0 = time.monotonic()
        self.exitstatus: int | None = None

    # -- data --------------------------------------------------------------------------------
    def _record(self, nodeid: str) -> TestRecord:
        if nodeid not in self.records:
            self.records[nodeid] = TestRecord(nodeid)
        return self.records[nodeid]

    def _merge_run_info(self, info: dict[str, str]) -> None:
        for key, value in info.items():
            values = self.run_info.setdefault(key, [])
            if value not in values:
                values.append(value)  # several rigs under xdist: keep every distinct value

    def run_document(self) -> dict[str, Any]:
        return {"suite": "bg96-coap-conformance", "suite_version": suite_version(),
                "started": self.started.isoformat(timespec="seconds"),
                "duration": round(time.monotonic() - self.t0, 3),
                "info": self.run_info, "exitstatus": self.exitstatus,
                "report_name": self.config.getoption("report_name")}

    def document(self, complete: bool) -> dict[str, Any]:
        records = list(self.records.values())
        return {"schema": SCHEMA, "complete": complete, "run": self.run_document(),
                "summary": results.summary(records), "tests": [r.as_json() for r in records],
                "traceability": results.traceability(records),
                "observations": results.observations(records),
                "response_times": results.response_times(records), "errata": results.errata()}

    def write_json(self, complete: bool) -> None:
        tests = [self._finished.get(nodeid) or rec.json_text() for nodeid, rec in self.records.items()]
        results.write_json_atomic(self.json_path, self.document(complete), tests)

    # -- pytest hooks ------------------------------------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        rec = self._record(report.nodeid)
        meta = getattr(report, "bg96_meta", None)
        if isinstance(meta, dict):
            rec.verdict, rec.requirements, rec.td = meta["verdict"], list(meta["requirements"]), list(meta["td"])
        new = results.phase_outcome(report.when or "", report.outcome, hasattr(report, "wasxfail"))
        rec.outcome = results.merge_outcome(rec.outcome, report.when or "", new)
        rec.duration = round(rec.duration + float(report.duration or 0.0), 6)
        if report.failed and report.longreprtext:
            rec.longrepr += (f"[{report.when}]\n" if report.when != "call" else "") + report.longreprtext
        evidence = getattr(report, "bg96_evidence", None)
        if isinstance(evidence, dict):
            rec.observations, rec.timings = evidence["observations"], evidence["timings"]
            rec.tables, rec.notes = evidence["tables"], evidence["notes"]
            rec.pcap = (evidence.get("pcap") or {}).get("path")
            self._add_extras(report, evidence)
        if isinstance(getattr(report, "bg96_run", None), dict):
            self._merge_run_info(report.bg96_run)
        rec.worker = getattr(report, "bg96_worker", "") or rec.worker
        if report.when == "teardown" or report.when not in ("setup", "call"):
            self._finished[report.nodeid] = rec.json_text()
            self.write_json(complete=False)  # evidence survives: a valid file after every test

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            rec = self._record(report.nodeid)
            rec.outcome, rec.longrepr = "error", report.longreprtext
            self.write_json(complete=False)

    @staticmethod
    def _add_extras(report: pytest.TestReport, evidence: dict[str, Any]) -> None:
        try:
            from pytest_html import extras
        except ImportError:
            return
        fragment = html_evidence.evidence_html(evidence)
        if fragment:
            report.extras = list(getattr(report, "extras", [])) + [extras.html(fragment)]

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report: Any) -> None:
        """Say what the page is: a review reads many of these side by side."""
        name = self.config.getoption("--report-name")
        report.title = f"BG96 CoAP conformance: {name}"

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells.insert(2, '<th class="sortable" data-column-type="verdict">Verdict</th>')
        cells.insert(3, '<th class="sortable" data-column-type="requirements">Requirements</th>')

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        meta = getattr(report, "bg96_meta", None) or {}
        cells.insert(2, f'<td class="col-verdict">{h(meta.get("verdict", ""))}</td>')
        cells.insert(3, f'<td class="col-requirements">{h(" ".join(meta.get("requirements", [])))}</td>')

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str],
                                    session: pytest.Session) -> None:
        prefix.append(html_sections.run_header(self.run_document()))
        try:
            from pytest_metadata.plugin import metadata_key
        except ImportError:
            return
        metadata = self.config.stash.get(metadata_key, None)
        if metadata is not None:  # the same dict pytest-html renders as its environment table
            for key, label in html_sections.RUN_FIELDS:
                if key in self.run_info:
                    metadata[label] = " | ".join(self.run_info[key])
            metadata["Suite version"] = suite_version()

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> Generator[None, None, None]:
        """After every other implementation (pytest-html writes its file in a trylast one)."""
        self.exitstatus = int(exitstatus)
        try:
            return (yield)
        finally:
            # complete: the run ended by itself (not Ctrl+C / pytest.exit, not an internal error)
            ended = exitstatus not in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR)
            data = self.document(complete=ended)
            results.write_json_atomic(self.json_path, data)
            html_path = getattr(self.config.option, "htmlpath", None)
            if html_path:
                path = Path.cwd() / Path(os.path.expandvars(html_path)).expanduser()  # as pytest-html
                inject_sections(path, html_sections.all_sections(data))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_sep("-", f"BG96 JSON results: {self.json_path}")


def inject_sections(html_path: Path, sections: str) -> None:
    """Put the review sections after pytest-html's results table (its template has no hook there)."""
    try:
        page = html_path.read_text(encoding="utf-8")
    except OSError:
        return
    for anchor in ("<footer>", "</body>"):
        at = page.find(anchor)
        if at >= 0:
            page = page[:at] + sections + page[at:]
            break
    tmp = html_path.with_suffix(html_path.suffix + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, html_path)

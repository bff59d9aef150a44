"""pytest plugin: HTML report with evidence and review sections, JUnit XML, JSON results.

Two halves. Wherever tests run (in-process, or on each xdist worker), ``pytest_runtest_makereport``
turns markers and ``item.stash[EVIDENCE_KEY]`` into plain data on the report (``bg96_meta``,
``bg96_evidence``, ``bg96_run``), which xdist serialises with the report. Only the controller
(no ``workerinput``) registers :class:`ReportController`, which merges those reports into the
JSON results (rewritten as tests end, at most a second behind), pytest-html extras and the sections after the table.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import threading
import time
import tomllib
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from evidence.stash import EVIDENCE_KEY, RUN_INFO_KEY, report_dir

from . import html_evidence, html_sections, html_verdict, page, results
from .assertions import KEPT, checks_of
from .compare import Comparison, UnreadableResults, compare, load
from .evidence_codec import serialise_evidence, serialise_run_info, test_meta
from .lazy import packed
from .verdict import assess
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
#: failed tests whose evidence goes into the page as it is (the rest is packed: size)
INLINE_FAILURES = 40


@functools.lru_cache(maxsize=1)
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
    group.addoption("--baseline", default=None, metavar="FILE.json",
                    help="JSON results of an earlier release: the verdict page says what changed since")


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


#: the most seconds the JSON results may lag behind the run
JSON_INTERVAL_S = 1.0
#: between two rewrites at least this many times what the last one took: a tenth of the time at most
WRITE_SHARE_INVERSE = 10.0


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
        self._inlined = 0  # failed tests whose evidence went in unpacked
        self.collected: dict[str, str] = {}  # nodeid -> verdict class ("" unknown): finds tests not run
        #: nodeid -> (its file relative to the rootdir, its function): where its checks are read
        self._sources: dict[str, tuple[str, str]] = {}
        # the JSON is rewritten at most every JSON_INTERVAL_S: rebuilding the whole document after
        # each of ~700 tests was quadratic and kept the xdist controller too busy to hand out work
        self._lock = threading.RLock()
        self._last_write = 0.0
        self._write_cost = 0.0  # seconds the last rewrite took
        self._pending: threading.Timer | None = None

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

    def document(self, complete: bool, finished_only: bool = False) -> dict[str, Any]:
        """The results file's content; ``finished_only``: the ended tests, whose records the
        caller has as JSON text already (``tests`` is left empty for it to fill)."""
        records = [r for n, r in self.records.items() if not finished_only or n in self._finished]
        return {"schema": SCHEMA, "complete": complete, "run": self.run_document(),
                "summary": results.summary(records),
                "tests": [] if finished_only else [r.as_json() for r in records],
                "traceability": results.traceability(records, self.checks_of),
                "observations": results.observations(records),
                "response_times": results.response_times(records), "errata": results.errata(),
                "not_run": [{"nodeid": n, "verdict": v} for n, v in self.collected.items()
                            if n not in self.records or self.records[n].outcome == "unknown"]}

    def checks_of(self, nodeid: str) -> tuple[str, ...]:
        """The assertions on the module in a test's source (reports.assertions), read here on the
        controller once per test function: workers and merged rigs need not carry them."""
        file, function = self._sources.get(nodeid, ("", ""))
        return checks_of(str(self.config.rootpath / file), function)[:KEPT] if file else ()

    def write_json(self, complete: bool) -> None:
        with self._lock:
            if self._pending is not None:
                self._pending.cancel()
                self._pending = None
            started = time.monotonic()
            # the tests that have ended (a write may come while the next one runs)
            tests = [text for nodeid in self.records if (text := self._finished.get(nodeid))]
            results.write_json_atomic(self.json_path, self.document(complete, finished_only=True), tests)
            self._last_write = time.monotonic()
            self._write_cost = self._last_write - started

    def write_json_soon(self) -> None:
        """Now, unless the writes would take more than a tenth of the controller's time (a long
        run's document is large): then once that share allows, and at most JSON_INTERVAL_S later.
        A killed run's file is valid and at most that far behind (the transcripts are streamed)."""
        with self._lock:
            gap = min(JSON_INTERVAL_S, WRITE_SHARE_INVERSE * self._write_cost)
            wait = self._last_write + gap - time.monotonic()
            if wait <= 0:
                self.write_json(complete=False)
            elif self._pending is None:
                self._pending = threading.Timer(wait, self._write_pending)
                self._pending.daemon = True
                self._pending.start()

    def _write_pending(self) -> None:
        with self._lock:
            if self._pending is not None and self.exitstatus is None:
                self.write_json(complete=False)

    # -- pytest hooks ------------------------------------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        with self._lock:
            self._logreport(report)

    def _logreport(self, report: pytest.TestReport) -> None:
        rec = self._record(report.nodeid)
        if report.nodeid not in self._sources and report.location:
            file, _, domain = report.location  # the file as the rootdir sees it, even outside it
            self._sources[report.nodeid] = (file, domain.rsplit(".", 1)[-1].split("[")[0])
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
            self._add_extras(report, evidence, rec)
        if isinstance(getattr(report, "bg96_run", None), dict):
            self._merge_run_info(report.bg96_run)
        rec.worker = getattr(report, "bg96_worker", "") or rec.worker
        if report.when == "teardown" or report.when not in ("setup", "call"):
            self._finished[report.nodeid] = rec.json_text()
            self.write_json_soon()  # evidence survives: a valid file, at most JSON_INTERVAL_S behind

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            with self._lock:
                rec = self._record(report.nodeid)
                rec.outcome, rec.longrepr = "error", report.longreprtext
                self._finished[report.nodeid] = rec.json_text()
                self.write_json(complete=False)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected.update((item.nodeid, test_meta(item)["verdict"]) for item in session.items)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """Under xdist the controller collects nothing: the workers' ids say what should run."""
        for nodeid in ids:
            self.collected.setdefault(nodeid, "")

    def _add_extras(self, report: pytest.TestReport, evidence: dict[str, Any], rec: TestRecord) -> None:
        """Packed evidence, except for the first failures: those open at load and stay greppable."""
        try:
            from pytest_html import extras
        except ImportError:
            return
        fragment = html_evidence.evidence_html(evidence, rec.requirements, rec.longrepr, rec.outcome)
        if not fragment:
            return
        if rec.outcome in results.FAILING and self._inlined < INLINE_FAILURES:
            self._inlined += 1
        else:
            fragment = packed(fragment)
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

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> Generator[None, None, None]:
        """After every other implementation (pytest-html writes its file in a trylast one)."""
        with self._lock:
            self.exitstatus = int(exitstatus)
            if self._pending is not None:
                self._pending.cancel()
                self._pending = None
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
                verdict = html_verdict.verdict_page(assess(data), data, self.baseline_changes(data))
                page.rewrite(path, verdict, html_sections.all_sections(data))

    def baseline_changes(self, data: dict[str, Any]) -> Comparison | None:
        """What changed since ``--baseline`` (None without one; an unreadable one is said on the page)."""
        path = self.config.getoption("baseline", None)
        if not path:
            return None
        try:
            return compare(load(Path(self.config.invocation_params.dir) / path), data)
        except UnreadableResults as exc:
            return Comparison({"info": {"firmware": [f"unreadable baseline: {exc}"]}}, data.get("run", {}))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_sep("-", f"BG96 JSON results: {self.json_path}")

"""The report plugin end to end: sub-runs of a tiny suite that uses the markers and the evidence."""
from __future__ import annotations

import base64
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import spec
from reports.lazy import evidence_texts

from .forked_pytest import runpytest_forked
from .headless_browser import CHROMIUM, Browser

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
PCAP_MAGICS = (bytes.fromhex("a1b2c3d4"), bytes.fromhex("d4c3b2a1"))

SAMPLE = r'''
import struct, time
from types import SimpleNamespace
import pytest
from evidence import Evidence, TranscriptEntry, Timing
from evidence.stash import EVIDENCE_KEY, RUN_INFO_KEY


@pytest.fixture(autouse=True)
def evidence(request, tmp_path):
    if request.node.get_closest_marker("no_evidence"):
        yield None
        return
    ev = Evidence(request.node.nodeid)
    request.node.stash[EVIDENCE_KEY] = ev
    request.config.stash[RUN_INFO_KEY] = {
        "module": "Quectel BG96", "revision": "BG96MAR02A07M1G_01.019.01.019", "imei": "866425030000000",
        "rig": "rig-" + __import__("os").environ.get("PYTEST_XDIST_WORKER", "local"),
        "dut_url": "socket://127.0.0.1:7777", "reference_server": "udp://127.0.0.1:5683", "time_scale": "1"}
    yield ev
    pcap = tmp_path / "capture.pcap"  # written at teardown, as the reference server does
    pcap.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    ev.pcap = pcap


def _exchange(ev):
    t = time.monotonic()
    ev.transcript.append(TranscriptEntry(t, "tx", b'AT+QCOAPSEND=0,0,1,1,0\r'))
    ev.transcript.append(TranscriptEntry(t + 0.01, "rx", b"\r\n> "))
    ev.transcript.append(TranscriptEntry(t + 0.02, "tx", b"hello\x1a"))
    ev.transcript.append(TranscriptEntry(t + 0.05, "rx", b"\r\nOK\r\n"))
    msg = SimpleNamespace(mtype=0, code_text="0.01", mid=1234, token=bytes.fromhex("d204d52e814b"),
                          options=[(11, b"temp"), (12, b"\x00")], payload=b"hello")
    ev.datagrams.append(SimpleNamespace(direction="rx", time=t + 0.06, peer=("10.0.0.2", 40000),
                                        wire=b"\x46\x01\x04\xd2", plaintext=None, message=msg,
                                        violations=[], dtls_records=[]))
    ev.datagrams.append(SimpleNamespace(direction="tx", time=t + 0.07, peer=("10.0.0.2", 40000),
                                        wire=b"\xff\x00", message=None))  # malformed: few attributes
    ev.timings.append(Timing("AT+QCOAPSEND", "AT+QCOAPSEND=0,0,1,1,0", 0.05, 0.3))
    ev.timings.append(Timing("AT+QCOAPCFG", 'AT+QCOAPCFG="trans",0', 0.45, 0.3))  # over the maximum


@pytest.fixture
def module():
    return SimpleNamespace(final="OK")


@pytest.mark.req("SEND-MRT", "CFG-TRANS-RANGE")
@pytest.mark.td("TD_COAP_CORE_01")
def test_send(evidence, module):
    _exchange(evidence)
    assert module.final == "OK", "SEND answers OK"
    table = evidence.table("Retransmissions", ("#", "interval (s)"))
    table.rows.append((1, 2.1))


@pytest.mark.req("CFG-DTLS-DEFAULT")
def test_dtls_default_observed(evidence):
    evidence.observe("DTLS-CONTEXT-DEFAULT", 0, "context id read on a fresh client")


@pytest.mark.req("OPEN-MRT")
@pytest.mark.verdict("rfc7252")
def test_open_fails(evidence):
    evidence.notes.append("the module never answered")
    assert False, "no +QCOAPOPEN URC within 75 s"


@pytest.mark.no_evidence
def test_harness_self_test():
    pass
'''

LATER = r'''

def test_zz_json_valid_mid_run():
    """Runs last: within the plugin's lag (JSON_INTERVAL_S) the file holds every earlier test,
    and it is valid JSON that says it is not complete whenever it is read."""
    import json, pathlib, time
    from reports.plugin import JSON_INTERVAL_S
    wanted = {"test_send", "test_dtls_default_observed", "test_open_fails", "test_harness_self_test"}
    deadline = time.monotonic() + JSON_INTERVAL_S + 2.0
    while True:
        data = json.loads(pathlib.Path("out/report.json").read_text())
        assert data["complete"] is False
        seen = {t["nodeid"].split("::")[1] for t in data["tests"]}
        if seen == wanted or time.monotonic() > deadline:
            break
        time.sleep(0.05)  # polling a file: the writer gives no other event
    assert seen == wanted
'''

CRASH = r'''
import json, os, pathlib, time
from reports.plugin import JSON_INTERVAL_S


def test_zz_power_cut():
    """The power goes once the file holds the four earlier tests (it lags at most JSON_INTERVAL_S)."""
    deadline = time.monotonic() + JSON_INTERVAL_S + 2.0
    while time.monotonic() < deadline:
        path = pathlib.Path("out/report.json")
        if path.exists() and len(json.loads(path.read_text())["tests"]) == 4:
            break
        time.sleep(0.05)  # polling a file: the writer gives no other event
    os._exit(3)
'''


@pytest.fixture
def sample(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester dir with the sample suite; the project importable in-process and in xdist workers."""
    pytester.syspathinsert(ROOT)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    pytester.makeini("[pytest]\nmarkers =\n    no_evidence: sample test without evidence\n")
    pytester.makepyfile(test_sample=SAMPLE)
    return pytester


def _run(p: pytest.Pytester, *args: str) -> pytest.RunResult:
    return p.runpytest("-p", "reports.plugin", "-p", "no:cacheprovider", "--report-dir", "out", *args)


def _json(p: pytest.Pytester) -> dict:
    return json.loads((p.path / "out" / "report.json").read_text())


def _check_outputs(p: pytest.Pytester) -> dict:
    out = p.path / "out"
    assert (out / "report.html").is_file() and (out / "report.junit.xml").is_file()
    data = _json(p)
    assert data["complete"] is True
    assert set(data) >= {"schema", "run", "summary", "tests", "traceability", "observations",
                         "response_times", "errata"}
    tests = {t["nodeid"].split("::")[1]: t for t in data["tests"]}
    assert tests["test_send"]["outcome"] == "passed"
    assert tests["test_send"]["verdict"] == "conformance"
    assert tests["test_send"]["td"] == ["TD_COAP_CORE_01"]
    assert tests["test_dtls_default_observed"]["verdict"] == "observation"  # derived from the req id
    assert tests["test_open_fails"]["verdict"] == "rfc7252"  # the marker wins
    assert tests["test_open_fails"]["outcome"] == "failed"
    assert "no +QCOAPOPEN URC" in tests["test_open_fails"]["longrepr"]
    assert tests["test_dtls_default_observed"]["observations"][0]["key"] == "DTLS-CONTEXT-DEFAULT"
    trace = {r["id"]: r for r in data["traceability"]}
    assert [r["id"] for r in data["traceability"]] == [r.id for r in spec.REQUIREMENTS]
    assert trace["SEND-MRT"]["status"] == "passed" and trace["OPEN-MRT"]["status"] == "failed"
    assert trace["CFG-PDPCID-RANGE"]["status"] == "uncovered"
    assert [e["id"] for e in data["errata"]] == [e.id for e in spec.ERRATA]
    times = {r["command"]: r for r in data["response_times"]}
    assert times["AT+QCOAPCFG"]["over"] == 1 and times["AT+QCOAPSEND"]["over"] == 0
    assert data["run"]["info"]["revision"] == ["BG96MAR02A07M1G_01.019.01.019"]
    html = (out / "report.html").read_text()
    for sid in ("traceability", "observations", "errata", "response-times", "run-header"):
        assert f'id="{sid}"' in html
    # the verdict first, the review sections next, the per-test table last; one environment table
    assert html.index('id="verdict"') < html.index('id="traceability"') < html.index('id="results-table"')
    assert html.count('id="environment"') == 1 and 'id="verdict-line"' in html
    matrix = html[html.index('id="traceability"'):html.index('id="observations"')]
    assert re.search(r'bg96-row-uncovered"><td><code>CFG-PDPCID-RANGE</code>', matrix)
    assert re.search(r'bg96-row-failed"><td><code>OPEN-MRT</code>', matrix)
    # "judged by": the assertion on the module found in the test's source, per requirement
    assert trace["SEND-MRT"]["judged_by"]["checks"] == [
        {"test": "test_sample.py::test_send", "asserts": ["module.final == 'OK': SEND answers OK"]}]
    assert trace["OPEN-MRT"]["judged_by"]["checks"] == []  # `assert False` judges nothing of the module
    assert trace["CFG-DTLS-DEFAULT"]["silent_reason"]
    send_row = matrix[matrix.index("<code>SEND-MRT</code>"):]
    assert "<b>test_send</b>: <code>module.final == &#x27;OK&#x27;: SEND answers OK</code>" in send_row.split("</tr>")[0]
    open_row = matrix[matrix.index("<code>OPEN-MRT</code>"):].split("</tr>")[0]
    assert "no assertion on the module found" in open_row
    assert "silent: " in matrix[matrix.index("<code>CFG-DTLS-DEFAULT</code>"):].split("</tr>")[0]
    junit = ET.parse(out / "report.junit.xml").getroot()
    props = {(c.get("name"), p.get("name")): p.get("value")
             for c in junit.iter("testcase") for p in c.iter("property")}
    assert props[("test_send", "requirements")] == "SEND-MRT CFG-TRANS-RANGE"
    return data


def test_report_files_and_content(sample: pytest.Pytester) -> None:
    result = _run(sample)
    result.assert_outcomes(passed=3, failed=1)
    _check_outputs(sample)
    html = (sample.path / "out" / "report.html").read_text()
    assert "Verdict</th>" in html and "Requirements</th>" in html
    # the extras live in pytest-html's JSON blob: packed, a failed test's as it is
    blob = html + "".join(evidence_texts(html))
    assert "AT+QCOAPSEND=0,0,1,1,0\\r" in blob and "hello\\x1a" in blob  # escaped control bytes
    assert "d204d52e814b" in blob and "Uri-Path" in blob and "bg96-pcap-link" in blob
    assert "What was expected and what was seen" in blob and "bg96-msc-svg" in blob


def test_user_given_paths_are_respected(sample: pytest.Pytester) -> None:
    _run(sample, "--html", "mine.html", "--junitxml", "mine.xml", "--report-name", "nightly")
    assert (sample.path / "mine.html").is_file() and (sample.path / "mine.xml").is_file()
    assert not (sample.path / "out" / "nightly.html").exists()
    assert _json_named(sample, "nightly")["complete"] is True
    assert 'id="traceability"' in (sample.path / "mine.html").read_text()


def _json_named(p: pytest.Pytester, name: str) -> dict:
    return json.loads((p.path / "out" / f"{name}.json").read_text())


def test_json_is_valid_during_the_run(sample: pytest.Pytester) -> None:
    sample.makepyfile(test_zz_later=LATER)
    _run(sample).assert_outcomes(passed=4, failed=1)
    assert _json(sample)["complete"] is True


def test_hard_kill_leaves_partial_json(sample: pytest.Pytester) -> None:
    """A power cut mid-run (os._exit: no teardown, no sessionfinish) keeps what was written."""
    sample.makepyfile(test_zz_crash=CRASH)
    result = runpytest_forked(sample, "-p", "reports.plugin", "-p", "no:cacheprovider", "--report-dir", "out", timeout=120)
    assert result.ret == 3
    data = _json(sample)
    assert data["complete"] is False
    assert len(data["tests"]) == 4 and all(r["id"] for r in data["traceability"])


def test_xdist_merges_workers_into_one_report(sample: pytest.Pytester) -> None:
    result = _run(sample, "-n", "2")
    result.assert_outcomes(passed=3, failed=1)
    data = _check_outputs(sample)
    assert {t["worker"] for t in data["tests"]} <= {"gw0", "gw1"}
    assert len(data["tests"]) == 4
    html = "".join(evidence_texts((sample.path / "out" / "report.html").read_text()))
    assert "bg96-pcap-link" in html and "d204d52e814b" in html  # evidence crossed from the workers
    assert len(list((sample.path / "out").glob("report*.html"))) == 1


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent")
def test_report_renders_in_chromium(sample: pytest.Pytester, tmp_path: Path) -> None:
    _run(sample).assert_outcomes(passed=3, failed=1)
    report = sample.path / "out" / "report.html"
    # the comparison page: an "old release" where the failing test passed, so one regression
    old = json.loads((sample.path / "out" / "report.json").read_text())
    for t in old["tests"]:
        if t["nodeid"].endswith("test_open_fails"):
            t["outcome"] = "passed"
    (tmp_path / "old.json").write_text(json.dumps(old))
    compare_page = tmp_path / "compare.html"
    from reports.__main__ import main
    assert main(["compare", str(tmp_path / "old.json"), str(sample.path / "out" / "report.json"),
                 "--out", str(compare_page)]) == 1
    shots = ROOT / "reports" / "out" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for name in ("report.png", "compare.png"):
        (shots / name).unlink(missing_ok=True)
    with Browser(tmp_path) as browser:
        with browser.open(report.as_uri(), 1400, 2000) as tab:
            # app.js builds the rows after the first paint and the open rows' evidence is inflated
            # on real time: read the page once both are in (no longer a --virtual-time-budget guess)
            tab.wait_for("document.querySelector('tbody.results-table-row') && "
                         "!document.querySelector('tr.extras-row:not(.hidden) .bg96-lazy:not([data-state=done])')")
            dom = tab.dom()
            tab.screenshot(shots / "report.png")
        with browser.open(compare_page.as_uri(), 1400, 2000) as tab:  # no script: read at its load event
            cdom = tab.dom()
            tab.screenshot(shots / "compare.png")
    for sid in ("traceability", "observations", "errata", "response-times"):
        assert f'id="{sid}"' in dom
    rows = re.findall(r'<tbody class="results-table-row (\w+)"', dom)  # built by app.js (not the template)
    assert sorted(rows) == ["failed", "passed", "passed", "passed"]
    links = re.findall(r'download="[^"]+" href="data:[^;"]+;base64,([A-Za-z0-9+/=]+)"', dom)
    assert links and all(base64.b64decode(x)[:4] in PCAP_MAGICS for x in links)
    for sid in ("regressions", "fixes", "new", "removed", "observations", "timings"):
        assert f'id="{sid}"' in cdom
    assert "test_open_fails" in cdom
    for name in ("report.png", "compare.png"):
        png = (shots / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000

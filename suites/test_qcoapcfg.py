"""3.3.1 AT+QCOAPCFG: query forms and defaults, every bound, malformed lines, not saved."""
from __future__ import annotations

import pytest

from dut import BG96
from evidence import Evidence
from spec import CFG_BY_KEYWORD, CFG_SETTINGS, QCOAPCFG, CfgSetting

from .cases import WriteCase, cfg_malformed_cases, cfg_write_cases

DEFAULTS = {
    "pdpcid": ["1"],
    "trans": [str(CFG_BY_KEYWORD["trans"].parameters[0].default),
              str(CFG_BY_KEYWORD["trans"].parameters[1].default)],
}


def expected_query_values(setting: CfgSetting, values: tuple[int, ...]) -> list[list[str]]:
    """What the query form may print after a write. "dtls" prints <DTLS_enable>[,<DTLS_contextID>]
    (3.3.1): with DTLS disabled both "0" and "0,<ctx>" conform; enabled, the context is printed."""
    full = [str(v) for v in values]
    if setting.keyword == "dtls" and values[0] == 0:
        return [full[:1], full]
    return [full]


@pytest.mark.req("CFG-PDPCID-QUERY", "CFG-PDPCID-DEFAULT", "CFG-TRANS-QUERY", "CFG-TRANS-DEFAULT")
@pytest.mark.parametrize("keyword", ["pdpcid", "trans"])
def test_query_reports_documented_default(fresh_module: BG96, keyword: str) -> None:
    """Right after a restart every client reports the documented defaults."""
    for client in range(6):
        assert fresh_module.cfg_values(keyword, client) == DEFAULTS[keyword], f"client {client}"


@pytest.mark.req("CFG-DTLS-QUERY", "CFG-DTLS-DEFAULT")
def test_dtls_query_default(fresh_module: BG96, evidence: Evidence) -> None:
    """DTLS is off on a fresh client (the document marks no default: see the errata)."""
    values = fresh_module.cfg_values("dtls", 0)
    evidence.observe("CFG-DTLS-DEFAULT", ",".join(values))
    assert values[0] == "0"


@pytest.mark.parametrize("case", [c.param() for c in cfg_write_cases()])
@pytest.mark.profile("smoke", cases=["trans-timeout-61-rejected"])
def test_write_bounds(module: BG96, client: int, case: WriteCase) -> None:
    """Each parameter at its bounds is accepted and reads back; just outside it is rejected."""
    response = module.command(case.line)
    if not case.accepted:
        assert response.rejected, f"{case.line} answered {response.text!r}, expected ERROR"
        return
    assert response.ok, f"{case.line} answered {response.text!r}"
    assert case.readback is not None
    keyword, target, values = case.readback
    read = module.cfg_values(keyword, target)
    allowed = expected_query_values(CFG_BY_KEYWORD[keyword], values)
    assert read in allowed, f'{case.line}: +QCOAPCFG: "{keyword}" reads back {read}, expected one of {allowed}'


@pytest.mark.req("SYNTAX-OPTIONAL-PREVIOUS", "CFG-DTLS-WRITE")
@pytest.mark.parametrize("ctx", [1, 3, 5])
def test_omitted_dtls_context_keeps_previous(module: BG96, client: int, ctx: int) -> None:
    """3.1.1: an optional parameter not given keeps its previous value: "dtls",<id>,1 after
    "dtls",<id>,1,<ctx> (and after "dtls",<id>,0) still reads back <ctx>."""
    assert module.cfg("dtls", client, 1, ctx).ok
    assert module.cfg("dtls", client, 0).ok
    assert module.cfg("dtls", client, 1).ok
    read = module.cfg_values("dtls", client)
    assert read == ["1", str(ctx)], (
        f'"dtls",{client},1 without <DTLS_contextID> after context {ctx}: reads back {read}, expected 1,{ctx}')


@pytest.mark.parametrize("case", [c.param() for c in cfg_malformed_cases()])
def test_malformed_line_rejected(module: BG96, client: int, case: WriteCase) -> None:
    """A missing, empty, non-numeric or extra parameter, or an unknown keyword: ERROR."""
    response = module.command(case.line)
    assert response.rejected, f"{case.line} answered {response.text!r}, expected ERROR"


@pytest.mark.req("CFG-MALFORMED")
@pytest.mark.parametrize("setting", CFG_SETTINGS, ids=lambda s: s.keyword)
def test_rejected_write_leaves_value_unchanged(module: BG96, client: int, setting: CfgSetting) -> None:
    """A rejected write changes nothing: the previous value still reads back."""
    before = module.cfg_values(setting.keyword, client)
    outside = [p.boundary_cases[3][0] for p in setting.parameters]  # each just above its range
    assert module.command(setting.write(client, *outside)).rejected
    assert module.cfg_values(setting.keyword, client) == before


@pytest.mark.req("CFG-IMMEDIATE", "CFG-TRANS-WRITE")
def test_settings_take_effect_immediately(module: BG96, client: int) -> None:
    """A write is visible to the very next command, for each client independently."""
    assert module.cfg("trans", client, 7, 6).ok
    assert module.cfg_values("trans", client) == ["7", "6"]
    assert module.cfg_values("trans", client + 1) == DEFAULTS["trans"]


@pytest.mark.req("CFG-NOT-SAVED")
def test_configuration_not_saved_across_restart(module: BG96, client: int, restart) -> None:
    """After AT+CFUN=1,1 every setting is back to its default."""
    assert module.cfg("pdpcid", client, 2).ok
    assert module.cfg("trans", client, 9, 7).ok
    assert module.cfg("dtls", client, 1, 3).ok
    restarted = restart()
    assert restarted.cfg_values("pdpcid", client) == DEFAULTS["pdpcid"]
    assert restarted.cfg_values("trans", client) == DEFAULTS["trans"]
    assert restarted.cfg_values("dtls", client)[0] == "0"


@pytest.mark.req("CFG-MRT")
@pytest.mark.parametrize("setting", CFG_SETTINGS, ids=lambda s: s.keyword)
def test_query_and_write_within_maximum_response_time(module: BG96, client: int, setting: CfgSetting) -> None:
    """Query and write forms answer within 300 ms."""
    defaults = [p.default if isinstance(p.default, int) else 0 for p in setting.parameters]
    for response in (module.command(setting.query(client)), module.command(setting.write(client, *defaults))):
        assert response.ok, response.text
        assert response.elapsed <= QCOAPCFG.max_response_time, (
            f"{response.command}: {response.elapsed * 1000:.1f} ms > {QCOAPCFG.max_response_time * 1000:.0f} ms")


@pytest.mark.verdict("observation")
def test_erratum_pdpctxid_keyword(module: BG96, client: int, evidence: Evidence) -> None:
    """Example 5.2 writes "pdpctxid" (ERRATUM-PDPCTXID, no requirement): the answer is recorded; an
    accepted line must act as "pdpcid" (the value reads back), a rejected one change nothing."""
    response = module.command(f'AT+QCOAPCFG="pdpctxid",{client},2')
    evidence.observe("ERRATUM-PDPCTXID", response.final)
    read = module.cfg_values("pdpcid", client)
    assert response.ok or response.rejected, f"neither OK nor ERROR: {response.text!r}"
    assert read == (["2"] if response.ok else DEFAULTS["pdpcid"]), (
        f'"pdpctxid" answered {response.final}, then "pdpcid" reads back {read}')

"""spec/ against itself, the suites against spec/, and the emulator's own tables against spec/."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import spec
from spec import (BITMASK_ROWS, CFG_SETTINGS, CODES, COMMANDS, ERRATA, OPTIONS, QCOAPCFG,
                  REQUIREMENTS_BY_ID, FormKind, bitmask_indexes, code_text)

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("code", CODES, ids=lambda c: c.text)
def test_table3_code_text_follows_the_note(code) -> None:
    """<code_value> = c x 32 + dd for every row of Table 3."""
    assert code_text(code.value) == code.text


def test_table3_has_every_row_once() -> None:
    assert len({c.value for c in CODES}) == len(CODES) == 26


def test_table2_has_the_fifteen_options_of_the_opt_number_list() -> None:
    assert [o.number for o in OPTIONS] == [1, 3, 4, 5, 7, 8, 11, 12, 14, 15, 17, 20, 35, 39, 60]


def test_bitmask_rows_differ_from_the_rule_only_where_an_erratum_says_so() -> None:
    differing = {value for value, _, named in BITMASK_ROWS if tuple(named) != bitmask_indexes(value)}
    assert differing == {4, 5}
    assert "ERRATUM-BITMASK-4" in spec.ERRATA_BY_ID


def test_cfg_test_response_prints_each_parameter_range() -> None:
    lines = QCOAPCFG.form(FormKind.TEST).responses
    for setting, line in zip(CFG_SETTINGS, lines):
        assert line.startswith(f'+QCOAPCFG: "{setting.keyword}",(0-5),')
        for p in setting.parameters:
            text = p.range.text if p.range else "(" + ",".join(map(str, p.choices)) + ")"
            assert text in line


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_every_command_has_a_documented_test_and_write_form(command) -> None:
    assert command.has_form(FormKind.TEST)
    assert command.has_form(FormKind.WRITE)
    assert command.max_response_time in (0.3, 75.0)


def test_errata_name_existing_requirements() -> None:
    for erratum in ERRATA:
        for req in erratum.related:
            assert req in REQUIREMENTS_BY_ID, f"{erratum.id} names unknown {req}"


def _marked_requirement_ids() -> set[str]:
    """Every string given to a ``req`` marker in the suites (read from the source)."""
    ids: set[str] = set()
    for path in (ROOT / "suites").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "req":
                ids.update(a.value for a in node.args if isinstance(a, ast.Constant))
    return ids


def test_suites_name_only_known_requirement_ids() -> None:
    unknown = {i for i in _marked_requirement_ids() if "{" not in i} - set(REQUIREMENTS_BY_ID)
    assert not unknown, f"requirement ids the suites use but spec/ lacks: {sorted(unknown)}"


# -- the emulator keeps its own tables, written from the document; a slip in either shows here --

def test_emulator_option_table_matches_table2() -> None:
    from emulator.tables import OPTION_TABLE

    ours = {o.number: (o.name, o.format.name, o.min_length, o.max_length) for o in OPTIONS}
    theirs = {n: (o.name, "UINT" if o.fmt.name == "UINT" else o.fmt.name, o.min_len, o.max_len)
              for n, o in OPTION_TABLE.items()}
    assert theirs == ours


def test_emulator_code_values_match_table3() -> None:
    from emulator.tables import CODE_VALUES

    assert CODE_VALUES == {c.value for c in CODES}


def test_verdict_class_follows_the_one_rule() -> None:
    """spec.verdicts: observation exactly where a reason for the document's silence is given,
    rfc7252 where RFC 7252 is the source, conformance everywhere else (issue 16)."""
    from spec.requirements import SILENT
    from spec.verdicts import verdict_of
    for r in spec.REQUIREMENTS:
        assert r.verdict == verdict_of(r.section, r.silent_reason), r.id
    observed = {r.id for r in spec.REQUIREMENTS if r.verdict is spec.Verdict.OBSERVATION}
    assert observed == set(SILENT)
    # the closed lists and the "rejected outside the domain" statements are judged
    for rid in ("SEND-CODE-VALUE", "OPT-NUMBERS", "HDR-TOKEN-MISMATCH", "SYNTAX-OPTIONAL-PREVIOUS",
                "CFG-PDPCID-EFFECT", "CFG-DTLS-CONTEXT", "URC-IND-RESULT", "SEND-ACK-ORDER"):
        assert REQUIREMENTS_BY_ID[rid].verdict is spec.Verdict.CONFORMANCE, rid


def test_at_interface_errata_are_listed() -> None:
    """<TKL> "4-bit" and <msgID> "network byte order" against the decimal text of the AT interface."""
    assert {"ERRATUM-TKL-4-BIT", "ERRATUM-MSGID-BYTE-ORDER"} <= set(spec.ERRATA_BY_ID)

"""Chapter 3.3: every command's test form text for text, its undocumented forms, its timing."""
from __future__ import annotations

import pytest

from dut import BG96
from evidence import Evidence
from spec import COMMANDS, Command, FormKind


def _per_command(suffix: str) -> list[object]:
    return [pytest.param(c, id=c.name, marks=pytest.mark.req(f"{c.tag}-{suffix}")) for c in COMMANDS]


@pytest.mark.parametrize("command", _per_command("TEST"))
@pytest.mark.profile("smoke")
def test_test_command_response(module: BG96, command: Command) -> None:
    """AT+<cmd>=? answers exactly the lines the document prints, then OK."""
    form = command.form(FormKind.TEST)
    response = module.command(form.syntax)
    assert [*response.lines, response.final] == list(form.responses)


@pytest.mark.parametrize("command", _per_command("MRT"))
def test_test_command_within_maximum_response_time(module: BG96, command: Command) -> None:
    """The test form answers within the command's documented Maximum Response Time."""
    response = module.command(command.form(FormKind.TEST).syntax)
    assert response.final == "OK"
    assert response.elapsed <= command.max_response_time, (
        f"{command.name}=? took {response.elapsed * 1000:.1f} ms, "
        f"maximum {command.max_response_time * 1000:.0f} ms")


UNDOCUMENTED = [
    pytest.param(c, f, id=f"{c.name}-{f.kind.value}")
    for c in COMMANDS for f in c.forms if not f.documented
]


@pytest.mark.req("SYNTAX-UNDOCUMENTED-FORMS")
@pytest.mark.parametrize("command, form", UNDOCUMENTED)
def test_undocumented_form_is_answered(module: BG96, evidence: Evidence, command: Command, form) -> None:
    """Forms Table 1 names but the command does not define: any final result, recorded."""
    response = module.command(form.syntax)
    evidence.observe(f"{command.name}-{form.kind.value}", response.text.replace("\n", " | "))
    assert response.final, "every command line gets a final result code"


@pytest.mark.req("SYNTAX-PREFIX")
@pytest.mark.parametrize("line", ["AT+QCOAPCFG=?", "at+QCOAPCFG=?"], ids=["AT", "at"])
def test_lower_case_prefix_accepted(module: BG96, line: str) -> None:
    """Command lines may start with AT or at (3.1.2)."""
    response = module.command(line)
    assert response.ok, response.text
    assert len(response.info("+QCOAPCFG:")) == 3

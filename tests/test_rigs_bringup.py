"""Bring-up: every step against the emulator, and the paths only a real module takes against a
scripted AT peer (the emulator cannot be told to stay unregistered or to send +CEREG URCs).
"""
from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from dut import BG96, ATChannel, BringUpError, BringUpReport, DutSettings, DutStrategy
from dut.bringup import wait_registered
from emulator.launcher import start_emulator
from fixtures.dut import dut_settings
from fixtures.rig import RigConfig

from .scripted_peer import ScriptedPeer

TIME_SCALE, AT_GRACE = 0.01, 0.2
SETTINGS = DutSettings(bring_up_timeout=5.0, registration_timeout=5.0, pdp_timeout=5.0)


def bring_up(module: BG96, settings: DutSettings = SETTINGS) -> BringUpReport:
    return DutStrategy(module, settings).bring_up()


def ok(*lines: str) -> str:
    return "".join(f"\r\n{line}\r\n" for line in lines) + "\r\nOK\r\n"


HEALTHY = {
    "AT": ok(), "ATE0": ok(), "AT+CMEE=1": ok(),
    "ATI": ok("Quectel", "BG96", "Revision: BG96MAR02A07M1G"),
    "AT+QGMR": ok("BG96MAR02A07M1G_01.019.01.019"), "AT+GSN": ok("864508030012428"),
    "AT+CFUN?": ok("+CFUN: 1"), "AT+CEREG?": ok("+CEREG: 0,1"), "AT+CPIN?": ok("+CPIN: READY"),
    'AT+QURCCFG="urcport"': ok('+QURCCFG: "urcport","usbat"'),
    "AT+QIACT?": ok('+QIACT: 1,1,1,"10.0.0.2"'), "AT+QCOAPOPEN?": ok(),
}


class ScriptedModule:
    """A scripted AT peer answering from a table (a value may be a function of the call count)."""

    def __init__(self, answers: dict[str, str | Callable[[int], str]]) -> None:
        self.answers = {**HEALTHY, **answers}
        self.received: list[str] = []
        self.peer = ScriptedPeer(self._respond)

    def _respond(self, line: bytes) -> list[bytes]:
        text = line.decode().strip()
        self.received.append(text)
        answer = self.answers.get(text, "\r\nERROR\r\n")
        if callable(answer):
            answer = answer(self.received.count(text))
        return [answer.encode()]

    def count(self, line: str) -> int:
        return self.received.count(line)


@pytest.fixture
def scripted() -> Iterator[Callable[[dict], tuple[ScriptedModule, BG96]]]:
    made: list[tuple[ScriptedModule, ATChannel]] = []

    def make(answers: dict) -> tuple[ScriptedModule, BG96]:
        module = ScriptedModule(answers)
        channel = ATChannel(module.peer.url, grace=AT_GRACE, default_timeout=1.0).open()
        made.append((module, channel))
        return module, BG96(channel, time_scale=TIME_SCALE)

    yield make
    for module, channel in made:
        channel.close()
        module.peer.close()


# -- against the emulator -----------------------------------------------------------------------
@pytest.fixture
def emulator_module(tmp_path: Path) -> Iterator[BG96]:
    emulator = start_emulator("tcp", TIME_SCALE, log_path=tmp_path / "emulator.log")
    channel = ATChannel(emulator.url, grace=AT_GRACE).open()
    try:
        yield BG96(channel, time_scale=TIME_SCALE)
    finally:
        channel.close()
        emulator.stop()


def test_bring_up_of_a_fresh_emulator_names_every_step(emulator_module: BG96) -> None:
    report = bring_up(emulator_module)
    steps = [step for step, _, _ in report.steps]
    assert steps == ["ready (RDY/APP RDY or AT)", "echo off (ATE0)", "numeric errors (AT+CMEE=1)",
                     "identify (ATI, AT+QGMR, AT+GSN)", "URC port (AT+QURCCFG)", "radio on (AT+CFUN)",
                     "SIM (AT+CPIN)", "network registration (AT+CEREG/CGREG/CREG)",
                     "PDP context 1 activation (AT+QIACT)", "close CoAP clients (AT+QCOAPCLOSE)"]
    assert report.identity is not None and report.identity.imei == "864508030012428"
    assert emulator_module.pdp_active(1)


def test_bring_up_repairs_what_a_dead_run_left_behind(emulator_module: BG96) -> None:
    """Radio off (AT+CFUN=0: no registration, no PDP context) and a client left open."""
    bring_up(emulator_module)
    response, result = emulator_module.open(2, "127.0.0.1", 9)
    assert response.ok and result is not None and result.result == 0
    assert bring_up(emulator_module).steps[-1][2] == "closed 2"
    assert emulator_module.command("AT+CFUN=0").ok
    assert not emulator_module.pdp_active(1)
    outcomes = {step: outcome for step, _, outcome in bring_up(emulator_module).steps}
    assert outcomes["radio on (AT+CFUN)"] == "AT+CFUN=1 (was 0)"
    assert outcomes["PDP context 1 activation (AT+QIACT)"] == "AT+QIACT=1"
    assert emulator_module.pdp_active(1)
    assert all(s.status == 0 for s in emulator_module.status().values())


def test_bring_up_sets_the_rig_apn(emulator_module: BG96) -> None:
    bring_up(emulator_module, dataclasses.replace(SETTINGS, apn="lab.apn"))
    assert 'lab.apn' in emulator_module.command("AT+QICSGP=1").lines[0]


# -- against a scripted peer --------------------------------------------------------------------
def test_registration_ends_on_the_cereg_urc(scripted) -> None:  # noqa: ANN001 - fixture
    """Not registered yet: +CEREG URCs on (AT+CEREG=1), the URC ends the wait before a re-query."""
    def enable(_: int) -> str:
        threading.Timer(0.1, lambda: module.peer.push(b"\r\n+CEREG: 5\r\n")).start()
        return ok()

    module, bg96 = scripted({"AT+CEREG?": ok("+CEREG: 0,2"), "AT+CEREG=1": enable, "AT+CEREG=0": ok()})
    started = time.monotonic()
    outcome = wait_registered(bg96, timeout=5.0, requery=3.0)
    assert outcome == "registered, roaming (+CEREG URC)"
    assert time.monotonic() - started < 2.0, "waited for the re-query instead of the URC"
    assert module.received[-1] == "AT+CEREG=0", "the URC setting was not restored"


def test_registration_requeries_without_urcs(scripted) -> None:  # noqa: ANN001 - fixture
    """A module that refuses AT+CEREG=1: re-query at the interval until stat 1."""
    module, bg96 = scripted({"AT+CEREG?": lambda n: ok("+CEREG: 0,2" if n < 3 else "+CEREG: 0,1")})
    assert wait_registered(bg96, timeout=5.0, requery=0.1) == "registered, home network"
    assert module.count("AT+CEREG?") == 3 and module.count("AT+CEREG=1") == 1


def test_no_registration_fails_naming_the_step_and_the_state(scripted) -> None:  # noqa: ANN001
    _, bg96 = scripted({"AT+CEREG?": ok("+CEREG: 0,3")})
    with pytest.raises(BringUpError) as info:
        bring_up(bg96, dataclasses.replace(SETTINGS, registration_timeout=0.3))
    message = str(info.value)
    assert "bring-up step 'network registration (AT+CEREG/CGREG/CREG)'" in message
    assert "stat 3 (registration denied)" in message and "limit 0.3 s" in message


def test_refused_step_is_named(scripted) -> None:  # noqa: ANN001 - fixture
    _, bg96 = scripted({"AT+CMEE=1": "\r\nERROR\r\n"})
    with pytest.raises(BringUpError, match=r"bring-up step 'numeric errors \(AT\+CMEE=1\)'.*answered 'ERROR'"):
        bring_up(bg96)


def test_pdp_activation_that_does_not_take_is_named(scripted) -> None:  # noqa: ANN001 - fixture
    _, bg96 = scripted({"AT+QIACT?": ok(), "AT+QIACT=1": ok()})
    with pytest.raises(BringUpError, match=r"PDP context 1 activation \(AT\+QIACT\)'.*does not list context 1"):
        bring_up(bg96)


def test_older_firmware_without_app_rdy(scripted) -> None:  # noqa: ANN001 - fixture
    """RDY arrives (here with the answer to the first AT) and APP RDY never does: AT decides."""
    _, bg96 = scripted({"AT": lambda n: ("\r\nRDY\r\n" if n == 1 else "") + ok()})
    report = bring_up(bg96)
    assert report.steps[0][2].startswith("RDY without APP RDY")
    assert bg96.at.urcs(r"^RDY$") == [], "boot URCs left for the first test"


def test_the_rig_becomes_the_strategy_settings() -> None:
    rig = RigConfig(name="bench1", dut_url="/dev/ttyUSB2", pdp_cid=3, apn="lab.apn", bring_up_timeout=30.0,
                    registration_timeout=90.0, pdp_timeout=60.0)
    assert dut_settings(rig, "usbrelay cycle 1") == DutSettings(
        name="bench1", pdp_cid=3, apn="lab.apn", bring_up_timeout=30.0, registration_timeout=90.0,
        pdp_timeout=60.0, power_cycle="usbrelay cycle 1")

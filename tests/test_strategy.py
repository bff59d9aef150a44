"""The DUT strategy (dut/strategy.py) without pytest fixtures of the suite: its states and
transitions, restart, recovery and the network operations, against the real emulator."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Iterator

import pytest

from dut import BG96, ATChannel, BringUpError, DutSettings, DutStrategy, State
from dut.strategy import power_cycle
from emulator.launcher import start_emulator

TIME_SCALE, AT_GRACE = 0.01, 0.2
SETTINGS = DutSettings(name="test", bring_up_timeout=5.0, registration_timeout=5.0, pdp_timeout=5.0)

Make = Callable[..., DutStrategy]


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Make]:
    """A strategy on a freshly started emulator (its settings and emulator arguments as asked)."""
    started: list[tuple[object, ATChannel]] = []

    def start(settings: DutSettings = SETTINGS, time_scale: float = TIME_SCALE, args: tuple[str, ...] = ()) -> DutStrategy:
        emulator = start_emulator("tcp", time_scale, list(args), log_path=tmp_path / "emulator.log")
        channel = ATChannel(emulator.url, grace=AT_GRACE).open()
        started.append((emulator, channel))
        return DutStrategy(BG96(channel, time_scale=time_scale), settings)

    yield start
    for emulator, channel in started:
        channel.close()
        emulator.stop()  # type: ignore[attr-defined]


def step_names(strategy: DutStrategy) -> list[str]:
    return [name for name, _, _ in strategy.report.steps]


def sent(strategy: DutStrategy, mark: int) -> list[bytes]:
    return [e.data for e in strategy.module.at.transcript.since(mark) if e.direction == "tx"]


def test_each_transition_runs_only_the_steps_of_the_states_it_passes(make: Make) -> None:
    strategy = make()
    assert strategy.state is State.UNKNOWN
    strategy.transition(State.ANSWERING)
    assert strategy.state is State.ANSWERING and step_names(strategy) == ["ready (RDY/APP RDY or AT)"]
    strategy.transition(State.CONFIGURED)
    assert step_names(strategy)[1:] == ["echo off (ATE0)", "numeric errors (AT+CMEE=1)",
                                        "identify (ATI, AT+QGMR, AT+GSN)", "URC port (AT+QURCCFG)"]
    report = strategy.transition(State.READY)
    assert step_names(strategy)[5:] == ["radio on (AT+CFUN)", "SIM (AT+CPIN)", "network registration (AT+CEREG/CGREG/CREG)",
                                        "PDP context 1 activation (AT+QIACT)", "close CoAP clients (AT+QCOAPCLOSE)"]
    assert strategy.state is State.READY and report.identity is not None and report.identity.model == "BG96"
    assert strategy.module.pdp_active(1)


def test_a_state_already_reached_costs_no_at_command(make: Make) -> None:
    strategy = make()
    strategy.transition(State.READY)
    mark = strategy.module.at.transcript.mark()
    strategy.transition(State.READY)
    strategy.transition(State.REGISTERED)  # below the current state: nothing to do
    assert sent(strategy, mark) == [] and strategy.state is State.READY


def test_bring_up_forgets_the_state_and_runs_every_step(make: Make) -> None:
    strategy = make()
    strategy.transition(State.READY)
    response, result = strategy.module.open(1, "127.0.0.1", 9)
    assert response.ok and result is not None and result.result == 0
    report = strategy.bring_up()
    assert len(report.steps) == 10 and report.steps[-1][2] == "closed 1"
    assert report.summary().startswith("ready (RDY/APP RDY or AT): ")


def test_a_failed_step_is_named_and_leaves_the_state_unknown(make: Make) -> None:
    strategy = make(dataclasses.replace(SETTINGS, pdp_cid=17))  # out of AT+QIACT's range 1..16
    with pytest.raises(BringUpError, match=r"bring-up step 'PDP context 17 activation \(AT\+QIACT\)'.*"
                                           r"limit 5\.0 s \(rig test, DUT socket://"):
        strategy.transition(State.READY)
    assert strategy.state is State.UNKNOWN


def test_restart_returns_the_boot_urcs_and_brings_the_module_up(make: Make) -> None:
    strategy = make()
    strategy.transition(State.READY)
    assert strategy.module.command("ATE1").ok  # a setting the restart drops and the bring-up sets again
    seen = strategy.restart()
    assert [u.line for u in seen] == ["RDY", "APP RDY"]
    assert strategy.state is State.READY and step_names(strategy)[0] == "ready (RDY/APP RDY or AT)"
    assert strategy.module.command("AT").lines == [], "echo is on: no bring-up after the restart"


def test_recovery_of_a_module_that_still_answers_is_a_bring_up(make: Make) -> None:
    strategy = make()
    log = strategy.recover("a test failed on the AT port")
    assert log == ["recovering: a test failed on the AT port", "the module answers AT",
                   "brought up again (echo off, CMEE, registration, PDP context, clients closed)"]
    assert strategy.state is State.READY


def test_recovery_of_a_silent_module_restarts_it(make: Make) -> None:
    """The emulator's hang-then-reboot fault: AT+CSQ silences the module for 300 s (12 s scaled),
    then its watchdog resets it. After an Esc, a short probe (3 s), a filled prompt and the probe
    with the bring-up timeout (5 s) the blind AT+CFUN=1,1 is written (at about 9 s) and the RDY of
    the reset (at 12 s) is within the next 5 s."""
    strategy = make(dataclasses.replace(SETTINGS, bring_up_timeout=5.0), time_scale=0.04,
                    args=("--fault", "hang-then-reboot"))
    strategy.transition(State.READY)
    strategy.module.at.write_raw(b"AT+CSQ\r")
    log = strategy.recover("AT+CSQ got no answer")
    assert log[1].startswith("no answer after Esc:") and log[2].startswith("no answer to AT:"), log
    assert log[3] == "restart: AT+CFUN=1,1 written without waiting for an answer", log
    assert log[-1].startswith("brought up again") and strategy.state is State.READY
    assert strategy.module.pdp_active(1)


def test_network_operations_move_the_state_down_and_back(make: Make) -> None:
    strategy = make()
    strategy.transition(State.READY)
    strategy.radio(4)
    assert strategy.state is State.CONFIGURED and not strategy.module.pdp_active(1)
    strategy.restore_network()
    assert strategy.state is State.ATTACHED and strategy.module.pdp_active(1)
    strategy.detach()
    assert strategy.state is State.REGISTERED and not strategy.module.pdp_active(1)
    strategy.reattach()
    assert strategy.state is State.ATTACHED and strategy.module.pdp_active(1)
    strategy.transition(State.READY)
    assert step_names(strategy)[-1] == "close CoAP clients (AT+QCOAPCLOSE)"


def test_a_power_cycle_command_that_cannot_run_is_one_line() -> None:
    with pytest.raises(BringUpError, match=r"^recovery: 'no-such-relay-tool --cycle' could not be run: "):
        power_cycle("no-such-relay-tool --cycle", 1.0)
    with pytest.raises(BringUpError, match=r"^recovery: 'false' exited 1"):
        power_cycle("false", 1.0)

"""The field personality: named realism knobs that make the emulator as unkind as a BG96 on a bench.

Each knob is switched alone (``--field-NAME``, or the option named in its entry), all of them at
once with ``--field``; they combine with each other, with ``--fault`` and with ``--latency``.
The network knobs' model is :mod:`emulator.radio_path`.
Delays are module seconds, scaled by ``--time-scale`` like every other delay of the model. This
module only defines the knobs; each one's effect is a small explicit hook where the emulator does
that thing (host links, AT front end, registration, SIM, network events).
"""
from __future__ import annotations

import argparse
import os
import random
from dataclasses import dataclass
from typing import Any, Callable

from .radio_path import DEFAULT_IDLE_S, IDLE_FLOOR_S, RRC_PROMOTION_S, Delay, PathKnobs

#: what --field implies for the PIN when --sim-pin is not given (the rig must know it)
FIELD_SIM_PIN = "1234"
FIELD_BAUD = 115200
#: mean module seconds between network-side PDP deactivations (exponential) under --field
FIELD_PDP_DROP_S = 600.0
RATS = ("lte", "gsm")
#: the radio path under --field: LTE-M one-way delay, RRC inactivity timer, NAT mapping timeout,
#: chance of losing the first datagram after idle
FIELD_NET_DELAY = Delay(50.0, 50.0)
FIELD_RRC_IDLE_S = 10.0
FIELD_NAT_IDLE_S = 60.0
FIELD_IDLE_DROP_P = 0.1


@dataclass(frozen=True)
class Knob:
    """One realism knob: its option, its help, the value ``--field`` gives it."""

    name: str  # attribute of FieldKnobs (underscores) and the knob's name in logs (dashes)
    help: str
    field_value: Any  # what --field sets when the knob's own option is not given
    option: str = ""  # the option; default --field-<name with dashes>
    metavar: str | None = None  # None: an on/off switch
    type: Callable[[str], Any] = str

    @property
    def flag(self) -> str:
        return self.option or "--field-" + self.name.replace("_", "-")


#: the registry. Kept in the order a bench shows them: USB, serial line, SIM, network, radio path.
KNOBS: tuple[Knob, ...] = (
    Knob("reenumerate", "USB re-enumeration on restart (AT+CFUN=1,1, watchdog reset): on --pty the node "
         "disappears and a new one appears behind the --pty-link symlink 1-3 s later (scaled), the boot "
         "URCs (RDY, APP RDY) mostly printed before it exists; on --tcp the connection drops and "
         "connections are refused until the module is back", True),
    Knob("urcs", "URCs at any moment between lines: the module's own ones and unrelated ones (+CTZE, "
         "+CTZV, +CMTI, +QIND: \"csq\", +CEREG when enabled), also between information lines and the "
         "final result code and right after it; never inside a line or a '>' / CONNECT data phase",
         True),
    Knob("baud", "bytes delivered one at a time at BAUD (10 bits a byte), as a UART or a slow USB "
         "bridge delivers them; the pace is scaled by --time-scale like every module time",
         FIELD_BAUD, option="--baud", metavar="BAUD", type=int),
    Knob("sim_pin", "the SIM needs PIN: AT+CPIN? answers +CPIN: SIM PIN until AT+CPIN=\"PIN\" (wrong: "
         f"+CME ERROR: 16); no registration before (--field: {FIELD_SIM_PIN})",
         FIELD_SIM_PIN, option="--sim-pin", metavar="PIN"),
    Knob("registration", "registration takes seconds: +CEREG: 0,2 (searching) first, registered 2-6 s "
         "(scaled) after boot, AT+CFUN=1 or the PIN, with a +CEREG/+CREG/+CGREG URC where enabled", True),
    Knob("rat", "radio access the module registers on: lte (+CEREG, +CREG and +CGREG registered) or "
         "gsm (+CREG/+CGREG registered, +CEREG stays 0)", "lte", metavar="lte|gsm"),
    Knob("pdp_drop", "network-side PDP deactivation at random moments, MEAN_S module seconds apart on "
         "average: +QIURC: \"pdpdeact\",<cid>, the context down (OPEN: -4, clients dropped) until "
         f"AT+QIACT=<cid> (--field: every {FIELD_PDP_DROP_S:.0f} s)",
         FIELD_PDP_DROP_S, metavar="MEAN_S", type=float),
    # the radio path (emulator/radio_path.py): what a datagram meets between module and gateway
    Knob("net_delay", "one-way delay of every datagram, both directions, in order: BASE_MS plus a uniform "
         f"0..JITTER_MS (--field: {FIELD_NET_DELAY})", FIELD_NET_DELAY, metavar="MS[+JITTER_MS]", type=Delay.parse),
    Knob("rrc_idle", "the radio is released after IDLE_S without traffic; the next datagram, up or down, "
         f"waits {RRC_PROMOTION_S[0]:g}-{RRC_PROMOTION_S[1]:g} s for the RRC connection set-up "
         f"(--field: {FIELD_RRC_IDLE_S:.0f} s; scaled, but never under {IDLE_FLOOR_S:g} s of real time: AT "
         "traffic is not scaled)", FIELD_RRC_IDLE_S, metavar="IDLE_S", type=float),
    Knob("nat_rebind", "the operator's NAT forgets a socket's mapping after IDLE_S without traffic: its next "
         "datagram leaves from a new source port (a new socket; a DTLS session goes on from it) "
         f"(--field: {FIELD_NAT_IDLE_S:.0f} s; scaled, never under {IDLE_FLOOR_S:g} s of real time)",
         FIELD_NAT_IDLE_S, metavar="IDLE_S", type=float),
    Knob("idle_drop", "the first uplink datagram after the radio went idle is lost with probability P "
         f"(idle: --field-rrc-idle, else {DEFAULT_IDLE_S:.0f} s) (--field: {FIELD_IDLE_DROP_P})",
         FIELD_IDLE_DROP_P, metavar="P", type=float),
)

ALWAYS = ("always, in every personality (a real BG96 does the same): echo is on after every boot "
          "(the host sends ATE0); the '>' prompt of AT+QCOAPSEND waits for its bytes with no time "
          "limit: only the counted bytes, Ctrl+Z or Esc end it")


@dataclass(frozen=True)
class FieldKnobs:
    """The knobs in force in this process; all off is the kind emulator the suites rely on."""

    reenumerate: bool = False
    urcs: bool = False
    baud: int | None = None
    sim_pin: str | None = None
    registration: bool = False
    rat: str = "lte"
    pdp_drop: float | None = None
    net_delay: Delay | None = None
    rrc_idle: float | None = None
    nat_rebind: float | None = None
    idle_drop: float | None = None
    seed: int | None = None  # every random choice of the knobs derives from it
    pty_link: str | None = None  # where the stable symlink of the PTY goes (None: a temp dir)

    @property
    def names(self) -> list[str]:
        """The knobs that are on, for logs and report headers (``baud=115200``, ``rat=gsm``)."""
        out = []
        for k in KNOBS:
            value = getattr(self, k.name)
            if value in (None, False) or (k.name == "rat" and value == "lte"):
                continue
            label = k.name.replace("_", "-")
            out.append(label if value is True else f"{label}={value}")
        return out

    @property
    def tracks_registration(self) -> bool:
        """Registration is modelled per domain (not simply "registered while CFUN=1")."""
        return self.registration or self.sim_pin is not None or self.rat != "lte"

    def rng(self, stream: str) -> random.Random:
        """One generator per knob, so one knob's draws do not shift another's (repeatable runs)."""
        return random.Random(f"{self.seed}:{stream}") if self.seed is not None else random.Random()

    def path_knobs(self) -> PathKnobs:
        return PathKnobs(self.net_delay, self.rrc_idle, self.nat_rebind, self.idle_drop)

    def byte_seconds(self) -> float | None:
        """Module seconds one byte takes on the line (start bit, 8 data bits, stop bit)."""
        return None if self.baud is None else 10.0 / self.baud


#: the knobs of the radio path between the module and the server; the others are the AT port's
NETWORK_SIDE = frozenset({"net_delay", "rrc_idle", "nat_rebind", "idle_drop"})


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The field options, in their own --help group."""
    g = ap.add_argument_group("field personality", "realism knobs, each alone or all with --field; "
                              "delays in module seconds (scaled by --time-scale). " + ALWAYS)
    g.add_argument("--field", action="store_true", help="every knob below on, at the value shown after "
                   "'--field:' where it takes one (rat stays lte)")
    g.add_argument("--field-port", action="store_true", help="the AT-port side of --field only (every knob but "
                   "the radio path's: " + ", ".join(sorted(NETWORK_SIDE)) + ")")
    g.add_argument("--field-network", action="store_true", help="the radio path's side of --field only")
    for k in KNOBS:
        if k.metavar is None:
            g.add_argument(k.flag, dest="field_" + k.name, action="store_true", default=None, help=k.help)
        else:
            g.add_argument(k.flag, dest="field_" + k.name, metavar=k.metavar, default=None, help=k.help)
    g.add_argument("--field-seed", type=int, default=None, metavar="N",
                   help="seed of every random choice of the knobs (URC moments, PDP drops, re-enumeration)")
    g.add_argument("--pty-link", default=None, metavar="PATH",
                   help="with --pty: the stable symlink to the AT node, named in the start line (default: "
                        "a per-process temp dir, usb-Quectel_Incorporated_BG96_<n>-if02-port0)")


def knobs_from_args(ap: argparse.ArgumentParser, a: argparse.Namespace) -> FieldKnobs:
    """FieldKnobs from parsed options; a bad value is a usage error (ap.error exits with status 2)."""
    values: dict[str, Any] = {}
    for k in KNOBS:
        raw = getattr(a, "field_" + k.name)
        if raw is None:
            on = a.field or (a.field_port and k.name not in NETWORK_SIDE) or (a.field_network and k.name in NETWORK_SIDE)
            values[k.name] = k.field_value if on else (None if k.metavar else False)
            continue
        try:
            values[k.name] = k.type(raw) if k.metavar else True
        except ValueError:
            ap.error(f"{k.flag}: not a valid {k.metavar}: {raw!r}")
    problem = _problem(values) or _link_problem(a.pty_link)
    if problem:
        ap.error(problem)
    if values["rat"] is None:
        values["rat"] = "lte"
    return FieldKnobs(**values, seed=a.field_seed, pty_link=a.pty_link)


def _link_problem(link: str | None) -> str:
    if link is None:
        return ""
    if not os.path.isdir(os.path.dirname(os.path.abspath(link))):
        return f"--pty-link: no directory {os.path.dirname(os.path.abspath(link))!r} to put {link!r} in"
    if os.path.lexists(link) and not os.path.islink(link):
        return f"--pty-link: {link!r} exists and is not a symlink (it would be replaced)"
    return ""


def _problem(v: dict[str, Any]) -> str:
    if v["baud"] is not None and not 300 <= v["baud"] <= 4_000_000:
        return f"--baud: {v['baud']} is outside 300..4000000"
    pin = v["sim_pin"]
    if pin is not None and not (pin.isdigit() and 4 <= len(pin) <= 8):
        return f"--sim-pin: a PIN is 4 to 8 digits, got {pin!r}"
    if v["rat"] is not None and v["rat"] not in RATS:
        return f"--field-rat: expected one of {', '.join(RATS)}, got {v['rat']!r}"
    if v["pdp_drop"] is not None and not v["pdp_drop"] > 0:
        return f"--field-pdp-drop: MEAN_S must be > 0, got {v['pdp_drop']}"
    for name in ("rrc_idle", "nat_rebind"):
        if v[name] is not None and not v[name] > 0:
            return f"--field-{name.replace('_', '-')}: IDLE_S must be > 0, got {v[name]}"
    if v["idle_drop"] is not None and not 0 <= v["idle_drop"] < 1:
        return f"--field-idle-drop: P must be in [0, 1), got {v['idle_drop']}"
    return ""

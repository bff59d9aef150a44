"""The rig: which DUT, which server address, which timing. Its schema and its TOML loader.

A rig file (``--rig rigs/bench1.toml``) holds what differs between benches; a command-line
option given explicitly overrides the file's value. Every value, from a file or an option, is
checked in one place (:func:`build_rig`), and a bad one is a :class:`RigError` that names the
key and the file (or the option), so a night run never starts on a half-read rig. Plain Python:
the pytest side (``fixtures/rig.py``) only turns options into values and errors into usage errors.
"""
from __future__ import annotations

import difflib
import importlib.util
import ipaddress
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

from dut.bringup import PDP_AUTH, PDP_TYPES, URC_PORTS
from wire.address import parse_hostport


class RigError(ValueError):
    """A rig file, rig list or option value that cannot be used; the message names the key and where."""


@dataclass(frozen=True)
class RigConfig:
    """Everything that differs between the emulator and a bench with a BG96 EVB on USB."""

    name: str = "emulator"
    dut_url: str | None = None  # None: the fixtures start the bundled emulator
    baudrate: int = 115200
    pdp_cid: int = 1
    apn: str = ""
    pdp_type: str = "IPv4"  # AT+QICSGP <context_type>: IPv4, IPv6 or IPv4v6
    pdp_user: str = ""
    pdp_password: str = ""
    pdp_auth: str = "none"  # none, pap, chap, pap-or-chap
    sim_pin: str = ""  # entered with AT+CPIN when AT+CPIN? says SIM PIN
    urc_port: str = "usbat"  # AT+QURCCFG="urcport": the port the URCs must go to (the one the suite uses)
    server_bind: tuple[str, int] = ("127.0.0.1", 0)
    server_advertise: tuple[str, int] | None = None  # what the module dials (NAT on a bench)
    #: the module reaches the server on its own network (a private or loopback address is fine)
    server_on_module_network: bool = False
    relay_bind: tuple[str, int] | None = None  # None: the server's bind host, the plain port + 2
    relay_advertise: tuple[str, int] | None = None  # None: the server's advertised host, the relay's port
    max_rtt: float | None = None  # the path's worst round trip, s (None: lab.reachability's default)
    #: a second PDP context the bench's SIM can activate: the "pdpcid" effect is judged on it
    second_pdp_cid: int | None = None
    #: a domain name the module can resolve to the reference server (OPEN by name)
    server_name: str | None = None
    module_source: tuple[str, ...] = ()  # the operator's NAT range(s) the module's datagrams come from
    psk_identity: str = "864508030012428"
    psk_key_hex: str = "313233343446473839"
    time_scale: float = 1.0  # the DUT's protocol timers are this fraction of the document's
    at_grace: float = 1.0  # slack added to documented maximum response times for waits
    bring_up_timeout: float = 60.0  # RDY/APP RDY or an answer to AT
    registration_timeout: float = 180.0  # AT+CEREG until registered (LTE-M/NB-IoT attach)
    pdp_timeout: float = 150.0  # AT+QIACT (150 s is the TCP/IP manual's maximum response time)
    #: allowed deviation of a measured protocol interval: absolute seconds plus a fraction
    timing_abs_tolerance: float = 0.02
    timing_rel_tolerance: float = 0.05
    exclude: tuple[str, ...] = field(default_factory=tuple)  # suite modules or markers left out
    emulator_args: tuple[str, ...] = field(default_factory=tuple)  # for an emulator the fixtures start
    labgrid_place: str | None = None  # a labgrid place instead of dut_url (lab/labgrid.py)
    labgrid_coordinator: str | None = None  # None: $LG_COORDINATOR, then labgrid's default
    labgrid_wait: float = 0.0  # seconds to wait while someone else holds the place
    labgrid_on_unavailable: str = "stop"  # "stop" the run, or "skip" the place and go on
    source: str = ""  # the rig file this came from ("" for options only)

    @property
    def uses_emulator(self) -> bool:
        return self.dut_url is None and self.labgrid_place is None

    def where(self, key: str) -> str:
        """How an error names a key of this rig: the file and the key, or just the key."""
        return f"rig file {self.source}: key '{key}'" if self.source else f"rig key '{key}'"


# -- values: each check converts and raises ValueError saying why --------------------------------
def _dut_url(value: str) -> str:
    """Any pyserial URL (its scheme must be one pyserial has a handler for) or a device path."""
    if not value.strip():
        raise ValueError("is empty")
    if "://" in value:
        scheme = value.split("://", 1)[0].lower()
        if not re.fullmatch(r"[a-z0-9_]+", scheme) or importlib.util.find_spec(
                f"serial.urlhandler.protocol_{scheme}") is None:
            raise ValueError(f"{value!r} has no pyserial URL handler for '{scheme}://' "
                             "(device path, hwgrep://, rfc2217://, socket://, loop://, spy://, alt://)")
    return value


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError(f"must be greater than 0, got {value}")
    return value


def _not_negative(value: float) -> float:
    if value < 0:
        raise ValueError(f"must be 0 or more, got {value}")
    return value


def _fraction(value: float) -> float:
    if not 0 <= value < 1:
        raise ValueError(f"must be a fraction in [0, 1), got {value}")
    return value


def _pdp_cid(value: int) -> int:
    if not 1 <= value <= 16:
        raise ValueError(f"must be a PDP context id 1..16, got {value}")
    return value


def _baudrate(value: int) -> int:
    if value <= 0:
        raise ValueError(f"must be a positive baud rate, got {value}")
    return value


def _non_empty(value: str) -> str:
    if not value:
        raise ValueError("is empty")
    return value


def _hex_key(value: str) -> str:
    try:
        if not value or len(bytes.fromhex(value)) == 0:
            raise ValueError
    except ValueError:
        raise ValueError(f"must be the key as hex digits (e.g. \"313233343446473839\"), got {value!r}") from None
    return value


def _bind(value: str) -> tuple[str, int]:
    return parse_hostport(value)


def _advertise(value: str) -> tuple[str, int]:
    return parse_hostport(value, allow_port_zero=False)


def _networks(value: str) -> tuple[str, ...]:
    """``198.51.100.0/24`` or several, comma-separated (an address alone is a /32)."""
    nets = tuple(v.strip() for v in value.split(",") if v.strip())
    if not nets:
        raise ValueError("is empty")
    for net in nets:
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError:
            raise ValueError(f"must be addresses or networks (e.g. \"198.51.100.0/24\"), got {net!r}") from None
    return nets


def _coordinator(value: str) -> str:
    """labgrid's coordinator address: HOST or HOST:PORT (20408 when the port is left out)."""
    host, colon, port = value.rpartition(":")
    if not value or any(c.isspace() for c in value) or "/" in value or (
            colon and ":" not in host.strip("[]") and not (port.isdigit() and 0 < int(port) < 65536)):
        raise ValueError(f"must be the coordinator as HOST or HOST:PORT (e.g. \"lab-coord:20408\"), got {value!r}")
    return value


def _on_unavailable(value: str) -> str:
    if value not in ("stop", "skip"):
        raise ValueError(f"must be \"stop\" (the run stops) or \"skip\" (the run goes on without "
                         f"this place), got {value!r}")
    return value


def _choice(choices: tuple[str, ...] | dict[str, int]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, got {value!r}")
        return value
    return check


def _pin(value: str) -> str:
    if not (value.isdigit() and 4 <= len(value) <= 8):
        raise ValueError(f"must be the SIM PIN, 4 to 8 digits, got {value!r}")
    return value


def _names(value: list[str]) -> tuple[str, ...]:
    if any(not v for v in value):
        raise ValueError("holds an empty name")
    return tuple(value)


@dataclass(frozen=True)
class Key:
    """One rig-file key: where it goes in :class:`RigConfig`, its TOML type, its check, its option."""

    path: str  # dotted TOML key, e.g. "server.bind"
    field: str  # RigConfig field
    kind: type  # str, int, float or list (of str)
    check: Callable[[Any], Any] | None = None  # converts and validates; ValueError says why
    option: str | None = None  # the command-line option that overrides it
    doc: str = ""


KEYS: tuple[Key, ...] = (
    Key("name", "name", str, _non_empty, None, "rig name for the report header (default: file name)"),
    Key("dut.url", "dut_url", str, _dut_url, "--dut", "pyserial URL of the AT port; absent: start the emulator"),
    Key("dut.baudrate", "baudrate", int, _baudrate, "--baudrate", "AT port baud rate"),
    Key("dut.time_scale", "time_scale", float, _positive, "--time-scale",
        "the DUT's timer scale: 1 on hardware; the emulator the fixtures start runs at it (default 0.01)"),
    Key("dut.bring_up_timeout", "bring_up_timeout", float, _positive, "--bring-up-timeout",
        "seconds for RDY/APP RDY or an answer to AT"),
    Key("network.pdp_cid", "pdp_cid", int, _pdp_cid, "--pdp-cid", "PDP context id the CoAP clients use"),
    Key("network.apn", "apn", str, None, "--apn", "APN set with AT+QICSGP (empty: leave the module's)"),
    Key("network.registration_timeout", "registration_timeout", float, _positive, None,
        "seconds until AT+CEREG reports 1 or 5"),
    Key("network.pdp_timeout", "pdp_timeout", float, _positive, None, "seconds for AT+QIACT"),
    Key("network.pdp_type", "pdp_type", str, _choice(PDP_TYPES), "--pdp-type",
        "PDP context type for AT+QICSGP: IPv4, IPv6 or IPv4v6"),
    Key("network.user", "pdp_user", str, None, None, "PDP context user name (AT+QICSGP)"),
    Key("network.password", "pdp_password", str, None, None, "PDP context password (AT+QICSGP)"),
    Key("network.auth", "pdp_auth", str, _choice(PDP_AUTH), None,
        "PDP context authentication: none, pap, chap or pap-or-chap"),
    Key("sim.pin", "sim_pin", str, _pin, "--sim-pin", "the SIM's PIN, entered when AT+CPIN? says SIM PIN"),
    Key("dut.urc_port", "urc_port", str, _choice(URC_PORTS), "--urc-port",
        "AT+QURCCFG=\"urcport\": where the module sends URCs; the port the suite uses (usbat for the USB AT port, "
        "uart1 on a UART bench)"),
    Key("server.bind", "server_bind", str, _bind, "--server-bind", "HOST:PORT the reference server listens on"),
    Key("server.advertise", "server_advertise", str, _advertise, "--server-advertise",
        "HOST:PORT the module must dial (NAT, port forwarding)"),
    Key("server.on_module_network", "server_on_module_network", bool, None, "--server-on-module-network",
        "the module reaches the server on its own network: a private or loopback advertised address is accepted"),
    Key("relay.bind", "relay_bind", str, _bind, "--relay-bind",
        "HOST:PORT the impairment relay listens on (default: the server's bind host, the plain port + 2)"),
    Key("relay.advertise", "relay_advertise", str, _advertise, "--relay-advertise",
        "HOST:PORT the module must dial to reach the relay (default: the server's advertised host)"),
    Key("network.max_rtt", "max_rtt", float, _positive, "--max-rtt",
        "the path's worst round trip, s (RRC promotion included): the reachability check refuses a slower rig, "
        "and every arrival window derives from it (default 4 on hardware)"),
    Key("network.second_pdp_cid", "second_pdp_cid", int, _pdp_cid, None,
        "a second PDP context the SIM can activate: AT+QCOAPCFG=\"pdpcid\" is judged by an OPEN on it "
        "(the emulator: 2)"),
    Key("server.name", "server_name", str, _non_empty, None,
        "a domain name the module resolves to the reference server, for OPEN by name (the emulator: localhost)"),
    Key("network.module_source", "module_source", str, _networks, "--module-source",
        "the operator's NAT range(s) the module's datagrams come from, comma-separated (default: learned)"),
    Key("dtls.psk_identity", "psk_identity", str, _non_empty, None, "DTLS PSK identity"),
    Key("dtls.psk_key_hex", "psk_key_hex", str, _hex_key, None, "DTLS PSK key, hex"),
    Key("timing.at_grace", "at_grace", float, _not_negative, "--at-grace",
        "seconds added to documented maximum response times"),
    Key("timing.tolerance", "timing_abs_tolerance", float, _not_negative, "--timing-tolerance",
        "absolute slack for measured protocol intervals, s"),
    Key("timing.relative_tolerance", "timing_rel_tolerance", float, _fraction, None,
        "relative slack for measured protocol intervals"),
    Key("suites.exclude", "exclude", list, _names, None, "suite modules (test_x) or markers left out on this rig"),
    Key("emulator.args", "emulator_args", list, _names, None, "extra arguments for the emulator the fixtures start"),
    Key("labgrid.place", "labgrid_place", str, _non_empty, None,
        "labgrid place holding the module (instead of dut.url); option --lg-place, repeatable"),
    Key("labgrid.coordinator", "labgrid_coordinator", str, _coordinator, "--lg-coordinator",
        "labgrid coordinator HOST[:PORT] (default $LG_COORDINATOR, then 127.0.0.1:20408)"),
    Key("labgrid.wait", "labgrid_wait", float, _not_negative, None,
        "seconds to wait while another user holds the place (default 0)"),
    Key("labgrid.on_unavailable", "labgrid_on_unavailable", str, _on_unavailable, None,
        "a place not acquired in time: \"stop\" the run (default) or \"skip\" it and go on"),
)
KEYS_BY_PATH = {k.path: k for k in KEYS}
KEYS_BY_OPTION = {k.option: k for k in KEYS if k.option}
_SECTIONS = sorted({k.path.split(".")[0] for k in KEYS if "." in k.path})
_FIELDS = {f.name for f in fields(RigConfig)}
assert all(k.field in _FIELDS for k in KEYS)

#: Defaults that depend on the DUT: the emulator runs fast and exact, hardware needs slack.
EMULATOR_DEFAULTS = {"at_grace": 0.3, "timing_abs_tolerance": 0.02, "time_scale": 0.01}
HARDWARE_DEFAULTS = {"at_grace": 1.0, "timing_abs_tolerance": 0.5, "time_scale": 1.0}


def _typed(key: Key, value: Any, where: str) -> Any:
    """The TOML value as ``key.kind``, checked; a RigError names ``where`` otherwise."""
    ok = (isinstance(value, key.kind) and not isinstance(value, bool)) or (
        key.kind is float and isinstance(value, int) and not isinstance(value, bool)) or (
        key.kind is bool and isinstance(value, bool))
    if key.kind is list:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    if not ok:
        want = {str: "a string", int: "an integer", float: "a number", list: "a list of strings",
                bool: "true or false"}[key.kind]
        raise RigError(f"{where} must be {want}, got {value!r} ({type(value).__name__})")
    if key.kind is float:
        value = float(value)
    try:
        return key.check(value) if key.check else value
    except ValueError as exc:
        raise RigError(f"{where} {exc}") from None


def _flatten(table: dict[str, Any], source: str, prefix: str = "") -> dict[str, Any]:
    """``{"dut": {"url": ..}}`` -> ``{"dut.url": ..}``; an unknown key or section is an error."""
    flat: dict[str, Any] = {}
    for name, value in table.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict) and not prefix and name in _SECTIONS:
            flat.update(_flatten(value, source, prefix=f"{path}."))
            continue
        if not prefix and name in _SECTIONS:
            raise RigError(f"rig file {source}: key '{name}' must be a table ([{name}] with "
                           f"{', '.join(k.path for k in KEYS if k.path.startswith(name + '.'))}), "
                           f"got {value!r}")
        if path not in KEYS_BY_PATH:
            known = [k.path for k in KEYS if k.path.startswith(prefix)] if prefix else [k.path for k in KEYS]
            close = difflib.get_close_matches(path, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise RigError(f"rig file {source}: unknown key '{path}'{hint}; known keys: {', '.join(known)}")
        flat[path] = value
    return flat


def read_rig_table(path: Path) -> dict[str, Any]:
    """The TOML file as a dict; unreadable or invalid TOML is a RigError naming the file."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise RigError(f"rig file {path}: cannot read it: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RigError(f"rig file {path}: not valid TOML: {exc}") from None


def file_values(table: dict[str, Any], source: str) -> dict[str, Any]:
    """Field -> checked value, from a rig table (a whole file, or one entry of a rig list)."""
    values: dict[str, Any] = {}
    for path, raw in _flatten(table, source).items():
        key = KEYS_BY_PATH[path]
        values[key.field] = _typed(key, raw, f"rig file {source}: key '{path}'")
    return values


def option_values(given: dict[str, Any]) -> dict[str, Any]:
    """Field -> checked value, from option -> raw value (None: not given) of :data:`KEYS_BY_OPTION`."""
    values: dict[str, Any] = {}
    for option, raw in given.items():
        if raw is None:
            continue
        key = KEYS_BY_OPTION[option]
        if key.kind is float:
            raw = float(raw)
        try:
            values[key.field] = key.check(raw) if key.check else raw
        except ValueError as exc:
            raise RigError(f"option {option} {exc}") from None
    return values


def build_rig(file: dict[str, Any], cli: dict[str, Any], source: str = "",
              extra_emulator_args: tuple[str, ...] = ()) -> RigConfig:
    """Merge (option over file over default) and check what only the whole rig can show."""
    merged = {**file, **cli}
    if merged.get("dut_url") is not None and merged.get("labgrid_place") is not None:
        where = f"rig file {source}: key 'labgrid.place'" if source else "rig key 'labgrid.place' (--lg-place)"
        raise RigError(f"{where} and dut.url (or --dut) are both set: a labgrid place brings its own "
                       "AT port; give one of them")
    hardware = merged.get("dut_url") is not None or merged.get("labgrid_place") is not None
    values = {**(HARDWARE_DEFAULTS if hardware else EMULATOR_DEFAULTS), **merged}
    if "name" not in values:
        values["name"] = Path(source).stem if source else (
            values.get("dut_url") or values.get("labgrid_place") or "emulator")
    values["emulator_args"] = tuple(values.get("emulator_args", ())) + tuple(extra_emulator_args)
    rig = RigConfig(**values, source=source)
    _check_whole(rig, hardware)
    return rig


def _check_whole(rig: RigConfig, hardware: bool) -> None:
    """A module cannot dial an unspecified address: a bench binding 0.0.0.0 must advertise one."""
    if not hardware:
        return
    host, port = rig.server_advertise or rig.server_bind
    try:
        unspecified = ipaddress.ip_address(host).is_unspecified
    except ValueError:
        unspecified = False  # a host name
    if unspecified:
        raise RigError(
            f"{rig.where('server.advertise')} is missing: the module cannot dial "
            f"{host}:{port} (server.bind); give the address and port it must dial "
            "(option --server-advertise)")


# -- files and lists ---------------------------------------------------------------------------
def load_rig_file(path: Path, cli: dict[str, Any] | None = None, **kw: Any) -> RigConfig:
    """The rig of one file, with ``cli`` (field -> checked value) over it."""
    return build_rig(file_values(read_rig_table(path), str(path)), cli or {}, str(path), **kw)


def load_rig_list(path: Path, cli: dict[str, Any] | None = None, **kw: Any) -> list[RigConfig]:
    """``[[rig]]`` entries: ``file = "bench1.toml"`` (relative to the list) or the rig keys inline."""
    cli = cli or {}
    table = read_rig_table(path)
    unknown = [k for k in table if k != "rig"]
    if unknown or not isinstance(table.get("rig"), list) or not table["rig"]:
        what = f"unknown key '{unknown[0]}'" if unknown else "no [[rig]] entries"
        raise RigError(f"rig list {path}: {what}; a rig list holds [[rig]] tables, each with "
                       "file = \"<rig>.toml\" or the keys of a rig file")
    rigs = []
    for index, entry in enumerate(table["rig"], start=1):
        if not isinstance(entry, dict):
            raise RigError(f"rig list {path}: entry {index} of 'rig' is not a table")
        if "file" in entry:
            if set(entry) != {"file"} or not isinstance(entry["file"], str):
                raise RigError(f"rig list {path}: [[rig]] entry {index}: key 'file' must be a "
                               "string and stand alone (put other keys in that rig file)")
            rigs.append(load_rig_file(path.parent / entry["file"], cli, **kw))
        else:
            source = f"{path} [[rig]] #{index}"
            values = file_values(entry, source)
            values.setdefault("name", f"{path.stem}-{index}")
            rigs.append(build_rig(values, cli, source, **kw))
    return rigs


def check_rig_set(rigs: list[RigConfig], source: str) -> None:
    """Rigs that run side by side must not share a name, a DUT or a fixed server port (the
    plain server's port, or the DTLS server's next to it)."""
    seen: dict[tuple[str, object], RigConfig] = {}
    for rig in rigs:
        claims: list[tuple[str, object]] = [("name", rig.name)]
        if rig.dut_url is not None:
            claims.append(("dut.url", rig.dut_url))
        if rig.labgrid_place is not None:
            claims.append(("labgrid.place", f"{rig.labgrid_place} on {rig.labgrid_coordinator or 'the default coordinator'}"))
        host, port = rig.server_bind
        if port:
            claims += [("server.bind port (plain, or DTLS at port + 1)", f"{host}:{p}") for p in (port, port + 1)]
            if rig.relay_bind is None:
                claims.append(("server.bind port (plain, or DTLS at port + 1)", f"{host}:{port + 2}"))
        for claim in claims:
            other = seen.get(claim)
            if other is not None:
                raise RigError(f"{source}: rigs '{other.name}' and '{rig.name}' share {claim[0]} "
                               f"{claim[1]!r}; each rig needs its own")
            seen[claim] = rig


def load_rigs(files: list[Path], rig_list: Path | None, cli: dict[str, Any],
              extra_emulator_args: tuple[str, ...] = (), places: tuple[str, ...] = ()) -> tuple[list[RigConfig], str]:
    """Every rig a run names (a rig list, rig files, or options only), checked as a set, and
    where the set came from. ``places`` (``--lg-place``, repeatable): one rig per labgrid place,
    each with the keys of the one ``--rig`` file (if any) and the options."""
    kw = {"extra_emulator_args": extra_emulator_args}
    if rig_list and files:
        raise RigError("give either --rig-list or --rig, not both")
    if places:
        if rig_list or len(files) > 1:
            raise RigError("--lg-place takes at most one --rig file (a rig list names its places with "
                           "the key labgrid.place)")
        if any(not p for p in places):
            raise RigError("option --lg-place is empty")
        file, source = (file_values(read_rig_table(files[0]), str(files[0])), str(files[0])) if files else ({}, "")
        named = len(places) > 1  # several places: each rig is named by its place
        rigs = [build_rig(file, {**cli, "labgrid_place": p, **({"name": p} if named else {})}, source, **kw)
                for p in places]
        check_rig_set(rigs, "--lg-place")
        return rigs, "--lg-place"
    if rig_list:
        if "dut_url" in cli:
            raise RigError(f"--dut cannot override every rig of the rig list {rig_list}")
        rigs, source = load_rig_list(rig_list, cli, **kw), f"rig list {rig_list}"
    elif files:
        if len(files) > 1 and "dut_url" in cli:
            raise RigError("--dut cannot override several --rig files")
        rigs, source = [load_rig_file(p, cli, **kw) for p in files], "--rig files"
    else:
        rigs, source = [build_rig({}, cli, **kw)], "options"
    check_rig_set(rigs, source)
    return rigs, source

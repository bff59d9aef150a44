"""The rig loader as a lab script uses it, without pytest: rig files, rig lists, defaults,
overrides, and a RigError that names the key and the file for every bad value."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lab.rig import (RigConfig, RigError, build_rig, check_rig_set, file_values, load_rig_file, load_rig_list,
                     load_rigs, option_values)

ROOT = Path(__file__).resolve().parent.parent
RIGS = ROOT / "rigs"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_loader_needs_no_pytest() -> None:
    """A lab script loads a rig file with pytest not importable at all."""
    code = ("import sys; sys.modules['pytest'] = None\n"
            "from pathlib import Path\nfrom lab.rig import load_rig_file\n"
            "print(load_rig_file(Path('rigs/bench1.toml')).name)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "bench1", done.stderr


def test_rig_error_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown key 'dut.speed'"):
        load_rig_file(write(tmp_path / "typo.toml", "[dut]\nspeed = 1\n"))


# -- rig files: values, defaults, overrides ---------------------------------------------------
def test_bench_rig_file_gives_every_value() -> None:
    rig = load_rig_file(RIGS / "bench1.toml", {})
    assert rig == RigConfig(
        name="bench1", dut_url="/dev/ttyUSB2", baudrate=115200, pdp_cid=1, apn="internet",
        server_bind=("0.0.0.0", 5683), server_advertise=("203.0.113.7", 5683),
        psk_identity="864508030012428", psk_key_hex="313233343446473839", time_scale=1.0,
        at_grace=1.0, bring_up_timeout=60.0, registration_timeout=180.0, pdp_timeout=150.0,
        timing_abs_tolerance=0.5, timing_rel_tolerance=0.05, exclude=(), emulator_args=(),
        source=str(RIGS / "bench1.toml"))
    assert not rig.uses_emulator


def test_emulator_rig_file_and_emulator_defaults() -> None:
    rig = load_rig_file(RIGS / "emulator.toml", {}, extra_emulator_args=("--fault", "no-dedup"))
    assert rig.uses_emulator and rig.time_scale == 0.01
    assert rig.emulator_args == ("--latency", "rigs/latency-bg96.json", "--fault", "no-dedup")
    bare = build_rig({}, {})  # no file, no options: the emulator with its fast defaults
    assert (bare.name, bare.time_scale, bare.at_grace, bare.timing_abs_tolerance) == ("emulator", 0.01, 0.3, 0.02)


def test_hardware_defaults_where_the_file_is_silent(tmp_path: Path) -> None:
    path = write(tmp_path / "lab7.toml", '[dut]\nurl = "hwgrep://2c7c:0296&n=3"\n')
    rig = load_rig_file(path, {})
    assert (rig.name, rig.time_scale, rig.at_grace, rig.timing_abs_tolerance) == ("lab7", 1.0, 1.0, 0.5)


def test_command_line_values_override_the_file() -> None:
    file = file_values({"dut": {"url": "/dev/ttyUSB2", "baudrate": 9600}, "timing": {"at_grace": 1.0},
                        "network": {"apn": "file-apn"}}, "bench.toml")
    rig = build_rig(file, {"at_grace": 2.5, "apn": "cli-apn"}, "bench.toml")
    assert (rig.at_grace, rig.apn, rig.baudrate, rig.dut_url) == (2.5, "cli-apn", 9600, "/dev/ttyUSB2")



# -- bad rig files: RigError names the key and the file ------------------------------------
@pytest.mark.parametrize("text, key, says", [
    ('nmae = "x"\n', "nmae", "unknown key"),
    ('[dut]\nbaudrate = "fast"\n', "dut.baudrate", "must be an integer"),
    ('[dut]\ntime_scale = true\n', "dut.time_scale", "must be a number"),
    ('[dut]\nurl = "sockt://127.0.0.1:7777"\n', "dut.url", "no pyserial URL handler"),
    ('[network]\npdp_cid = 17\n', "network.pdp_cid", "1..16"),
    ('[server]\nbind = "127.0.0.1:70000"\n', "server.bind", "outside 0..65535"),
    ('[server]\nadvertise = "198.51.100.1:0"\n', "server.advertise", "outside 1..65535"),
    ('[dtls]\npsk_key_hex = "12345G"\n', "dtls.psk_key_hex", "hex digits"),
    ('[timing]\nrelative_tolerance = 1.5\n', "timing.relative_tolerance", "fraction"),
    ('[suites]\nexclude = "slow"\n', "suites.exclude", "list of strings"),
    ('dut = "/dev/ttyUSB2"\n', "dut", "must be a table"),
    ('[dut]\nurl = "/dev/ttyUSB2"\n[server]\nbind = "0.0.0.0:5683"\n', "server.advertise", "is missing"),
], ids=["unknown", "type", "bool-for-number", "url-scheme", "pdp-range", "port-range", "advertise-port",
        "hex-key", "fraction", "list", "section", "advertise-missing"])
def test_bad_value_names_the_key_and_the_file(tmp_path: Path, text: str, key: str, says: str) -> None:
    path = write(tmp_path / "rig.toml", text)
    with pytest.raises(RigError) as info:
        load_rig_file(path, {})
    message = str(info.value)
    assert f"'{key}'" in message and str(path) in message and says in message, message


def test_unreadable_and_invalid_files_name_the_file(tmp_path: Path) -> None:
    for path, says in ((tmp_path / "absent.toml", "cannot read"),
                       (write(tmp_path / "broken.toml", "[dut\n"), "not valid TOML")):
        with pytest.raises(RigError, match=says) as info:
            load_rig_file(path, {})
        assert str(path) in str(info.value)


# -- rig lists ----------------------------------------------------------------------------------
def test_example_rig_lists_load() -> None:
    emulators = load_rig_list(RIGS / "two-emulators.toml", {})
    assert [r.name for r in emulators] == ["emulator-a", "emulator-b"]
    assert all(r.uses_emulator and r.time_scale == 0.01 for r in emulators)
    benches = load_rig_list(RIGS / "bench-pair.toml", {})
    assert [(r.name, r.dut_url, r.server_bind[1]) for r in benches] == [
        ("bench1", "/dev/ttyUSB2", 5683), ("bench2", "/dev/ttyUSB6", 5693)]
    check_rig_set(benches, "bench-pair")


@pytest.mark.parametrize("second, clash", [
    ('name = "a"', "name"),
    ('name = "b"\ndut.url = "/dev/ttyUSB2"\nserver.advertise = "198.51.100.1:5693"', "dut.url"),
    ('name = "b"\ndut.url = "/dev/ttyUSB6"\nserver.bind = "0.0.0.0:5684"\n'
     'server.advertise = "198.51.100.1:5684"', "server.bind port"),
], ids=["same-name", "same-dut", "dtls-port-of-the-other"])
def test_rigs_side_by_side_may_not_share_a_dut_or_a_port(tmp_path: Path, second: str, clash: str) -> None:
    first = 'name = "a"\ndut.url = "/dev/ttyUSB2"\nserver.bind = "0.0.0.0:5683"\nserver.advertise = "198.51.100.1:5683"'
    path = write(tmp_path / "pair.toml", f"[[rig]]\n{first}\n\n[[rig]]\n{second}\n")
    with pytest.raises(RigError, match=clash):
        check_rig_set(load_rig_list(path, {}), str(path))


# -- the time scale: one name, dut.time_scale in the file, --time-scale on the command line -----
def test_time_scale_option_overrides_the_file_and_sets_the_emulator_default() -> None:
    cli = option_values({"--time-scale": "0.05", "--dut": None})
    assert cli == {"time_scale": 0.05}
    assert load_rig_file(RIGS / "emulator.toml", cli).time_scale == 0.05  # the file says 0.01
    assert build_rig({}, {}).time_scale == 0.01  # the emulator's default
    assert build_rig({}, option_values({"--dut": "/dev/ttyUSB2"})).time_scale == 1.0  # hardware's


def test_bad_option_value_names_the_option() -> None:
    with pytest.raises(RigError, match="option --time-scale must be greater than 0"):
        option_values({"--time-scale": "0"})


def test_rig_set_from_files_or_a_list() -> None:
    rigs, source = load_rigs([], RIGS / "two-emulators.toml", {})
    assert [r.name for r in rigs] == ["emulator-a", "emulator-b"] and "two-emulators" in source
    with pytest.raises(RigError, match="--dut cannot override several --rig files"):
        load_rigs([RIGS / "bench1.toml", RIGS / "bench2.toml"], None, {"dut_url": "/dev/ttyUSB0"})
    with pytest.raises(RigError, match="either --rig-list or --rig"):
        load_rigs([RIGS / "bench1.toml"], RIGS / "bench-pair.toml", {})


# -- bench keys of issue 14: SIM PIN, URC port, PDP type and credentials -------------------------
def test_bench_keys_are_read_and_checked(tmp_path: Path) -> None:
    from lab.rig import RigError, file_values, load_rig_file

    path = tmp_path / "bench.toml"
    path.write_text('[dut]\nurl = "/dev/ttyUSB2"\nurc_port = "uart1"\n[sim]\npin = "1234"\n'
                    '[network]\npdp_type = "IPv4v6"\nuser = "u"\npassword = "p"\nauth = "chap"\n'
                    '[server]\nadvertise = "203.0.113.7:5683"\n')
    rig = load_rig_file(path)
    assert (rig.sim_pin, rig.urc_port, rig.pdp_type, rig.pdp_user, rig.pdp_password, rig.pdp_auth) == (
        "1234", "uart1", "IPv4v6", "u", "p", "chap")
    for table, message in [({"sim": {"pin": "12"}}, "4 to 8 digits"),
                           ({"network": {"pdp_type": "IP"}}, "one of IPv4, IPv6, IPv4v6"),
                           ({"network": {"auth": "md5"}}, "one of none, pap, chap, pap-or-chap"),
                           ({"dut": {"urc_port": "usb"}}, "one of usbat, usbmodem, uart1")]:
        with pytest.raises(RigError, match=message):
            file_values(table, "x.toml")

#!/usr/bin/env bash
# Make sure the machine and .venv hold what the suite needs; do nothing that is already done.
# Debian packages are installed with apt-get when run as root; otherwise the script says
# which ones are missing and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
# autoconf/automake/libtool/gcc/python3-dev: DTLSSocket builds tinydtls from source.
# tshark: the pcap tests decode captures with it. chromium: the report screenshot test.
# libcoap3-bin: the block-wise test runs libcoap's client (Debian names it coap-client-notls).
need_pkgs=()
for tool in autoconf:autoconf automake:automake libtoolize:libtool gcc:gcc make:make tshark:tshark chromium:chromium coap-client-notls:libcoap3-bin ser2net:ser2net; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || need_pkgs+=("${tool##*:}")
done
if ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then need_pkgs+=(python3-venv); fi
if ! "$PY" -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
    need_pkgs+=(python3-dev)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "bootstrap: installing Debian packages: ${need_pkgs[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
    else
        echo "bootstrap: missing Debian packages: ${need_pkgs[*]}" >&2
        echo "bootstrap: run as root, or: sudo apt-get install ${need_pkgs[*]}" >&2
        exit 1
    fi
fi

stamp=.venv/.installed
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    # Install the dependency list of pyproject.toml (the project itself is not a package).
    .venv/bin/python - <<'PYEOF' > .venv/requirements.txt
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))
PYEOF
    .venv/bin/python -m pip install -q -r .venv/requirements.txt
    touch "$stamp"
fi

# --labgrid: a second venv, .venv-labgrid, for runs through labgrid places (tests/test_labgrid.py,
# README "A lab of many benches"). labgrid depends on pyserial-labgrid, a fork that installs the
# same serial/ package as pyserial: in one venv the two overwrite each other's files, and removing
# either later removes serial/. So .venv-labgrid gets the project's dependencies with the fork
# standing in for pyserial, plus the labgrid extra of pyproject.toml; .venv is never touched.
if [ "${1:-}" = "--labgrid" ]; then
    exec 9>"${TMPDIR:-/tmp}/bg96-venv-labgrid.lock"
    flock 9  # tests/test_labgrid.py runs this from each pytest-xdist worker that needs it
    lg_stamp=.venv-labgrid/.installed
    if [ ! -x .venv-labgrid/bin/python ]; then
        "$PY" -m venv .venv-labgrid
    fi
    if [ ! -f "$lg_stamp" ] || [ pyproject.toml -nt "$lg_stamp" ]; then
        .venv-labgrid/bin/python -m pip install -q --upgrade pip
        .venv-labgrid/bin/python - <<'PYEOF' > .venv-labgrid/requirements.txt
import re, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
deps = [d for d in project["dependencies"] if re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0].lower() != "pyserial"]
print("\n".join(deps + project["optional-dependencies"]["labgrid"]))
PYEOF
        .venv-labgrid/bin/python -m pip install -q -r .venv-labgrid/requirements.txt
        touch "$lg_stamp"
    fi
fi

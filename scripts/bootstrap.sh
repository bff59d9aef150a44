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
for tool in autoconf:autoconf automake:automake libtoolize:libtool gcc:gcc make:make tshark:tshark chromium:chromium coap-client-notls:libcoap3-bin; do
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

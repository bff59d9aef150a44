"""A network power switch for emulators, speaking labgrid's ``rest`` power model, on loopback only.

labgrid's NetworkPowerDriver with ``model: rest`` and ``host: http://HOST:PORT/relay/{index}/value``
sends ``GET`` (the answer is ``1`` or ``0``) and ``PUT`` with body ``1`` or ``0``. Each relay here
powers one emulator (``python -m emulator --pty ARGS``, through emulator/launcher.py): on starts
it and points a stable link at its fresh ``/dev/pts/N`` (an exporter's RawSerialPort path must
start with ``/dev/``, and a new emulator gets a new pty), off stops it and removes the link. ``GET /status`` answers
``{"0": {"on": true, "cycles": 1, "pty": ...}, ...}`` (cycles: how often it was switched on).

    python tests/labgrid_power_stub.py --listen 127.0.0.1:0 --relay '/dev/shm/bg96-a=--time-scale 0.01' \
        --emulator-log emulators.log

prints ``POWER http://127.0.0.1:PORT`` once every relay is on, then serves until SIGTERM (which
also switches every relay off).
"""
from __future__ import annotations

import argparse
import http.server
import json
import os
import shlex
import signal
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from tests/

from emulator.launcher import EmulatorProcess  # noqa: E402


class Relay:
    """One emulator behind one relay; on/off are idempotent and serialised."""

    def __init__(self, link: str, args: list[str], log: Path) -> None:
        self.link, self.args, self.log = link, args, log
        self.emulator: EmulatorProcess | None = None
        self.pty: str | None = None
        self.cycles = 0
        self.lock = threading.Lock()

    def is_on(self) -> bool:
        return self.emulator is not None and self.emulator.alive()

    def on(self) -> None:
        with self.lock:
            if self.is_on():
                return
            self.emulator = EmulatorProcess(["--pty", *self.args], log_path=self.log).start()
            self.pty = self.emulator.url
            new = self.link + ".new"
            if os.path.lexists(new):
                os.unlink(new)
            os.symlink(self.pty, new)
            os.replace(new, self.link)  # atomic: the link never names a half-started emulator
            self.cycles += 1

    def off(self) -> None:
        with self.lock:
            if os.path.lexists(self.link):
                os.unlink(self.link)
            if self.emulator is not None:
                self.emulator.stop()
            self.emulator, self.pty = None, None


def handler_for(relays: list[Relay]) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _reply(self, code: int, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _relay(self) -> Relay | None:
            parts = self.path.split("/")  # "", "relay", index, "value"
            if len(parts) == 4 and parts[1] == "relay" and parts[3] == "value" and parts[2].isdigit():
                index = int(parts[2])
                return relays[index] if index < len(relays) else None
            return None

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path == "/status":
                status = {str(i): {"on": r.is_on(), "cycles": r.cycles, "pty": r.pty} for i, r in enumerate(relays)}
                self._reply(200, json.dumps(status).encode())
                return
            relay = self._relay()
            self._reply(200, b"1" if relay.is_on() else b"0") if relay else self._reply(404, b"no such relay\n")

        def do_PUT(self) -> None:  # noqa: N802
            relay = self._relay()
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).strip()
            if relay is None or body not in (b"0", b"1"):
                self._reply(400, b"PUT /relay/<index>/value with 0 or 1\n")
                return
            try:
                relay.on() if body == b"1" else relay.off()
            except (OSError, RuntimeError) as exc:
                self._reply(500, f"{exc}\n".encode())
                return
            self._reply(200, body)

        def log_message(self, fmt: str, *args: object) -> None:
            print("power: " + fmt % args, file=sys.stderr, flush=True)

    return Handler


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", default="127.0.0.1:0", metavar="127.0.0.1:PORT")
    ap.add_argument("--relay", action="append", required=True, metavar="LINK=EMULATOR ARGS",
                    help="one relay: the link to keep at the emulator's pty, '=', its arguments")
    ap.add_argument("--emulator-log", type=Path, required=True, metavar="FILE",
                    help="every emulator's stderr is appended here")
    a = ap.parse_args()
    host, _, port = a.listen.rpartition(":")
    if host not in ("127.0.0.1", "localhost"):
        ap.error("--listen: loopback only (127.0.0.1:PORT)")
    relays = [Relay(link, shlex.split(args), a.emulator_log) for link, _, args in (r.partition("=") for r in a.relay)]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = http.server.ThreadingHTTPServer((host, int(port)), handler_for(relays))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for relay in relays:
            relay.on()
        print(f"POWER http://{host}:{server.server_address[1]}", flush=True)
        stop.wait()
    finally:
        server.shutdown()
        for relay in relays:
            relay.off()


if __name__ == "__main__":
    main()

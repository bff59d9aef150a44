"""A rig as a labgrid place: acquire it, reach its AT port and its power switch, release it.

A lab that already runs labgrid (a coordinator, an exporter on each bench PC exporting the
module's AT port through ser2net and its power switch) hands out benches as *places*. This is
the suite's one adapter over labgrid's client API (labgrid >= 24, gRPC): one client session,
an acquire that waits while someone else holds the place and says who, the exported serial port
as an ``rfc2217://`` URL, the place's power resource as the recovery's power-cycle action
(``python -m lab.labgrid power-cycle``, a command :class:`dut.strategy.DutSettings` can run),
and a release that also happens on SIGTERM/SIGHUP.

labgrid is imported inside the functions that need it: a user without the ``labgrid`` extra
(``scripts/bootstrap.sh --labgrid``) loses nothing, and gets a one-line error only when a rig
names a place.
"""
from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import shlex
import signal
import socket
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

#: labgrid's own default when neither an option, a rig key nor $LG_COORDINATOR names one
DEFAULT_COORDINATOR = "127.0.0.1:20408"
#: the project's root: ``python -m lab.labgrid`` runs from there (the project is no installed package)
ROOT = Path(__file__).resolve().parents[1]
NOT_INSTALLED = ("labgrid is not installed in this Python ({python}): a rig that names a labgrid place "
                 "runs from .venv-labgrid (scripts/bootstrap.sh --labgrid; README, \"A lab of many benches\")")
#: resource class (as exported) -> the labgrid driver that switches it, as `labgrid-client power` picks
POWER_DRIVERS = {"NetworkPowerPort": "NetworkPowerDriver", "PDUDaemonPort": "PDUDaemonDriver",
                 "NetworkUSBPowerPort": "USBPowerDriver", "NetworkSiSPMPowerPort": "SiSPMPowerDriver",
                 "TasmotaPowerPort": "TasmotaPowerDriver", "NetworkYKUSHPowerPort": "YKUSHPowerDriver"}


class LabgridError(RuntimeError):
    """labgrid missing, the coordinator unreachable, a place without an AT port: one line, says why."""


class PlaceUnavailable(LabgridError):
    """The place stayed acquired by someone else (or reserved) for longer than the rig's wait."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM/SIGHUP, turned into an interrupt so pytest (or a ``finally``) releases the place."""


def coordinator_address(option: str | None = None, rig_key: str | None = None,
                        environ: dict[str, str] | None = None) -> str:
    """The coordinator, as labgrid's tools find it: the option, the rig key, $LG_COORDINATOR, the default."""
    env = os.environ if environ is None else environ
    return option or rig_key or env.get("LG_COORDINATOR") or DEFAULT_COORDINATOR


def run_identity(environ: dict[str, str] | None = None) -> str:
    """``HOST/USER`` the coordinator records as the holder: $LG_HOSTNAME and $LG_USERNAME when set;
    otherwise ``<host name>:<pid>`` (so ``labgrid-client who`` tells two runs on one PC apart) and
    the login name."""
    env = os.environ if environ is None else environ
    host = env.get("LG_HOSTNAME") or f"{socket.gethostname()}:{os.getpid()}"
    return f"{host}/{env.get('LG_USERNAME') or getpass.getuser()}"


@dataclass(frozen=True)
class PlaceInfo:
    """What a run got from an acquired place: plain data, so it travels to xdist workers."""

    place: str
    coordinator: str
    holder: str  # HOST/USER, as `labgrid-client who` shows it
    url: str  # the AT port: rfc2217://HOST:PORT?ign_set_control&timeout=5
    exporters: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)  # one line per acquired resource
    power: str | None = None  # the power resource used for power cycles (None: the place has none)
    tags: dict[str, str] = field(default_factory=dict)

    def power_cycle_command(self, python: str | None = None) -> str | None:
        """The shell command a :class:`dut.strategy.DutSettings` runs to power-cycle the module."""
        if self.power is None:
            return None
        return shlex.join(["env", f"--chdir={ROOT}", python or sys.executable, "-m", "lab.labgrid",
                           "power-cycle", "--place", self.place, "--coordinator", self.coordinator,
                           "--identity", self.holder])

    def run_info(self) -> dict[str, str]:
        """The report header's lines for this place."""
        tags = ", ".join(f"{k}={v}" for k, v in sorted(self.tags.items()))
        return {"labgrid_place": f"{self.place}" + (f" ({tags})" if tags else ""),
                "labgrid_coordinator": self.coordinator, "labgrid_holder": self.holder,
                "labgrid_exporter": ", ".join(self.exporters),
                "labgrid_resources": "; ".join(self.resources)}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PlaceInfo":
        return cls(**data)


def describe(name: str, cls: str, params: dict[str, Any]) -> str:
    """One line for the report: the resource, its class and where it is."""
    extra = params.get("extra") or {}
    if cls == "NetworkSerialPort":
        where = f"{params.get('host')}:{params.get('port')}" + (f" ({extra['path']})" if extra.get("path") else "")
    elif "model" in params:  # a PDU; labgrid fills {index} into a host template
        host = str(params.get("host")).replace("{index}", str(params.get("index")))
        where = f"model {params['model']}, {host}" + (
            f", index {params['index']}" if "index" in params else "")
    else:
        where = ", ".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "extra")
    return f"{name} ({cls}): {where}" if name != cls else f"{cls}: {where}"


def _thread_loop() -> asyncio.AbstractEventLoop:
    """The one event loop of this thread that every session uses: labgrid stashes one per thread
    and refuses another, and grpc.aio binds a channel to the loop current when it is made."""
    try:
        from labgrid.remote.client import ensure_event_loop
    except ImportError:  # a labgrid without the stash: keep one loop per thread ourselves
        loop = getattr(_LOOPS, "loop", None)
        if loop is None:
            loop = _LOOPS.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        return loop
    return ensure_event_loop()


_LOOPS = threading.local()
#: coordinator -> [session, places using it]: one session per coordinator and process (the
#: coordinator refuses a second stream from the same peer, and two channels to one address share it)
_SESSIONS: dict[str, list[Any]] = {}


def _log_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class LabgridPlace:
    """One place through one client session, used from the thread that created it.

    ``acquire`` waits up to ``wait`` seconds while the place is held (naming the holder each time
    it changes); ``release`` gives back only what this object acquired, and only while the place
    still carries our identity (someone who ``--kick``\\ ed us keeps it).
    """

    def __init__(self, name: str, coordinator: str | None = None, *, wait: float = 0.0, poll: float = 1.0,
                 identity: str | None = None, log: Callable[[str], None] = _log_stderr) -> None:
        self.name = name
        self.coordinator = coordinator_address(coordinator)
        self.wait, self.poll, self.log = wait, poll, log
        self.identity = identity or run_identity()
        self.acquired = False
        self._sent = False  # an AcquirePlace went out: an interrupt may have cut off its answer
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: Any = None
        self._target: Any = None

    # -- session ----------------------------------------------------------------------------
    def connect(self) -> None:
        if self._session is not None:
            return
        try:
            from labgrid.remote.client import start_session
        except ImportError:
            raise LabgridError(NOT_INSTALLED.format(python=sys.executable)) from None
        host, _, user = self.identity.partition("/")
        os.environ["LG_HOSTNAME"], os.environ["LG_USERNAME"] = host, user  # labgrid reads them per call
        self._loop = _thread_loop()
        shared = _SESSIONS.get(self.coordinator)
        if shared is None:
            try:
                shared = _SESSIONS[self.coordinator] = [start_session(self.coordinator, loop=self._loop), 0]
            except Exception as exc:  # ServerError("Could not connect to coordinator"), bad address
                raise LabgridError(f"labgrid coordinator {self.coordinator}: {exc}".rstrip()) from None
        shared[1] += 1
        self._session = shared[0]

    def _run(self, awaitable: Any) -> Any:
        assert self._loop is not None
        return self._loop.run_until_complete(awaitable)

    def _pump(self, seconds: float) -> None:
        """Let the session's stream apply place and resource updates for ``seconds``."""
        self._run(asyncio.sleep(seconds))  # event-free: the session applies the coordinator's updates while its loop runs

    def place(self) -> Any:
        self.connect()
        if not self._run(self._session.sync_with_coordinator()):
            raise LabgridError(f"lost the labgrid coordinator {self.coordinator}")
        try:
            return self._session.get_place(self.name)
        except Exception as exc:  # UserError: pattern matches nothing
            raise LabgridError(f"labgrid place {self.name} on {self.coordinator}: {exc}") from None

    # -- acquire / release ------------------------------------------------------------------
    def acquire(self) -> None:
        self.connect()
        import grpc
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2
        deadline = time.monotonic() + self.wait
        said = None
        while True:
            place = self.place()
            try:
                self._session.check_matches(place)
            except Exception as exc:  # a match with no resource: the bench's exporter is down
                raise LabgridError(f"labgrid place {self.name}: {exc}") from None
            holder = place.acquired
            if holder is None and place.reservation is None:
                try:
                    self._sent = True
                    self._run(self._session.stub.AcquirePlace(pb2.AcquirePlaceRequest(placename=self.name)))
                    self.acquired = True
                    self.log(f"labgrid: acquired place {self.name} as {self.identity}")
                    return
                except grpc.aio.AioRpcError as exc:  # someone was faster, or a resource is taken
                    holder = f"(coordinator: {exc.details()})"
            elif holder is None:
                holder = f"(reserved: {place.reservation})"
            if time.monotonic() >= deadline:
                raise PlaceUnavailable(f"labgrid place {self.name} is acquired by {holder}; "
                                       f"waited {self.wait:.0f} s (rig key labgrid.wait)" + self._hint(holder))
            if holder != said:
                self.log(f"labgrid: place {self.name} is acquired by {holder}; waiting up to "
                         f"{deadline - time.monotonic():.0f} s" + self._hint(holder))
                said = holder
            self._pump(min(self.poll, max(0.0, deadline - time.monotonic())))

    def _hint(self, holder: str) -> str:
        """A stale place of ours (a run killed with SIGKILL) can be freed by the same user."""
        if holder.endswith("/" + self.identity.partition("/")[2]):
            return f" (if that run is gone: labgrid-client -p {self.name} release)"
        return ""

    def release(self) -> None:
        """Give the place back if this object acquired it (an interrupted acquire included)."""
        if self._session is None:
            return
        if not self.acquired and self._sent:
            try:
                self.acquired = self.place().acquired == self.identity
            except LabgridError:
                pass
        self._sent = False
        if not self.acquired:
            return
        self.acquired = False
        import grpc
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2
        if self._target is not None:
            self._target.deactivate_all_drivers()
        try:
            self._run(self._session.stub.ReleasePlace(
                pb2.ReleasePlaceRequest(placename=self.name, fromuser=self.identity)))
            self._run(self._session.sync_with_coordinator())
            self.log(f"labgrid: released place {self.name}")
        except grpc.aio.AioRpcError as exc:
            self.log(f"labgrid: release of place {self.name} failed: {exc.details()}")

    def close(self) -> None:
        try:
            self.release()
        finally:
            if self._session is not None:
                self._session = None
                shared = _SESSIONS[self.coordinator]
                shared[1] -= 1
                if shared[1] == 0:
                    del _SESSIONS[self.coordinator]
                    self._run(shared[0].stop())
                    self._run(shared[0].close())

    def __enter__(self) -> "LabgridPlace":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- resources --------------------------------------------------------------------------
    def resources(self) -> dict[tuple[str, str], Any]:
        """(name, cls) -> the coordinator's entry, for every resource the acquired place holds."""
        place = self.place()
        try:
            return self._session.get_target_resources(place)
        except Exception as exc:  # orphaned resource, not acquired by us
            raise LabgridError(f"labgrid place {self.name}: {exc}") from None

    def serial_port(self, timeout: float = 10.0) -> Any:
        """The exported serial port once ser2net runs for it (the exporter starts it on acquire)."""
        deadline = time.monotonic() + timeout
        while True:
            ports = [r for (_, cls), r in self.resources().items() if cls == "NetworkSerialPort"]
            if len(ports) != 1:
                raise LabgridError(f"labgrid place {self.name} has {len(ports)} serial ports "
                                   "(NetworkSerialPort); a BG96 place exports exactly one, its AT port")
            if ports[0].avail and ports[0].params.get("port"):
                return ports[0]
            if time.monotonic() >= deadline:
                raise LabgridError(f"labgrid place {self.name}: ser2net not up after {timeout:.0f} s "
                                   f"({ports[0].params})")
            self._pump(0.1)

    def serial_url(self, timeout: float = 10.0, network_timeout: float = 5.0) -> str:
        """``rfc2217://`` with ``ign_set_control``: ser2net on a PTY or a CDC port never answers the
        DTR/RTS option, and without it pyserial's open fails (labgrid's SerialDriver uses the same)."""
        params = self.serial_port(timeout).params
        host = f"[{params['host']}]" if ":" in params["host"] else params["host"]
        return f"rfc2217://{host}:{params['port']}?ign_set_control&timeout={network_timeout:g}"

    def info(self) -> PlaceInfo:
        """The place as this run holds it: URL, exporters, resources, the power resource."""
        url = self.serial_url()
        place = self.place()
        resources = self.resources()
        power = next((describe(n, c, r.params) for (n, c), r in sorted(resources.items())
                      if c in POWER_DRIVERS), None)
        return PlaceInfo(self.name, self.coordinator, self.identity, url,
                         sorted({str(path[0]) for path in place.acquired_resources}),
                         [describe(n, c, r.params) for (n, c), r in sorted(resources.items())],
                         power, dict(place.tags))

    # -- power ------------------------------------------------------------------------------
    def power_driver(self) -> Any:
        """The driver of the place's power resource, built as `labgrid-client power` builds it."""
        from labgrid import Target
        from labgrid.factory import target_factory
        from labgrid.resource.remote import RemotePlace, RemotePlaceManager
        place = self.place()
        if place.acquired != self.identity:
            raise LabgridError(f"labgrid place {self.name} is not acquired by {self.identity} "
                               f"(holder: {place.acquired})")
        if self._target is None:
            manager = RemotePlaceManager.get()
            manager.session, manager.loop = self._session, self._loop
            self._target = Target(self.name, env=None)
            RemotePlace(self._target, name=self.name)
        for resource in self._target.resources:
            driver = POWER_DRIVERS.get(type(resource).__name__)
            if driver is None:
                continue
            try:
                return self._target.get_driver(driver)
            except Exception:  # NoDriverFoundError: not made yet
                drv = target_factory.class_from_string(driver)(self._target, name=None)
                self._target.activate(drv)
                return drv
        raise LabgridError(f"labgrid place {self.name} has no power resource "
                           f"({', '.join(sorted(POWER_DRIVERS))})")

    def power_cycle(self, delay: float = 2.0) -> None:
        drv = self.power_driver()
        drv.delay = float(delay)
        drv.cycle()


def release_on_signals(signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGHUP)) -> Callable[[], None]:
    """SIGTERM/SIGHUP raise :class:`Interrupted` (as SIGINT raises KeyboardInterrupt), so pytest's
    orderly teardown or a ``finally`` releases the place; no gRPC call runs in the handler.
    Returns a function that puts the previous handlers back."""
    def handler(signum: int, frame: object) -> None:
        raise Interrupted(f"{signal.Signals(signum).name}: stopping, the labgrid places are released")
    previous = {s: signal.signal(s, handler) for s in signals}

    def restore() -> None:
        for s, h in previous.items():
            signal.signal(s, h)
    return restore


# -- command line: what a rig's power-cycle command runs ---------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lab.labgrid",
                                 description="labgrid places for the BG96 suite")
    sub = ap.add_subparsers(dest="command", required=True)
    cycle = sub.add_parser("power-cycle", help="power-cycle an acquired place through its power resource")
    cycle.add_argument("--place", required=True)
    cycle.add_argument("--coordinator", default=None, help="HOST[:PORT] (default $LG_COORDINATOR, then "
                                                            f"{DEFAULT_COORDINATOR})")
    cycle.add_argument("--identity", default=None, metavar="HOST/USER",
                       help="the holder the place was acquired as (default: $LG_HOSTNAME/$LG_USERNAME)")
    cycle.add_argument("--delay", type=float, default=2.0, help="seconds off (default 2)")
    args = ap.parse_args(argv)
    if args.identity is not None and "/" not in args.identity:
        ap.error(f"--identity must be HOST/USER, got {args.identity!r}")
    identity = args.identity or (f"{os.environ.get('LG_HOSTNAME') or socket.gethostname()}/"
                                 f"{os.environ.get('LG_USERNAME') or getpass.getuser()}")
    lp = LabgridPlace(args.place, args.coordinator, identity=identity)
    try:
        lp.power_cycle(args.delay)
        print(f"labgrid: power-cycled place {args.place} ({args.delay:g} s off)")
        return 0
    except LabgridError as exc:
        print(f"python -m lab.labgrid: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # the PDU did not answer, refused the switch
        print(f"python -m lab.labgrid: power cycle of place {args.place} failed: "
              f"{type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 1
    finally:
        lp.close()  # never releases: this process did not acquire the place


if __name__ == "__main__":
    sys.exit(main())

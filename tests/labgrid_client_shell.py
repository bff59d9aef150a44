"""labgrid-client for many calls in one process: the client of tests/labgrid_lab.py's lab.

Each ``labgrid-client`` process spends ~0.8 s of CPU importing grpc and labgrid before it does
anything, and the lab makes ~18 calls per run on a 2-core machine; here labgrid-client's own
``labgrid.remote.client.main()`` serves every call in this one process, with its real argument
parsing, output and exit codes. Run with .venv-labgrid's python:

    .venv-labgrid/bin/python tests/labgrid_client_shell.py

Each line on stdin is one call, ``{"id": 7, "argv": ["-p", "bg96-a", "show"], "env":
{"LG_USERNAME": "alice"}}`` (env: set for that call only), answered by one line on stdout,
``LGSHELL-REPLY 7 {"returncode": 0, "stdout": "...", "stderr": "..."}``; a bad request is answered
with returncode 2 (id null when it has none). Other output is the shell's own log. The shell
ends at the end of its stdin.

main() is written for one call per process; what it leaves behind is put back after each call.
It ends with the builtin ``exit()``, which closes ``sys.stdin`` (each call gets its own).
``StepLogger.start()`` asserts it is not started yet and subscribes to labgrid's steps for good.
``basicConfig()`` only configures a root logger without handlers, and otherwise wraps the
handler's formatter once more (the root logger goes back to no handler, so each call's
basicConfig logs to that call's captured stderr). ``--proxy`` sets ProxyManager's proxy for good.
It sets a SIGTERM handler and an event loop, and stashes the loop in a ContextVar that fails the
next call's assertion when the loop was left open, as it is when the session could not start
(each call runs in a fresh context; its loop is closed).
"""
from __future__ import annotations

import asyncio
import contextvars
import io
import json
import logging
import os
import signal
import sys
import traceback
from typing import TextIO

from labgrid.logging import StepLogger
from labgrid.remote import client
from labgrid.step import steps
from labgrid.util.proxy import ProxyManager

REPLY = "LGSHELL-REPLY"
PROG = "labgrid-client"  # argparse names itself after sys.argv[0]'s base name, as in the real CLI


def exit_status(code: object) -> int:
    """The status of a process ending with ``SystemExit(code)``, as the interpreter makes it."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def run_main() -> int:
    """labgrid-client's main() once, in the process state a fresh labgrid-client starts with."""
    context = contextvars.Context()  # labgrid's stashed event loop is a ContextVar
    try:
        code = context.run(client.main)
    except SystemExit as e:
        code = e.code
    except Exception:  # uncaught in labgrid-client: the interpreter prints it and exits 1
        traceback.print_exc()
        code = 1
    finally:
        loop = context.get(client._loop)
        if loop is not None and not loop.is_closed():
            loop.close()
        asyncio.set_event_loop(None)
    return exit_status(code)


def call(argv: list[str], env: dict[str, str]) -> dict[str, object]:
    """One labgrid-client call: its output captured, everything it changes put back."""
    saved_env = {k: os.environ.get(k) for k in env}
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    saved_subscribers = list(steps._subscribers)
    saved_sigterm, saved_proxy = signal.getsignal(signal.SIGTERM), ProxyManager._force_proxy
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    out, err = io.StringIO(), io.StringIO()
    sys.argv = [PROG, *argv]
    try:
        os.environ.update(env)  # ValueError for a name or value the environment cannot hold
        with open(os.devnull) as sys.stdin:
            sys.stdout, sys.stderr = out, err
            returncode = run_main()
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        steps._subscribers[:] = saved_subscribers
        StepLogger._started = False
        signal.signal(signal.SIGTERM, saved_sigterm)
        ProxyManager._force_proxy = saved_proxy
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    return {"returncode": returncode, "stdout": out.getvalue(), "stderr": err.getvalue()}


def answer(line: str) -> tuple[object, dict[str, object]]:
    """The request's id and the reply to it; a request that is not one is answered, never fatal."""
    request_id = None
    try:
        request = json.loads(line)
        if not isinstance(request, dict):
            raise TypeError("a request is a JSON object")
        request_id, argv, env = request.get("id"), request["argv"], request.get("env", {})
        if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv)
                and isinstance(env, dict) and all(isinstance(v, str) for v in env.values())):
            raise TypeError('"argv" must be a list of strings, "env" an object of strings')
        return request_id, call(argv, env)
    except (ValueError, KeyError, TypeError) as e:
        return request_id, {"returncode": 2, "stdout": "",
                            "stderr": f"labgrid_client_shell: bad request {line.strip()!r}: {e}\n"}


def serve(requests: TextIO, replies: TextIO) -> None:
    """One reply line per request line, flushed at once: the caller waits for it."""
    for line in requests:
        if line.strip():
            request_id, reply = answer(line)
            print(REPLY, json.dumps(request_id), json.dumps(reply), file=replies, flush=True)


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout)

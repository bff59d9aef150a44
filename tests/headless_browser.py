"""Headless Chromium driven over the DevTools protocol on a pipe: one launch for all of a test's pages.

A ``chromium --dump-dom`` or ``--screenshot`` per page costs a browser start each (seconds of CPU
over its processes) and can only guess when a page is done (``--virtual-time-budget`` does not cover real-time work
such as a DecompressionStream). One browser loads every page instead, and a test waits for what
it reads. With ``--remote-debugging-pipe`` Chromium reads commands on fd 3 and writes replies and
events on fd 4, each a JSON text ended by a NUL byte.
"""
from __future__ import annotations

import base64
import json
import os
import queue
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
#: no network, no GPU, nothing in the background: the page's own work is all Chromium does
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars")
REPLY_TIMEOUT = 30.0  # s: a command not answered in this time means a hung browser
LOAD_TIMEOUT = 60.0  # s: to the load event of a page (a full report is megabytes)
#: resolves true once the condition holds (checked now and on every DOM change), false at the time limit
WAIT = """new Promise(function (resolve) {
  const ready = function () { return Boolean(%s); };
  if (ready()) { resolve(true); return; }
  const observer = new MutationObserver(function () {
    if (ready()) { observer.disconnect(); clearTimeout(timer); resolve(true); }
  });
  observer.observe(document, {childList: true, subtree: true, attributes: true, characterData: true});
  const timer = setTimeout(function () { observer.disconnect(); resolve(ready()); }, %d);
})"""


class BrowserError(RuntimeError):
    """Chromium refused a command, did not answer in time or is gone (the message has its log)."""


class Browser:
    """One headless Chromium for a test; its profile and log are kept in ``home``."""

    def __init__(self, home: Path) -> None:
        profile, self.log = home / "chromium-profile", home / "chromium.log"
        profile.mkdir(parents=True, exist_ok=True)
        to_browser, self._commands = os.pipe()
        self._replies, from_browser = os.pipe()
        with self.log.open("ab") as log:
            # bash puts the pipe ends on 3 and 4 for the browser (dash takes one-digit fds only; a
            # preexec_fn would run Python in the child of a threaded process); about:blank as the
            # first tab spares the New Tab page's renderer (~0.5 s of CPU)
            self._proc = subprocess.Popen(
                ["/bin/bash", "-c", f'exec "$0" "$@" 3<&{to_browser} 4>&{from_browser}', str(CHROMIUM), *FLAGS,
                 "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, pass_fds=(to_browser, from_browser))
        os.close(to_browser)
        os.close(from_browser)  # so the reader sees the end of the pipe when Chromium exits
        self._lock = threading.Lock()
        self._pending: dict[int, queue.Queue[dict[str, Any] | None]] = {}
        self._events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._last_id = 0
        self._gone = False
        self._reader = threading.Thread(target=self._read, name="chromium-reader", daemon=True)
        self._reader.start()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _read(self) -> None:
        """Replies to their waiting command by id, events to the queue; at the pipe's end, wakes every waiter."""
        parts: list[bytes] = []
        try:
            while chunk := os.read(self._replies, 1 << 20):
                *complete, rest = chunk.split(b"\0")
                for end in complete:
                    message = json.loads(b"".join([*parts, end]))
                    parts = []
                    if "id" not in message:
                        self._events.put(message)
                        continue
                    with self._lock:
                        waiter = self._pending.pop(message["id"], None)
                    if waiter:
                        waiter.put(message)
                parts.append(rest)
        finally:  # also after a message that is not JSON: no command waits out its timeout for nothing
            with self._lock:
                self._gone = True
                for waiter in self._pending.values():
                    waiter.put(None)
                self._pending.clear()
            self._events.put(None)

    @property
    def running(self) -> bool:
        """Whether the browser process is still there (a tab can only be closed in a running one)."""
        return self._proc.poll() is None

    def failure(self, what: str) -> BrowserError:
        """An error that says what failed, whether Chromium still runs, and the end of its log."""
        code = self._proc.poll()
        state = "running" if code is None else f"exited with {code}"
        return BrowserError(f"{what} (Chromium {state}); its log:\n{self.log.read_text(errors='replace')[-4000:]}")

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = REPLY_TIMEOUT) -> dict[str, Any]:
        """The result of one command (to a page when ``session`` is given), or BrowserError."""
        waiter: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=1)
        with self._lock:
            if self._gone:
                raise self.failure(f"{method}: the browser is gone")
            self._last_id += 1
            ident = self._last_id
            self._pending[ident] = waiter
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            data = json.dumps(message).encode() + b"\0"
            while data:
                data = data[os.write(self._commands, data):]
            reply = waiter.get(timeout=timeout)
        except BrokenPipeError:
            raise self.failure(f"{method}: the browser is gone") from None
        except queue.Empty:
            with self._lock:
                self._pending.pop(ident, None)
            raise self.failure(f"{method}: no reply in {timeout:.0f} s") from None
        if reply is None:
            raise self.failure(f"{method}: the browser is gone")
        if "error" in reply:
            raise self.failure(f"{method}: {reply['error']}")
        return reply["result"]

    def event(self, method: str, session: str, params: dict[str, Any], timeout: float) -> None:
        """Returns at the next ``method`` event of a page with these ``params``; others are not needed."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self._events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise self.failure(f"no {method} in {timeout:.0f} s") from None
            if message is None:
                self._events.put(None)  # for a later wait
                raise self.failure(f"waiting for {method}: the browser is gone")
            if message["method"] == method and message.get("sessionId") == session \
                    and params.items() <= message["params"].items():
                return

    def open(self, url: str, width: int, height: int) -> Page:
        """A new tab with a viewport of exactly ``width`` x ``height`` CSS px, once ``url`` has loaded."""
        return Page(self, url, width, height)

    def close(self) -> None:
        """Asks Chromium to quit (it writes its profile away); one that does not is terminated, then killed."""
        if self.running:
            try:
                self.send("Browser.close", timeout=10)
            except BrowserError:
                pass  # it may exit before it replies
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        os.close(self._commands)
        self._reader.join(timeout=10)
        os.close(self._replies)


class Page:
    """A tab: what the tests read from a page (its DOM and a screenshot) once it shows what they need."""

    def __init__(self, browser: Browser, url: str, width: int, height: int) -> None:
        self.browser, self.url = browser, url
        self._target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        try:
            attached = browser.send("Target.attachToTarget", {"targetId": self._target, "flatten": True})
            self._session = attached["sessionId"]
            # before the navigation: the page lays out (and a probe measures it) at this size from the start
            self._send("Emulation.setDeviceMetricsOverride",
                       {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
            self._send("Page.enable")
            self._send("Page.setLifecycleEventsEnabled", {"enabled": True})
            navigation = self._send("Page.navigate", {"url": url})
            if "errorText" in navigation:
                raise browser.failure(f"{url}: {navigation['errorText']}")
            # the load event of this document (by its loader), not a late one of the tab's about:blank
            browser.event("Page.lifecycleEvent", self._session, {"name": "load", "loaderId": navigation["loaderId"]},
                          LOAD_TIMEOUT)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Page:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _send(self, method: str, params: dict[str, Any] | None = None,
              timeout: float = REPLY_TIMEOUT) -> dict[str, Any]:
        return self.browser.send(method, params, self._session, timeout)

    def _evaluate(self, expression: str, timeout: float = REPLY_TIMEOUT) -> Any:
        result = self._send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                 "returnByValue": True}, timeout)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            thrown = details.get("exception", {}).get("description", details["text"])
            raise self.browser.failure(f"{self.url}: {thrown}")
        return result["result"].get("value")

    def wait_for(self, condition: str, timeout: float = 30.0) -> None:
        """Returns once the JavaScript expression ``condition`` is true; AssertionError if it is not in time."""
        if not self._evaluate(WAIT % (condition, timeout * 1000), timeout + REPLY_TIMEOUT):
            raise AssertionError(f"{self.url}: still false after {timeout:.0f} s: {condition}")

    def dom(self) -> str:
        """The document as --dump-dom prints it: ``document.documentElement.outerHTML``."""
        return self._evaluate("document.documentElement.outerHTML")

    def screenshot(self, path: Path) -> None:
        """A PNG of the viewport (the size the page was opened at) written to ``path``."""
        path.write_bytes(base64.b64decode(self._send("Page.captureScreenshot", {"format": "png"})["data"]))

    def close(self) -> None:
        """Closes the tab, unless the browser is already gone (then its error has been raised)."""
        if self.browser.running:
            self.browser.send("Target.closeTarget", {"targetId": self._target})

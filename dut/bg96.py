"""A typed BG96 API over the AT channel: the commands the suites and the bring-up need.

Every method sends exactly what a host would type on a bench, so the same call works on
hardware and on the emulator. Methods return what the module answered; judging it is the
suites' business.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

from spec import COMMANDS_BY_NAME, QCOAPCLOSE, QCOAPOPEN, max_transmit_wait
from spec.commands import CTRL_Z

from .channel import ATChannel, ATError, PortUnavailable, Response
from .urc import AckUrc, IndUrc, RecvUrc, ResultUrc, Urc, fields_of, unquote


@dataclass(frozen=True)
class Identity:
    manufacturer: str
    model: str
    revision: str
    firmware: str  # AT+QGMR
    imei: str


@dataclass(frozen=True)
class ClientStatus:
    client: int
    server: str
    port: int
    status: int


@dataclass(frozen=True)
class SendResult:
    """AT+QCOAPSEND's response and, when it was asked for, the +QCOAPACK that followed."""

    response: Response
    ack: AckUrc | None = None


class BringUpError(ATError):
    """A bring-up step failed; the message names the step."""


#: How long APP RDY may follow RDY on hardware (scaled by the DUT's time scale); older
#: firmware never prints it, so when it does not come an AT probe decides.
APP_RDY_WAIT_S = 15.0
#: AT+CFUN's maximum response time (BG96 AT Commands Manual).
CFUN_MAX_RESPONSE_S = 15.0
#: AT+QIACT's and AT+QIDEACT's maximum response times (BG96 TCP/IP Application Note).
QIACT_MAX_RESPONSE_S = 150.0
QIDEACT_MAX_RESPONSE_S = 40.0


def quote(text: str) -> str:
    return f'"{text}"'


def documented_limit(line: str, default: float) -> float:
    """The document's maximum response time of a command line; ``default`` for one it does not list.

    The document gives one maximum per command. For OPEN and CLOSE it is 75 s, "determined by
    network": only their write form touches the network, so a test or read form waits at most
    ``default``: a module that hangs on ``AT+QCOAPOPEN?`` is found in seconds. The channel takes
    this as its ``limits`` policy, so it never reads the document itself.
    """
    text = line.strip()
    command = COMMANDS_BY_NAME.get(re.split(r"[=?]", text, maxsplit=1)[0].upper())
    if command is None:
        return default
    local_form = text.endswith("?")  # AT+X? and AT+X=?
    return min(command.max_response_time, default) if local_form else command.max_response_time


class BG96:
    """The module behind one AT channel."""

    def __init__(self, channel: ATChannel, time_scale: float = 1.0, path_rtt: float = 0.0) -> None:
        self.at = channel
        self.time_scale = time_scale  # the DUT's protocol timers are scaled by this
        #: the bench's worst network round trip (s): what a datagram may take beyond the AT path
        self.path_rtt = path_rtt

    # -- generic ----------------------------------------------------------------------------
    def limit(self, line: str) -> float:
        """How long ``line`` may take: the documented maximum (or the channel's default) plus the grace."""
        return documented_limit(line, self.at.default_timeout) + self.at.grace

    def command(self, line: str, timeout: float | None = None, step: str = "") -> Response:
        return self.at.command(line, timeout=self.limit(line) if timeout is None else timeout, step=step)

    def identify(self) -> Identity:
        ati = self.command("ATI", step="identify: ATI")
        lines = [l for l in ati.lines if l]
        manufacturer = lines[0] if lines else ""
        model = lines[1] if len(lines) > 1 else ""
        revision = next((l.split(":", 1)[1].strip() for l in lines if l.startswith("Revision:")), "")
        qgmr = self.command("AT+QGMR", step="identify: AT+QGMR")
        gsn = self.command("AT+GSN", step="identify: AT+GSN")
        return Identity(manufacturer, model, revision, qgmr.lines[0] if qgmr.lines else "",
                        gsn.lines[0] if gsn.lines else "")

    def wait_ready(self, timeout: float) -> None:
        """Wait for the module to answer ``AT`` (after RDY/APP RDY or on older firmware without)."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                response = self.command("AT", timeout=min(1.0, max(0.1, deadline - time.monotonic())),
                                        step="bring-up: probe AT")
                if response.ok:
                    return
            except ATError as exc:  # commands sent during boot may time out or come back empty
                last = exc
        raise BringUpError(f"bring-up: the module did not answer AT within {timeout:.0f} s ({last})")

    def restart(self, timeout: float = 30.0) -> list[Urc]:
        """``AT+CFUN=1,1``, then ``RDY`` or a reopened port (USB re-enumeration: the boot URCs
        were mostly printed before the host reopened it), then an answer to ``AT`` decides.
        Returns the boot URCs that were seen (possibly none)."""
        self.at.clear_urcs()
        reconnects = self.at.reconnects
        try:
            self.cfun(1, reset=True, step="restart: AT+CFUN=1,1")
        except PortUnavailable:
            pass  # the USB device went with the reset before its OK was read: the module is restarting
        rdy = self.at.wait_boot(reconnects, timeout)
        seen = [rdy] if rdy is not None else []
        if rdy is not None:
            try:  # older firmware never prints APP RDY: the AT probe below decides
                seen.append(self.at.wait_urc(r"^APP RDY$", min(timeout, APP_RDY_WAIT_S * self.time_scale
                                                               + self.at.grace), step="restart: wait for APP RDY"))
            except ATError:
                pass
        self.wait_ready(timeout)
        return seen + self.at.urcs(r"^(RDY|APP RDY)$")

    # -- AT+QCOAPCFG --------------------------------------------------------------------------
    def cfg(self, keyword: str, client: int, *values: int | str) -> Response:
        line = ",".join([f'AT+QCOAPCFG="{keyword}"', str(client), *(str(v) for v in values)])
        return self.command(line)

    def cfg_values(self, keyword: str, client: int) -> list[str]:
        """The values a query form reports, e.g. ``["2", "5"]`` for "trans"."""
        response = self.cfg(keyword, client)
        for line in response.info("+QCOAPCFG:"):
            f = fields_of(line)
            if f and unquote(f[0]).lower() == keyword.lower():
                return f[1:]
        raise ATError(f"no +QCOAPCFG: \"{keyword}\" line in {response.text!r}")

    # -- open / close -------------------------------------------------------------------------
    def open(self, client: int, host: str, port: int, timeout: float | None = None) -> tuple[Response, ResultUrc | None]:
        """AT+QCOAPOPEN and, if it answered OK, the +QCOAPOPEN result URC."""
        response = self.command(f"AT+QCOAPOPEN={client},{quote(host)},{port}")
        if not response.ok:
            return response, None
        urc = self.at.wait_urc(rf"^\+QCOAPOPEN: *{client},", timeout or QCOAPOPEN.max_response_time,
                               step=f"AT+QCOAPOPEN={client}: wait for +QCOAPOPEN")
        return response, ResultUrc.parse(urc)

    def close(self, client: int, timeout: float | None = None) -> tuple[Response, ResultUrc | None]:
        response = self.command(f"AT+QCOAPCLOSE={client}")
        if not response.ok:
            return response, None
        urc = self.at.wait_urc(rf"^\+QCOAPCLOSE: *{client},", timeout or QCOAPCLOSE.max_response_time,
                               step=f"AT+QCOAPCLOSE={client}: wait for +QCOAPCLOSE")
        return response, ResultUrc.parse(urc)

    def status(self) -> dict[int, ClientStatus]:
        response = self.command("AT+QCOAPOPEN?")
        result: dict[int, ClientStatus] = {}
        for line in response.info("+QCOAPOPEN:"):
            f = fields_of(line)
            if len(f) == 4:
                result[int(f[0])] = ClientStatus(int(f[0]), unquote(f[1]), int(f[2]), int(f[3]))
        return result

    # -- message ------------------------------------------------------------------------------
    def header(self, client: int, mid: int, mode: int, tkl: int | None = None,
               token: str | None = None) -> Response:
        parts = [str(client), str(mid), str(mode)]
        if tkl is not None:
            parts += [str(tkl), quote(token or "")]
        return self.command("AT+QCOAPHEADER=" + ",".join(parts))

    def option(self, client: int, index: int, number: int, value: int | str | bytes) -> Response:
        """Add an option: strings quoted, integers bare, bytes as quoted hex (opaque)."""
        if isinstance(value, bytes):
            text = quote(value.hex().upper())
        elif isinstance(value, int):
            text = str(value)
        else:
            text = quote(value)
        return self.command(f"AT+QCOAPOPTION={client},0,{index},{number},{text}")

    def remove_option(self, client: int, index: int) -> Response:
        return self.command(f"AT+QCOAPOPTION={client},1,{index}")

    def send(self, client: int, mtype: int, code: int, bitmask: int, payload: bytes = b"",
             with_length: bool = True, wait_ack: bool = False, ack_timeout: float | None = None) -> SendResult:
        """AT+QCOAPSEND with the payload typed at the prompt.

        ``with_length`` gives <payload_length> (the payload is counted, any byte allowed);
        otherwise the payload is ended with Ctrl+Z.
        """
        line = f"AT+QCOAPSEND={client},{mtype},{code},{bitmask}"
        if with_length:
            line += f",{len(payload)}"
            response = self.at.send_data(line, payload, timeout=self.limit(line))
        else:
            response = self.at.send_data(line, payload, CTRL_Z, timeout=self.limit(line))
        ack = None
        if wait_ack and response.ok:
            ack = self.wait_ack(client, ack_timeout)
        return SendResult(response, ack)

    def wait_ack(self, client: int, timeout: float | None = None) -> AckUrc:
        urc = self.at.wait_urc(rf"^\+QCOAPACK: *{client},", timeout or self.exchange_timeout(),
                               step=f"wait for +QCOAPACK of client {client}")
        return AckUrc.parse(urc)

    def wait_recv(self, client: int, timeout: float | None = None) -> RecvUrc:
        urc = self.at.wait_urc(rf"^\+QCOAPRECV: *{client},", timeout or self.exchange_timeout(),
                               step=f"wait for +QCOAPRECV of client {client}")
        return RecvUrc.parse(urc)

    def wait_ind(self, client: int, timeout: float) -> IndUrc:
        urc = self.at.wait_urc(rf"^\+QCOAPIND: *{client},", timeout,
                               step=f"wait for +QCOAPIND of client {client}")
        return IndUrc.parse(urc)

    def exchange_timeout(self, ack_timeout: float = 2.0, retry_count: int = 5) -> float:
        """RFC 7252 MAX_TRANSMIT_WAIT for the configured timing, scaled, plus the AT grace."""
        return max_transmit_wait(ack_timeout, retry_count) * self.time_scale + self.at.grace

    # -- files and PDP ------------------------------------------------------------------------
    def upload(self, name: str, data: bytes, timeout: float = 10.0) -> tuple[Response, tuple[int, str] | None]:
        """AT+QFUPL: wait for CONNECT, write the bytes, return the ``+QFUPL: <size>,<checksum>``."""
        response = self.at.send_data(f"AT+QFUPL={quote(name)},{len(data)}", data, timeout=timeout)
        for line in response.info("+QFUPL:"):
            f = fields_of(line)
            if len(f) == 2:
                return response, (int(f[0]), f[1])
        return response, None

    def delete_file(self, name: str) -> Response:
        return self.command(f"AT+QFDEL={quote(name)}")

    # -- radio and PDP context (BG96 AT Commands Manual, TCP/IP Application Note) --------------
    def cfun(self, fun: int, reset: bool = False, timeout: float | None = None, step: str = "") -> Response:
        """``AT+CFUN=<fun>[,1]``: 0 minimum, 1 full, 4 radio off; ``reset`` restarts the module."""
        line = f"AT+CFUN={fun}" + (",1" if reset else "")
        return self.command(line, timeout=CFUN_MAX_RESPONSE_S + self.at.grace if timeout is None else timeout,
                            step=step or line)

    def functionality(self, step: str = "AT+CFUN?") -> list[int]:
        """What ``AT+CFUN?`` reports (``[1]`` for full functionality)."""
        response = self.command("AT+CFUN?", step=step)
        return [int(m.group(1)) for line in response.info("+CFUN:") if (m := re.match(r"\+CFUN: *(\d+)", line))]

    def activate_pdp(self, cid: int, timeout: float | None = None, step: str = "") -> Response:
        return self.command(f"AT+QIACT={cid}", timeout=(QIACT_MAX_RESPONSE_S if timeout is None else timeout)
                            + self.at.grace, step=step or f"AT+QIACT={cid}")

    def deactivate_pdp(self, cid: int, step: str = "") -> Response:
        return self.command(f"AT+QIDEACT={cid}", timeout=QIDEACT_MAX_RESPONSE_S + self.at.grace,
                            step=step or f"AT+QIDEACT={cid}")

    def pdp_active(self, cid: int) -> bool:
        response = self.command("AT+QIACT?", timeout=5.0 + self.at.grace)
        return any(re.match(rf"^\+QIACT: *{cid},1", line) for line in response.lines)

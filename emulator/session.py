"""AT+QCOAPOPEN / AT+QCOAPCLOSE procedures: resolve, socket, optional DTLS, then the engine."""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket

from .coap_client import (
    STATUS_CONNECTED,
    STATUS_CONNECTING,
    STATUS_DISCONNECTING,
    STATUS_IDLE,
    STATUS_OPENING,
    CoapClient,
)
from .coap_engine import CoapEngine
from .dtls_client import DtlsHandshakeError, DtlsLink, handshake_deadline
from .link import DatagramLink
from .module import Modem
from .psk import parse_psk, psk_file_name
from .udp_link import UdpLink

log = logging.getLogger(__name__)

R_OK, R_IN_PROGRESS, R_NOT_ALLOWED, R_NETWORK, R_DNS, R_SOCKET, R_DTLS, R_OCCUPIED = 0, -2, -3, -4, -5, -7, -9, -10
R_ACTIVATING, R_NO_MEMORY = -6, -8


def _open_urc(cid: int, result: int, bare_lf: bool = False) -> bytes:
    eol = "\n" if bare_lf else "\r\n"  # fault urc-bare-lf
    return f"{eol}+QCOAPOPEN: {cid},{result}{eol}".encode()


def _close_urc(cid: int, result: int, bare_lf: bool = False) -> bytes:
    eol = "\n" if bare_lf else "\r\n"
    return f"{eol}+QCOAPCLOSE: {cid},{result}{eol}".encode()


def _pdp_cid(m: Modem, client: CoapClient) -> int:
    """The PDP context the client dials on (fault pdpcid-ignored: always context 1)."""
    return 1 if m.config.faults.on("pdpcid-ignored") else client.settings.pdpcid


def start_open(m: Modem, client: CoapClient, server: str, port: int) -> None:
    """Called after the OK: the result arrives as +QCOAPOPEN."""
    if client.status in (STATUS_OPENING, STATUS_CONNECTING, STATUS_DISCONNECTING):
        m.emit_urc(_open_urc(client.cid, R_IN_PROGRESS))
        return
    if client.status != STATUS_IDLE:
        occupied = R_OK if m.config.faults.on("open-twice-accepted") else R_OCCUPIED
        m.emit_urc(_open_urc(client.cid, occupied))
        return
    if m.state.cfun == 1 and _pdp_cid(m, client) in m.state.pdp_activating:
        m.emit_urc(_open_urc(client.cid, R_ACTIVATING))  # the data call is being set up
        return
    if m.state.cfun != 1 or _pdp_cid(m, client) not in m.state.pdp_active:
        m.emit_urc(_open_urc(client.cid, R_NETWORK))
        return
    if m.config.faults.on("out-of-memory"):
        m.emit_urc(_open_urc(client.cid, R_NO_MEMORY))  # no buffers left for another session
        return
    client.status, client.server, client.port = STATUS_OPENING, server, port
    client.task = asyncio.get_running_loop().create_task(_open(m, client))


async def _open(m: Modem, client: CoapClient) -> None:
    try:
        result = await _connect(m, client)
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - never let an open crash the module
        log.exception("open of client %d", client.cid)
        result = R_SOCKET
    if result != R_OK:
        if client.link is not None:
            client.link.close(graceful=False)
        client.link, client.engine, client.status = None, None, STATUS_IDLE
    client.task = None
    m.emit_urc(_open_urc(client.cid, result, m.config.faults.on("urc-bare-lf")))


async def _connect(m: Modem, client: CoapClient) -> int:
    loop = asyncio.get_running_loop()
    if m.config.faults.on("dns-always-fails") and not _is_ip_literal(client.server):
        return R_DNS
    try:
        infos = await loop.getaddrinfo(client.server, client.port, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError, OSError) as e:
        log.info("client %d: DNS %s: %s", client.cid, client.server, e)
        return R_SOCKET if m.config.faults.on("dns-error-as-socket-error") else R_DNS
    if not infos:
        return R_DNS
    family, _, _, _, addr = infos[0]
    psk = None
    if client.settings.dtls_enable:
        # the SSL context must have DTLS enabled (AT+QSSLCFG="dtls",<ctx>,1) and ask for
        # DTLS 1.2 ("dtlsversion" 1: tinydtls speaks nothing else), and the PSK file must parse
        ssl = m.state.ssl[client.settings.dtls_ctx]
        file_ctx = 0 if m.config.faults.on("dtls-context-ignored") else client.settings.dtls_ctx
        content = m.ufs.read(psk_file_name(file_ctx))
        psk = parse_psk(content) if content is not None else None
        if psk is None or ssl.dtls != 1 or ssl.dtls_version != 1:
            return R_DTLS
    client.status = STATUS_CONNECTING
    engine = CoapEngine(client.cid, lambda b: None, lambda urc: m.emit_urc(urc), m.config.faults,
                        m.config.time_scale)
    try:
        raw = await UdpLink.connect(family, addr, engine.on_datagram)
    except OSError as e:
        log.info("client %d: socket: %s", client.cid, e)
        return R_SOCKET
    link: DatagramLink = raw
    client.link = raw
    if psk is not None:
        dtls_link = DtlsLink(raw, psk, engine.on_datagram, m.config.faults.on("dtls-plaintext"))
        client.link = link = dtls_link
        try:
            await dtls_link.handshake(handshake_deadline(m.config.time_scale))
        except DtlsHandshakeError as e:
            log.info("client %d: DTLS: %s", client.cid, e)
            return R_DTLS
    engine.send_bytes = link.send
    client.engine = engine
    client.status = STATUS_CONNECTED
    if m.config.faults.on("urc-flood"):
        engine.start_flood()
    return R_OK


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def start_close(m: Modem, client: CoapClient) -> None:
    """Called after the OK: the result arrives as +QCOAPCLOSE."""
    if client.status in (STATUS_OPENING, STATUS_CONNECTING, STATUS_DISCONNECTING):
        m.emit_urc(_close_urc(client.cid, R_IN_PROGRESS))
        return
    if client.status != STATUS_CONNECTED:
        m.emit_urc(_close_urc(client.cid, R_NOT_ALLOWED))
        return
    client.status = STATUS_DISCONNECTING
    client.task = asyncio.get_running_loop().create_task(_close(m, client))


async def _close(m: Modem, client: CoapClient) -> None:
    if client.engine is not None:
        client.engine.shutdown()
    await asyncio.sleep(0)  # status 4 is observable for one loop turn
    if client.link is not None:
        client.link.close(graceful=not m.config.faults.on("close-no-close-notify"))
    client.link, client.engine, client.status, client.task = None, None, STATUS_IDLE, None
    m.emit_urc(_close_urc(client.cid, R_OK, m.config.faults.on("urc-bare-lf")))

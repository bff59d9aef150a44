"""Reading DTLS records from the bytes of one datagram, without the keys (RFC 6347 4.1).

The reference server labels what it captured with it and the DTLS suites check the record layer
with it: one reader, so the two can never disagree on what a datagram holds. Everything here
takes the datagram's bytes and never raises on garbage (a short record just ends the reading).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Optional

CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA = 20, 21, 22, 23
CONTENT_TYPES = {CHANGE_CIPHER_SPEC: "change_cipher_spec", ALERT: "alert", HANDSHAKE: "handshake",
                 APPLICATION_DATA: "application_data"}
DTLS_1_2, DTLS_1_0 = 0xFEFD, 0xFEFF
CLIENT_HELLO, SERVER_HELLO = 1, 2
HANDSHAKE_TYPES = {CLIENT_HELLO: "ClientHello", SERVER_HELLO: "ServerHello", 3: "HelloVerifyRequest",
                   11: "Certificate", 12: "ServerKeyExchange", 13: "CertificateRequest",
                   14: "ServerHelloDone", 15: "CertificateVerify", 16: "ClientKeyExchange", 20: "Finished"}
CIPHER_SUITES = {0xC0A8: "TLS_PSK_WITH_AES_128_CCM_8", 0xC0A4: "TLS_PSK_WITH_AES_128_CCM",
                 0xC0AE: "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"}
RECORD_HEADER = 13  # type(1) version(2) epoch(2) sequence(6) length(2)
HANDSHAKE_HEADER = 12  # type(1) length(3) message_seq(2) fragment_offset(3) fragment_length(3)
_HEADER = struct.Struct("!BHHHIH")  # type, version, epoch, seq(hi16, lo32), length


@dataclass(frozen=True)
class DtlsRecord:
    """One DTLS record header; a datagram may carry several."""

    content_type: int
    version: int
    epoch: int
    sequence: int
    length: int


def parse_dtls_records(wire: bytes) -> list[DtlsRecord]:
    """Split a datagram into DTLS record headers; stops at the first truncated one."""
    out: list[DtlsRecord] = []
    pos = 0
    while pos + RECORD_HEADER <= len(wire):
        ctype, version, epoch, seq_hi, seq_lo, length = _HEADER.unpack_from(wire, pos)
        out.append(DtlsRecord(ctype, version, epoch, (seq_hi << 32) | seq_lo, length))
        pos += RECORD_HEADER + length
    return out


def looks_like_dtls(wire: bytes) -> bool:
    """Content type 20-25 and a DTLS version (0xFEFF / 0xFEFD) in the first record."""
    return len(wire) >= RECORD_HEADER and 20 <= wire[0] <= 25 and wire[1] == 0xFE


#: client_version, random, and the shortest session_id, cookie, cipher_suites, compression_methods
CLIENT_HELLO_MIN = 2 + 32 + 1 + 1 + 4 + 2


def is_client_hello(wire: bytes) -> bool:
    """An epoch-0 handshake record that starts a ClientHello (a peer starting over): a whole
    handshake header, its first fragment inside the record, a message long enough to be one.
    A record that only starts with the type byte is garbage, not a new association."""
    records = parse_dtls_records(wire)
    if not records or (records[0].content_type, records[0].epoch) != (HANDSHAKE, 0):
        return False
    record, body = records[0], wire[RECORD_HEADER:RECORD_HEADER + records[0].length]
    if record.length < HANDSHAKE_HEADER or len(body) < record.length or body[0] != CLIENT_HELLO:
        return False
    length, offset, fragment = (int.from_bytes(body[i:i + 3], "big") for i in (1, 6, 9))
    return (length >= CLIENT_HELLO_MIN and offset == 0 and fragment <= length
            and HANDSHAKE_HEADER + fragment <= record.length)


def _bodies(wire: bytes, records: list[DtlsRecord]) -> list[tuple[DtlsRecord, int]]:
    """Each record with the offset of its body in ``wire``."""
    out, pos = [], 0
    for r in records:
        out.append((r, pos + RECORD_HEADER))
        pos += RECORD_HEADER + r.length
    return out


def record_problems(wire: bytes, records: Optional[list[DtlsRecord]] = None) -> list[str]:
    """Why a datagram is not a sequence of well-formed DTLS 1.2 records ([] when it is).

    Content types 20-23 only; version 0xFEFD, except that an epoch-0 handshake record may carry
    0xFEFF (RFC 6347 4.1 and 4.2.1: ClientHello and HelloVerifyRequest); the records' lengths
    cover the datagram exactly.
    """
    records = parse_dtls_records(wire) if records is None else records
    if not records:
        return [f"{len(wire)} B: no DTLS record header ({wire[:8].hex()})"]
    problems = []
    for r in records:
        if r.content_type not in CONTENT_TYPES:
            problems.append(f"content type {r.content_type}")
        allowed = (DTLS_1_2, DTLS_1_0) if (r.content_type, r.epoch) == (HANDSHAKE, 0) else (DTLS_1_2,)
        if r.version not in allowed:
            problems.append(f"type {r.content_type} epoch {r.epoch} version {r.version:#06x}")
    covered = sum(RECORD_HEADER + r.length for r in records)
    if covered != len(wire):
        problems.append(f"records cover {covered} of {len(wire)} bytes")
    return problems


def record_names(wire: bytes, records: Optional[list[DtlsRecord]] = None) -> list[str]:
    """What each record of a datagram holds, as far as it can be read without the keys."""
    names = []
    for r, body in _bodies(wire, parse_dtls_records(wire) if records is None else records):
        clear = r.epoch == 0 and body + r.length <= len(wire)
        if r.content_type == HANDSHAKE:
            names.append(HANDSHAKE_TYPES.get(wire[body], f"handshake {wire[body]}")
                         if clear and r.length >= HANDSHAKE_HEADER else "encrypted handshake (Finished)")
        elif r.content_type == ALERT:
            names.append(f"alert level {wire[body]} description {wire[body + 1]}"
                         if clear and r.length >= 2 else "encrypted alert")
        elif r.content_type == CHANGE_CIPHER_SPEC:
            names.append("ChangeCipherSpec")
        elif r.content_type == APPLICATION_DATA:
            names.append("application data")
        else:
            names.append(f"content type {r.content_type}")
    return names


def hello_version(wire: bytes, records: Optional[list[DtlsRecord]] = None) -> Optional[int]:
    """client_version of a ClientHello / server_version of a ServerHello (the DTLS version asked
    for, not the record layer's), from the first epoch-0 handshake record; None otherwise."""
    records = parse_dtls_records(wire) if records is None else records
    if not records or records[0].content_type != HANDSHAKE or records[0].epoch != 0:
        return None
    body = RECORD_HEADER + HANDSHAKE_HEADER
    if wire[RECORD_HEADER] not in (CLIENT_HELLO, SERVER_HELLO) or len(wire) < body + 2:
        return None
    return int.from_bytes(wire[body:body + 2], "big")


def server_hello_cipher_suite(wire: bytes, records: Optional[list[DtlsRecord]] = None) -> Optional[int]:
    """The cipher suite of a ServerHello in this datagram (RFC 5246 7.4.1.3), if it holds one."""
    for r, body in _bodies(wire, parse_dtls_records(wire) if records is None else records):
        if r.content_type == HANDSHAKE and r.epoch == 0 and body < len(wire) and wire[body] == SERVER_HELLO:
            hello = body + HANDSHAKE_HEADER
            if hello + 35 > len(wire):
                return None
            at = hello + 35 + wire[hello + 34]  # after version, random and the session id
            return int.from_bytes(wire[at:at + 2], "big") if at + 2 <= len(wire) else None
    return None


def cipher_suite_name(suite: Optional[int]) -> str:
    return "none" if suite is None else f"{suite:#06x} {CIPHER_SUITES.get(suite, 'unknown')}"


def alert_of(wire: bytes, records: Optional[list[DtlsRecord]] = None) -> Optional[tuple[int, int]]:
    """(level, description) of a clear (epoch 0) alert record; None for encrypted or other records."""
    for r, body in _bodies(wire, parse_dtls_records(wire) if records is None else records):
        if r.content_type == ALERT and r.epoch == 0 and r.length >= 2 and body + 2 <= len(wire):
            return wire[body], wire[body + 1]
    return None


def records_summary(records: list[DtlsRecord]) -> str:
    """``type/version/epoch/sequence/length`` of each record, as the evidence tables print them."""
    return " ".join(f"{CONTENT_TYPES.get(r.content_type, r.content_type)}/{r.version:#06x}/e{r.epoch}/"
                    f"s{r.sequence}/{r.length}" for r in records)

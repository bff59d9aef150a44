"""One line per datagram, as Wireshark's info column reads: ``CON GET MID 1234 Token a0a1 /19``.

Works on the serialised datagram (``evidence_codec``), so the report needs no reference_server.
"""
from __future__ import annotations

from typing import Any

import spec

#: TLS/DTLS record content types (RFC 6347 4.1)
DTLS_CONTENT = {20: "ChangeCipherSpec", 21: "Alert", 22: "Handshake", 23: "Application Data"}


def code_name(code_text: str) -> str:
    """``0.01`` -> ``GET``, ``2.05`` -> ``2.05 Content``, an unknown code as its text."""
    try:
        c, dd = code_text.split(".")
        value = int(c) * 32 + int(dd)
    except ValueError:
        return code_text
    known = spec.CODES_BY_VALUE.get(value)
    if known is None:
        return code_text
    if value == 0:
        return "Empty"
    return known.meaning if value < 32 else f"{code_text} {known.meaning}"


def uri(options: list[dict[str, Any]]) -> str:
    """``/a/b?x=1`` from the Uri-Path and Uri-Query options, in wire order."""
    path = "".join("/" + str(o.get("value", "")) for o in options if o.get("number") == 11)
    query = "&".join(str(o.get("value", "")) for o in options if o.get("number") == 15)
    return path + ("?" + query if query else "")


def coap_label(message: dict[str, Any]) -> str:
    parts = [str(message.get("type", "")), code_name(str(message.get("code", "")))]
    if message.get("mid") is not None:
        parts.append(f"MID {message['mid']}")
    if message.get("token"):
        parts.append(f"Token {message['token']}")
    where = uri(message.get("options") or [])
    if where:
        parts.append(where)
    if message.get("payload_length"):
        parts.append(f"({message['payload_length']} B payload)")
    return " ".join(p for p in parts if p)


def dtls_label(records: list[dict[str, Any]]) -> str:
    """``DTLS Handshake, ChangeCipherSpec`` (record types in order, repeats once)."""
    names: list[str] = []
    for r in records:
        name = DTLS_CONTENT.get(r.get("content_type"), f"type {r.get('content_type')}")
        if r.get("content_type") == 22 and (r.get("epoch") or 0) > 0:
            name = "Handshake (encrypted)"  # the Finished message
        if name not in names:
            names.append(name)
    return "DTLS " + ", ".join(names)


def datagram_label(d: dict[str, Any]) -> str:
    """The info column of one serialised datagram (DTLS records first, then the CoAP inside)."""
    message = d.get("message")
    coap = coap_label(message) if message else ""
    records = d.get("dtls_records") or []
    if records:
        content = {r.get("content_type") for r in records}
        if content == {23} and coap:
            return f"DTLS: {coap}"
        return dtls_label(records) + (f": {coap}" if coap else "")
    return coap or f"not CoAP ({len(d.get('wire_hex', '')) // 2} B)"


def is_dtls(d: dict[str, Any]) -> bool:
    return bool(d.get("dtls_records"))

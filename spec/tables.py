"""Tables 2, 3 and 4 of the document, and the <opt_bitmask> rows of AT+QCOAPSEND."""
from __future__ import annotations

from .model import CodeDef, OptionDef, OptionFormat, ResultCode

_O, _S, _E, _U = OptionFormat.OPAQUE, OptionFormat.STRING, OptionFormat.EMPTY, OptionFormat.UINT

#: Table 2: Option Definitions. ``repeatable`` comes from RFC 7252 Table 4.
OPTIONS: tuple[OptionDef, ...] = (
    OptionDef(1, "If-Match", _O, 0, 8, repeatable=True),
    OptionDef(3, "Uri-Host", _S, 1, 255, repeatable=False),
    OptionDef(4, "ETag", _O, 1, 8, repeatable=True),
    OptionDef(5, "If-None-Match", _E, 0, 0, repeatable=False),
    OptionDef(7, "Uri-Port", _U, 0, 2, repeatable=False),
    OptionDef(8, "Location-Path", _S, 0, 255, repeatable=True),
    OptionDef(11, "Uri-Path", _S, 0, 255, repeatable=True),
    OptionDef(12, "Content-Format", _U, 0, 2, repeatable=False),
    OptionDef(14, "Max-Age", _U, 0, 4, repeatable=False),
    OptionDef(15, "Uri-Query", _S, 0, 255, repeatable=True),
    OptionDef(17, "Accept", _U, 0, 2, repeatable=False),
    OptionDef(20, "Location-Query", _S, 0, 255, repeatable=True),
    OptionDef(35, "Proxy-Uri", _S, 1, 1034, repeatable=False),
    OptionDef(39, "Proxy-Scheme", _S, 1, 255, repeatable=False),
    OptionDef(60, "Size1", _U, 0, 4, repeatable=False),
)
OPTIONS_BY_NUMBER: dict[int, OptionDef] = {o.number: o for o in OPTIONS}

#: Table 3: <code_value> and <code> Definitions.
CODES: tuple[CodeDef, ...] = (
    CodeDef(0, "0.00", "Empty message"),
    CodeDef(1, "0.01", "GET"),
    CodeDef(2, "0.02", "POST"),
    CodeDef(3, "0.03", "PUT"),
    CodeDef(4, "0.04", "DELETE"),
    CodeDef(65, "2.01", "Created"),
    CodeDef(66, "2.02", "Deleted"),
    CodeDef(67, "2.03", "Valid"),
    CodeDef(68, "2.04", "Changed"),
    CodeDef(69, "2.05", "Content"),
    CodeDef(128, "4.00", "Bad request"),
    CodeDef(129, "4.01", "Unauthorized"),
    CodeDef(130, "4.02", "Bad option"),
    CodeDef(131, "4.03", "Forbidden"),
    CodeDef(132, "4.04", "Not found"),
    CodeDef(133, "4.05", "Method not allowed"),
    CodeDef(134, "4.06", "Not acceptable"),
    CodeDef(140, "4.12", "Precondition failed"),
    CodeDef(141, "4.13", "Request entity too large"),
    CodeDef(143, "4.15", "Unsupported Content-Format"),
    CodeDef(160, "5.00", "Internal server error"),
    CodeDef(161, "5.01", "Not implemented"),
    CodeDef(162, "5.02", "Bad gateway"),
    CodeDef(163, "5.03", "Service unavailable"),
    CodeDef(164, "5.04", "Gateway timeout"),
    CodeDef(165, "5.05", "Proxying not supported"),
)
CODES_BY_VALUE: dict[int, CodeDef] = {c.value: c for c in CODES}
REQUEST_CODES = tuple(c for c in CODES if c.is_request)
RESPONSE_CODES = tuple(c for c in CODES if c.is_response)

#: Table 4: Description of <result> Codes.
RESULT_CODES: tuple[ResultCode, ...] = (
    ResultCode(0, "Operation successful"),
    ResultCode(-1, "Invalid parameter"),
    ResultCode(-2, "Operation in processing"),
    ResultCode(-3, "Operation not allowed"),
    ResultCode(-4, "Network failure"),
    ResultCode(-5, "DNS error"),
    ResultCode(-6, "Data call activating"),
    ResultCode(-7, "Socket connection failure"),
    ResultCode(-8, "Out of memory error"),
    ResultCode(-9, "DTLS handshaking failure"),
    ResultCode(-10, "CoAP client identifier occupied"),
    ResultCode(-11, "Data sending failure"),
)
RESULTS_BY_CODE: dict[int, ResultCode] = {r.code: r for r in RESULT_CODES}

#: The <opt_bitmask> rows as printed (value, bits, option indexes the row names).
#: Row 4 names index 3 although bit 2 is set: see errata ERRATUM-BITMASK-4.
BITMASK_ROWS: tuple[tuple[int, str, tuple[int, ...]], ...] = (
    (0, "00000000", ()),
    (1, "00000001", (0,)),
    (2, "00000010", (1,)),
    (3, "00000011", (0, 1)),
    (4, "00000100", (3,)),
    (5, "00000101", (0, 3)),
    (253, "11111101", (0, 2, 3, 4, 5, 6, 7)),
    (254, "11111110", (1, 2, 3, 4, 5, 6, 7)),
    (255, "11111111", (0, 1, 2, 3, 4, 5, 6, 7)),
)


def bitmask_indexes(bitmask: int) -> tuple[int, ...]:
    """The option indexes a bitmask selects, by the rule the document states (bit i = index i)."""
    return tuple(i for i in range(8) if bitmask >> i & 1)


def code_text(value: int) -> str:
    """``c.dd`` for a code value, by the document's note (value = c x 32 + dd)."""
    return f"{value >> 5}.{value & 0x1F:02d}"


#: RFC 7252 section 4.8 transmission parameters the document refers to.
ACK_RANDOM_FACTOR = 1.5


def max_transmit_wait(timeout: float, retry_count: int, factor: float = ACK_RANDOM_FACTOR) -> float:
    """First copy of a CON to giving up on it: RFC 7252 MAX_TRANSMIT_WAIT for the "trans" setting."""
    return timeout * (2 ** (retry_count + 1) - 1) * factor

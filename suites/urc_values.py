"""Reading option values back from +QCOAPRECV, by the format Table 2 gives each option.

The document does not say how values are printed; the suite accepts a string quoted or not,
a uint in decimal, an opaque value (or an option Table 2 does not list) in hex.
"""
from __future__ import annotations

from dut.urc import unquote
from spec import OPTIONS_BY_NUMBER, OptionFormat


def wire_value(number: int, text: str) -> bytes:
    """The option's bytes as they were on the wire, from its +QCOAPRECV text."""
    option = OPTIONS_BY_NUMBER.get(number)
    text = unquote(text)
    if option is None or option.format is OptionFormat.OPAQUE:
        return bytes.fromhex(text)
    if option.format is OptionFormat.UINT:
        value = int(text)
        return value.to_bytes((value.bit_length() + 7) // 8, "big")
    return text.encode()

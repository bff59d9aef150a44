"""Registry of deliberate deviations the emulator can inject, so the suites can prove they catch them."""
from __future__ import annotations

from dataclasses import dataclass, field

#: name -> what the faulty firmware does. Each name is a small explicit hook in its code path.
FAULTS: dict[str, str] = {
    "mid-little-endian": "message ID bytes swapped on the wire",
    "drop-token": "token omitted on the wire (TKL 0)",
    "options-index-order": "options written in index order, not sorted by number (deltas wrap mod 65536)",
    "uint-not-minimal": "uint option values padded to their maximum length",
    "empty-payload-marker": "0xFF payload marker sent even with an empty payload",
    "constant-retransmit-interval": "retransmission interval does not double",
    "one-retransmission-too-many": "retry_count + 1 retransmissions",
    "one-retransmission-too-few": "retry_count - 1 retransmissions",
    "no-qcoapind": "no +QCOAPIND before retransmissions",
    "recv-code-as-number": "+QCOAPRECV prints the code as an integer instead of c.dd",
    "recv-length-off-by-one": "+QCOAPRECV announces payload length + 1",
    "wrong-default-trans": "default timeout is 3 s (fresh \"trans\" query reports 3,5)",
    "accept-timeout-61": "\"trans\" accepts timeout 61",
    "settings-survive-restart": "CoAP settings survive AT+CFUN=1,1",
    "dtls-plaintext": "DTLS handshake done, then messages go out as plain UDP",
    "no-auto-token": "header mode 1 gives an empty token",
    "ack-wrong-msgid": "+QCOAPACK reports msgID + 1",
    "first-retransmit-early": "first retransmission after T/2",
    "test-response-typo": "AT+QCOAPCLOSE=? answers (0-6)",
    "no-dedup": "a duplicate message from the server is reported again",
}


class UnknownFault(ValueError):
    """Raised for a fault name that is not in the registry (a usage error)."""


@dataclass(frozen=True)
class Faults:
    """The set of faults active in this process; asking for an unregistered name is a bug."""

    names: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_names(cls, names: list[str] | tuple[str, ...]) -> "Faults":
        unknown = [n for n in names if n not in FAULTS]
        if unknown:
            raise UnknownFault(", ".join(unknown))
        return cls(frozenset(names))

    def on(self, name: str) -> bool:
        if name not in FAULTS:
            raise KeyError(f"fault {name!r} is not registered")
        return name in self.names

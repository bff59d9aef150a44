"""The datagram interface the CoAP engine talks through, whether plain UDP or DTLS."""
from __future__ import annotations

from typing import Callable, Protocol

Receiver = Callable[[bytes], None]


class DatagramLink(Protocol):
    """send() one CoAP message; received messages go to the receiver given at creation."""

    def send(self, data: bytes) -> None: ...

    def close(self, graceful: bool = True) -> None:
        """graceful=False: the network is gone, say nothing to the peer."""
        ...

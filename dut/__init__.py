"""Host side of the BG96 AT port: the parser, the channel, the URCs and a typed command API."""
from .bg96 import BG96, BringUpError, ClientStatus, Identity, SendResult
from .channel import ATChannel, ATError, ATTimeout, PortUnavailable, Response
from .urc import AckUrc, IndUrc, RecvUrc, ResultUrc, Urc, UrcFormatError

__all__ = [n for n in dir() if not n.startswith("_")]

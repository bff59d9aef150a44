"""Host side of the BG96 AT port: the driver (parser, channel, URCs, a typed command API) and the
strategy that moves the module between named states (bring-up, restart, recovery)."""
from .bg96 import BG96, BringUpError, ClientStatus, Identity, SendResult
from .bringup import BringUpReport
from .channel import ATChannel, ATError, ATTimeout, NetworkLost, PortUnavailable, Response
from .strategy import DutSettings, DutStrategy, State
from .urc import AckUrc, IndUrc, RecvUrc, ResultUrc, Urc, UrcFormatError

__all__ = [n for n in dir() if not n.startswith("_")]

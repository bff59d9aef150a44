"""The network impairment relay: a UDP hop between the DUT and the reference server that drops,
delays, duplicates, reorders or blackholes datagrams as a test asks, and records what it did."""
from .impairment import DIRECTIONS, DOWN, UP, Action, Kind, Rule
from .relay import Relay

__all__ = ["DIRECTIONS", "DOWN", "UP", "Action", "Kind", "Relay", "Rule"]

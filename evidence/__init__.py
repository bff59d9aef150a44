"""The evidence model: what a test leaves behind, shared by the fixtures and the report plugin."""
from .model import PHASES, Evidence, EvidenceTable, Observation, Timing, TranscriptEntry

__all__ = ["PHASES", "Evidence", "EvidenceTable", "Observation", "Timing", "TranscriptEntry"]

"""The evidence model: what a test leaves behind, shared by the fixtures and the report plugin."""
from .model import Evidence, EvidenceTable, Observation, Timing, TranscriptEntry

__all__ = ["Evidence", "EvidenceTable", "Observation", "Timing", "TranscriptEntry"]

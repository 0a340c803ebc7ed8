"""Probes: fixed read-only command templates (script.py) and pure parsers of their output (parsers.py)."""

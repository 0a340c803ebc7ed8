"""Renderers: pure functions from diagnoses, cards and match results to text (terminal) or Block Kit (Slack)."""

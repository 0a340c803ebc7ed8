"""Presenters: conversation replies as terminal text (`text.py`) and Block Kit (`slack.py`).

They sit between the conversation core and the edges: every surface that shows text uses
`text.py`, every surface that posts to Slack (answers, alert threads) uses `slack.py`, so the same
reply looks the same wherever it appears.
"""

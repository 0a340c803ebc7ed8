"""Shared wording of the Campaign API checks (not a check itself: the registry skips `_` modules)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.campaign_api.facts import Outcome
from bot.models import Status

XSV_RE = re.compile(r"\bXSV-35\d{4}\b")


def age_text(seconds: float) -> str:
    """`42 min`, `5.5 h`, `3.2 days`."""
    if seconds < 5400:
        return f"{max(0, round(seconds / 60))} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def when(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC")


def problem_text(o: Outcome[Any]) -> str:
    """Why a fact could not be read, in one phrase."""
    return o.problem or "no answer"


def read_needs(schema: str, login: str | None) -> str:
    who = f"operator {login}" if login else "the session's operator"
    return f"read access for {who} to {schema} through the API (a queryDef on {schema} was refused)"


def page_failure(o: Outcome[Any]) -> tuple[Status, str | None]:
    """(status, needs) for a monitoring page that could not be read: the server not answering is a
    real failure; a refused session (XSV-35000x) is "cannot tell" and never a reason to restart."""
    if o.code and XSV_RE.match(o.code):
        return "unknown", "an operator session the page accepts (a trusted-IP / sessionTokenOnly security zone)"
    if o.kind in ("unreachable", "timeout", "bad_reply"):
        return "fail", None
    if o.kind == "http" and (o.status or 0) >= 500:
        return "fail", None
    return "unknown", "Campaign's API to answer the page with the operator's session"


NOT_READ: tuple[Status, str | None] = ("unknown", "Campaign's API to answer")

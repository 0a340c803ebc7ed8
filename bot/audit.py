"""The audit log: one JSON object per line for every request that reached the servers (or was refused).

Records hold who, where, which environment, the question (cut to `MAX_QUESTION` characters), modules,
hosts, every command sent and the outcome. Every value is redacted whole (`bot.redact.redact_data`)
*before* anything is cut, so a secret longer than the cut is never half-written; the line is written only
after it has been serialised, so the file holds valid JSON lines whatever the values were.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bot.redact import redact_data

log = logging.getLogger(__name__)

MAX_QUESTION = 300


def audit_record(fields: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """The record as written: a time stamp, then `fields`, redacted whole, then the question cut."""
    raw: dict[str, Any] = {"time": (now or datetime.now(timezone.utc)).isoformat(timespec="milliseconds"), **fields}
    rec: dict[str, Any] = redact_data(raw)
    question = rec.get("question")
    if isinstance(question, str) and len(question) > MAX_QUESTION:
        rec["question"] = question[: MAX_QUESTION - 3] + "..."
    return rec


class AuditLog:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            # Not fatal: an audit log that cannot be written is said in every answer (and refuses
            # state-changing steps, which need their record first); a traceback at start-up said nothing.
            log.error("audit log %s: its folder cannot be created: %s", self.path, e.strerror or type(e).__name__)

    def record(self, **fields: Any) -> dict[str, Any]:
        """Append one record and return it as written (redacted). Raises OSError when the file cannot be written."""
        rec = audit_record(fields)
        line = json.dumps(rec, ensure_ascii=False)
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
        return rec

"""The audit log: one JSON object per line for every request that reached the servers (or was refused).

Records hold who, where, which environment, the question (truncated), modules, hosts, every command
sent and the outcome. Everything is redacted first; tokens are never written.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bot.redact import redact

MAX_QUESTION = 300


def _redacted(value: Any) -> Any:
    """Redact every string inside the record (before serialising, so the JSON stays valid)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(v) for v in value]
    return value


class AuditLog:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def record(self, **fields: Any) -> dict[str, Any]:
        rec: dict[str, Any] = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds")}
        for k, v in fields.items():
            if k == "question" and isinstance(v, str) and len(v) > MAX_QUESTION:
                v = v[: MAX_QUESTION - 3] + "..."
            rec[k] = v
        line = json.dumps(_redacted(rec), ensure_ascii=False, default=str)
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
        return rec

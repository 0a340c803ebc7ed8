"""State shared by every worker process of one deployment, in one SQLite file:

- `seen`: Slack event ids already handled (Slack re-delivers events it thinks were missed);
- `threads`: per-thread context (environment, modules, question) for follow-ups;
- `actions`: state-changing steps offered as buttons, so a click carries only an opaque id;
- `jobs`: work handed from the process that acknowledges Slack's requests to the worker process.

SQLite's locking makes `INSERT OR IGNORE` an atomic test-and-set across processes.
"""

from __future__ import annotations

import json
import random
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

EVENT_TTL_S = 3600
THREAD_TTL_S = 7 * 86400
ACTION_TTL_S = 3600


class StateStore:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        with self._conn() as c:
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, at REAL NOT NULL)")
            c.execute("CREATE TABLE IF NOT EXISTS threads (key TEXT PRIMARY KEY, data TEXT NOT NULL, at REAL NOT NULL)")
            c.execute("CREATE TABLE IF NOT EXISTS actions (id TEXT PRIMARY KEY, data TEXT NOT NULL, at REAL NOT NULL)")
            c.execute(
                "CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, "
                "data TEXT NOT NULL, at REAL NOT NULL)"
            )

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def first_time(self, event_id: str) -> bool:
        """True the first time an event id is seen by any worker; False for every re-delivery."""
        now = time.time()
        c = self._conn()
        cur = c.execute("INSERT OR IGNORE INTO seen (id, at) VALUES (?, ?)", (event_id, now))
        if random.random() < 0.005:  # noqa: S311 - now and then (not a secret), forget ids older than the TTL
            c.execute("DELETE FROM seen WHERE at < ?", (now - EVENT_TTL_S,))
        return cur.rowcount == 1

    def save_thread(self, channel: str, thread_ts: str, data: dict[str, Any]) -> None:
        self._conn().execute(
            "INSERT OR REPLACE INTO threads (key, data, at) VALUES (?, ?, ?)",
            (f"{channel}:{thread_ts}", json.dumps(data), time.time()),
        )

    def thread(self, channel: str, thread_ts: str) -> dict[str, Any] | None:
        row = self._conn().execute("SELECT data, at FROM threads WHERE key = ?", (f"{channel}:{thread_ts}",)).fetchone()
        if row is None or time.time() - row[1] > THREAD_TTL_S:
            return None
        data: dict[str, Any] = json.loads(row[0])
        return data

    def put_job(self, kind: str, data: dict[str, Any]) -> None:
        self._conn().execute(
            "INSERT INTO jobs (kind, data, at) VALUES (?, ?, ?)", (kind, json.dumps(data), time.time())
        )

    def take_job(self) -> tuple[str, dict[str, Any]] | None:
        """The oldest job, removed atomically (several workers may take from one queue), or None."""
        c = self._conn()
        c.execute("BEGIN IMMEDIATE")
        try:
            row = c.execute("SELECT id, kind, data FROM jobs ORDER BY id LIMIT 1").fetchone()
            if row is not None:
                c.execute("DELETE FROM jobs WHERE id = ?", (row[0],))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        if row is None:
            return None
        data: dict[str, Any] = json.loads(row[2])
        return str(row[1]), data

    def offer_action(self, data: dict[str, Any]) -> str:
        action_id = secrets.token_urlsafe(12)
        self._conn().execute(
            "INSERT INTO actions (id, data, at) VALUES (?, ?, ?)", (action_id, json.dumps(data), time.time())
        )
        return action_id

    def take_action(self, action_id: str) -> dict[str, Any] | None:
        """The offered action, once: a second click (or a retried request) gets None."""
        c = self._conn()
        row = c.execute("SELECT data, at FROM actions WHERE id = ?", (action_id,)).fetchone()
        if row is None:
            return None
        cur = c.execute("DELETE FROM actions WHERE id = ?", (action_id,))
        if cur.rowcount != 1 or time.time() - row[1] > ACTION_TTL_S:
            return None
        data: dict[str, Any] = json.loads(row[0])
        return data

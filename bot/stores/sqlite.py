"""The embedded state store: one SQLite file shared by the processes of one machine.

SQLite's database lock makes `BEGIN IMMEDIATE` transactions atomic across processes; WAL mode lets
readers proceed while one process writes. The same file also holds the job queue (huey's
`SqliteHuey` tables), so the embedded default is exactly one file.

A file that cannot be opened, is not a database (or has a damaged page: `PRAGMA quick_check` at
open), or cannot be written raises `StoreError` with one line naming the file; callers turn that into exit code 2 at start-up (never a crash loop).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from bot.errors import StoreError
from bot.stores.base import Record, StateStore, Updater, dumps, loads

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS cb_state ("
    " ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, expires REAL,"
    " PRIMARY KEY (ns, key))"
)
CLEANUP_EVERY_S = 300.0


class SqliteStore(StateStore):
    def __init__(self, path: str | Path, busy_timeout_s: float = 10.0) -> None:
        self.path = str(path)
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._last_cleanup = 0.0
        # This process's writers take turns on a Python lock: SQLite's own busy handler makes a writer
        # that finds the file locked sleep (1, 2, 5 ... 100 ms steps) even when the lock is free again
        # a moment later, which put tens of milliseconds on Slack's acknowledgements in a burst of 50
        # (each waits for its job's record). Other processes still meet at SQLite's lock.
        self._writing = threading.RLock()  # re-entrant: an update's fn that writes fails in SQLite, as before
        try:
            parent = Path(self.path).parent
            if not parent.is_dir():
                raise StoreError(f"state store {self.path}: folder {parent} does not exist")
            conn = self._conn()
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)
            # A file with a sound header and a damaged page opens, and the start-up probe's row may sit on
            # a good page: it would fail later, in the middle of questions (every keeper round). SQLite's
            # quick check reads every page once (milliseconds for a state file) and names the damage.
            problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check").fetchall()]
            if problems != ["ok"]:
                raise sqlite3.DatabaseError(f"database disk image is malformed ({problems[0].splitlines()[-1]})")
        except sqlite3.Error as e:
            raise self._error(e) from e

    @property
    def description(self) -> str:
        return f"SQLite file {self.path}"

    def _error(self, e: BaseException) -> StoreError:
        text = str(e)
        if "not a database" in text:
            why = "is corrupt (not a SQLite database); move it away and start again"
        elif "malformed" in text:
            why = "is corrupt (damaged SQLite pages); move it away and start again"
        elif "readonly" in text or "read-only" in text:
            why = "is read-only for the bot's user"
        elif "unable to open" in text:
            why = "cannot be opened (missing folder or no permission)"
        elif "locked" in text:
            why = "stayed locked by another process"
        else:
            why = f"failed: {text}"
        return StoreError(f"state store {self.path} {why}")

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            self._local.inode = self._inode()
        elif self._local.inode is None:
            self._local.inode = self._inode()
        elif self._inode() != self._local.inode:
            # The file was deleted or replaced under us: writing on would split the deployment's
            # state between processes (each with its own file), so fail loudly instead.
            raise StoreError(f"state store {self.path} was deleted or replaced while the bot ran")
        return conn

    def _inode(self) -> int | None:
        try:
            return os.stat(self.path).st_ino
        except OSError:
            return None

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT, rolled back on any error), one writer of
        this process at a time."""
        with self._writing:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _maybe_cleanup(self, conn: sqlite3.Connection, now: float) -> None:
        if now - self._last_cleanup > CLEANUP_EVERY_S:
            self._last_cleanup = now
            conn.execute("DELETE FROM cb_state WHERE expires IS NOT NULL AND expires < ?", (now,))

    @staticmethod
    def _expiry(ttl_s: float | None, now: float) -> float | None:
        return now + ttl_s if ttl_s is not None else None

    def add(self, ns: str, key: str, value: Record, ttl_s: float | None = None) -> bool:
        now = time.time()
        try:
            with self._tx() as conn:
                conn.execute(
                    "DELETE FROM cb_state WHERE ns=? AND key=? AND expires IS NOT NULL AND expires < ?", (ns, key, now)
                )
                cur = conn.execute(
                    "INSERT OR IGNORE INTO cb_state (ns, key, value, expires) VALUES (?, ?, ?, ?)",
                    (ns, key, dumps(value), self._expiry(ttl_s, now)),
                )
                self._maybe_cleanup(conn, now)
            return cur.rowcount == 1
        except sqlite3.Error as e:
            raise self._error(e) from e

    def put(self, ns: str, key: str, value: Record, ttl_s: float | None = None) -> None:
        now = time.time()
        try:
            with self._writing:
                self._conn().execute(
                    "INSERT OR REPLACE INTO cb_state (ns, key, value, expires) VALUES (?, ?, ?, ?)",
                    (ns, key, dumps(value), self._expiry(ttl_s, now)),
                )
        except sqlite3.Error as e:
            raise self._error(e) from e

    def get(self, ns: str, key: str) -> Record | None:
        try:
            row = self._conn().execute("SELECT value, expires FROM cb_state WHERE ns=? AND key=?", (ns, key)).fetchone()
        except sqlite3.Error as e:
            raise self._error(e) from e
        if row is None or (row[1] is not None and row[1] < time.time()):
            return None
        return loads(row[0])

    def take(self, ns: str, key: str) -> Record | None:
        now = time.time()
        try:
            with self._tx() as conn:
                row = conn.execute("SELECT value, expires FROM cb_state WHERE ns=? AND key=?", (ns, key)).fetchone()
                if row is not None:
                    conn.execute("DELETE FROM cb_state WHERE ns=? AND key=?", (ns, key))
        except sqlite3.Error as e:
            raise self._error(e) from e
        if row is None or (row[1] is not None and row[1] < now):
            return None
        return loads(row[0])

    def delete(self, ns: str, key: str) -> None:
        try:
            with self._writing:
                self._conn().execute("DELETE FROM cb_state WHERE ns=? AND key=?", (ns, key))
        except sqlite3.Error as e:
            raise self._error(e) from e

    def update(self, ns: str, key: str, fn: Updater, ttl_s: float | None = None) -> Record | None:
        now = time.time()
        try:
            with self._tx() as conn:
                row = conn.execute("SELECT value, expires FROM cb_state WHERE ns=? AND key=?", (ns, key)).fetchone()
                current = loads(row[0]) if row is not None and (row[1] is None or row[1] >= now) else None
                new = fn(current)
                if new is None:
                    conn.execute("DELETE FROM cb_state WHERE ns=? AND key=?", (ns, key))
                else:
                    expires = self._expiry(ttl_s, now) if ttl_s is not None else (row[1] if row is not None else None)
                    conn.execute(
                        "INSERT OR REPLACE INTO cb_state (ns, key, value, expires) VALUES (?, ?, ?, ?)",
                        (ns, key, dumps(new), expires),
                    )
        except sqlite3.Error as e:
            raise self._error(e) from e
        return new

    def scan(self, ns: str) -> Iterator[tuple[str, Record]]:
        now = time.time()
        try:
            rows = (
                self._conn()
                .execute("SELECT key, value FROM cb_state WHERE ns=? AND (expires IS NULL OR expires >= ?)", (ns, now))
                .fetchall()
            )
        except sqlite3.Error as e:
            raise self._error(e) from e
        for key, value in rows:
            yield str(key), loads(value)

    def close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

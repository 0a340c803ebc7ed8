"""State stores: where the shared state of a deployment lives (see `base.py`)."""

from __future__ import annotations

from bot.stores.base import Record, StateStore
from bot.stores.memory import MemoryStore
from bot.stores.sqlite import SqliteStore


def open_store(sqlite_path: str, redis_url: str | None = None) -> StateStore:
    """Redis when a URL is given (scale-out), else the SQLite file (the embedded default).

    Raises StoreError with one clear line when the store cannot be opened, read or written.
    """
    store: StateStore
    if redis_url:
        from bot.stores.redis import RedisStore

        store = RedisStore(redis_url)
    else:
        store = SqliteStore(sqlite_path)
    store.check()
    return store


__all__ = ["MemoryStore", "Record", "SqliteStore", "StateStore", "open_store"]

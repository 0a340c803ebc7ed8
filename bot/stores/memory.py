"""An in-process state store for unit tests and single-process tools (a lock makes it atomic)."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterator

from bot.stores.base import Record, StateStore, Updater


class MemoryStore(StateStore):
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._data: dict[tuple[str, str], tuple[Record, float | None]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    @property
    def description(self) -> str:
        return "memory (this process only)"

    def _now(self) -> float:
        return self._clock()

    def _live(self, k: tuple[str, str]) -> Record | None:
        entry = self._data.get(k)
        if entry is None:
            return None
        if entry[1] is not None and entry[1] < self._now():
            del self._data[k]
            return None
        return entry[0]

    def _exp(self, ttl_s: float | None) -> float | None:
        return self._now() + ttl_s if ttl_s is not None else None

    def add(self, ns: str, key: str, value: Record, ttl_s: float | None = None) -> bool:
        with self._lock:
            if self._live((ns, key)) is not None:
                return False
            self._data[(ns, key)] = (copy.deepcopy(value), self._exp(ttl_s))
            return True

    def put(self, ns: str, key: str, value: Record, ttl_s: float | None = None) -> None:
        with self._lock:
            self._data[(ns, key)] = (copy.deepcopy(value), self._exp(ttl_s))

    def get(self, ns: str, key: str) -> Record | None:
        with self._lock:
            v = self._live((ns, key))
            return copy.deepcopy(v) if v is not None else None

    def take(self, ns: str, key: str) -> Record | None:
        with self._lock:
            v = self._live((ns, key))
            self._data.pop((ns, key), None)
            return v

    def delete(self, ns: str, key: str) -> None:
        with self._lock:
            self._data.pop((ns, key), None)

    def update(self, ns: str, key: str, fn: Updater, ttl_s: float | None = None) -> Record | None:
        with self._lock:
            current = self._live((ns, key))
            old_exp = self._data[(ns, key)][1] if current is not None else None
            new = fn(copy.deepcopy(current) if current is not None else None)
            if new is None:
                self._data.pop((ns, key), None)
            else:
                self._data[(ns, key)] = (copy.deepcopy(new), self._exp(ttl_s) if ttl_s is not None else old_exp)
            return new

    def scan(self, ns: str) -> Iterator[tuple[str, Record]]:
        with self._lock:
            items = [(k[1], copy.deepcopy(v[0])) for k, v in list(self._data.items()) if k[0] == ns and self._live(k)]
        yield from items

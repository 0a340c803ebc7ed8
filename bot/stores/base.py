"""The state store: small JSON records shared by every process of one deployment.

What lives here (by namespace): Slack event ids already answered (`seen`), thread context for
follow-ups (`thread`), offered one-time actions (`action`), the job ledger (`job`), watch and alert
state (`alert`, `watch`, `slot`). Three implementations behind one interface:

- `SqliteStore`: the embedded default, one SQLite file shared by the processes of one machine;
- `RedisStore`: several machines (N serve replicas, M workers) on one Redis;
- `MemoryStore`: unit tests and one-process tools.

Implementations must make `add`, `take` and `update` atomic across processes: they are the
test-and-set primitives that make re-deliveries, double clicks and two replicas harmless.
Values are JSON objects (dicts); keys are short strings. Implementations need not handle
serialisation of anything else, nor namespacing beyond the `ns` argument.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Callable, Iterator
from typing import Any

from bot.errors import StoreError

Record = dict[str, Any]
Updater = Callable[[Record | None], Record | None]


class StateStore(abc.ABC):
    """Namespaced JSON records with optional expiry. Every method raises `StoreError` on failure."""

    @abc.abstractmethod
    def add(self, ns: str, key: str, value: Record, ttl_s: float | None = None) -> bool:
        """Store `value` only if `key` is absent (or expired); True if stored. Atomic across processes."""

    @abc.abstractmethod
    def put(self, ns: str, key: str, value: Record, ttl_s: float | None = None) -> None:
        """Store `value`, replacing any previous one."""

    @abc.abstractmethod
    def get(self, ns: str, key: str) -> Record | None:
        """The live value, or None."""

    @abc.abstractmethod
    def take(self, ns: str, key: str) -> Record | None:
        """Remove and return the live value, or None; only one caller ever gets a given value."""

    @abc.abstractmethod
    def delete(self, ns: str, key: str) -> None:
        """Remove the value if present."""

    @abc.abstractmethod
    def update(self, ns: str, key: str, fn: Updater, ttl_s: float | None = None) -> Record | None:
        """Atomically replace the value with `fn(current)` (None from `fn` deletes it); returns the new value."""

    @abc.abstractmethod
    def scan(self, ns: str) -> Iterator[tuple[str, Record]]:
        """Every live (key, value) of the namespace, in no particular order."""

    def first_time(self, ns: str, key: str, ttl_s: float) -> bool:
        """True the first time `key` is seen within `ttl_s` by any process; False for every repeat."""
        return self.add(ns, key, {"seen": True}, ttl_s)

    def check(self) -> None:
        """Prove the store can be read and written (start-up check); raises StoreError with one clear line."""
        self.put("health", "probe", {"ok": True}, ttl_s=60)
        if self.get("health", "probe") is None:
            raise StoreError("the state store accepted a write but did not return it")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """Where the state lives, without secrets (for logs and error messages)."""


def dumps(value: Record) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | bytes) -> Record:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise StoreError("a state record is not a JSON object")
    return data

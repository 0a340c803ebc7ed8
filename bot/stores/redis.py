"""The distributed state store: one Redis shared by N serve replicas and M workers.

Keys are `campaign-bot:<ns>:<key>`; expiry uses Redis TTLs; `add` is `SET NX`, `take` is
`GETDEL`, and `update` is an optimistic WATCH/MULTI transaction retried on conflict, so every
primitive is atomic across machines. The URL (it may hold a password) never appears in messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import redis

from bot.errors import StoreError
from bot.stores.base import Record, StateStore, Updater, dumps, loads

PREFIX = "campaign-bot"
SOCKET_TIMEOUT_S = 5.0


def _ms(ttl_s: float | None) -> int | None:
    return max(1, int(ttl_s * 1000)) if ttl_s is not None else None


def safe_url(url: str) -> str:
    """The Redis URL without its password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class RedisStore(StateStore):
    def __init__(self, url: str, prefix: str = PREFIX) -> None:
        self._where = safe_url(url)
        self.prefix = prefix
        try:
            self.client: redis.Redis = redis.Redis.from_url(
                url, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=SOCKET_TIMEOUT_S, health_check_interval=30
            )
        except ValueError as e:
            raise StoreError(f"state store {self._where}: invalid Redis URL ({e})") from e

    @property
    def description(self) -> str:
        return f"Redis {self._where}"

    def _k(self, ns: str, key: str) -> str:
        return f"{self.prefix}:{ns}:{key}"

    def _error(self, e: BaseException) -> StoreError:
        return StoreError(f"state store {self._where} failed: {type(e).__name__}: {e}")

    def add(self, ns: str, key: str, value: Record, ttl_s: float | None = None) -> bool:
        try:
            return bool(self.client.set(self._k(ns, key), dumps(value), nx=True, px=_ms(ttl_s)))
        except redis.RedisError as e:
            raise self._error(e) from e

    def put(self, ns: str, key: str, value: Record, ttl_s: float | None = None) -> None:
        try:
            self.client.set(self._k(ns, key), dumps(value), px=_ms(ttl_s))
        except redis.RedisError as e:
            raise self._error(e) from e

    def get(self, ns: str, key: str) -> Record | None:
        try:
            raw = self.client.get(self._k(ns, key))
        except redis.RedisError as e:
            raise self._error(e) from e
        return loads(raw) if raw is not None else None

    def take(self, ns: str, key: str) -> Record | None:
        try:
            raw = self.client.getdel(self._k(ns, key))
        except redis.RedisError as e:
            raise self._error(e) from e
        return loads(raw) if raw is not None else None

    def delete(self, ns: str, key: str) -> None:
        try:
            self.client.delete(self._k(ns, key))
        except redis.RedisError as e:
            raise self._error(e) from e

    def update(self, ns: str, key: str, fn: Updater, ttl_s: float | None = None) -> Record | None:
        k = self._k(ns, key)
        try:
            with self.client.pipeline() as pipe:
                while True:
                    try:
                        pipe.watch(k)  # type: ignore[no-untyped-call]
                        raw = pipe.get(k)
                        keep_ttl = pipe.pttl(k) if ttl_s is None else None
                        current = loads(raw) if raw is not None else None
                        new = fn(current)
                        pipe.multi()
                        if new is None:
                            pipe.delete(k)
                        elif ttl_s is not None:
                            pipe.set(k, dumps(new), px=_ms(ttl_s))
                        elif isinstance(keep_ttl, int) and keep_ttl > 0:
                            pipe.set(k, dumps(new), px=keep_ttl)
                        else:
                            pipe.set(k, dumps(new))
                        pipe.execute()
                        return new
                    except redis.WatchError:
                        continue  # someone else changed it: read again
        except redis.RedisError as e:
            raise self._error(e) from e

    def scan(self, ns: str) -> Iterator[tuple[str, Record]]:
        pattern = f"{self.prefix}:{ns}:*"
        start = len(self.prefix) + len(ns) + 2
        try:
            keys = list(self.client.scan_iter(match=pattern, count=500))
            if not keys:
                return
            values = self.client.mget(keys)
        except redis.RedisError as e:
            raise self._error(e) from e
        for k, raw in zip(keys, values, strict=True):
            if raw is not None:
                name = k.decode() if isinstance(k, bytes) else str(k)
                yield name[start:], loads(raw)

    def close(self) -> None:
        self.client.close()

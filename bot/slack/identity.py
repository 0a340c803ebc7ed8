"""Slack user groups for access decisions, cached for a few minutes (usergroups.users.list)."""

from __future__ import annotations

import threading
import time

from bot.slack.calls import SlackCalls

GROUP_CACHE_S = 300.0


class SlackIdentity:
    """The conversation core's `Identity` port on Slack."""

    def __init__(self, calls: SlackCalls, ttl_s: float = GROUP_CACHE_S) -> None:
        self.calls = calls
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def members(self, group: str) -> frozenset[str]:
        with self._lock:
            cached = self._cache.get(group)
        if cached is not None and time.monotonic() - cached[0] < self.ttl_s:
            return cached[1]
        resp = self.calls.call("usergroups_users_list", usergroup=group)
        members = frozenset(str(u) for u in resp.get("users", [])) if resp else frozenset()
        with self._lock:
            self._cache[group] = (time.monotonic(), members)
        return members

    def groups_of(self, user: str, candidates: tuple[str, ...]) -> set[str]:
        return {g for g in candidates if user in self.members(g)}

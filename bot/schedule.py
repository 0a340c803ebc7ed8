"""When a scheduled check is due: fixed intervals (`every: 5m`) or cron expressions.

Cron expressions are parsed and matched by the job library's own `crontab` (huey), so the watch
and the job engine agree on what `*/5 * * * *` means. Each due run has a *slot* key; the watch
claims a slot once across all replicas, so a check never runs twice for the same slot.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from huey import crontab

from bot.inventory import Environment

_FIELDS = ("minute", "hour", "day", "month", "day_of_week")


def parse_cron(expr: str) -> Callable[[datetime], bool]:
    """A matcher for a five-field cron expression; ValueError names the field that is wrong."""
    parts = expr.split()
    if len(parts) != 5:
        raise ValueError('must have five fields: minute hour day month weekday (e.g. "*/5 * * * *")')
    for name, value in zip(_FIELDS, parts, strict=True):
        try:
            crontab(strict=True, **{name: value})
        except ValueError as e:
            raise ValueError(f"cron field {name} {value!r} is not valid: {e}") from e
    matcher: Callable[[datetime], bool] = crontab(strict=True, **dict(zip(_FIELDS, parts, strict=True)))
    return matcher


@dataclass(frozen=True)
class Schedule:
    """Either an interval in seconds or a cron expression (evaluated in UTC)."""

    every_s: float | None = None
    cron: str | None = None

    def slot(self, now: float) -> str | None:
        """The slot due at `now` (epoch seconds), or None when nothing is due at this minute (cron).

        Interval slots are `every:<n>` with n = floor(now / every): one run per interval, aligned
        to the epoch so that every replica computes the same slot.
        """
        if self.every_s is not None:
            return f"every{self.every_s:g}:{math.floor(now / self.every_s)}"
        assert self.cron is not None
        minute = datetime.fromtimestamp(now, timezone.utc).replace(second=0, microsecond=0)
        if parse_cron(self.cron)(minute):
            return f"cron:{minute:%Y%m%d%H%M}"
        return None

    @property
    def period_s(self) -> float:
        """About how often it runs (cron: taken as every minute at most), for leases and staleness."""
        return self.every_s if self.every_s is not None else 60.0


def schedule_of(env: Environment) -> Schedule | None:
    """The watch schedule of an environment, None when it has no `watch` block."""
    if env.watch is None:
        return None
    return Schedule(every_s=env.watch.every, cron=env.watch.cron)

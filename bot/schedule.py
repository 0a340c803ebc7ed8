"""When a scheduled check is due: fixed intervals (`every: 5m`) or cron expressions.

Cron expressions are parsed and matched by the job library's own `crontab` (huey), so the watch
and the job engine agree on what `*/5 * * * *` means. Each due run has a *slot* key; the watch
claims a slot once across all replicas, so a check never runs twice for the same slot.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from huey import crontab

from bot.inventory import Environment

_FIELDS = ("minute", "hour", "day", "month", "day_of_week")
_RANGES = {"minute": (0, 59), "hour": (0, 23), "day": (1, 31), "month": (1, 12), "day_of_week": (0, 7)}
_NAMES = {
    "month": {
        m: i + 1
        for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])
    },
    "day_of_week": {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])},
}
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_RANGE_RE = re.compile(r"^(\d+)-(\d+)(?:/(\d+))?$")
_STEP_RE = re.compile(r"^\*/(\d+)$")


def _field(name: str, value: str) -> str:
    """One cron field as the job library reads it: names (MON-FRI, JAN) as numbers; a range whose start
    is after its end refused, as cron refuses it; `*/n` on weekdays spelled out."""
    names = _NAMES.get(name, {})
    low, high = _RANGES[name]
    out = []
    for piece in value.split(","):
        p = piece.lower()
        for word, number in names.items():
            p = re.sub(rf"\b{word}\b", str(number), p)
        m = _RANGE_RE.match(p)
        if m and int(m.group(1)) > int(m.group(2)):
            raise ValueError(f"cron field {name} {value!r} is not valid: the range {piece} starts after it ends")
        step = _STEP_RE.match(p)
        if step and name == "day_of_week" and int(step.group(1)) > 0:
            p = ",".join(str(d) for d in range(low, 7, int(step.group(1))))
        elif m and m.group(3) and name == "day_of_week" and int(m.group(3)) > 0:
            p = ",".join(str(d) for d in range(int(m.group(1)), int(m.group(2)) + 1, int(m.group(3))))
        if re.fullmatch(r"\d+", p) and not low <= int(p) <= high:
            raise ValueError(f"cron field {name} {value!r} is not valid: {piece} is not within {low}-{high}")
        out.append(p)
    return ",".join(out)


def parse_cron(expr: str) -> Callable[[datetime], bool]:
    """A matcher for a five-field cron expression (or @hourly, @daily, ...); ValueError names the field
    that is wrong."""
    text = " ".join(expr.split())
    if text.startswith("@"):
        if text.lower() not in _MACROS:
            raise ValueError(f"{text!r} is not a cron shorthand this bot knows ({', '.join(_MACROS)})")
        text = _MACROS[text.lower()]
    parts = text.split()
    if len(parts) != 5:
        raise ValueError('must have five fields: minute hour day month weekday (e.g. "*/5 * * * *")')
    fields = {}
    for name, value in zip(_FIELDS, parts, strict=True):
        try:
            fields[name] = _field(name, value)
            crontab(strict=True, **{name: fields[name]})
        except ValueError as e:
            if str(e).startswith("cron field"):
                raise
            raise ValueError(f"cron field {name} {value!r} is not valid: {e}") from e
    matcher: Callable[[datetime], bool] = crontab(strict=True, **fields)
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

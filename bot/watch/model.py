"""Alerts: what the watch remembers about each problem, and what happened to it in a round.

A problem's *subject* is (environment, host, module, instance, check, target): one alert thread
per subject. `target` (`Finding.target`) is what within the subject the finding is about when one
check reports several things there (a log file, a workflow, a system indicator); it is None for
checks with one finding per subject, and then the key is the same as before the field existed, so
stored alerts keep their keys. A target read through Campaign's API (a technical workflow) is one
object whichever module reports it, so its subject leaves the module out. Its *fingerprint* adds the status, so a problem is told by these
fields, never by its text (a memory figure that changes from 1650 to 1700 MB is the same problem;
warn turning into fail is a change of that problem, reported in its thread).
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from bot.checks.base import API_HOST
from bot.models import STATUS_ORDER, Finding, Status

PROBLEM = frozenset({"warn", "fail", "error"})


def _identity(env: str, host: str, module: str | None, instance: str | None, check: str, target: str | None) -> str:
    if host == API_HOST and target is not None:
        # A target read through Campaign's API is an object of its database (a technical workflow), which
        # several modules report (tracking's workflow under tracking and under wfserver, which runs them
        # all): one problem, so one alert whichever module's question brought it in.
        module = None
    parts = [env, host, module or "", instance or "", check]
    if target is not None:  # absent, not empty: keys without a target are those stored before it existed
        parts.append("target=" + target)
    return "\x1f".join(parts)


def subject_key(
    env: str, host: str, module: str | None, instance: str | None, check: str, target: str | None = None
) -> str:
    """A short stable id for a subject (used as the store key and in button values)."""
    raw = _identity(env, host, module, instance, check, target)
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def finding_key(env: str, f: Finding) -> str:
    """The subject key of a finding."""
    return subject_key(env, f.host, f.module, f.instance, f.check, f.target)


def fingerprint(env: str, f: Finding) -> str:
    raw = _identity(env, f.host, f.module, f.instance, f.check, f.target) + "\x1f" + f.status
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


class AlertState(BaseModel):
    """One subject's alert, as stored (namespace `alert`)."""

    model_config = ConfigDict(frozen=True)

    key: str
    environment: str
    host: str
    module: str | None
    instance: str | None
    check: str
    target: str | None = None  # what within the subject (a log file, a workflow); None in states stored before it
    status: Status
    fingerprint: str
    summary: str
    source: Literal["watch", "alertmanager", "grafana"] = "watch"
    open: bool = True
    opened_at: float
    last_seen: float
    count: int = 1
    channel: str | None = None
    ts: str | None = None  # the thread's root message
    snoozed_until: float = 0.0
    snoozed_status: Status | None = None
    snoozed_by: str | None = None
    acked_by: str | None = None
    acked_at: float | None = None
    changes: tuple[float, ...] = ()  # when it opened, changed status or recovered (flapping window)
    flapping: bool = False
    recovered_at: float | None = None
    was: Status | None = None  # closed: the status it had before (the root says what recovered)
    closed_why: str | None = None  # closed without a check seeing it recover (no longer watched: why)
    detail: dict[str, Any] | None = None  # the last Diagnosis about this host and module (JSON), for the root message
    # Threads: one per problem of a host and module. An alert that joined another one's thread posts in it
    # (`joined` is the key of the alert whose message is the root); the root lists the thread's other open
    # alerts (`also`), and has ✅ (`marked`, on the root's alert) once none is open and the last one recovered.
    joined: str | None = None
    also: tuple[str, ...] = ()
    marked: bool = False

    @property
    def subject(self) -> str:
        what = f"{self.check} ({self.target})" if self.target else self.check
        if not self.module:
            return f"{self.host} {what}"
        where = "in the Campaign API" if self.host == API_HOST else f"on {self.host}"
        return f"{self.module}{'@' + self.instance if self.instance else ''} {what} {where}"

    def snoozed(self, now: float) -> bool:
        return self.snoozed_until > now

    def at(self, now: float) -> AlertState:
        """The alert as of `now` (the watch's clock): a snooze that has ended is cleared, so whatever
        shows the alert later (the root, App Home) says "snoozed" only while it is."""
        if self.snoozed_until and self.snoozed_until <= now:
            return self.model_copy(update={"snoozed_until": 0.0, "snoozed_status": None, "snoozed_by": None})
        return self

    @property
    def external(self) -> bool:
        return self.source != "watch"

    @property
    def alert_name(self) -> str:
        """An external alert's name (its check is `alert:<name>`)."""
        return self.check.split(":", 1)[1] if self.check.startswith("alert:") else self.check

    def brief(self) -> str:
        """One line about it, for the root of a thread it shares."""
        if self.external:
            where = f"{self.module} on {self.host}" if self.module else self.host
            return f"{self.source} alert '{self.alert_name}' ({where}): {self.status}"
        return f"{self.subject}: {self.status}"

    def worse_than_snoozed(self, status: Status) -> bool:
        return self.snoozed_status is not None and STATUS_ORDER[status] > STATUS_ORDER[self.snoozed_status]


EventKind = Literal["opened", "ongoing", "changed", "recovered", "flapping", "snooze_ended", "settled", "unwatched"]


class WatchEvent(BaseModel):
    """What a round did to one alert (for the terminal, the audit and tests)."""

    model_config = ConfigDict(frozen=True)

    kind: EventKind
    key: str
    subject: str
    status: Status
    summary: str
    notified: bool  # whether anything was posted (a snoozed or flapping alert is kept quiet)


class WatchRound(BaseModel):
    """One scheduled check of one environment."""

    model_config = ConfigDict(frozen=True)

    environment: str
    at: float
    status: Status
    verdict: str
    events: tuple[WatchEvent, ...]
    problems: int
    hosts: int
    simulated: bool = False

    @property
    def exit_code(self) -> int:
        """As `campaign-bot check`: 1 when a finding is fail or error."""
        return 1 if self.status in ("fail", "error") else 0

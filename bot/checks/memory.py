"""Memory of a module's process against its own limits, read from the configuration.

- Every daemon node has `maxProcessMemoryWarningMb` (1600) and `maxProcessMemoryAlertMb` (1800):
  Adobe's warning and alert levels for the RAM one process uses
  (CC:installation/using/the-server-configuration-file.md). What acts on them is UNCONFIRMED.
- The mta restarts itself above `maxMemoryMb` (default 1024; same page, #mta): above it, the
  restart (and the cut of its in-flight work) is due.

Values come from `config-<instance>.xml` (`config-default.xml` for server-wide modules), else
`serverConf.xml`, else Adobe's defaults. mtachild processes have their own check (`mtachild`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.checks.base import ModuleCheck, finding
from bot.checks.facts import HostContext, HostFacts, config_files
from bot.kb.models import Module
from bot.models import Finding

MEMORY_WARNING_MB = 1600  # maxProcessMemoryWarningMb
MEMORY_ALERT_MB = 1800  # maxProcessMemoryAlertMb
MTA_MAX_MEMORY_MB = 1024  # <mta maxMemoryMb>


@dataclass(frozen=True)
class Limit:
    attribute: str
    mb: int
    source: str  # the file that sets it, or "default"

    def shown(self) -> str:
        return f"{self.attribute} {self.mb} MB ({self.source})"


def limit(facts: HostFacts, tag: str, attribute: str, scope: str, instance: str | None, default: int) -> Limit:
    """A memory limit from the configuration (instance file first), else Adobe's default."""
    found = facts.setting(tag, attribute, scope, instance)
    unread = [f for f in config_files(scope, instance) if f in facts.config.unreadable]
    caveat = f"; {', '.join(unread)} unreadable, it may set another value" if unread else ""
    if found is not None:
        value, file = found
        if value.strip().isdigit() and int(value) > 0:
            return Limit(attribute, int(value), file + caveat)
        return Limit(attribute, default, f"default; {file} has {value!r}, not a number{caveat}")
    return Limit(attribute, default, "default" + caveat)


class MemoryCheck(ModuleCheck):
    name = "memory"
    order = 20

    def check(self, ctx: HostContext, facts: HostFacts, module: Module, instance: str | None) -> Iterable[Finding]:
        proc = facts.running(module, instance)
        if proc is None:
            return
        mb = proc.memory_mb
        warn = limit(facts, module.name, "maxProcessMemoryWarningMb", module.scope, instance, MEMORY_WARNING_MB)
        alert = limit(facts, module.name, "maxProcessMemoryAlertMb", module.scope, instance, MEMORY_ALERT_MB)
        own = (
            limit(facts, "mta", "maxMemoryMb", module.scope, instance, MTA_MAX_MEMORY_MB)
            if module.name == "mta"
            else None
        )
        ev = [f"{proc.name} ({proc.pid}) - {mb:g} MB", *(x.shown() for x in (own, warn, alert) if x is not None)]
        if mb >= alert.mb:
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "fail",
                f"{proc.name} uses {mb:g} MB, above its alert level (maxProcessMemoryAlertMb {alert.mb} MB)",
                ev,
                ("memory_high",),
            )
        elif own is not None and mb >= own.mb:
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "warn",
                f"{proc.name} uses {mb:g} MB, above maxMemoryMb ({own.mb} MB, {own.source}): the mta restarts itself "
                "above it, cutting its in-flight work",
                ev,
                ("memory_high",),
            )
        elif mb >= warn.mb:
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "warn",
                f"{proc.name} uses {mb:g} MB, above its warning level (maxProcessMemoryWarningMb {warn.mb} MB)",
                ev,
                ("memory_high",),
            )
        else:
            first = own if own is not None else warn
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "ok",
                f"{proc.name} uses {mb:g} MB ({first.attribute} {first.mb} MB)",
                ev,
            )


CHECK = MemoryCheck()

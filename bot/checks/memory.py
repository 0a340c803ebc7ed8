"""Memory of a module's process against Adobe's per-process thresholds."""

from __future__ import annotations

from collections.abc import Iterable

from bot.checks.base import ModuleCheck, finding
from bot.checks.facts import HostContext, HostFacts
from bot.kb.models import Module
from bot.models import Finding

MEMORY_WARNING_MB = 1600  # maxProcessMemoryWarningMb
MEMORY_ALERT_MB = 1800  # maxProcessMemoryAlertMb


class MemoryCheck(ModuleCheck):
    name = "memory"
    order = 20

    def check(self, ctx: HostContext, facts: HostFacts, module: Module, instance: str | None) -> Iterable[Finding]:
        proc = facts.running(module, instance)
        if proc is None:
            return
        mb = proc.memory_mb
        ev = [f"{proc.name} ({proc.pid}) - {mb:g} MB"]
        if mb >= MEMORY_ALERT_MB:
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "fail",
                f"{proc.name} uses {mb:g} MB, above the alert level ({MEMORY_ALERT_MB} MB)",
                ev,
                ("memory_high",),
            )
        elif mb >= MEMORY_WARNING_MB:
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "warn",
                f"{proc.name} uses {mb:g} MB, above the warning level ({MEMORY_WARNING_MB} MB)",
                ev,
                ("memory_high",),
            )
        else:
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "ok",
                f"{proc.name} uses {mb:g} MB (warning at {MEMORY_WARNING_MB} MB)",
            )


CHECK = MemoryCheck()

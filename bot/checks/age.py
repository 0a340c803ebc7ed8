"""Processes older than a day: the daily restart (processRestartTime) did not happen."""

from __future__ import annotations

from collections.abc import Iterable

from bot.checks.base import ModuleCheck, finding
from bot.checks.facts import HostContext, HostFacts
from bot.kb.models import Module
from bot.models import Finding

TOO_OLD_S = 86400


class AgeCheck(ModuleCheck):
    name = "age"
    order = 30

    def check(self, ctx: HostContext, facts: HostFacts, module: Module, instance: str | None) -> Iterable[Finding]:
        proc = facts.running(module, instance)
        if proc is None:
            return
        row = facts.ps.get(proc.pid)
        if row is None:
            why = (
                "pid not found by ps (the process may have just restarted)"
                if facts.procs.available
                else "ps gave no usable answer"
            )
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "unknown",
                f"cannot tell the age of {proc.name} (pid {proc.pid}): {why}",
                (),
                ("cannot_tell",),
                needs="`ps` on the host",
            )
            return
        hours = row.elapsed_s / 3600
        if row.elapsed_s > TOO_OLD_S:
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "warn",
                f"{proc.name} has run for {hours:.0f} h: older than a day, so the daily restart (processRestartTime) did not happen",
                [f"pid {row.pid} elapsed {row.elapsed_s} s"],
                ("too_old",),
            )
        else:
            yield finding(ctx, module, instance, self.name, "ok", f"{proc.name} started {hours:.1f} h ago")


CHECK = AgeCheck()

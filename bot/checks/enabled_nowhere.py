"""A daemon that no host of the environment is set up to run is a finding of its own."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.checks.base import HostOutcome, RunCheck
from bot.models import Finding


class EnabledNowhereCheck(RunCheck):
    name = "enabled_nowhere"
    order = 900

    def evaluate_run(
        self, outcomes: Sequence[HostOutcome], findings: Sequence[Finding], complete: bool
    ) -> Iterable[Finding]:
        if not complete or not outcomes or any(o.facts is None for o in outcomes):
            return  # with a host unchecked, we cannot say "nowhere"
        if any(f.status == "error" for f in findings):
            return
        ctx = outcomes[0].ctx
        for m in ctx.modules:
            if m.kind != "daemon" or m.name == "watchdog":
                continue
            for inst in ctx.instances_of(m):
                mine = [f for f in findings if f.module == m.name and f.check == "process" and f.instance == inst]
                if mine and all("not_configured" in f.conditions for f in mine):
                    pname = m.process_name(inst)
                    yield Finding(
                        host="(all hosts)",
                        module=m.name,
                        instance=inst,
                        check="process",
                        status="warn",
                        summary=f"{pname} is enabled (autoStart) on none of the {len(outcomes)} hosts of {ctx.env.name}",
                        conditions=("not_configured",),
                    )


CHECK = EnabledNowhereCheck()

"""A daemon that no host of the environment is set up to run is a finding of its own."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.checks.base import HostOutcome, RunCheck
from bot.kb.models import Module
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
                    shared = _shared_elsewhere(outcomes, m, inst) if m.shared_by_instances and inst else None
                    if shared is not None:
                        yield Finding(
                            host="(all hosts)",
                            module=m.name,
                            instance=inst,
                            check="process",
                            status="ok",
                            summary=f"{pname} is enabled on none of the {len(outcomes)} hosts of {ctx.env.name}, "
                            f"but {shared}: {m.shared_by_instances}",
                            conditions=("not_configured",),
                        )
                        continue
                    yield Finding(
                        host="(all hosts)",
                        module=m.name,
                        instance=inst,
                        check="process",
                        status="warn",
                        summary=f"{pname} is enabled (autoStart) on none of the {len(outcomes)} hosts of {ctx.env.name}",
                        conditions=("not_configured",),
                    )


def _shared_elsewhere(outcomes: Sequence[HostOutcome], m: Module, inst: str) -> str | None:
    """Another instance's process of `m` that runs (pdump) or is enabled (autoStart, inventory
    `modules`) on a host of the run, said as `stat@prod runs on app1`; None when there is none."""
    for o in outcomes:
        if o.facts is None:
            continue
        for proc in o.facts.pdump.processes:
            if proc.module.lower() == m.name.lower() and proc.instance and proc.instance.lower() != inst.lower():
                return f"{proc.name} runs on {o.ctx.host.name}"
    for o in outcomes:
        if o.facts is None:
            continue
        for file in o.facts.config.files:
            other = file.removeprefix("config-").removesuffix(".xml")
            if file.startswith("config-") and other not in ("default", inst) and o.facts.configured(m, other):
                return f"{m.name}@{other} is enabled on {o.ctx.host.name}"
    return None


CHECK = EnabledNowhereCheck()

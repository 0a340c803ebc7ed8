"""Is the module's process running where it should? (`nlserver pdump`, `monitor -missing`, autoStart)"""

from __future__ import annotations

from collections.abc import Iterable

from bot.checks.base import ModuleCheck, finding
from bot.checks.facts import HostContext, HostFacts
from bot.kb.models import Module
from bot.models import Finding


class ProcessCheck(ModuleCheck):
    name = "process"
    order = 10
    always = True  # "not configured to run here" is an answer too

    def check(self, ctx: HostContext, facts: HostFacts, module: Module, instance: str | None) -> Iterable[Finding]:
        if module.kind != "daemon":
            return
        pname = module.process_name(instance)
        proc = facts.running(module, instance)
        conf = facts.configured(module, instance)
        pdump = facts.pdump
        if proc is not None:
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "ok",
                f"{pname} runs (pid {proc.pid}, {proc.memory_mb:g} MB)",
                [facts.banner],
            )
            return
        if pdump.no_tasks:
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "fail",
                f"nothing runs on {ctx.host.name}: `nlserver pdump` says No tasks",
                [facts.banner, "No tasks"],
                ("no_tasks", "not_running"),
            )
            return
        if any(x.lower() == pname.lower() for x in facts.missing):
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "fail",
                f"{pname} should run (autoStart) but does not: listed by `nlserver monitor -missing`",
                [f"monitor -missing: {', '.join(facts.missing)}"],
                ("not_running",),
            )
            return
        if conf:
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "fail",
                f"{pname} is enabled (autoStart) but not in `nlserver pdump`",
                [facts.banner],
                ("not_running",),
            )
            return
        if conf is None:
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "unknown",
                f"cannot tell whether {pname} should run here: it is not running, and the bot could not read the "
                "host's configuration (conf/config-*.xml)",
                [facts.banner],
                ("cannot_tell",),
                needs="read access to conf/config-*.xml for the bot's user, or `modules:` for this host in the inventory",
            )
            return
        yield finding(
            ctx,
            module,
            instance,
            self.name,
            "ok",
            f"{pname} is not configured to run on this host (no autoStart)",
            (),
            ("not_configured",),
        )


CHECK = ProcessCheck()

"""Is the module's process running where it should? (`nlserver pdump`, `monitor -missing`, autoStart)

autoStart is read from `serverConf.xml` and `config-<instance>.xml` (`config-default.xml` for
server-wide modules), the instance file winning (CC:production/using/configuration-principle.md).

"No tasks" is not taken at face value: `nlserver` commands are meant to run as the Campaign user
with its environment (CC:installation/using/installing-packages-with-linux.md#installation-checks),
so when pdump says nothing runs while `ps` shows nlserver processes, the bot is probably running as
the wrong user or without the Campaign environment, and restarting anything would be wrong.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.checks.base import ModuleCheck, finding
from bot.checks.facts import HostContext, HostFacts
from bot.kb.models import Module
from bot.models import Finding
from bot.redact import redact_and_clip


def wrong_user_finding(ctx: HostContext, facts: HostFacts, module: Module, instance: str | None) -> Finding | None:
    """ "Cannot tell" when pdump says No tasks but ps shows Campaign module processes; None otherwise."""
    blind = facts.blind
    if blind is None:
        return None
    pname = module.process_name(instance)
    shown = [redact_and_clip(f"{r.pid} {r.user} {r.args}", 200) for r in blind.rows[:5]]
    return finding(
        ctx,
        module,
        instance,
        "process",
        "unknown",
        f"cannot tell whether {pname} runs: `nlserver pdump` says No tasks, but {blind.why}",
        [facts.banner, "No tasks", *shown],
        ("cannot_tell", "wrong_user"),
        needs=blind.needs,
    )


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
        _, where = facts.enabled_in(module.name, module.scope, instance)
        source = f" in {where}" if where and ctx.host.modules is None else ""
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
        unread = pdump.unread_line(pname)
        if unread is not None:
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "unknown",
                f"cannot tell whether {pname} runs as pdump says: its pdump line could not be read",
                [facts.banner, unread],
                ("cannot_tell",),
                needs="a pdump line in the documented shape (`module@instance (pid) - N MB`)",
            )
            return
        if pdump.no_tasks:
            # Processes of another install root: the configuration read under nl_home may not be theirs,
            # so even "not configured here" cannot be told. Otherwise autoStart decides first: a module
            # not enabled here is not down because nothing runs.
            wrong = wrong_user_finding(ctx, facts, module, instance)
            if wrong is not None and (conf is not False or (facts.blind and facts.blind.other_root)):
                yield wrong
                return
            if conf:
                passing = sorted({r.verb or r.command for r in facts.procs.rows.values()})
                checked = (
                    "ps could not confirm it"
                    if not facts.procs.available
                    else "ps shows no nlserver process either"
                    if not passing
                    else f"ps shows no nlserver module process either, only passing commands: {', '.join(passing)}"
                )
                yield finding(
                    ctx,
                    module,
                    instance,
                    self.name,
                    "fail",
                    f"nothing runs on {ctx.host.name}: `nlserver pdump` says No tasks ({checked}); {pname} should run "
                    + (
                        "here (it starts every module)"
                        if module.name == "watchdog"
                        else "(the inventory's modules for this host)"
                        if ctx.host.modules is not None
                        else f"(autoStart{source})"
                    ),
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
                f"{pname} should run (autoStart{source}) but does not: listed by `nlserver monitor -missing`",
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
                f"{pname} is "
                + (
                    "in the inventory's modules for this host"
                    if ctx.host.modules is not None
                    else f"enabled (autoStart{source})"
                )
                + " but not in `nlserver pdump`",
                [facts.banner],
                ("not_running",),
            )
            return
        if conf is None:
            unreadable = ", ".join(facts.config.unreadable)
            why = (
                f"cannot read {unreadable}" if unreadable else "could not read conf/serverConf.xml or conf/config-*.xml"
            )
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "unknown",
                f"cannot tell whether {pname} should run here: it is not running, and the bot {why}",
                [facts.banner],
                ("cannot_tell",),
                needs="read access to conf/serverConf.xml and conf/config-*.xml for the bot's user, or `modules:` for "
                "this host in the inventory",
            )
            return
        if instance is not None and ctx.host_instances is not None and instance not in ctx.host_instances:
            # The question named an instance and the inventory lists none: this host has no such instance.
            here = ", ".join(ctx.host_instances) or "none"
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "ok",
                f"{pname} is not configured to run on this host: it has no instance {instance} (no "
                f"config-{instance}.xml; its instances: {here})",
                (),
                ("not_configured",),
            )
            return
        renamed = [
            f
            for f in (f"config-{instance}.xml" if instance else "config-default.xml", "serverConf.xml")
            if facts.config.renamed_autostart(f, module.name)
        ]
        note = f" (_autoStart in {renamed[0]}: kept from starting on purpose)" if renamed else ""
        yield finding(
            ctx,
            module,
            instance,
            self.name,
            "ok",
            f"{pname} is not configured to run on this host (no autoStart){note}",
            (),
            ("not_configured",),
        )


CHECK = ProcessCheck()

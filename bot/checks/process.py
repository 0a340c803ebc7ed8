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
    """ "Cannot tell" when pdump says No tasks but ps shows nlserver processes; None otherwise."""
    rows = list(facts.procs.rows.values())
    if not facts.pdump.no_tasks or not rows:
        return None
    pname = module.process_name(instance)
    owners = facts.campaign_users()
    me = facts.env.user or "unknown"
    home = ctx.host.nl_home.rstrip("/")
    elsewhere = sorted(
        {
            (r.exe or r.cwd or "").rsplit("/bin/", 1)[0]
            for r in rows
            if (r.exe and not r.exe.startswith(home + "/")) or (r.cwd and not r.cwd.startswith(home))
        }
        - {""}
    )
    others = [u for u in owners if u != me]
    if others:
        why = f"of user {', '.join(others)}; the bot runs as {me}: it probably runs as the wrong user"
        needs = f"to run as the Campaign user ({others[0]}) with its environment (env.sh): set `user` for this host"
    elif elsewhere:
        why = (
            f"of the bot's own user {me}, but from {', '.join(elsewhere)}, not from nl_home {home}: the bot "
            "probably runs without the Campaign environment (another NL_HOME)"
        )
        needs = f"the install root these processes use ({elsewhere[0]}) as nl_home for this host"
    else:
        why = f"of user {me}: the bot probably runs without the Campaign environment (env.sh, customer.sh)"
        needs = "the Campaign environment (env.sh in nl_home) for the bot's user"
    shown = [redact_and_clip(f"{r.pid} {r.user} {r.args}", 200) for r in sorted(rows, key=lambda r: r.pid)[:5]]
    return finding(
        ctx,
        module,
        instance,
        "process",
        "unknown",
        f"cannot tell whether {pname} runs: `nlserver pdump` says No tasks, but ps shows {len(rows)} nlserver "
        f"process(es) {why}",
        [facts.banner, "No tasks", *shown],
        ("cannot_tell", "wrong_user"),
        needs=needs,
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
        if pdump.no_tasks:
            wrong = wrong_user_finding(ctx, facts, module, instance)
            if wrong is not None:
                yield wrong
                return
            checked = "ps shows no nlserver process either" if facts.procs.available else "ps could not confirm it"
            yield finding(
                ctx,
                module,
                instance,
                self.name,
                "fail",
                f"nothing runs on {ctx.host.name}: `nlserver pdump` says No tasks ({checked})",
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
                f"{pname} is enabled (autoStart{source}) but not in `nlserver pdump`",
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

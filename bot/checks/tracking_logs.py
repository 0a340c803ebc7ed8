"""Freshness of the tracking logs written by trackinglogd (`var/<instance>/redir/log/`, under
`XTK_VAR_DIR` when customer.sh moves var).

A HEURISTIC, and labelled so: Adobe's own test is "the Tracking workflow ran within its period
(hourly by default) without errors, and trackinglogd runs"; redirection log files only change when
people click, so an old file may just mean a quiet hour (CC:production/using/tracking-logs-issues.md;
domain reference section 9, fact 15). The age threshold is the host's `tracking_stale_min`.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.checks.base import ModuleCheck, finding
from bot.checks.facts import HostContext, HostFacts
from bot.kb.models import Module
from bot.models import Finding
from bot.probes import parsers as p
from bot.probes import script as s
from bot.probes.script import Section


class TrackingLogsCheck(ModuleCheck):
    name = "tracking_logs"
    order = 60
    host_fact = True
    always = True  # the redir folder tells by itself whether this is a redirection server

    def module_sections(self, ctx: HostContext, module: Module, instance: str | None) -> Iterable[Section]:
        for inst in ctx.instances:
            yield s.redir_logs(inst)

    def check(self, ctx: HostContext, facts: HostFacts, module: Module, instance: str | None) -> Iterable[Finding]:
        conf = facts.configured(module, None)
        for inst in ctx.instances:
            sec = facts.sections.get(f"redir:{inst}")
            if sec is None:
                continue
            redir = p.parse_redir(sec.text)
            rel = facts.shown(f"var/{inst}/redir/log/")
            if not redir.exists:
                if conf:
                    yield finding(
                        ctx,
                        module,
                        inst,
                        self.name,
                        "fail",
                        f"{rel} does not exist, but this host is set up to write tracking logs",
                        (),
                        ("tracking_stale",),
                    )
                continue  # not a redirection server
            if redir.newest_mtime is None:
                yield finding(
                    ctx, module, inst, self.name, "warn", f"no tracking log files in {rel}", (), ("tracking_stale",)
                )
                continue
            if facts.now_s is None:
                yield finding(
                    ctx,
                    module,
                    inst,
                    self.name,
                    "unknown",
                    "cannot tell the age of the tracking logs: the host's clock could not be read",
                    (),
                    ("cannot_tell",),
                    needs="`date` on the host",
                )
                continue
            age_min = max(0, (facts.now_s - redir.newest_mtime) // 60)
            ev = [f"newest {redir.newest_name}, {age_min} min old; {redir.count} file(s)"]
            stale = ctx.host.tracking_stale_min
            if age_min > stale:
                yield finding(
                    ctx,
                    module,
                    inst,
                    self.name,
                    "warn",
                    f"newest tracking log in {rel} is {age_min} min old (more than {stale} min; a heuristic: files "
                    "only change when people click, Adobe's test is the Tracking workflow's last run)",
                    ev,
                    ("tracking_stale",),
                )
            else:
                yield finding(
                    ctx,
                    module,
                    inst,
                    self.name,
                    "ok",
                    f"tracking logs in {rel} were written {age_min} min ago (file age: a heuristic)",
                    ev,
                )


CHECK = TrackingLogsCheck()

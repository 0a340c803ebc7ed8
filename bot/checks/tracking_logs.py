"""Freshness of the tracking logs written by trackinglogd (`var/<instance>/redir/log/`, under
`XTK_VAR_DIR` when customer.sh moves var).

A HEURISTIC, and labelled so: Adobe's own test is "the Tracking workflow ran within its period
(hourly by default) without errors, and trackinglogd runs"; redirection log files only change when
people click, so an old file may just mean a quiet hour (CC:production/using/tracking-logs-issues.md;
domain reference section 9, fact 15). The age threshold is the host's `tracking_stale_min`.

It is a check of tracking servers: where trackinglogd neither runs nor is meant to run (no autoStart,
not in the inventory's `modules`), the folder's files are no one's job and nothing is said of them.
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


def tracking_server(ctx: HostContext, facts: HostFacts) -> bool | None:
    """Is this host meant to write tracking logs (a redirection server)? trackinglogd runs, or the
    inventory's `modules` or autoStart enables it; None when the configuration could not be read."""
    if facts.pdump.find("trackinglogd@default") is not None:
        return True
    if ctx.host.modules is not None:
        return ctx.host.lists_module("trackinglogd")
    return facts.enabled_in("trackinglogd", "server", None)[0]


HEURISTIC = "a heuristic: files only change when people click, Adobe's test is the Tracking workflow's last run"


class TrackingLogsCheck(ModuleCheck):
    name = "tracking_logs"
    order = 60
    host_fact = True
    always = True  # the redir folder and trackinglogd's configuration tell whether this is a redirection server

    def module_sections(self, ctx: HostContext, module: Module, instance: str | None) -> Iterable[Section]:
        for inst in ctx.instances:
            yield s.redir_logs(inst)

    def check(self, ctx: HostContext, facts: HostFacts, module: Module, instance: str | None) -> Iterable[Finding]:
        server = tracking_server(ctx, facts)
        for inst in ctx.instances:
            text = facts.text(f"redir:{inst}")
            if text is None:
                continue
            redir = p.parse_redir(text)
            rel = facts.shown(f"var/{inst}/redir/log/")
            if not redir.exists:
                if server:
                    yield finding(
                        ctx,
                        module,
                        inst,
                        self.name,
                        "fail",
                        f"{rel} does not exist, but this host is set up to write tracking logs (trackinglogd)",
                        (),
                        ("tracking_stale",),
                    )
                continue  # not a redirection server
            if server is False:
                continue  # trackinglogd is not set up here: whatever the folder holds is not this host's job
            if redir.unreadable is not None:
                yield finding(
                    ctx,
                    module,
                    inst,
                    self.name,
                    "unknown",
                    f"cannot tell whether tracking logs are written in {rel}: the bot's user cannot read "
                    f"{redir.unreadable}",
                    (),
                    ("cannot_tell",),
                    needs=f"read and search permission on {redir.unreadable} for the bot's user (or run it as the "
                    "Campaign user)",
                )
                continue
            ev = [f"{redir.count} file(s) in {rel}"]
            if redir.newest_mtime is None:
                if redir.count:
                    yield finding(
                        ctx,
                        module,
                        inst,
                        self.name,
                        "unknown",
                        f"cannot tell the age of the tracking logs: {rel} has {redir.count} file(s), but the host "
                        "could not say when they were written",
                        ev,
                        ("cannot_tell",),
                        needs="GNU find (-printf) or GNU stat (-c) on the host",
                    )
                    continue
                yield self._stale(ctx, module, inst, server, f"no tracking log files in {rel} ({HEURISTIC})", ev)
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
                yield self._stale(
                    ctx,
                    module,
                    inst,
                    server,
                    f"newest tracking log in {rel} is {age_min} min old (more than {stale} min; {HEURISTIC})",
                    ev,
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

    def _stale(
        self, ctx: HostContext, module: Module, inst: str, server: bool | None, summary: str, ev: list[str]
    ) -> Finding:
        """A stale (or empty) folder: a heuristic warning on a tracking server; where the bot cannot tell
        whether trackinglogd should run here, it cannot tell whether this matters either."""
        if server:
            return finding(ctx, module, inst, self.name, "warn", summary, ev, ("tracking_stale",))
        return finding(
            ctx,
            module,
            inst,
            self.name,
            "unknown",
            f"cannot tell whether this host should write tracking logs (trackinglogd does not run, and its "
            f"autoStart could not be read): {summary}",
            ev,
            ("cannot_tell",),
            needs="read access to conf/serverConf.xml and conf/config-default.xml, or `modules:` for this host in "
            "the inventory",
        )


CHECK = TrackingLogsCheck()

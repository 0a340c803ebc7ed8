"""Module logs: error and warning lines (with Campaign error codes) in the recent window."""

from __future__ import annotations

from collections.abc import Iterable

from bot.checks.base import ModuleCheck, finding
from bot.checks.facts import HostContext, HostFacts
from bot.kb.models import Module
from bot.models import Finding
from bot.probes import parsers as p
from bot.probes import script as s
from bot.probes.script import Section

# What `tail` says when it cannot read a log, and what that means: the fact is unknown, not a warning.
_UNREADABLE_LOG = (
    (("No such file", "cannot open"), "does not exist on this host", "the log's path (nl_home, XTK_VAR_DIR)"),
    (("ermission denied",), "is not readable by the bot's user", "read permission on the log for the bot's user"),
)


class LogCheck(ModuleCheck):
    name = "log"
    order = 50

    def module_sections(self, ctx: HostContext, module: Module, instance: str | None) -> Iterable[Section]:
        for path in module.log_paths(instance):
            yield s.log_tail(path)

    def check(self, ctx: HostContext, facts: HostFacts, module: Module, instance: str | None) -> Iterable[Finding]:
        for path in module.log_paths(instance):
            sec = facts.sections.get(f"log:{path}")
            if sec is not None:
                yield self._one(ctx, facts, module, instance, path, sec)

    def _one(
        self, ctx: HostContext, facts: HostFacts, module: Module, instance: str | None, path: str, sec: p.SectionOutput
    ) -> Finding:
        if sec.exit_code not in (0, None):
            for needles, why, needs in _UNREADABLE_LOG:
                if any(n in sec.text for n in needles):
                    return finding(
                        ctx,
                        module,
                        instance,
                        self.name,
                        "unknown",
                        f"cannot read {path}: it {why}",
                        [sec.text.strip()[:200]],
                        ("cannot_tell",),
                        needs=needs,
                    )
        window = ctx.host.log_window_min
        scan = p.scan_log(sec.text, facts.now, window)
        if scan.errors:
            codes = f" ({', '.join(scan.codes[:4])})" if scan.codes else ""
            return finding(
                ctx,
                module,
                instance,
                self.name,
                "warn",
                f"{len(scan.errors)} error line(s){codes} in {path} in the last {window} min",
                list(scan.errors[-5:]),
                ("log_errors",),
                tail=scan.tail,
            )
        if scan.warnings:
            return finding(
                ctx,
                module,
                instance,
                self.name,
                "ok",
                f"no errors, {len(scan.warnings)} warning(s) in {path} in the last {window} min",
                list(scan.warnings[-3:]),
                tail=scan.tail,
            )
        last = f"; last line {scan.newest:%Y-%m-%d %H:%M} UTC" if scan.newest else "; no dated lines"
        return finding(
            ctx,
            module,
            instance,
            self.name,
            "ok",
            f"no errors in {path} in the last {window} min{last}",
            tail=scan.tail,
        )


CHECK = LogCheck()

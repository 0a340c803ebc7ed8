"""Disk use of the Campaign data folder (`var`, or where `XTK_VAR_DIR` moves it), against Adobe's
80/90 % thresholds (CC:production/using/monitoring-processes.md#system-indicators)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.checks.base import HostCheck, finding
from bot.checks.facts import HostContext, HostFacts
from bot.models import Finding
from bot.probes import parsers as p
from bot.probes import script as s
from bot.probes.script import Section
from bot.redact import redact_and_clip

DISK_WARNING_PCT = 80
DISK_ALERT_PCT = 90


class DiskCheck(HostCheck):
    name = "disk"
    order = 200

    def sections(self, ctx: HostContext) -> Iterable[Section]:
        yield s.disk()

    def evaluate(self, ctx: HostContext, facts: HostFacts) -> Iterable[Finding]:
        text = facts.text("df")
        if text is None:
            return
        du = p.parse_df(text)
        if du is None:
            yield finding(
                ctx,
                None,
                None,
                self.name,
                "unknown",
                "cannot tell the disk use of var: `df` gave no usable answer",
                [redact_and_clip(text.strip(), 200)],
                ("cannot_tell",),
                needs="`df -P` on the host and an existing var folder",
            )
            return
        ev = [f"{du.filesystem} {du.used_pct}% used, mounted on {du.mount}"]
        where = facts.var_dir + (" (XTK_VAR_DIR)" if facts.var_moved else "")
        if du.used_pct >= DISK_ALERT_PCT:
            yield finding(
                ctx,
                None,
                None,
                self.name,
                "fail",
                f"disk of {where} is {du.used_pct}% full (alert at {DISK_ALERT_PCT}%)",
                ev,
                ("disk_full",),
            )
        elif du.used_pct >= DISK_WARNING_PCT:
            yield finding(
                ctx,
                None,
                None,
                self.name,
                "warn",
                f"disk of {where} is {du.used_pct}% full (warning at {DISK_WARNING_PCT}%)",
                ev,
                ("disk_full",),
            )
        else:
            yield finding(ctx, None, None, self.name, "ok", f"disk of {where} is {du.used_pct}% used", ev)


CHECK = DiskCheck()

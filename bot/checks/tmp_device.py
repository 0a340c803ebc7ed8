"""Temporary files on another device than var: moves from TMPDIR (or /tmp) into var fail with
`errno=18, Invalid cross-device link` (CC:production/using/temporary-files.md; domain reference
section 9, fact 12). TMPDIR is the one the Campaign environment sets (customer.sh is sourced)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.checks.base import HostCheck, finding
from bot.checks.facts import HostContext, HostFacts
from bot.models import Finding
from bot.probes import parsers as p
from bot.probes import script as s
from bot.probes.script import Section
from bot.redact import redact_and_clip


class TmpDeviceCheck(HostCheck):
    name = "tmp_device"
    order = 220

    def sections(self, ctx: HostContext) -> Iterable[Section]:
        yield s.devices()

    def evaluate(self, ctx: HostContext, facts: HostFacts) -> Iterable[Finding]:
        text = facts.text("devices")
        if text is None:
            return
        dev = p.parse_devices(text)
        # /tmp is named, not used: it is where Campaign writes when TMPDIR is unset.
        tmp_name = f"TMPDIR={facts.env.tmpdir}" if facts.env.tmpdir else "/tmp (no TMPDIR set)"  # noqa: S108
        if dev.tmp is None or dev.var is None:
            yield finding(
                ctx,
                None,
                None,
                self.name,
                "unknown",
                f"cannot tell whether {tmp_name} and {facts.var_dir} are on the same device: `stat` could not read both",
                [redact_and_clip(text.strip(), 200)],
                ("cannot_tell",),
                needs="both folders to exist and be readable by the bot's user",
            )
            return
        ev = [f"{dev.tmp[1]}: device {dev.tmp[0]}", f"{dev.var[1]}: device {dev.var[0]}"]
        if dev.tmp[0] != dev.var[0]:
            yield finding(
                ctx,
                None,
                None,
                self.name,
                "warn",
                f"temporary files ({tmp_name}) are on another device than var ({facts.var_dir}): moving them into var "
                "fails with `errno=18, Invalid cross-device link`",
                ev,
                ("tmp_cross_device",),
            )
        else:
            yield finding(ctx, None, None, self.name, "ok", f"{tmp_name} and var are on the same device", ev)


CHECK = TmpDeviceCheck()

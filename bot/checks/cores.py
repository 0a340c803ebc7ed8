"""Core files (`core`, `core.<pid>`) in the install folder and in var.

After a crash the watchdog restarts the module, so pdump looks healthy: the core file is the trace
(CC:production/using/monitoring-processes.md, "Core files": Adobe's indicator alerts at 1;
CC:production/using/stack-trace-in-linux.md: `gdb nlserver <core>`, then `bt`, for support). The
modules run with the install folder as working directory, so that is where cores land. `file`
tells which command crashed when it can read the core's notes; a core the bot's user cannot read is
still a core file (what crashed is then unknown, and the finding says what is needed to tell).
The folders are searched through their symbolic links (`nl6/var -> /var/nl6` is the default layout).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from bot.checks.base import HostCheck, finding
from bot.checks.facts import HostContext, HostFacts
from bot.models import Finding
from bot.probes import parsers as p
from bot.probes import script as s
from bot.probes.script import Section
from bot.redact import redact_and_clip

CORE_ALERT = 1  # Adobe's "Core files" indicator: alert at 1 (max 1)


class CoresCheck(HostCheck):
    name = "cores"
    order = 210

    def sections(self, ctx: HostContext) -> Iterable[Section]:
        yield s.cores()

    def evaluate(self, ctx: HostContext, facts: HostFacts) -> Iterable[Finding]:
        text = facts.text("cores")
        if text is None:
            return
        cores = p.parse_cores(text)
        where = f"{ctx.host.nl_home} and {facts.var_dir}"
        hidden = ", ".join(cores.unreadable)
        if cores.count == 0 or cores.newest is None:
            if cores.unreadable:
                # find could not look inside: no core found is not "no core file".
                yield finding(
                    ctx,
                    None,
                    None,
                    self.name,
                    "unknown",
                    f"cannot tell whether there are core files on {ctx.host.name}: the bot's user cannot read {hidden}",
                    [f"not searched: {hidden}"],
                    ("cannot_tell",),
                    needs=f"read and search permission on {hidden} for the bot's user (or run it as the Campaign user)",
                )
                return
            yield finding(ctx, None, None, self.name, "ok", f"no core file in {where}")
            return
        mtime, _, path = cores.newest
        when = f"{datetime.fromtimestamp(mtime, timezone.utc):%Y-%m-%d %H:%M} UTC"
        ev = [
            f"{p_} ({sz // 1024} KiB, {datetime.fromtimestamp(t, timezone.utc):%Y-%m-%d %H:%M} UTC)"
            for t, sz, p_ in reversed(cores.listed)
        ]
        if cores.file_says:
            ev.insert(0, "file: " + redact_and_clip(cores.file_says, 250))
        if cores.unreadable:
            ev.append(f"not searched (unreadable for the bot's user): {hidden}")
        unreadable = p.file_unreadable(cores.file_says)
        if cores.file_says and not unreadable and "core file" not in cores.file_says.lower():
            yield finding(
                ctx,
                None,
                None,
                self.name,
                "ok",
                f"{cores.count} file(s) named core in {where}, but `file` says the newest ({path}) is not a core dump",
                ev,
            )
            return
        crashed = p.core_command(cores.file_says)
        if unreadable:
            # Named like a core and not readable by the bot: still a core file (Adobe's indicator counts
            # them); only which binary crashed cannot be told.
            which = (
                f", which binary: cannot tell (`file` cannot read it: {unreadable}; needs read permission on the "
                "core file for the bot's user, or `file` run on it by its owner)"
            )
        elif crashed:
            which = f", from `{crashed}`"
        else:
            which = ", which binary: unknown (`file` not available)" if not cores.file_says else ""
        yield finding(
            ctx,
            None,
            None,
            self.name,
            "fail",
            f"{cores.count} core file(s) on {ctx.host.name} (Adobe alerts at {CORE_ALERT}); newest {path}, {when}"
            f"{which}: a module crashed, and the watchdog restarted it, so pdump can look healthy",
            ev,
            ("core_file",),
        )


CHECK = CoresCheck()

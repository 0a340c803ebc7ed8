"""syslogd, whenever a module log is read: every module logs through it, so when it is down log
lines are simply missing (CC:production/using/log-files.md; domain reference section 9, fact 4).

Reported under the syslogd module (its knowledge has the steps), once per host, unless syslogd is
itself among the modules asked about (its own checks then say the same).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.checks.base import HostCheck, finding
from bot.checks.facts import HostContext, HostFacts
from bot.kb.models import Condition
from bot.models import Finding, Status
from bot.probes import parsers as p
from bot.probes import script as s
from bot.probes.script import Section

SYSLOGD_PORT = 6666  # udp, local (CC:production/using/general-architecture.md#list-of-open-ports)


def syslogd_port(trace_addr: str | None) -> tuple[int, str]:
    """syslogd's UDP port: TRACE_ADDR=localhost:<port> in customer.sh when set, else 6666."""
    if trace_addr:
        m = re.search(r":(\d{1,5})\s*$", trace_addr)
        if m and 0 < int(m.group(1)) < 65536:
            return int(m.group(1)), f"TRACE_ADDR={trace_addr}"
    return SYSLOGD_PORT, "default"


def syslogd_writing(facts: HostFacts) -> bool | None:
    """True when syslogd@default runs and listens on its port; False when it does not run or does not
    listen; None when the bot cannot tell (no pdump line and no socket list)."""
    proc = facts.pdump.find("syslogd@default")
    text = facts.text("ports")
    listening = p.parse_listening(text) if text is not None else None
    if proc is None:
        if facts.pdump.unread_line("syslogd@default") is not None:
            return None  # pdump lists it, in a shape the bot cannot read
        return False if facts.pdump.recognised and not facts.pdump.no_tasks else None
    if listening is None:
        return None
    return ("udp", syslogd_port(facts.env.trace_addr)[0]) in listening


class LogWriterCheck(HostCheck):
    name = "log_writer"
    order = 49
    needs_pdump = True  # whether syslogd runs is pdump's to say

    def applies(self, ctx: HostContext) -> bool:
        return bool(ctx.targets("log")) and not ctx.asks_about("syslogd")

    def sections(self, ctx: HostContext) -> Iterable[Section]:
        yield s.listening()

    def evaluate(self, ctx: HostContext, facts: HostFacts) -> Iterable[Finding]:
        read = [
            (m, i) for m, i in ctx.targets("log") if facts.concerns(m, i) and m.log_paths(i) and m.kind != "utility"
        ]
        if not read:
            return
        proc = facts.pdump.find("syslogd@default")
        port, why = syslogd_port(facts.env.trace_addr)
        text = facts.text("ports")
        listening = p.parse_listening(text) if text is not None else None
        if proc is not None:
            if listening is None:
                yield self._f(ctx, "ok", f"syslogd@default runs (pid {proc.pid}): module logs are being written", [])
            elif ("udp", port) in listening:
                yield self._f(
                    ctx,
                    "ok",
                    f"syslogd@default runs (pid {proc.pid}) and listens on {port}/udp: module logs are being written",
                    [],
                )
            else:
                yield self._f(
                    ctx,
                    "fail",
                    f"syslogd@default runs but nothing listens on {port}/udp ({why}): modules' log lines are lost",
                    [f"listening udp: {', '.join(str(pp) for pr, pp in sorted(listening) if pr == 'udp') or 'none'}"],
                    ("port_closed",),
                )
            return
        if facts.pdump.no_tasks:
            return  # the process check already says nothing runs (or that the bot cannot see)
        unread = facts.pdump.unread_line("syslogd@default")
        if unread is not None:
            yield self._f(
                ctx,
                "unknown",
                "cannot tell whether syslogd@default writes the module logs: its `nlserver pdump` line could not be "
                "read",
                [facts.banner, unread],
                ("cannot_tell",),
                needs="a pdump line in the documented shape (`module@instance (pid) - N MB`)",
            )
            return
        enabled, where = facts.enabled_in("syslogd", "server", None)
        if ctx.host.modules is not None:
            enabled = ctx.host.lists_module("syslogd")
        if enabled is False:
            yield self._f(
                ctx,
                "ok",
                "syslogd@default is not enabled here (no autoStart): another syslog daemon may write the logs "
                "(Adobe allows it)",
                [],
                ("not_configured",),
            )
            return
        said = f" (autoStart in {where})" if where else ""
        yield self._f(
            ctx,
            "fail",
            f"syslogd@default does not run{said}: every module logs through it, so log lines are lost until it is "
            "back (a silent log is not a clean one)",
            [facts.banner] + ([f"monitor -missing: {', '.join(facts.missing)}"] if facts.missing else []),
            ("not_running",),
        )

    def _f(
        self,
        ctx: HostContext,
        status: Status,
        summary: str,
        evidence: list[str],
        conditions: tuple[Condition, ...] = (),
        needs: str | None = None,
    ) -> Finding:
        f = finding(ctx, None, None, self.name, status, summary, evidence, conditions, needs=needs)
        return f.model_copy(update={"module": "syslogd"})


CHECK = LogWriterCheck()

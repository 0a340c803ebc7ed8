"""mtachild processes per instance: how many, and their memory against `maxWorkingSetMb`.

An mtachild above `maxWorkingSetMb` is stopped, and sending stalls until it restarts
(CC:installation/using/the-server-configuration-file.md#child,
CC:installation/using/email-deliverability.md#email-sending-optimization). The default is 128 MB
per the serverConf.xml reference; the deliverability page says 256: UNCONFIRMED which is right, so
the finding names the value it used and where it came from. Children are found with `ps`
(`nlserver mtachild -tracefile:mtachild@<instance> -instance:<instance> -detach`,
CC:delivery/using/troubleshooting-sms.md); whether pdump lists them is UNCONFIRMED. Their memory is
the resident set size `ps` reports (INFERRED to be what Adobe calls the working set).
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.checks.base import HostCheck, finding
from bot.checks.facts import HostContext, HostFacts
from bot.checks.memory import limit
from bot.kb.models import Condition
from bot.models import Finding, Status
from bot.redact import redact_and_clip

MAX_WORKING_SET_MB = 128  # <mta><child maxWorkingSetMb> (serverConf.xml reference; 256 on another page)
RECOMMENDED_MAX_CHILDREN = 8  # email-deliverability.md: at most 8 mtachild, and not more than the CPUs


class MtachildCheck(HostCheck):
    name = "mtachild"
    order = 25

    def evaluate(self, ctx: HostContext, facts: HostFacts) -> Iterable[Finding]:
        for inst in ctx.instances:
            rows = facts.procs.mtachildren(inst)
            mta_here = facts.pdump.find(f"mta@{inst}") is not None or bool(facts.enabled_in("mta", "instance", inst)[0])
            if not rows and not mta_here:
                continue
            if not facts.procs.available:
                # No ps, or one that refused the options: "no mtachild right now" would be a blind ok.
                yield self._f(
                    ctx,
                    inst,
                    "unknown",
                    f"cannot tell the mtachild@{inst} processes: `ps` is missing or gave no usable answer on "
                    f"{ctx.host.name}",
                    [redact_and_clip((facts.text("ps") or "no output").strip(), 200)],
                    ("cannot_tell",),
                    needs="procps `ps` (`ps -eo pid,stat,user,etimes,rss,args`) on the host for the bot's user",
                )
                continue
            lim = limit(facts, "child", "maxWorkingSetMb", "instance", inst, MAX_WORKING_SET_MB)
            note = (
                f" ({lim.source}; another Adobe page says 256: UNCONFIRMED)"
                if lim.source.startswith("default")
                else f" ({lim.source})"
            )
            if not rows:
                yield self._f(
                    ctx,
                    inst,
                    "ok",
                    f"no mtachild@{inst} process right now (mta starts them when it has messages to send)",
                    [f"maxWorkingSetMb {lim.mb} MB{note}"],
                )
                continue
            rows.sort(key=lambda r: -r.rss_kb)
            ev = [f"pid {r.pid} {r.rss_kb / 1024:.0f} MB (RSS), up {r.elapsed_s // 60} min" for r in rows[:6]]
            ev.append(f"maxWorkingSetMb {lim.mb} MB{note}")
            over = [r for r in rows if r.rss_kb / 1024 >= lim.mb]
            biggest = rows[0].rss_kb / 1024
            many = (
                f"; more than the {RECOMMENDED_MAX_CHILDREN} Adobe recommends at most"
                if len(rows) > RECOMMENDED_MAX_CHILDREN
                else ""
            )
            if over:
                yield self._f(
                    ctx,
                    inst,
                    "warn",
                    f"{len(over)} of {len(rows)} mtachild@{inst} process(es) at or above maxWorkingSetMb ({lim.mb} MB; "
                    f"largest {biggest:.0f} MB): a child above it is stopped and sending stalls until it restarts{many}",
                    ev,
                    ("mtachild_memory",),
                )
            else:
                yield self._f(
                    ctx,
                    inst,
                    "ok",
                    f"{len(rows)} mtachild@{inst} process(es), largest {biggest:.0f} MB (maxWorkingSetMb {lim.mb} MB){many}",
                    ev,
                )

    def _f(
        self,
        ctx: HostContext,
        inst: str,
        status: Status,
        summary: str,
        ev: list[str],
        conds: tuple[Condition, ...] = (),
        needs: str | None = None,
    ) -> Finding:
        f = finding(ctx, None, inst, self.name, status, summary, ev, conds, needs=needs)
        return f.model_copy(update={"module": "mta"})


CHECK = MtachildCheck()

"""Clock skew between the hosts of one run.

All servers and the database must have synchronised clocks
(CC:installation/using/email-deliverability.md#clock-synchronization). Each host reads its clock
first thing in its script; the bot knows when it sent each script (`CommandResult.started_at`, its
own clock), so `host clock - sent at` is each host's offset from the bot plus a start-up delay that
is about the same for every host. Hosts are compared with each other, not with the bot: the
reference is the median offset (with two hosts, the one closer to the bot's clock). A host more than
2 s from the reference gets a warning naming it and its offset.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence

from bot.checks.base import HostOutcome, RunCheck
from bot.models import Finding

MAX_SKEW_S = 2.0


class ClockCheck(RunCheck):
    name = "clock"
    order = 910

    def evaluate_run(
        self, outcomes: Sequence[HostOutcome], findings: Sequence[Finding], complete: bool
    ) -> Iterable[Finding]:
        offsets = {
            o.ctx.host.name: o.facts.clock_offset_s
            for o in outcomes
            if o.facts is not None and o.facts.clock_offset_s is not None
        }
        if len(offsets) < 2:
            return  # nothing to compare with
        values = sorted(offsets.values())
        ref = statistics.median(values) if len(values) > 2 else min(values, key=abs)
        off = {h: v - ref for h, v in offsets.items()}
        skewed = {h: d for h, d in off.items() if abs(d) > MAX_SKEW_S}
        spread = max(values) - min(values)
        ev = [f"{h}: {d:+.1f} s" for h, d in sorted(off.items(), key=lambda kv: -abs(kv[1]))][:8]
        for host, d in sorted(skewed.items(), key=lambda kv: -abs(kv[1])):
            yield Finding(
                host=host,
                module=None,
                instance=None,
                check=self.name,
                status="warn",
                summary=f"the clock of {host} is {d:+.1f} s off the other hosts of this run (more than "
                f"{MAX_SKEW_S:g} s): Campaign servers and the database must have synchronised clocks",
                evidence=tuple(ev),
                conditions=("clock_skew",),
            )
        if not skewed:
            yield Finding(
                host="(all hosts)",
                module=None,
                instance=None,
                check=self.name,
                status="ok",
                summary=f"the clocks of the {len(offsets)} hosts agree within {spread:.1f} s",
                evidence=tuple(ev),
            )


CHECK = ClockCheck()

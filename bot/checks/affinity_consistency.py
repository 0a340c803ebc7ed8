"""IP affinities must be the same on every MTA server of an instance
(CC:installation/using/configure-delivery-settings.md; domain reference section 5.1, item 5):
a delivery sent from a server that lacks its affinity stays Pending."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.checks.base import HostOutcome, RunCheck
from bot.checks.ip_affinity import declared
from bot.models import Finding


class AffinityConsistencyCheck(RunCheck):
    name = "affinity_consistency"
    order = 920

    def evaluate_run(
        self, outcomes: Sequence[HostOutcome], findings: Sequence[Finding], complete: bool
    ) -> Iterable[Finding]:
        if not outcomes or not any(m.name == "mta" for m in outcomes[0].ctx.modules):
            return
        for inst in outcomes[0].ctx.instances:
            seen: dict[str, dict[str, tuple[str, ...]]] = {}
            for o in outcomes:
                f = o.facts
                if f is None or not f.config.files:
                    continue
                if f.pdump.find(f"mta@{inst}") is None and not f.enabled_in("mta", "instance", inst)[0]:
                    continue
                seen[o.ctx.host.name] = {a.name: a.addresses() for a in declared(f, inst)}
            if len(seen) < 2:
                continue
            distinct = {tuple(sorted(v.items())) for v in seen.values()}
            if len(distinct) > 1:
                ev = [
                    f"{h}: "
                    + ("; ".join(f"{n} = {', '.join(ips) or 'no IP'}" for n, ips in sorted(v.items())) or "none")
                    for h, v in sorted(seen.items())
                ]
                yield Finding(
                    host="(all hosts)",
                    module="mta",
                    instance=inst,
                    check=self.name,
                    status="warn",
                    summary=f"the IP affinities of mta@{inst} differ between {', '.join(sorted(seen))}: they must be the "
                    "same on every MTA server, or deliveries sent from one that lacks theirs stay Pending",
                    evidence=tuple(ev[:8]),
                    conditions=("affinity_mismatch",),
                )


CHECK = AffinityConsistencyCheck()

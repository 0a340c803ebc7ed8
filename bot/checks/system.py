"""System indicators Adobe monitors on Linux, with Adobe's thresholds
(CC:production/using/monitoring-processes.md#system-indicators; domain reference section 6.2):

| indicator | warning | alert | meaning here |
|---|---|---|---|
| swap | 80 % | 90 % | used swap of the host |
| file handles | 80 % of the OS max | 90 % | fs.file-nr: allocated / maximum |
| load average | 80 % of max | 90 % of max | Adobe does not say what "max" is: taken as the CPU count (UNCONFIRMED) |
| zombie processes | near 2 | 2 (max 2) | whole host (Adobe does not say whether only Campaign's count) |
| shared-memory segments | 1 | 2 (max 2) | the Campaign user's segments (`ipcs -m`); what Adobe counts is UNCONFIRMED |

Where Adobe's meaning is unclear the finding says so and stays a warning: the bot never raises a
failure on an unclear basis. (RAM is Adobe's too, but "used" is ambiguous with Linux caches.)
Core files and disk have their own checks.

Each indicator beyond its threshold is its own finding, with the indicator as `target` (one alert
per indicator in the watch).
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.checks.base import HostCheck, finding
from bot.checks.facts import HostContext, HostFacts
from bot.kb.models import Condition
from bot.models import Finding, Status
from bot.probes import parsers as p
from bot.probes import script as s
from bot.probes.script import Section
from bot.redact import redact_and_clip

WARNING_PCT = 80
ALERT_PCT = 90
ZOMBIES_ALERT = 2
SHM_ALERT = 2


def _pct_status(pct: float) -> Status:
    return "fail" if pct >= ALERT_PCT else "warn" if pct >= WARNING_PCT else "ok"


class SystemCheck(HostCheck):
    name = "system"
    order = 230

    def sections(self, ctx: HostContext) -> Iterable[Section]:
        yield s.system()

    def evaluate(self, ctx: HostContext, facts: HostFacts) -> Iterable[Finding]:
        text = facts.text("system")
        if text is None:
            return
        info = p.parse_system(text)
        rows: list[tuple[Status, str, tuple[Condition, ...], str]] = []  # (status, summary, conditions, target)
        if info.swap_total_kb is not None and info.swap_free_kb is not None:
            if info.swap_total_kb == 0:
                rows.append(("ok", "swap: none configured", (), "swap"))
            else:
                pct = 100 * (info.swap_total_kb - info.swap_free_kb) / info.swap_total_kb
                st = _pct_status(pct)
                rows.append(
                    (st, f"swap {pct:.0f}% used (warning {WARNING_PCT}%, alert {ALERT_PCT}%)", ("swap_high",), "swap")
                )
        if info.files_open is not None and info.files_max:
            pct = 100 * info.files_open / info.files_max
            st = _pct_status(pct)
            rows.append(
                (
                    st,
                    f"file handles {pct:.0f}% of the OS maximum ({info.files_open}/{info.files_max}; warning "
                    f"{WARNING_PCT}%, alert {ALERT_PCT}%)",
                    ("files_high",),
                    "file handles",
                )
            )
        if info.load is not None and info.cpus:
            per = info.load[2] / info.cpus
            st = "warn" if per >= WARNING_PCT / 100 else "ok"
            rows.append(
                (
                    st,
                    f"load {info.load[2]:.2f} (15 min) on {info.cpus} CPU(s) = {100 * per:.0f}% (Adobe warns at 80% of "
                    '"max", which it does not define: taken as the CPU count, UNCONFIRMED)',
                    ("load_high",),
                    "load",
                )
            )
        z = facts.procs.zombies
        if z is not None:
            st = "warn" if z >= ZOMBIES_ALERT else "ok"
            rows.append(
                (
                    st,
                    f"{z} zombie process(es) on the host (Adobe alerts at {ZOMBIES_ALERT}; whether it counts only "
                    "Campaign's is not documented)",
                    ("zombies",),
                    "zombie processes",
                )
            )
        if info.shm_listed:
            users = facts.campaign_users() or ([facts.env.user] if facts.env.user else [])
            mine = sum(info.shm_by_owner.get(u, 0) for u in users)
            st = "warn" if mine >= SHM_ALERT else "ok"
            who = ", ".join(users) or "?"
            rows.append(
                (
                    st,
                    f"{mine} shared-memory segment(s) of {who} (Adobe: warning 1, alert {SHM_ALERT}; what it counts is "
                    "UNCONFIRMED)",
                    ("shm_segments",),
                    "shared memory",
                )
            )
        if not rows:
            yield finding(
                ctx,
                None,
                None,
                self.name,
                "unknown",
                "cannot tell the system indicators: /proc and ipcs gave no usable answer",
                [redact_and_clip(text.strip(), 200)],
                ("cannot_tell",),
                needs="read access to /proc (meminfo, loadavg, sys/fs/file-nr) on the host",
            )
            return
        bad = [r for r in rows if r[0] != "ok"]
        for st, summary, conds, target in bad:
            yield finding(ctx, None, None, self.name, st, summary, [r[1] for r in rows], conds, target=target)
        if not bad:
            yield finding(
                ctx,
                None,
                None,
                self.name,
                "ok",
                "system indicators within Adobe's thresholds (swap, file handles, load, zombies, shared memory)",
                [r[1] for r in rows],
            )


CHECK = SystemCheck()

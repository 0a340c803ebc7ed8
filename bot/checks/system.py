"""System indicators Adobe monitors on Linux, with Adobe's thresholds
(CC:production/using/monitoring-processes.md#system-indicators; domain reference section 6.2):

| indicator | Adobe's warning | Adobe's alert | read here as |
|---|---|---|---|
| Swap | 80 % | 90 % | used swap of the host (`free`) |
| File handles | 80 % of the OS max | 90 % | fs.file-nr: allocated / maximum |
| Load average (1, 5, 15 min) | 80 % of max | 90 % of max | each average against the CPU count (the maximum); warn at either level |
| Zombie processes | near 2 | 2 (max 2) | whole host: 1 is the warning, 2 or more the alert; warn at either level |
| Shared memory segments | 1 | 2 (max 2) | the Campaign user's segments (`ipcs -m`); warn at either level |

Swap and file handles: Adobe's warning is `warn` and its alert `fail`, as in the disk check (a host out
of swap or file handles makes Campaign's processes fail). Load, zombie processes and shared-memory
segments are read against the same levels, and each finding says which level it reached, but they stay
`warn`: they do not stop Campaign by themselves, and a `fail` would be a false alarm where they have
other causes. Adobe does not say what the load's "max" is (read here as the CPU count: UNCONFIRMED); a
host shared with other software (a build machine, a database) has its own zombies and load; and
trackinglogd and interactiond work through shared memory by design (trackinglogd reads the redirection
module's shared memory, CC:installation/using/general-architecture.md and
CC:delivery/using/about-message-tracking.md; interactiond's buffer,
CC:installation/using/interaction-data-buffer.md). Each finding names the indicator as Adobe calls it
and its thresholds. (RAM is Adobe's too, but "used" is ambiguous with Linux caches; core files and disk
have their own checks.)

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
ZOMBIES_WARNING = 1  # Adobe: warning "near 2"
ZOMBIES_ALERT = 2
SHM_WARNING = 1
SHM_ALERT = 2
INDICATORS = ("swap", "file handles", "load", "zombie processes", "shared memory")  # the findings' targets
SHM_BY_DESIGN = ("trackinglogd", "interactiond")  # modules documented to work through shared memory


def _pct_status(pct: float) -> Status:
    return "fail" if pct >= ALERT_PCT else "warn" if pct >= WARNING_PCT else "ok"


def _level(value: float, warning: float, alert: float) -> str | None:
    """Which of Adobe's levels `value` reached: "alert", "warning", or None."""
    return "alert" if value >= alert else "warning" if value >= warning else None


def _reached(level: str | None) -> tuple[Status, str]:
    """A warn-only indicator (see the module docstring): its status, and the level said in its summary."""
    return ("warn", f", at Adobe's {level} level") if level else ("ok", "")


def _pct_levels() -> str:
    return f"warning {WARNING_PCT}%, alert {ALERT_PCT}%"


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
                rows.append(
                    (
                        _pct_status(pct),
                        f"swap {pct:.0f}% used (Adobe's Swap indicator: {_pct_levels()})",
                        ("swap_high",),
                        "swap",
                    )
                )
        if info.files_open is not None and info.files_max:
            pct = 100 * info.files_open / info.files_max
            rows.append(
                (
                    _pct_status(pct),
                    f"file handles {pct:.0f}% of the OS maximum ({info.files_open}/{info.files_max}; Adobe's File "
                    f"handles indicator: {_pct_levels()} of the OS maximum)",
                    ("files_high",),
                    "file handles",
                )
            )
        if info.load is not None and info.cpus:
            pcts = [100 * x / info.cpus for x in info.load]
            st, said = _reached(_level(max(pcts), WARNING_PCT, ALERT_PCT))  # the worst of the three averages
            rows.append(
                (
                    st,
                    f"load average {' / '.join(f'{x:.2f}' for x in info.load)} (1, 5, 15 min) on {info.cpus} CPU(s) = "
                    f"{' / '.join(f'{x:.0f}%' for x in pcts)} of the maximum{said} (the CPU count, UNCONFIRMED as "
                    f"Adobe's max; Adobe's Load average indicator: {_pct_levels()} of the maximum, on each average)",
                    ("load_high",),
                    "load",
                )
            )
        z = facts.procs.zombies
        if z is not None:
            st, said = _reached(_level(z, ZOMBIES_WARNING, ZOMBIES_ALERT))
            rows.append(
                (
                    st,
                    f"{z} zombie process(es) on the host{said} (Adobe's Zombie processes indicator: warning near "
                    f"{ZOMBIES_ALERT}, alert at {ZOMBIES_ALERT})",
                    ("zombies",),
                    "zombie processes",
                )
            )
        if info.shm_listed:
            users = facts.campaign_users() or ([facts.env.user] if facts.env.user else [])
            mine = sum(info.shm_by_owner.get(u, 0) for u in users)
            st, said = _reached(_level(mine, SHM_WARNING, SHM_ALERT))
            by_design = [m for m in SHM_BY_DESIGN if self._runs(ctx, facts, m)] if st != "ok" else []
            note = f"; {', '.join(by_design)} works through shared memory here by design" if by_design else ""
            who = ", ".join(users) or "?"
            rows.append(
                (
                    st,
                    f"{mine} shared-memory segment(s) of {who}{said} (Adobe's Shared memory segments indicator: "
                    f"warning {SHM_WARNING}, alert {SHM_ALERT}){note}",
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
            # Only what was read is said to be within the thresholds (ps or ipcs may be missing).
            read = [r[3] for r in rows]
            unread = [t for t in INDICATORS if t not in read]
            yield finding(
                ctx,
                None,
                None,
                self.name,
                "ok",
                f"system indicators within Adobe's thresholds ({', '.join(read)})"
                + (f"; not read on this host: {', '.join(unread)}" if unread else ""),
                [r[1] for r in rows],
            )

    @staticmethod
    def _runs(ctx: HostContext, facts: HostFacts, module: str) -> bool:
        """The module runs here (any instance) or is meant to (inventory `modules`, autoStart)."""
        if any(proc.module.lower() == module.lower() for proc in facts.pdump.processes):
            return True
        if ctx.host.modules is not None:
            return ctx.host.lists_module(module)
        scope = "server" if module == "trackinglogd" else "instance"
        instances: tuple[str | None, ...] = (None,) if scope == "server" else ctx.instances
        return any(facts.enabled_in(module, scope, i)[0] for i in instances)


CHECK = SystemCheck()

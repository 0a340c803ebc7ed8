"""Checks: which probes a module needs on a host, and the pure evaluation of their output into findings.

`plan_host` decides what to run; `evaluate_host` turns the parsed output into findings. Neither does
I/O. Thresholds come from Adobe's documentation (memory 1600/1800 MB, disk 80/90 %, daily restart).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from bot.findings import Finding, Status
from bot.inventory import Environment, Host
from bot.kb.models import Condition, Module
from bot.probes import parsers as p
from bot.probes import script as s
from bot.redact import redact, redact_lines

MEMORY_WARNING_MB = 1600  # maxProcessMemoryWarningMb
MEMORY_ALERT_MB = 1800  # maxProcessMemoryAlertMb
DISK_WARNING_PCT = 80
DISK_ALERT_PCT = 90
TOO_OLD_S = 86400  # "processes too old": older than a day, the daily restart did not happen


@dataclass(frozen=True)
class HostContext:
    host: Host
    env: Environment
    modules: tuple[Module, ...]
    instances: tuple[str, ...]


def instance_list(module: Module, instances: tuple[str, ...]) -> tuple[str | None, ...]:
    if module.scope == "server":
        return (None,)
    return instances or ()


def plan_host(ctx: HostContext) -> s.Plan:
    """One round trip: pdump, monitor -missing, autoStart, ps, df, and what the modules' checks need."""
    plan = s.Plan(ctx.host)
    for section in (
        s.now(),
        s.nlserver("pdump"),
        s.nlserver("monitor", "-missing"),
        s.config_autostart(),
        s.processes(),
        s.disk(),
    ):
        plan.add(section)
    checks = {c for m in ctx.modules for c in m.checks}
    if "ports" in checks:
        plan.add(s.listening())
    for m in ctx.modules:
        if "log" in m.checks:
            for inst in instance_list(m, ctx.instances):
                for path in m.log_paths(inst):
                    plan.add(s.log_tail(path))
        if "tracking_logs" in m.checks:
            for inst in ctx.instances:
                plan.add(s.redir_logs(inst))
        if "redir_test" in m.checks:
            plan.add(s.http_get("http:redir", ctx.host.http_port, "/r/test"))
        if "ping_jsp" in m.checks:
            plan.add(s.http_get("http:ping", ctx.host.tomcat_port, "/nl/jsp/ping.jsp"))
    return plan


def _f(
    ctx: HostContext,
    module: Module | None,
    instance: str | None,
    check: str,
    status: Status,
    summary: str,
    evidence: tuple[str, ...] | list[str] = (),
    conditions: tuple[Condition, ...] = (),
    unknown: bool = False,
    tail: tuple[str, ...] = (),
) -> Finding:
    return Finding(
        host=ctx.host.name,
        module=module.name if module else None,
        instance=instance,
        check=check,
        status=status,
        summary=redact(summary),
        evidence=redact_lines(tuple(evidence)[:8]),
        conditions=conditions,
        unknown=unknown,
        tail=redact_lines(tail),
    )


def configured(
    ctx: HostContext, autostart: dict[str, dict[str, bool]], module: Module, instance: str | None
) -> bool | None:
    """Is the module meant to run here? Inventory `modules` wins; else autoStart; None if unknown."""
    if ctx.host.modules is not None:
        return module.name in ctx.host.modules or module.name.lower() in (m.lower() for m in ctx.host.modules)
    if module.name == "watchdog":
        return True
    if not autostart:
        return None
    file = "config-default.xml" if module.scope == "server" else f"config-{instance}.xml"
    tags = autostart.get(file, {})
    return any(k.lower() == module.name.lower() and v for k, v in tags.items())


def evaluate_host(ctx: HostContext, sections: dict[str, p.SectionOutput]) -> list[Finding]:
    """Turn one host's probe output into findings (pure)."""
    out: list[Finding] = []
    pd_sec = sections.get("nlserver-pdump")
    if pd_sec is None or not pd_sec.complete:
        return out  # the runner reports the incomplete run as one error finding
    if pd_sec.binary or p.looks_binary(pd_sec.text):
        out.append(
            _f(
                ctx,
                None,
                None,
                "pdump",
                "error",
                "output of `nlserver pdump` is not text (not valid UTF-8); cannot read it",
                [repr(pd_sec.text[:80])],
            )
        )
        return out
    pdump = p.parse_pdump(pd_sec.text)
    if not pdump.recognised:
        why = pd_sec.text.strip().splitlines()[-1][:200] if pd_sec.text.strip() else "no output"
        summary = (
            f"`{ctx.host.nl_home}/bin/nlserver` not found: is nl_home right?"
            if pd_sec.exit_code == 127
            else f"`nlserver pdump` gave an answer the bot cannot read (exit {pd_sec.exit_code})"
        )
        out.append(_f(ctx, None, None, "pdump", "error", summary, [why]))
        return out
    autostart = p.parse_autostart(sections["config"].text) if "config" in sections else {}
    missing = (
        p.parse_missing(sections["nlserver-monitor-missing"].text) if "nlserver-monitor-missing" in sections else ()
    )
    ps_rows = p.parse_ps(sections["ps"].text) if "ps" in sections else {}
    now_s = p.epoch(sections["now"].text) if "now" in sections else None
    now = datetime.fromtimestamp(now_s, timezone.utc) if now_s else datetime.now(timezone.utc)
    listening = p.parse_listening(sections["ports"].text) if "ports" in sections else None
    banner = pdump.banner.text if pdump.banner else "no banner"

    for m in ctx.modules:
        for inst in instance_list(m, ctx.instances):
            pname = m.process_name(inst)
            conf = configured(ctx, autostart, m, inst)
            proc = pdump.find(pname)
            running = proc is not None
            if m.kind == "daemon" and "process" in m.checks:
                out.append(_process_finding(ctx, m, inst, pname, conf, proc, pdump, missing, banner))
            if not running and conf is False:
                continue  # not meant to run here: its logs, ports and memory are not this host's business
            if proc is not None and "memory" in m.checks:
                out.append(_memory_finding(ctx, m, inst, proc))
            if proc is not None and "age" in m.checks:
                out.append(_age_finding(ctx, m, inst, proc, ps_rows, "ps" in sections))
            if "ports" in m.checks and (running or conf):
                out.extend(_port_findings(ctx, m, inst, listening))
            if ("redir_test" in m.checks or "ping_jsp" in m.checks) and _runs_web(ctx, autostart, pdump):
                if "redir_test" in m.checks and "http:redir" in sections:
                    out.append(_redir_finding(ctx, m, sections["http:redir"]))
                if "ping_jsp" in m.checks and "http:ping" in sections:
                    out.append(_ping_finding(ctx, m, sections["http:ping"]))
            if "log" in m.checks:
                for path in m.log_paths(inst):
                    sec = sections.get(f"log:{path}")
                    if sec is not None and (running or conf or m.kind != "daemon"):
                        out.append(_log_finding(ctx, m, inst, path, sec, now))
        if "tracking_logs" in m.checks:
            conf_t = configured(ctx, autostart, m, None)
            for inst in ctx.instances:
                sec = sections.get(f"redir:{inst}")
                if sec is not None:
                    f = _tracking_finding(ctx, m, inst, sec, now_s, conf_t)
                    if f is not None:
                        out.append(f)
    if "df" in sections:
        out.append(_disk_finding(ctx, sections["df"]))
    return _dedupe(out)


_HOST_LEVEL = frozenset({"tracking_logs", "redir_test", "ping_jsp", "disk"})


def _runs_web(ctx: HostContext, autostart: dict[str, dict[str, bool]], pdump: p.Pdump) -> bool:
    """Health URLs are fetched only where the web module is meant to run or runs."""
    web = next((m for m in ctx.modules if m.name == "web"), None)
    if pdump.find("web@default") is not None:
        return True
    if ctx.host.modules is not None:
        return "web" in ctx.host.modules
    tags = autostart.get("config-default.xml", {})
    return bool(tags.get("web")) or (web is not None and configured(ctx, autostart, web, None) is True)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """One finding per fact: host-level facts (disk, /r/test, tracking logs) are reported once."""
    seen: set[tuple[object, ...]] = set()
    out = []
    for f in findings:
        key = (f.instance, f.check, f.summary) if f.check in _HOST_LEVEL else (f.module, f.instance, f.check, f.summary)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _process_finding(
    ctx: HostContext,
    m: Module,
    inst: str | None,
    pname: str,
    conf: bool | None,
    proc: p.Proc | None,
    pdump: p.Pdump,
    missing: tuple[str, ...],
    banner: str,
) -> Finding:
    if proc is not None:
        return _f(ctx, m, inst, "process", "ok", f"{pname} runs (pid {proc.pid}, {proc.memory_mb:g} MB)", [banner])
    listed = any(x.lower() == pname.lower() for x in missing)
    if pdump.no_tasks:
        return _f(
            ctx,
            m,
            inst,
            "process",
            "fail",
            f"nothing runs on {ctx.host.name}: `nlserver pdump` says No tasks",
            [banner, "No tasks"],
            ("no_tasks", "not_running"),
        )
    if listed:
        return _f(
            ctx,
            m,
            inst,
            "process",
            "fail",
            f"{pname} should run (autoStart) but does not: listed by `nlserver monitor -missing`",
            [f"monitor -missing: {', '.join(missing)}"],
            ("not_running",),
        )
    if conf:
        return _f(
            ctx,
            m,
            inst,
            "process",
            "fail",
            f"{pname} is enabled (autoStart) but not in `nlserver pdump`",
            [banner],
            ("not_running",),
        )
    if conf is None:
        return _f(
            ctx,
            m,
            inst,
            "process",
            "ok",
            f"unknown: {pname} is not running, and the bot could not read the host's config to tell whether it should",
            [banner],
            (),
            unknown=True,
        )
    return _f(
        ctx,
        m,
        inst,
        "process",
        "ok",
        f"{pname} is not configured to run on this host (no autoStart)",
        [],
        ("not_configured",),
    )


def _memory_finding(ctx: HostContext, m: Module, inst: str | None, proc: p.Proc) -> Finding:
    mb = proc.memory_mb
    if mb >= MEMORY_ALERT_MB:
        return _f(
            ctx,
            m,
            inst,
            "memory",
            "fail",
            f"{proc.name} uses {mb:g} MB, above the alert level ({MEMORY_ALERT_MB} MB)",
            [f"{proc.name} ({proc.pid}) - {mb:g} MB"],
            ("memory_high",),
        )
    if mb >= MEMORY_WARNING_MB:
        return _f(
            ctx,
            m,
            inst,
            "memory",
            "warn",
            f"{proc.name} uses {mb:g} MB, above the warning level ({MEMORY_WARNING_MB} MB)",
            [f"{proc.name} ({proc.pid}) - {mb:g} MB"],
            ("memory_high",),
        )
    return _f(ctx, m, inst, "memory", "ok", f"{proc.name} uses {mb:g} MB (warning at {MEMORY_WARNING_MB} MB)")


def _age_finding(
    ctx: HostContext, m: Module, inst: str | None, proc: p.Proc, rows: dict[int, p.PsRow], had_ps: bool
) -> Finding:
    row = rows.get(proc.pid)
    if row is None:
        why = "pid not found by ps (the process may have just restarted)" if had_ps else "ps gave no answer"
        return _f(ctx, m, inst, "age", "ok", f"unknown: age of {proc.name} (pid {proc.pid}): {why}", unknown=True)
    hours = row.elapsed_s / 3600
    if row.elapsed_s > TOO_OLD_S:
        return _f(
            ctx,
            m,
            inst,
            "age",
            "warn",
            f"{proc.name} has run for {hours:.0f} h: older than a day, so the daily restart (processRestartTime) did not happen",
            [f"pid {row.pid} elapsed {row.elapsed_s} s"],
            ("too_old",),
        )
    return _f(ctx, m, inst, "age", "ok", f"{proc.name} started {hours:.1f} h ago")


def _port_findings(
    ctx: HostContext, m: Module, inst: str | None, listening: set[tuple[str, int]] | None
) -> list[Finding]:
    out = []
    for port in m.ports:
        if not port.check or port.direction != "listen":
            continue
        label = f"{port.port}/{port.proto}"
        if listening is None:
            out.append(
                _f(
                    ctx,
                    m,
                    inst,
                    "ports",
                    "ok",
                    "unknown: could not list listening sockets (no ss or netstat)",
                    unknown=True,
                )
            )
        elif (port.proto, port.port) in listening:
            out.append(_f(ctx, m, inst, "ports", "ok", f"{m.name} port {label} is listening"))
        else:
            out.append(
                _f(
                    ctx,
                    m,
                    inst,
                    "ports",
                    "fail",
                    f"nothing listens on {label}, where {m.name} should ({port.note})",
                    [f"listening: {', '.join(f'{pp}/{pr}' for pr, pp in sorted(listening))[:300]}"],
                    ("port_closed",),
                )
            )
    return out


# What `tail` says when it cannot read a log, and what that means: the fact is unknown, not a warning.
_UNREADABLE_LOG = (
    (("No such file", "cannot open"), "does not exist on this host"),
    (("ermission denied",), "is not readable by the bot's user"),
)


def _log_finding(
    ctx: HostContext, m: Module, inst: str | None, path: str, sec: p.SectionOutput, now: datetime
) -> Finding:
    if sec.exit_code not in (0, None):
        for needles, why in _UNREADABLE_LOG:
            if any(n in sec.text for n in needles):
                return _f(ctx, m, inst, "log", "ok", f"unknown: {path} {why}", [sec.text.strip()[:200]], unknown=True)
    window = ctx.host.log_window_min
    scan = p.scan_log(sec.text, now, window)
    if scan.errors:
        codes = f" ({', '.join(scan.codes[:4])})" if scan.codes else ""
        return _f(
            ctx,
            m,
            inst,
            "log",
            "warn",
            f"{len(scan.errors)} error line(s){codes} in {path} in the last {window} min",
            list(scan.errors[-5:]),
            ("log_errors",),
            tail=scan.tail,
        )
    if scan.warnings:
        return _f(
            ctx,
            m,
            inst,
            "log",
            "ok",
            f"no errors, {len(scan.warnings)} warning(s) in {path} in the last {window} min",
            list(scan.warnings[-3:]),
            tail=scan.tail,
        )
    last = f"; last line {scan.newest:%Y-%m-%d %H:%M} UTC" if scan.newest else "; no dated lines"
    return _f(ctx, m, inst, "log", "ok", f"no errors in {path} in the last {window} min{last}", tail=scan.tail)


def _tracking_finding(
    ctx: HostContext, m: Module, inst: str, sec: p.SectionOutput, now_s: int | None, conf: bool | None
) -> Finding | None:
    redir = p.parse_redir(sec.text)
    rel = f"var/{inst}/redir/log/"
    if not redir.exists:
        if conf:
            return _f(
                ctx,
                m,
                inst,
                "tracking_logs",
                "fail",
                f"{rel} does not exist, but this host is set up to write tracking logs",
                [],
                ("tracking_stale",),
            )
        return None  # not a redirection server
    if redir.newest_mtime is None:
        return _f(ctx, m, inst, "tracking_logs", "warn", f"no tracking log files in {rel}", [], ("tracking_stale",))
    if now_s is None:
        return _f(ctx, m, inst, "tracking_logs", "ok", "unknown: the host's clock could not be read", unknown=True)
    age_min = max(0, (now_s - redir.newest_mtime) // 60)
    ev = [f"newest {redir.newest_name}, {age_min} min old; {redir.count} file(s)"]
    if age_min > ctx.host.tracking_stale_min:
        return _f(
            ctx,
            m,
            inst,
            "tracking_logs",
            "warn",
            f"newest tracking log in {rel} is {age_min} min old (more than {ctx.host.tracking_stale_min} min)",
            ev,
            ("tracking_stale",),
        )
    return _f(ctx, m, inst, "tracking_logs", "ok", f"tracking logs in {rel} are fresh ({age_min} min)", ev)


def _http_common(
    ctx: HostContext, m: Module, check: str, url: str, sec: p.SectionOutput
) -> tuple[p.HttpAnswer | None, Finding | None]:
    if "not found" in sec.text and "curl" in sec.text and "@@HTTP" not in sec.text:
        return None, _f(
            ctx, m, None, check, "ok", f"unknown: curl is not installed on the host, cannot fetch {url}", unknown=True
        )
    ans = p.parse_http(sec.text)
    if ans.status is None:
        return ans, _f(ctx, m, None, check, "fail", f"{url} does not answer", [ans.error or ""], ("health_failed",))
    return ans, None


def _redir_finding(ctx: HostContext, m: Module, sec: p.SectionOutput) -> Finding:
    url = f"http://localhost:{ctx.host.http_port}/r/test"
    ans, early = _http_common(ctx, m, "redir_test", url, sec)
    if early is not None or ans is None:
        return early  # type: ignore[return-value]
    ok, attrs = p.redir_test_ok(ans.body)
    line = ans.body.strip().splitlines()[0][:300] if ans.body.strip() else f"HTTP {ans.status}, empty body"
    if ans.status == 200 and ok:
        build = f" (build {attrs['build']})" if "build" in attrs else ""
        return _f(ctx, m, None, "redir_test", "ok", f"/r/test answers status OK{build}", [line])
    return _f(
        ctx,
        m,
        None,
        "redir_test",
        "fail",
        f"{url} answered HTTP {ans.status} without <redir status='OK'>",
        [line],
        ("health_failed",),
    )


def _ping_finding(ctx: HostContext, m: Module, sec: p.SectionOutput) -> Finding:
    url = f"http://localhost:{ctx.host.tomcat_port}/nl/jsp/ping.jsp"
    ans, early = _http_common(ctx, m, "ping_jsp", url, sec)
    if early is not None or ans is None:
        return early  # type: ignore[return-value]
    line = ans.body.strip().replace("\n", " | ")[:200] or "(empty body)"
    if ans.status == 200 and p.ping_ok(ans.body):
        return _f(ctx, m, None, "ping_jsp", "ok", "ping.jsp answers OK (web -> Tomcat -> database)", [line])
    if ans.status in (401, 403):
        return _f(
            ctx,
            m,
            None,
            "ping_jsp",
            "ok",
            f"unknown: ping.jsp answered HTTP {ans.status}; it needs a trusted-IP monitoring session token",
            [line],
            unknown=True,
        )
    return _f(
        ctx, m, None, "ping_jsp", "fail", f"ping.jsp answered HTTP {ans.status} without OK", [line], ("health_failed",)
    )


def _disk_finding(ctx: HostContext, sec: p.SectionOutput) -> Finding:
    du = p.parse_df(sec.text)
    if du is None:
        return _f(
            ctx,
            None,
            None,
            "disk",
            "ok",
            "unknown: could not read the disk use of var",
            [sec.text.strip()[:200]],
            unknown=True,
        )
    ev = [f"{du.filesystem} {du.used_pct}% used, mounted on {du.mount}"]
    if du.used_pct >= DISK_ALERT_PCT:
        return _f(
            ctx,
            None,
            None,
            "disk",
            "fail",
            f"disk of {ctx.host.nl_home}/var is {du.used_pct}% full (alert at {DISK_ALERT_PCT}%)",
            ev,
            ("disk_full",),
        )
    if du.used_pct >= DISK_WARNING_PCT:
        return _f(
            ctx,
            None,
            None,
            "disk",
            "warn",
            f"disk of {ctx.host.nl_home}/var is {du.used_pct}% full (warning at {DISK_WARNING_PCT}%)",
            ev,
            ("disk_full",),
        )
    return _f(ctx, None, None, "disk", "ok", f"disk of var is {du.used_pct}% used", ev)

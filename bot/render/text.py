"""Plain-text rendering for the terminal chat and the CLI."""

from __future__ import annotations

from collections.abc import Sequence

from bot.checks.base import API_HOST
from bot.kb.models import KnowledgeBase, Module, Risk
from bot.kb.placeholders import fill
from bot.models import Diagnosis, Finding, Match

SIMULATED_BANNER = "[SIMULATED FLEET: these hosts are simulated, not real Campaign servers]"
ICON = {"ok": "OK  ", "unknown": "??  ", "warn": "WARN", "fail": "FAIL", "error": "ERR "}
RISK_LABEL = {Risk.READ_ONLY: "read-only", Risk.CHANGES_STATE: "CHANGES STATE"}


def icon(f: Finding) -> str:
    return ICON[f.status]


def module_line(m: Module) -> str:
    scope = "per server" if m.scope == "server" else "per instance"
    return f"{m.name:<13} {m.title} ({m.kind}, {scope})"


def modules_list(kb: KnowledgeBase) -> str:
    return "\n".join(module_line(m) for m in kb.modules)


def card(m: Module, instance: str | None = None) -> str:
    """The module card: what it does, where it runs, ports, logs, what to check, fixes, docs."""
    lines = [f"{m.name}: {m.title}", f"  {m.executes}", "", _wrap(m.description, 2)]
    pname = m.process_name(instance or ("<instance>" if m.scope == "instance" else None))
    lines.append("")
    if m.kind == "daemon":
        lines.append(
            f"  Runs {'once per server' if m.scope == 'server' else 'once per instance'}; nlserver pdump shows `{pname}`."
        )
    else:
        lines.append(
            f"  {'Utility' if m.kind == 'utility' else 'Child'} module: runs on demand, not a daemon in nlserver pdump."
        )
    if m.ports:
        lines.append(
            "  Ports: "
            + "; ".join(f"{p.port}/{p.proto} {p.direction}" + (f" ({p.note})" if p.note else "") for p in m.ports)
        )
    if m.logs:
        lines.append(
            "  Logs: "
            + ", ".join(
                fill(lf.path, module=m.name, instance=instance, paths="never")
                + (" (UNCONFIRMED)" if lf.unconfirmed else "")
                for lf in m.logs
            )
        )
    if m.related:
        lines.append("  Related: " + ", ".join(m.related))
    lines.append("  Aliases: " + ", ".join(m.aliases))
    lines.append("")
    lines.append("  What to check and do:")
    for s in m.steps:
        cmd = f"  `{fill(s.command, module=m.name, instance=instance)}`" if s.command else ""
        flag = " (UNCONFIRMED)" if s.unconfirmed else ""
        lines.append(f"   - [{RISK_LABEL[s.risk]}] {s.text}{cmd}{flag}")
    if m.notes:
        lines.append("")
        lines.append("  Notes:")
        lines.extend(f"   - {n}" for n in m.notes)
    lines.append("")
    lines.append("  Docs: " + " | ".join(f"{d.title}: {d.url}" for d in m.docs))
    return "\n".join(lines)


def _wrap(text: str, indent: int, width: int = 100) -> str:
    words = text.split()
    lines, cur = [], ""
    for w in words:
        if len(cur) + len(w) + 1 > width - indent:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    if cur:
        lines.append(cur)
    return "\n".join(" " * indent + line for line in lines)


def matches(ms: Sequence[Match], kb: KnowledgeBase) -> str:
    if not ms:
        return "No Campaign module matches that."
    out = []
    for m in ms:
        mod = kb.get(m.module)
        out.append(f"{m.module} ({m.score:.2f}): {mod.executes}")
        out.extend(f"    why: {r}" for r in m.reasons[:4])
    return "\n".join(out)


def help_text(kb: KnowledgeBase) -> str:
    return (
        "I answer questions about Adobe Campaign Classic servers, in English or Dutch. Try:\n"
        '  "mail not sending"   "bounces worden niet verwerkt"   "workflow stuck on prod"\n'
        '  "no process starts"  "tracking logs missing"           "/campaign-module wfserver"\n'
        "Modules: " + ", ".join(kb.names)
    )


def diagnosis(d: Diagnosis, kb: KnowledgeBase, show_ok: bool = False, show_logs: bool = False) -> str:
    """The terminal answer. `show_logs` adds each log's last lines under its finding."""
    lines = []
    if d.simulated:
        lines.append(SIMULATED_BANNER)
    host_word = "host" if len(d.hosts) == 1 else "hosts"
    lines.append(f"Environment: {d.environment} ({len(d.hosts)} {host_word}{', simulated' if d.simulated else ''})")
    if d.matches:
        lines.append("Modules:")
        for m in d.matches:
            mark = "" if m.module in d.modules else " (not checked)"
            lines.append(f"  {m.module} ({m.score:.2f}){mark}: {kb.get(m.module).executes}")
            lines.extend(f"      why: {r}" for r in m.reasons[:3])
        extra = [n for n in d.modules if n not in {m.module for m in d.matches}]
        if extra:
            lines.append("  also checked (tied by the documentation): " + ", ".join(extra))
    else:
        lines.append("Modules checked: " + ", ".join(d.modules))
    lines.append("")
    lines.append("Findings:")
    by_host: dict[str, list[Finding]] = {}
    for f in d.findings:
        by_host.setdefault(f.host, []).append(f)
    for host, fs in by_host.items():
        shown = [f for f in fs if show_ok or f.status != "ok"]
        ok_n = len(fs) - len(shown)
        ms = max((f.duration_ms for f in fs), default=0)
        lines.append(f"  {host} ({ms} ms){': ' + str(ok_n) + ' checks OK' if ok_n else ''}")
        for f in [f for f in fs if f in shown or (show_logs and f.tail)]:
            what = (
                f.module + (f"@{f.instance}" if f.instance else "")
                if f.module
                else ("the Campaign API" if f.host == API_HOST else "host")
            )
            lines.append(f"    {icon(f)} {what} {f.check}: {f.summary}")
            lines.extend(f"           | {e}" for e in f.evidence[:3])
            if f.needs:
                lines.append(f"           needs: {f.needs}")
            if show_logs and f.tail:
                lines.append(f"           last {len(f.tail)} lines:")
                lines.extend(f"           > {t}" for t in f.tail)
    lines.append("")
    lines.append(f"Verdict: {d.verdict}")
    if d.next_steps:
        lines.append("Next steps:")
        for i, s in enumerate(d.next_steps, 1):
            lines.append(f"  {i}. [{RISK_LABEL[s.risk]}] {s.text}")
            if s.command:
                lines.append(f"       $ {s.command}")
        if any(s.risk == Risk.CHANGES_STATE for s in d.next_steps):
            lines.append("  (The bot never runs state-changing steps itself.)")
    return "\n".join(lines)

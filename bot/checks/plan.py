"""One host's run: the probe plan (what to send) and the evaluation (findings from the output).

`plan_host` gathers the base sections and whatever the registered checks need into one script, so
each host costs one round trip; `evaluate_host` hands the parsed output to every check. Neither does
I/O.
"""

from __future__ import annotations

from bot.checks.base import ModuleCheck, finding, unfinished, unfinished_finding
from bot.checks.facts import BASE_SECTIONS, HostContext, HostFacts
from bot.checks.registry import Registry
from bot.models import Finding
from bot.probes import parsers as p
from bot.probes import script as s
from bot.redact import redact, redact_and_clip
from bot.transports.base import CommandResult


def plan_host(ctx: HostContext, registry: Registry) -> s.Plan:
    """The base facts plus the sections of every check that applies to this run."""
    plan = s.Plan(ctx.host)
    for section in BASE_SECTIONS:
        plan.add(section)
    for check in registry.module_checks:
        for section in check.sections(ctx):
            plan.add(section)
    for host_check in registry.host_checks:
        if host_check.applies(ctx):
            for section in host_check.sections(ctx):
                plan.add(section)
    return plan


def _unreadable_pdump(ctx: HostContext, facts: HostFacts) -> Finding | None:
    """Without a readable `nlserver pdump`, no module fact can be established: one error says why."""
    sec = facts.sections["nlserver-pdump"]
    if sec.binary or p.looks_binary(sec.text):
        summary = "output of `nlserver pdump` is not text (not valid UTF-8); cannot read it"
        evidence = [repr(sec.text[:80])]
    elif not facts.pdump.recognised:
        evidence = [
            redact_and_clip(redact(sec.text).strip().splitlines()[-1], 200) if sec.text.strip() else "no output"
        ]
        summary = (
            f"`{ctx.host.nl_home}/bin/nlserver` not found: is nl_home right?"
            if sec.exit_code == 127
            else f"`nlserver pdump` gave an answer the bot cannot read (exit {sec.exit_code})"
        )
    else:
        return None
    return finding(ctx, None, None, "pdump", "error", summary, evidence)


def evaluate_host(
    ctx: HostContext, result: CommandResult, token: str, registry: Registry
) -> tuple[HostFacts, list[Finding]]:
    """Turn one host's output into findings (pure). An incomplete pdump gives no findings here:
    the runner reports the incomplete run as one error finding."""
    facts = HostFacts(ctx, p.split_sections(result.stdout, token), result)
    pd = facts.sections.get("nlserver-pdump")
    if pd is None or not pd.complete:
        return facts, []
    broken = _unreadable_pdump(ctx, facts)
    if broken is not None:
        return facts, [broken]
    out: list[Finding] = []
    for check in registry.checks:
        if isinstance(check, ModuleCheck):
            out.extend(check.evaluate(ctx, facts))
    for host_check in registry.host_checks:
        if host_check.applies(ctx):
            pending = unfinished(facts, host_check.sections(ctx))
            if pending:
                out.append(unfinished_finding(ctx, facts, None, None, host_check.name, pending))
            else:
                out.extend(host_check.evaluate(ctx, facts))
    return facts, _dedupe(out, registry)


def _dedupe(findings: list[Finding], registry: Registry) -> list[Finding]:
    """One finding per fact: a host-level fact reached through two modules (/r/test through web and
    trackinglogd) is reported once."""
    host_facts = {c.name for c in registry.checks if c.host_fact}
    seen: set[tuple[object, ...]] = set()
    out = []
    for f in findings:
        key = (f.instance, f.check, f.summary) if f.check in host_facts else (f.module, f.instance, f.check, f.summary)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out

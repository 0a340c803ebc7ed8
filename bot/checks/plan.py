"""One host's run: the probe plan (what to send) and the evaluation (findings from the output).

`plan_host` gathers the base sections and whatever the registered checks need into one script, so
each host costs one round trip; `evaluate_host` hands the parsed output to every check. Neither does
I/O.
"""

from __future__ import annotations

import re

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


_LOADER_RE = re.compile(r"error while loading shared libraries: ([^:\s]+)")
_NOT_FOUND = ("not found", "No such file", "cannot execute", "Permission denied")


def _unreadable_pdump(ctx: HostContext, facts: HostFacts) -> Finding | None:
    """Without a readable `nlserver pdump`, no module fact can be established: one error says why.

    Exit 127 is the shell's "command not found", but also the dynamic loader's when a library is
    missing (`error while loading shared libraries: libxxx.so`): nlserver is there, the Campaign
    environment (LD_LIBRARY_PATH, set by env.sh and customer.sh) is not."""
    sec = facts.sections["nlserver-pdump"]
    needs: str | None = None
    if sec.binary or p.looks_binary(sec.text):
        summary = "output of `nlserver pdump` is not text (not valid UTF-8); cannot read it"
        evidence = [repr(sec.text[:80])]
    elif not facts.pdump.recognised:
        evidence = [
            redact_and_clip(redact(sec.text).strip().splitlines()[-1], 200) if sec.text.strip() else "no output"
        ]
        loader = _LOADER_RE.search(sec.text)
        if loader:
            unsourced = f"; {', '.join(facts.env.source_errors)}" if facts.env.source_errors else ""
            summary = (
                f"`nlserver pdump` cannot start: the library {loader.group(1)} is not found, so the Campaign "
                f"environment (LD_LIBRARY_PATH from env.sh and customer.sh) is not loaded for the bot's user"
                f"{unsourced}"
            )
            evidence = [redact_and_clip(loader.group(0), 200)]
            needs = (
                f"the Campaign environment for the bot's user: {ctx.host.nl_home}/env.sh (and customer.sh) setting "
                "LD_LIBRARY_PATH, sourced without errors"
            )
        elif sec.exit_code == 127 and (any(n in sec.text for n in _NOT_FOUND) or not sec.text.strip()):
            summary = f"`{ctx.host.nl_home}/bin/nlserver` not found: is nl_home right?"
        else:
            summary = f"`nlserver pdump` gave an answer the bot cannot read (exit {sec.exit_code})"
    else:
        return None
    return finding(ctx, None, None, "pdump", "error", summary, evidence, needs=needs)


def evaluate_host(
    ctx: HostContext, result: CommandResult, token: str, registry: Registry
) -> tuple[HostFacts, list[Finding]]:
    """Turn one host's output into findings (pure). An incomplete pdump gives no findings here:
    the runner reports the incomplete run as one error finding. An unreadable pdump is one error for
    the modules; the host's own facts (ps, cores, disk, system, clock) are still told."""
    facts = HostFacts(ctx, p.split_sections(result.stdout, token), result)
    pd = facts.sections.get("nlserver-pdump")
    if pd is None or not pd.complete:
        return facts, []
    broken = _unreadable_pdump(ctx, facts)
    out: list[Finding] = [broken] if broken is not None else []
    if broken is None:
        for check in registry.checks:
            if isinstance(check, ModuleCheck):
                out.extend(check.evaluate(ctx, facts))
    for host_check in registry.host_checks:
        if host_check.applies(ctx) and not (broken is not None and host_check.needs_pdump):
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

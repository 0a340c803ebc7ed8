"""What a check is, and what every check is handed.

A check lives in one module of `bot/checks/` and exposes `CHECK`, an instance of one of:

- `ModuleCheck`: runs for each (module, instance) whose knowledge lists the check's name under
  `checks:`, and only where the module runs or is meant to run (`HostFacts.concerns`);
- `HostCheck`: a fact about the host itself (disk, core files, clock, system indicators), part
  of every check run and every diagnosis;
- `RunCheck`: looks across all the hosts of one run (clock skew, a module enabled nowhere).

Each check says which probe sections it needs (`sections`), so the runner can send one batched
script per host, and turns the parsed output into findings (`evaluate`) without any I/O. Adding a
check is one new module here plus, for module checks, its name in the modules' `checks:` lists.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from bot.campaign_api.facts import ApiFacts
from bot.checks.facts import HostContext, HostFacts
from bot.inventory import Environment
from bot.kb.models import Condition, Module
from bot.models import Finding, Status
from bot.probes.script import Section, describe
from bot.redact import redact, redact_lines

MAX_EVIDENCE = 8


def finding(
    ctx: HostContext,
    module: Module | None,
    instance: str | None,
    check: str,
    status: Status,
    summary: str,
    evidence: Iterable[str] = (),
    conditions: tuple[Condition, ...] = (),
    *,
    needs: str | None = None,
    tail: tuple[str, ...] = (),
    target: str | None = None,
) -> Finding:
    """A finding about `ctx.host`, redacted: host text never reaches a finding unredacted.

    `target` names what within the subject it is about when the check reports several things there
    (a log file, a workflow): each target is its own alert in the watch."""
    return Finding(
        host=ctx.host.name,
        module=module.name if module else None,
        instance=instance,
        check=check,
        status=status,
        summary=redact(summary),
        evidence=redact_lines(tuple(evidence)[:MAX_EVIDENCE]),
        conditions=conditions,
        needs=needs,
        tail=redact_lines(tail),
        target=target,
    )


def unfinished(facts: HostFacts, sections: Iterable[Section]) -> list[Section]:
    """The sections the host did not run to their end (the deadline, the output cap, an early exit)."""
    return [sec for sec in sections if not facts.finished(sec.id)]


def unfinished_finding(
    ctx: HostContext,
    facts: HostFacts,
    module: Module | None,
    instance: str | None,
    check: str,
    pending: Sequence[Section],
    *,
    target: str | None = None,
) -> Finding:
    """ "Cannot tell" for a check whose probe did not finish on the host: what it read is partial, and a
    partial listing read as the whole one would be a false answer ("no tracking log files")."""
    what = describe(pending[0])
    return finding(
        ctx,
        module,
        instance,
        check,
        "unknown",
        f"cannot tell ({check}): `{what}` did not finish on {ctx.host.name}: {facts.why_unfinished}",
        (),
        ("cannot_tell",),
        needs=f"the host to answer within command_timeout_s (now {ctx.host.command_timeout_s:g} s), or a longer "
        "command_timeout_s for this host",
        target=target,
    )


class Check(abc.ABC):
    """Common part of every check: a unique `name` and an `order` among the findings."""

    name: ClassVar[str]
    order: ClassVar[int] = 100
    # A fact about the host reached through several modules (/r/test via web and trackinglogd):
    # reported once per host, whichever module asked.
    host_fact: ClassVar[bool] = False

    def sections(self, ctx: HostContext) -> Iterable[Section]:
        """The probe sections this check needs on the host (beyond the base facts)."""
        return ()


class ModuleCheck(Check):
    """A check of one module (on one instance) on one host."""

    def sections(self, ctx: HostContext) -> Iterable[Section]:
        for module, instance in ctx.targets(self.name):
            yield from self.module_sections(ctx, module, instance)

    def module_sections(self, ctx: HostContext, module: Module, instance: str | None) -> Iterable[Section]:
        return ()

    def evaluate(self, ctx: HostContext, facts: HostFacts) -> list[Finding]:
        out: list[Finding] = []
        for module, instance in ctx.targets(self.name):
            if not (self.always or facts.concerns(module, instance)) or not self.applies_to(
                ctx, facts, module, instance
            ):
                continue
            pending = [] if self.partial else unfinished(facts, self.module_sections(ctx, module, instance))
            if pending:
                out.append(self.unfinished_finding(ctx, facts, module, instance, pending))
            else:
                out.extend(self.check(ctx, facts, module, instance))
        return out

    # A check that always reports (the process check says "not configured here"); the others are
    # skipped for a module that neither runs nor is meant to run on the host.
    always: ClassVar[bool] = False
    # A check that tells itself which of its sections did not finish (one finding per log file);
    # the others are "cannot tell" as a whole when one of their sections did not finish.
    partial: ClassVar[bool] = False

    def applies_to(self, ctx: HostContext, facts: HostFacts, module: Module, instance: str | None) -> bool:
        """Whether the check says anything of this module here (e.g. health URLs only where web runs)."""
        return True

    def unfinished_finding(
        self, ctx: HostContext, facts: HostFacts, module: Module | None, instance: str | None, pending: list[Section]
    ) -> Finding:
        return unfinished_finding(ctx, facts, module, instance, self.name, pending)

    @abc.abstractmethod
    def check(self, ctx: HostContext, facts: HostFacts, module: Module, instance: str | None) -> Iterable[Finding]:
        """Findings for `module` on `instance` (None for server-wide modules)."""


class HostCheck(Check):
    """A fact about the host, reported once per host in every run."""

    # A host fact read from pdump (is syslogd running?): not told when pdump could not be read.
    needs_pdump: ClassVar[bool] = False

    def applies(self, ctx: HostContext) -> bool:
        """Whether this run needs the check (e.g. only when a module that needs it is asked about)."""
        return True

    @abc.abstractmethod
    def evaluate(self, ctx: HostContext, facts: HostFacts) -> Iterable[Finding]:
        """Findings about the host."""


@dataclass(frozen=True)
class HostOutcome:
    """One host's facts after the run, for `RunCheck`s (None when the host could not be checked)."""

    ctx: HostContext
    facts: HostFacts | None


class RunCheck(Check):
    """A check across the hosts of one run; `complete` is False when some environment host was skipped."""

    @abc.abstractmethod
    def evaluate_run(
        self, outcomes: Sequence[HostOutcome], findings: Sequence[Finding], complete: bool
    ) -> Iterable[Finding]:
        """Findings about the run as a whole (host `(all hosts)` or named hosts)."""


# --- Campaign's own API (issue 10) -----------------------------------------------------------------
# Facts that live in Campaign's database and application server (workflows, deliveries, ping.jsp,
# monitor.jsp) are read once per environment through its API (bot/campaign_api), in parallel with
# the hosts, by the collaborator the runner is handed (`Runner(api_for=...)`).

API_HOST = "(campaign API)"  # the `host` of API findings: they are about the environment, not one host
NO_API_NEEDS = "campaign_api in the inventory (a read-only monitoring operator for Campaign's API)"


def api_finding(
    env: Environment,
    module: Module | None,
    check: str,
    status: Status,
    summary: str,
    evidence: Iterable[str] = (),
    conditions: tuple[Condition, ...] = (),
    *,
    needs: str | None = None,
    target: str | None = None,
) -> Finding:
    """A finding about the environment read through its Campaign API, redacted like host findings
    (`target`: as for `finding`)."""
    instance = (
        env.instances[0] if module is not None and module.scope == "instance" and len(env.instances) == 1 else None
    )
    return Finding(
        host=API_HOST,
        module=module.name if module else None,
        instance=instance,
        check=check,
        status=status,
        summary=redact(summary),
        evidence=redact_lines(tuple(evidence)[:MAX_EVIDENCE]),
        conditions=conditions,
        needs=redact(needs) if needs else None,
        target=target,
    )


class ApiCheck(Check):
    """A check read from Campaign's own API, evaluated once per environment and run.

    It runs for the modules of the run whose knowledge lists its name under `checks:`; `wants`
    names the API facts it reads (bot/campaign_api/facts.py), so the runner fetches only those.
    """

    wants: ClassVar[frozenset[str]] = frozenset()

    def targets(self, modules: Sequence[Module]) -> list[Module]:
        return [m for m in modules if self.name in m.checks]

    @abc.abstractmethod
    def evaluate_api(self, env: Environment, modules: Sequence[Module], facts: ApiFacts | None) -> Iterable[Finding]:
        """Findings for `modules` (this check's targets). `facts` is None when the environment has no
        `campaign_api`: the check then says "cannot tell" and what it needs, never `ok`."""

    def cannot_see(self, env: Environment, modules: Sequence[Module], facts: ApiFacts | None) -> list[Finding] | None:
        """ "Cannot tell" findings when there is no API or no session (None when the check can read)."""
        if facts is None:
            configured = env.campaign_api is not None  # configured, but this bot runs without an API client
            return [
                api_finding(
                    env,
                    m,
                    self.name,
                    "unknown",
                    f"cannot tell {self.what}: "
                    + (
                        "this run did not read Campaign's API"
                        if configured
                        else f"no Campaign API is configured for {env.name}"
                    ),
                    (),
                    ("cannot_tell",),
                    needs="the bot's Campaign API client (Runner(api_for=...))" if configured else NO_API_NEEDS,
                )
                for m in modules
            ]
        if facts.access.ok:
            return None
        needs = facts.access.needs or f"Campaign's API at {facts.url} to answer (it did not: see the summary)"
        return [
            api_finding(
                env,
                m,
                self.name,
                "unknown",
                f"cannot tell {self.what}: {facts.access.message}",
                (f"{facts.url}/nl/jsp/soaprouter.jsp",),
                ("cannot_tell",),
                needs=needs,
            )
            for m in modules
        ]

    what: ClassVar[str] = "this"  # what the check tells, for "cannot tell …" summaries

"""Workflows in error or paused, technical ones first, read from `xtk:workflow` through Campaign's API.

Adobe's own supervision queryDef reads `@state` (13 = paused, 20 = stopped) and `@failed` (1 = in
error) of `xtk:workflow` (CC:workflow/using/supervising-workflows.md); an error pauses the workflow
(CC:workflow/using/monitoring-workflows.md#managing-errors). Each technical workflow is reported
under the module whose question brings it in (campaign-api.yaml: tracking -> tracking,
deliverabilityUpdate -> inMail, the others -> wfserver); wfserver also gets every other workflow
in error or paused, since it runs them all.

Alert identity (`Finding.target`): each technical workflow is its own target (`workflow <name>`:
a short, fixed list from campaign-api.yaml, so one alert per workflow cannot flood), while the
other workflows are grouped by what is wrong with them, `other workflows in error` and `other
workflows paused`: one alert each, whose root lists the workflows (an instance can hold hundreds
of user workflows, and one alert per workflow would flood the channel when many are paused at
once). A workflow joining a group updates that alert's root; a group that empties recovers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.campaign_api.facts import WORKFLOWS, ApiFacts
from bot.campaign_api.queries import WorkflowRow
from bot.checks._api import problem_text, read_needs
from bot.checks.base import ApiCheck, api_finding
from bot.inventory import Environment
from bot.kb.models import Module
from bot.models import Finding

_LISTED = 6  # workflows named in one finding's evidence
OTHERS_FAILED = "other workflows in error"
OTHERS_PAUSED = "other workflows paused"


def technical_target(name: str) -> str:
    """The `Finding.target` of a technical workflow's findings."""
    return f"workflow {name}"


def _state_text(row: WorkflowRow, paused: int, stopped: int) -> str:
    if row.failed:
        return "in error"
    if row.state == paused:
        return "paused"
    if row.state == stopped:
        return "stopped"
    return f"state {row.state}" if row.state is not None else "state unknown"


def _name(row: WorkflowRow) -> str:
    return f"'{row.internal_name}'" + (f" ({row.label})" if row.label and row.label != row.internal_name else "")


class ApiWorkflowsCheck(ApiCheck):
    name = "api_workflows"
    order = 30
    wants = frozenset({WORKFLOWS})
    what = "the workflows' state"

    def evaluate_api(self, env: Environment, modules: Sequence[Module], facts: ApiFacts | None) -> Iterable[Finding]:
        blind = self.cannot_see(env, modules, facts)
        if blind is not None or facts is None:
            yield from blind or ()
            return
        k = facts.knowledge
        wf = facts.workflows
        source = k.workflows.source
        if wf is None or wf.value is None:
            login = env.campaign_api.login if env.campaign_api else None
            for m in modules:
                yield api_finding(
                    env,
                    m,
                    self.name,
                    "unknown",
                    f"cannot tell the workflows' state: {problem_text(wf) if wf else 'not read'}",
                    (),
                    ("cannot_tell",),
                    needs=read_needs(k.workflows.schema_, login)
                    if wf and wf.kind == "fault"
                    else "Campaign's API to answer",
                )
            return
        rows = wf.value
        paused, stopped = k.workflows.paused_state, k.workflows.stopped_state
        technical = {t.name for t in k.technical_workflows}
        for m in modules:
            mine = [t for t in k.technical_workflows if t.module == m.name]
            for t in mine:
                row = next((r for r in rows if r.internal_name == t.name), None)
                ev = f"xtk:workflow '{t.name}': @state={row.state}, @failed={int(row.failed)}" if row else ""
                if row is None:
                    yield api_finding(
                        env,
                        m,
                        self.name,
                        "unknown",
                        f"technical workflow '{t.name}' ({t.label}) was not found through the API",
                        (f"source: {t.source}",),
                        ("cannot_tell",),
                        needs=f"read access to the technical workflow '{t.name}' in xtk:workflow",
                        target=technical_target(t.name),
                    )
                elif row.failed:
                    yield api_finding(
                        env,
                        m,
                        self.name,
                        "fail",
                        f"technical workflow {_name(row)} is in error (paused on a failed activity)",
                        (ev, f"runs {t.period}; source: {source}"),
                        ("workflow_failed",),
                        target=technical_target(t.name),
                    )
                elif row.state in (paused, stopped):
                    state = _state_text(row, paused, stopped)
                    yield api_finding(
                        env,
                        m,
                        self.name,
                        "warn",
                        f"technical workflow {_name(row)} is {state}: it does not run ({t.period} expected)",
                        (ev, f"source: {source}"),
                        ("workflow_paused",),
                        target=technical_target(t.name),
                    )
                else:
                    yield api_finding(
                        env,
                        m,
                        self.name,
                        "ok",
                        f"technical workflow {_name(row)} is not in error ({_state_text(row, paused, stopped)})",
                        (ev,),
                        target=technical_target(t.name),
                    )
            if m.name != "wfserver":
                continue
            # wfserver runs every workflow: the others in error or paused, grouped in one finding each.
            others = [r for r in rows if r.internal_name not in technical]
            failed = [r for r in others if r.failed]
            held = [r for r in others if not r.failed and r.state == paused]
            capped = len(rows) >= k.workflows.max_rows
            more = f" (the first {k.workflows.max_rows} read)" if capped else ""
            if failed:
                yield api_finding(
                    env,
                    m,
                    self.name,
                    "fail",
                    f"{len(failed)} workflow(s) in error{more}: " + ", ".join(_name(r) for r in failed[:3]),
                    [f"xtk:workflow {_name(r)}: @failed=1, @state={r.state}" for r in failed[:_LISTED]],
                    ("workflow_failed",),
                    target=OTHERS_FAILED,
                )
            if held:
                yield api_finding(
                    env,
                    m,
                    self.name,
                    "warn",
                    f"{len(held)} workflow(s) paused{more}: " + ", ".join(_name(r) for r in held[:3]),
                    [f"xtk:workflow {_name(r)}: @state={r.state}" for r in held[:_LISTED]],
                    ("workflow_paused",),
                    target=OTHERS_PAUSED,
                )
            if not failed and not held:
                yield api_finding(env, m, self.name, "ok", "no other workflow is in error or paused", ())


CHECK = ApiWorkflowsCheck()

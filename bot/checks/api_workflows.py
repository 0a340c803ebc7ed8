"""Workflows in error or paused, technical ones first, read from `xtk:workflow` through Campaign's API.

Adobe's own supervision queryDef reads `@state` (13 = paused, 20 = stopped) and `@failed` (1 = in
error) of `xtk:workflow` (CC:workflow/using/supervising-workflows.md); an error pauses the workflow
(CC:workflow/using/monitoring-workflows.md#managing-errors). Two queries: the technical workflows
by internal name (always complete, whatever else is wrong), and the other workflows in error or
paused (bounded by `max_rows`: beyond it the counts are lower bounds, and the findings say so).

Each technical workflow is reported under the module whose question brings it in (campaign-api.yaml:
tracking -> tracking, deliverabilityUpdate -> inMail, the others -> wfserver). wfserver runs every
workflow, so it also reports each technical workflow of another module that is in error or paused
(technical first), and every other workflow in error or paused: "workflow stuck" and
`check wfserver` see a failed tracking or deliverabilityUpdate workflow too.

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
from bot.kb.models import Module, TechnicalWorkflow
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
                    f"cannot tell the technical workflows' state: {problem_text(wf) if wf else 'not read'}",
                    (),
                    ("cannot_tell",),
                    needs=read_needs(k.workflows.schema_, login)
                    if wf and wf.kind == "fault"
                    else "Campaign's API to answer",
                )
                if m.name == "wfserver":
                    yield from self._others(env, m, facts)
            return
        rows = wf.value
        paused, stopped = k.workflows.paused_state, k.workflows.stopped_state
        for m in modules:
            for t in k.technical_workflows:
                row = next((r for r in rows if r.internal_name == t.name), None)
                if t.module != m.name:
                    # wfserver runs them all: another module's technical workflow in error or paused too.
                    if m.name == "wfserver" and row is not None and (row.failed or row.state in (paused, stopped)):
                        yield from self._technical(env, m, t, row, paused, stopped, source, also=t.module)
                    continue
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
                    continue
                yield from self._technical(env, m, t, row, paused, stopped, source)
            if m.name == "wfserver":
                yield from self._others(env, m, facts)

    def _technical(
        self,
        env: Environment,
        m: Module,
        t: TechnicalWorkflow,
        row: WorkflowRow,
        paused: int,
        stopped: int,
        source: str,
        also: str | None = None,
    ) -> Iterable[Finding]:
        shown_failed = "absent" if row.failed is None else int(row.failed)
        ev = f"xtk:workflow '{t.name}': @state={row.state}, @failed={shown_failed}"
        where = f"; also reported under {also}" if also else ""
        if row.failed is None and row.state not in (paused, stopped):
            # No readable @failed: "not in error" would be a guess (a blind ok).
            yield api_finding(
                env,
                m,
                self.name,
                "unknown",
                f"cannot tell whether technical workflow {_name(row)} is in error: the reply has no @failed",
                (ev, f"source: {source}{where}"),
                ("cannot_tell",),
                needs=f"xtk:workflow's @failed for '{t.name}' in Campaign's answer",
                target=technical_target(t.name),
            )
        elif row.failed:
            yield api_finding(
                env,
                m,
                self.name,
                "fail",
                f"technical workflow {_name(row)} is in error (paused on a failed activity)",
                (ev, f"runs {t.period}; source: {source}{where}"),
                ("workflow_failed",),
                target=technical_target(t.name),
            )
        elif row.state in (paused, stopped):
            yield api_finding(
                env,
                m,
                self.name,
                "warn",
                f"technical workflow {_name(row)} is {_state_text(row, paused, stopped)}: it does not run "
                f"({t.period} expected)",
                (ev, f"source: {source}{where}"),
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

    def _others(self, env: Environment, m: Module, facts: ApiFacts) -> Iterable[Finding]:
        """The workflows that are not technical ones, in error or paused, grouped (one finding per group)."""
        k = facts.knowledge
        o = facts.other_workflows
        if o is None or o.value is None:
            login = env.campaign_api.login if env.campaign_api else None
            for target, what in ((OTHERS_FAILED, "in error"), (OTHERS_PAUSED, "paused")):
                yield api_finding(
                    env,
                    m,
                    self.name,
                    "unknown",
                    f"cannot tell which other workflows are {what}: {problem_text(o) if o else 'not read'}",
                    (),
                    ("cannot_tell",),
                    needs=read_needs(k.workflows.schema_, login)
                    if o and o.kind == "fault"
                    else "Campaign's API to answer",
                    target=target,
                )
            return
        paused, limit = k.workflows.paused_state, k.workflows.max_rows
        listed = o.value.rows[:limit]
        complete = o.value.complete and len(o.value.rows) <= limit
        # Every row matched `@failed = 1 OR @state = paused`: one without a readable @failed that is not
        # paused was selected by `@failed = 1`, and is counted in error rather than dropped.
        failed = [r for r in listed if r.failed or (r.failed is None and r.state != paused)]
        held = [r for r in listed if r not in failed and r.state == paused]
        # In error first: when the answer was cut, the failed ones are all there unless the cut fell
        # among them (then the paused ones were not reached at all).
        failed_exact = complete or (bool(listed) and listed[-1] not in failed)
        cut = f"more than {limit} workflows are in error or paused; the bot read the first {limit}"
        if failed:
            count = f"{len(failed)}" if failed_exact else f"at least {len(failed)}"
            rest = len(failed) - 3
            yield api_finding(
                env,
                m,
                self.name,
                "fail",
                f"{count} workflow(s) in error: "
                + ", ".join(_name(r) for r in failed[:3])
                + (f" and {rest if failed_exact else f'at least {rest}'} more" if rest > 0 else "")
                + ("" if failed_exact else f" ({cut})"),
                [
                    f"xtk:workflow {_name(r)}: @failed={'1' if r.failed else 'absent'}, @state={r.state}"
                    for r in failed[:_LISTED]
                ],
                ("workflow_failed",),
                target=OTHERS_FAILED,
            )
        if held:
            rest = len(held) - 3
            yield api_finding(
                env,
                m,
                self.name,
                "warn",
                f"{'' if complete else 'at least '}{len(held)} workflow(s) paused: "
                + ", ".join(_name(r) for r in held[:3])
                + (f" and {'' if complete else 'at least '}{rest} more" if rest > 0 else "")
                + ("" if complete else f" ({cut})"),
                [f"xtk:workflow {_name(r)}: @state={r.state}" for r in held[:_LISTED]],
                ("workflow_paused",),
                target=OTHERS_PAUSED,
            )
        elif not complete:
            yield api_finding(
                env,
                m,
                self.name,
                "unknown",
                f"cannot tell which other workflows are paused: {cut}, all in error",
                (),
                ("cannot_tell",),
                needs=f"fewer than {limit} workflows in error, or a larger workflows.max_rows in campaign-api.yaml",
                target=OTHERS_PAUSED,
            )
        if not failed and not held and complete:
            yield api_finding(
                env, m, self.name, "ok", "no workflow other than the technical ones is in error or paused"
            )


CHECK = ApiWorkflowsCheck()

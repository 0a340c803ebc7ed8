"""When the technical workflows with a period (cleanup, tracking) last ran, against that period.

Adobe: cleanup runs daily (about 04:00) and must finish every day; the Tracking workflow runs
hourly (CC:workflow/using/monitoring-technical-workflows.md, CC:production/using/tracking-logs-issues.md).
"Last ran" is the newest line of the workflow's journal; the journal's schema and attribute names
are ASSUMED (campaign-api.yaml), so a refused query is "cannot tell", and the margin on top of the
period is the bot's heuristic, said in the finding. Each finding has its workflow as `target`
(`workflow <name>`, as `api_workflows`): one alert per technical workflow in the watch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.campaign_api.facts import RUNS, ApiFacts
from bot.checks._api import age_text, problem_text, when
from bot.checks.api_workflows import technical_target
from bot.checks.base import ApiCheck, api_finding
from bot.inventory import Environment
from bot.kb.models import Module
from bot.models import Finding


class ApiWorkflowRunsCheck(ApiCheck):
    name = "api_workflow_runs"
    order = 31
    wants = frozenset({RUNS})
    what = "when the technical workflows last ran"

    def evaluate_api(self, env: Environment, modules: Sequence[Module], facts: ApiFacts | None) -> Iterable[Finding]:
        blind = self.cannot_see(env, modules, facts)
        if blind is not None or facts is None:
            yield from blind or ()
            return
        k = facts.knowledge
        journal = k.journal
        assumed = " (journal schema ASSUMED, see campaign-api.yaml)" if journal.assumed else ""
        for m in modules:
            for t in k.technical_workflows:
                if t.module != m.name or t.late_after_s is None:
                    continue
                o = facts.runs.get(t.name)
                if o is None or not o.ok:
                    yield api_finding(
                        env,
                        m,
                        self.name,
                        "unknown",
                        f"cannot tell when '{t.name}' last ran: {problem_text(o) if o else 'not read'}",
                        (f"queried {journal.schema_} @{journal.date_attribute}{assumed}",),
                        ("cannot_tell",),
                        needs=f"read access to the journal of '{t.name}' ({journal.schema_}){assumed}",
                        target=technical_target(t.name),
                    )
                    continue
                limit = age_text(t.late_after_s)
                if o.value is None:
                    yield api_finding(
                        env,
                        m,
                        self.name,
                        "warn",
                        f"'{t.name}' ({t.label}) has no line in its journal: it never ran, or its history was purged",
                        (f"expected: {t.period}; source: {t.source}",),
                        ("workflow_late",),
                        target=technical_target(t.name),
                    )
                    continue
                age = (facts.now - o.value).total_seconds()
                ev = (
                    f"newest journal line {when(o.value)}, {age_text(age)} ago",
                    f"expected: {t.period}; warning after {limit} (the bot's heuristic); source: {t.source}",
                )
                if age > t.late_after_s:
                    yield api_finding(
                        env,
                        m,
                        self.name,
                        "warn",
                        f"'{t.name}' ({t.label}) last ran {age_text(age)} ago ({t.period} expected)",
                        ev,
                        ("workflow_late",),
                        target=technical_target(t.name),
                    )
                else:
                    yield api_finding(
                        env,
                        m,
                        self.name,
                        "ok",
                        f"'{t.name}' ({t.label}) ran {age_text(max(0.0, age))} ago",
                        ev,
                        target=technical_target(t.name),
                    )


CHECK = ApiWorkflowRunsCheck()

"""Deliveries stuck waiting ("Pending", "Start pending") or in preparation longer than the limit.

Adobe: a delivery whose status "remains Pending" waits for a resource: the MTA not started, or an
IP affinity not configured on the sending instance (CC:delivery/using/about-delivery-monitoring.md
#pending-deliveries); delivery jobs still in preparation after `maxPreparationJobsSec` (3600 s by
default; `campaign_api.max_preparation_s` in the inventory sets the instance's value, since the bot does
not read serverConf.xml through the API) are what Campaign's own monitoring flags. A delivery may also simply be scheduled: one
whose contact date is still ahead is not stuck. The `nms:delivery` state values are the ones Adobe
publishes for Campaign Standard, ASSUMED the same in Classic (campaign-api.yaml): every finding says so.

The two problems are two targets, `deliveries waiting` and `deliveries in preparation` (one alert
each in the watch, listing the deliveries; not one per delivery, which could flood).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.campaign_api.facts import DELIVERIES, ApiFacts
from bot.campaign_api.queries import DeliveryRow
from bot.checks._api import age_text, problem_text, read_needs, when
from bot.checks.base import ApiCheck, api_finding
from bot.inventory import Environment
from bot.kb.models import DeliveryQuery, Module
from bot.models import Finding

_LISTED = 6


def _describe(row: DeliveryRow, q: DeliveryQuery, age: float | None) -> str:
    state = q.state(row.state) if row.state is not None else None
    label = state.label if state else f"state {row.state}"
    since = f"since {when(row.last_modified)}" if row.last_modified else "since an unknown date"
    return f"'{row.label}' ({row.internal_name}): {label}, {since}" + (f" ({age_text(age)})" if age is not None else "")


class ApiDeliveriesCheck(ApiCheck):
    name = "api_deliveries"
    order = 32
    wants = frozenset({DELIVERIES})
    what = "whether deliveries are stuck"

    def evaluate_api(self, env: Environment, modules: Sequence[Module], facts: ApiFacts | None) -> Iterable[Finding]:
        blind = self.cannot_see(env, modules, facts)
        if blind is not None or facts is None:
            yield from blind or ()
            return
        q = facts.knowledge.deliveries
        o = facts.deliveries
        if o is None or o.value is None:
            login = env.campaign_api.login if env.campaign_api else None
            for m in modules:
                yield api_finding(
                    env,
                    m,
                    self.name,
                    "unknown",
                    f"cannot tell whether deliveries are stuck: {problem_text(o) if o else 'not read'}",
                    (),
                    ("cannot_tell",),
                    needs=read_needs(q.schema_, login) if o and o.kind == "fault" else "Campaign's API to answer",
                )
            return
        assumed = "state values as Adobe documents nms:delivery for Campaign Standard, ASSUMED the same in Classic"
        configured = env.campaign_api.max_preparation_s if env.campaign_api else None
        limit = configured or q.max_preparation_s
        limit_source = (
            f"limit {age_text(limit)}: campaign_api.max_preparation_s in the inventory"
            if configured
            else f"limit {age_text(limit)}: maxPreparationJobsSec's packaged default (set "
            "campaign_api.max_preparation_s to the instance's value)"
        )
        pending_values = {s.value for s in q.group("pending")}
        prep_values = {s.value for s in q.group("preparation")}
        stuck_pending: list[tuple[DeliveryRow, float]] = []
        stuck_prep: list[tuple[DeliveryRow, float]] = []
        scheduled = waiting = 0
        undated: list[DeliveryRow] = []  # waiting or preparing since a date the reply does not give
        for row in o.value:
            if row.contact_date is not None and row.contact_date > facts.now:
                scheduled += 1  # scheduled for later: waiting is what it should do
                continue
            since = max((d for d in (row.last_modified, row.contact_date) if d is not None), default=None)
            if since is None:
                undated.append(row)
                continue
            age = (facts.now - since).total_seconds()
            if age <= limit:
                waiting += 1
            elif row.state in pending_values:
                stuck_pending.append((row, age))
            elif row.state in prep_values:
                stuck_prep.append((row, age))
        capped = f" (the first {q.max_rows} read)" if len(o.value) >= q.max_rows else ""
        for m in modules:
            if stuck_pending:
                row, age = stuck_pending[0]
                yield api_finding(
                    env,
                    m,
                    self.name,
                    "fail",
                    f"{len(stuck_pending)} delivery(ies) stuck Pending (waiting to be sent) for more than "
                    f"{age_text(limit)}"
                    f"{capped}, e.g. {_describe(row, q, age)}",
                    [_describe(r, q, a) for r, a in stuck_pending[:_LISTED]] + [limit_source, assumed],
                    ("delivery_stuck",),
                    target="deliveries waiting",
                )
            if stuck_prep:
                row, age = stuck_prep[0]
                yield api_finding(
                    env,
                    m,
                    self.name,
                    "warn",
                    f"{len(stuck_prep)} delivery(ies) in preparation for more than {age_text(limit)} "
                    f"(maxPreparationJobsSec){capped}, e.g. {_describe(row, q, age)}",
                    [_describe(r, q, a) for r, a in stuck_prep[:_LISTED]] + [limit_source, assumed],
                    ("delivery_stuck",),
                    target="deliveries in preparation",
                )
            if not stuck_pending and not stuck_prep and undated:
                # Dropping them would be a blind "none stuck": the bot cannot tell how long they have waited.
                yield api_finding(
                    env,
                    m,
                    self.name,
                    "unknown",
                    f"cannot tell whether {len(undated)} delivery(ies) waiting or in preparation are stuck: "
                    "the reply gives neither @lastModified nor scheduling/@contactDate",
                    [_describe(r, q, None) for r in undated[:_LISTED]] + [limit_source, assumed],
                    ("cannot_tell",),
                    needs=f"{q.schema_}'s @lastModified in Campaign's answer",
                )
            elif not stuck_pending and not stuck_prep:
                yield api_finding(
                    env,
                    m,
                    self.name,
                    "ok",
                    f"no delivery waiting or in preparation for more than {age_text(limit)}",
                    (
                        f"{waiting} waiting or preparing for less, {scheduled} scheduled for later",
                        limit_source,
                        assumed,
                    ),
                )


CHECK = ApiDeliveriesCheck()

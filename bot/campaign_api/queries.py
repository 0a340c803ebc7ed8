"""The queryDefs the checks need, and the rows read back from their answers (pure).

Every queryDef is built element by element (ElementTree); the only values that reach an
expression are integers and workflow internal names from the knowledge base (validated by
`bot/kb/models.py`), never user or host text. Shapes follow Adobe's documented queryDef
(`<queryDef schema operation lineCount>`, `<select><node expr>`, `<where><condition expr
boolOperator>` with nested condition groups, `<orderBy><node expr sortDesc>`;
CC:configuration/using/api/queryDef-create-and-execute examples, CC:workflow/using/supervising-workflows.md).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # building only: replies are parsed with defusedxml
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from bot.kb.models import CampaignApiKnowledge

_DATE_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$"
)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_date(text: str | None) -> datetime | None:
    """Campaign dates (`2021-08-27 15:43:48.862Z`, UTC) as aware datetimes; None when absent or unreadable."""
    if not text:
        return None
    m = _DATE_RE.match(text.strip())
    if not m:
        return None
    y, mo, d, h, mi, s, frac, tz = m.groups()
    micro = int((frac or "0").ljust(6, "0")[:6])
    try:
        dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro, tzinfo=timezone.utc)
    except ValueError:
        return None
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60
        dt = datetime.fromtimestamp(dt.timestamp() - sign * offset, timezone.utc)
    return dt


def _query(schema: str, operation: str, line_count: int | None = None) -> ET.Element:
    q = ET.Element("queryDef", {"schema": schema, "operation": operation})
    if line_count is not None:
        q.set("lineCount", str(int(line_count)))
    return q


def _select(q: ET.Element, *exprs: str) -> None:
    sel = ET.SubElement(q, "select")
    for e in exprs:
        ET.SubElement(sel, "node", {"expr": e})


def _any_of(parent: ET.Element, exprs: Sequence[str]) -> None:
    """`expr1 OR expr2 OR …` as Adobe writes it: boolOperator="OR" joins a condition to the next one."""
    for i, e in enumerate(exprs):
        attrs = {"expr": e}
        if i < len(exprs) - 1:
            attrs["boolOperator"] = "OR"
        ET.SubElement(parent, "condition", attrs)


def technical_workflows_query(k: CampaignApiKnowledge) -> ET.Element:
    """Every technical workflow the knowledge lists, by internal name, whatever its state: a query of
    its own, so they are always all read, however many other workflows are in error or paused."""
    w = k.workflows
    q = _query(w.schema_, "select", max(1, len(k.technical_workflows)))
    _select(q, "@id", "@internalName", "@label", "@state", "@failed")
    where = ET.SubElement(q, "where")
    _any_of(where, [f"@internalName = '{t.name}'" for t in k.technical_workflows])  # names validated by the model
    return q


def other_workflows_query(k: CampaignApiKnowledge) -> ET.Element:
    """Workflows in error or paused, in error first, bounded: `max_rows` + one line per technical
    workflow (they match too, and `other_workflows` drops them) + 1, so that a full answer says there
    were more than the bot read (it lists problems, it does not page through the database)."""
    w = k.workflows
    q = _query(w.schema_, "select", other_workflows_limit(k))
    _select(q, "@id", "@internalName", "@label", "@state", "@failed")
    where = ET.SubElement(q, "where")
    _any_of(where, ["@failed = 1", f"@state = {int(w.paused_state)}"])
    order = ET.SubElement(q, "orderBy")
    ET.SubElement(order, "node", {"expr": "@failed", "sortDesc": "true"})
    return q


def other_workflows_limit(k: CampaignApiKnowledge) -> int:
    return k.workflows.max_rows + len(k.technical_workflows) + 1


def journal_query(k: CampaignApiKnowledge, workflow_id: int) -> ET.Element:
    """The newest journal line of one workflow (ASSUMED schema and attributes, see campaign-api.yaml)."""
    j = k.journal
    q = _query(j.schema_, "select", 1)
    _select(q, f"@{j.date_attribute}")
    where = ET.SubElement(q, "where")
    ET.SubElement(where, "condition", {"expr": f"[@{j.workflow_key}] = {int(workflow_id)}"})
    order = ET.SubElement(q, "orderBy")
    ET.SubElement(order, "node", {"expr": f"@{j.date_attribute}", "sortDesc": "true"})
    return q


def deliveries_query(k: CampaignApiKnowledge) -> ET.Element:
    """Deliveries (not proofs) in a waiting or preparing state, oldest change first."""
    d = k.deliveries
    q = _query(d.schema_, "select", d.max_rows)
    _select(q, "@id", "@label", "@internalName", "@state", "@lastModified", "[scheduling/@contactDate]")
    where = ET.SubElement(q, "where")
    ET.SubElement(where, "condition", {"expr": "@FCP = 0", "boolOperator": "AND"})
    group = ET.SubElement(where, "condition")
    states = [s.value for s in (*d.group("pending"), *d.group("preparation"))]
    _any_of(group, [f"@state = {int(v)}" for v in states])
    order = ET.SubElement(q, "orderBy")
    ET.SubElement(order, "node", {"expr": "@lastModified", "sortDesc": "false"})
    return q


@dataclass(frozen=True)
class WorkflowRow:
    id: int | None
    internal_name: str
    label: str
    state: int | None
    failed: bool | None  # None: the reply had no readable @failed (the bot cannot tell it is not in error)


@dataclass(frozen=True)
class DeliveryRow:
    id: int | None
    internal_name: str
    label: str
    state: int | None
    last_modified: datetime | None
    contact_date: datetime | None


def _int(v: str | None) -> int | None:
    try:
        return int(v) if v not in (None, "") else None
    except ValueError:
        return None


def _text(v: str | None, limit: int = 120) -> str:
    """Server text shown to people: one line, printable, capped."""
    s = " ".join((v or "").split())
    s = "".join(ch for ch in s if ch.isprintable())
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _bool(v: str | None) -> bool | None:
    """A Campaign boolean (`1`/`0`, `true`/`false`); None when absent or unreadable, never a silent False."""
    s = (v or "").strip().lower()
    if s in ("1", "true"):
        return True
    if s in ("0", "false"):
        return False
    return None


def _rows(collection: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in collection if _local(c.tag) == name]


def workflow_rows(collection: ET.Element) -> tuple[WorkflowRow, ...]:
    return tuple(
        WorkflowRow(
            id=_int(r.get("id")),
            internal_name=_text(r.get("internalName"), 64),
            label=_text(r.get("label")),
            state=_int(r.get("state")),
            failed=_bool(r.get("failed")),
        )
        for r in _rows(collection, "workflow")
    )


@dataclass(frozen=True)
class OtherWorkflows:
    """The workflows in error or paused that are not technical ones, in error first. `complete`: the
    answer held them all (else there are more, and the counts are lower bounds)."""

    rows: tuple[WorkflowRow, ...]
    complete: bool


def other_workflows(collection: ET.Element, k: CampaignApiKnowledge) -> OtherWorkflows:
    technical = {t.name for t in k.technical_workflows}
    rows = workflow_rows(collection)
    return OtherWorkflows(
        tuple(r for r in rows if r.internal_name not in technical), complete=len(rows) < other_workflows_limit(k)
    )


def delivery_rows(collection: ET.Element) -> tuple[DeliveryRow, ...]:
    out = []
    for r in _rows(collection, "delivery"):
        sched = next((c for c in r if _local(c.tag) == "scheduling"), None)
        out.append(
            DeliveryRow(
                id=_int(r.get("id")),
                internal_name=_text(r.get("internalName"), 64),
                label=_text(r.get("label")),
                state=_int(r.get("state")),
                last_modified=parse_date(r.get("lastModified")),
                contact_date=parse_date(sched.get("contactDate") if sched is not None else None),
            )
        )
    return tuple(out)


def journal_date(collection: ET.Element, attribute: str) -> datetime | None:
    """The date of the newest journal line (None when the journal is empty)."""
    rows = list(collection)
    if not rows:
        return None
    return parse_date(rows[0].get(attribute))

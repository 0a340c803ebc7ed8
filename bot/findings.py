"""Findings and next steps: what the checks report, as frozen pydantic models (the JSON boundary)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.kb.models import Condition, Risk

Status = Literal["ok", "warn", "fail", "error"]
STATUS_ORDER: dict[str, int] = {"ok": 0, "warn": 1, "fail": 2, "error": 3}


class Finding(BaseModel):
    """One fact about one host.

    status: `ok`; `warn`; `fail` (the check ran and found a problem); `error` (the check could not
    run: unreachable, timeout, host key, auth). A check that could not establish its fact says
    "unknown: ..." in `summary`, sets `unknown`, and is `ok`, not a warning.
    """

    model_config = ConfigDict(frozen=True)

    host: str
    module: str | None
    instance: str | None
    check: str
    status: Status
    summary: str
    evidence: tuple[str, ...] = ()
    duration_ms: int = 0
    conditions: tuple[Condition, ...] = ()
    unknown: bool = False
    tail: tuple[str, ...] = ()  # log checks: the file's last lines (redacted), for "show me the log"
    error_kind: str | None = (
        None  # status error: unreachable, host_key_unknown, host_key_changed, auth, timeout, run, ...
    )

    def public(self) -> dict[str, object]:
        """The JSON shape documented in the README."""
        return self.model_dump(mode="json")


class NextStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str | None
    module: str | None
    text: str
    command: str | None
    risk: Risk
    source: str = ""
    step_id: str | None = None  # the knowledge base step it comes from (module + id)

    def public(self) -> dict[str, object]:
        return self.model_dump(mode="json")


def worst(findings: list[Finding]) -> Status:
    if not findings:
        return "ok"
    return max((f.status for f in findings), key=lambda s: STATUS_ORDER[s])

"""Shared models of the diagnosis core: findings, next steps, matches and diagnoses.

Every layer above the checks (diagnosis, rendering, the conversation core, the watch, the edges)
speaks these frozen pydantic models; they are also the JSON shapes of `--json` output.

Statuses, from best to worst (`STATUS_ORDER`):

- `ok`: the check ran and found nothing wrong;
- `unknown`: *cannot tell*: the check could not see what it needs (a token, a front URL, a
  permission); `needs` says what, and the answer never presents it as healthy;
- `warn`: a problem worth attention that does not stop the module;
- `fail`: the check ran and found a problem;
- `error`: the check could not run at all (host unreachable, host key, auth, timeout).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.errors import ErrorKind
from bot.kb.models import Condition, Risk
from bot.redact import redact, redact_lines

Status = Literal["ok", "unknown", "warn", "fail", "error"]
STATUS_ORDER: dict[str, int] = {"ok": 0, "unknown": 1, "warn": 2, "fail": 3, "error": 4}
PROBLEM_STATUSES = frozenset({"warn", "fail", "error"})

__all__ = ["STATUS_ORDER", "Diagnosis", "ErrorKind", "Finding", "Match", "NextStep", "Status", "worst"]


class Finding(BaseModel):
    """One fact about one host (or, for `host="(all hosts)"`, about the environment)."""

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
    needs: str | None = None  # status unknown: what the bot needs to see (a token, front_url, a permission)
    tail: tuple[str, ...] = ()  # log checks: the file's last lines (redacted), for "show me the log"
    error_kind: ErrorKind | None = None  # status error: why the host could not be checked
    # What within the subject the finding is about, when one check reports several things on one subject
    # (a log file, a workflow, a system indicator): part of an alert's identity, so each is its own alert.
    target: str | None = None

    @field_validator("summary", "needs", "target")
    @classmethod
    def _redact_text(cls, v: str | None) -> str | None:
        # Whatever builds a finding, host text in it is redacted (idempotent: a redacted text stays as it is).
        return redact(v) if v else v

    @field_validator("evidence", "tail")
    @classmethod
    def _redact_lines(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return redact_lines(v) if v else v

    @property
    def subject(self) -> str:
        """`mta@prod`, `web`, or `host` for host-level facts."""
        if not self.module:
            return "host"
        return self.module + (f"@{self.instance}" if self.instance else "")

    def public(self) -> dict[str, object]:
        """The JSON shape documented in the README."""
        return self.model_dump(mode="json")


class NextStep(BaseModel):
    """A step for a human (or, state-changing and confirmed, for the bot): text, command, risk."""

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


class Match(BaseModel):
    """One candidate module for a question. `score` is in [0, 1]; `reasons` say which words matched what."""

    model_config = ConfigDict(frozen=True)

    module: str
    score: float
    reasons: tuple[str, ...]
    mentioned: bool = False  # the question names the module or one of its aliases
    evidence: float = Field(default=0.0, exclude=True)

    @field_validator("reasons")
    @classmethod
    def _redact_reasons(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return redact_lines(v) if v else v  # they quote the question's words

    def public(self) -> dict[str, object]:
        return {"module": self.module, "score": self.score, "reasons": list(self.reasons)}


class Diagnosis(BaseModel):
    """The result of running checks for one question on one environment."""

    model_config = ConfigDict(frozen=True)

    question: str
    environment: str
    simulated: bool
    matches: tuple[Match, ...] = ()
    modules: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    next_steps: tuple[NextStep, ...] = ()
    verdict: str = ""
    status: Status = "ok"
    hosts: tuple[str, ...] = ()
    duration_ms: int = 0
    commands: tuple[str, ...] = ()  # what was sent, host by host (audit log)

    @field_validator("question")
    @classmethod
    def _redact_question(cls, v: str) -> str:
        # A question may carry a pasted secret; every surface echoes it from here (JSON, reports).
        return redact(v)

    @property
    def problem(self) -> bool:
        """A finding is `fail` or `error` (the CLI's exit code 1)."""
        return any(f.status in ("fail", "error") for f in self.findings)

    def public(self) -> dict[str, object]:
        """The JSON shape of `campaign-bot diagnose --json`."""
        return {
            "query": self.question,
            "environment": self.environment,
            "simulated": self.simulated,
            "modules": [m.public() for m in self.matches],
            "checked_modules": list(self.modules),
            "hosts": list(self.hosts),
            "findings": [f.public() for f in self.findings],
            "next_steps": [s.public() for s in self.next_steps],
            "verdict": self.verdict,
            "status": self.status,
            "duration_ms": self.duration_ms,
        }


def worst(findings: list[Finding] | tuple[Finding, ...]) -> Status:
    if not findings:
        return "ok"
    return max((f.status for f in findings), key=lambda s: STATUS_ORDER[s])

"""What one environment's Campaign API told the bot in one run (fetched once, read by every API check).

Each fact is an `Outcome`: the value, or why it could not be read (safe text: no secret, already
scrubbed by the session). `access` says whether the bot could use the API at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Literal, TypeVar

from bot.campaign_api.client import PageReply
from bot.campaign_api.queries import DeliveryRow, OtherWorkflows, WorkflowRow
from bot.kb.models import CampaignApiKnowledge

T = TypeVar("T")

# Facts an API check can ask for (ApiCheck.wants).
WORKFLOWS = "workflows"
RUNS = "runs"  # when the technical workflows last ran (their journal)
DELIVERIES = "deliveries"
PING = "ping"
MONITOR = "monitor"
ALL_FACTS = frozenset({WORKFLOWS, RUNS, DELIVERIES, PING, MONITOR})
OTHER_WORKFLOWS = "other_workflows"  # read with WORKFLOWS (not asked for on its own)

# unreachable / timeout: a request sent got no answer at all (the only kinds that say the server is down);
# no_time: the environment's deadline left no time for it; tls: the TLS handshake failed (trust or
# configuration); redirect: soaprouter.jsp redirects elsewhere (never followed).
ProblemKind = Literal[
    "no_secret", "refused", "unreachable", "timeout", "no_time", "tls", "redirect", "bad_reply", "fault", "http",
    "error",
]  # fmt: skip


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A fact, or why it could not be read (`kind` + `problem`, with the Campaign code when known)."""

    value: T | None = None
    kind: ProblemKind | None = None
    problem: str | None = None
    code: str | None = None  # XSV-350008, SOP-330011… when the server gave one
    status: int | None = None  # HTTP status when the failure was one

    @property
    def ok(self) -> bool:
        return self.kind is None


@dataclass(frozen=True)
class Access:
    """Whether the bot got a session. `needs` says what would let it see (for "cannot tell")."""

    kind: Literal[
        "ok", "no_secret", "refused", "unreachable", "timeout", "no_time", "tls", "redirect", "bad_reply", "http",
        "error",
    ]  # fmt: skip
    message: str = ""
    needs: str | None = None
    code: str | None = None
    mode: Literal["password", "token"] = "password"

    @property
    def ok(self) -> bool:
        return self.kind == "ok"

    @property
    def server_down(self) -> bool:
        """The application server itself did not answer a request the bot sent (refused, reset, timed out):
        a real failure for ping.jsp / monitor.jsp. An HTTP error, a redirect, a TLS failure, a refused
        logon or a deadline that left no time say something else, and are "cannot tell"."""
        return self.kind in ("unreachable", "timeout")


@dataclass(frozen=True)
class ApiFacts:
    url: str
    knowledge: CampaignApiKnowledge
    access: Access
    now: datetime  # the database's clock (ping.jsp) when known, else the bot's
    workflows: Outcome[tuple[WorkflowRow, ...]] | None = None  # the technical workflows (their own query)
    other_workflows: Outcome[OtherWorkflows] | None = None  # the others in error or paused (bounded)
    runs: dict[str, Outcome[datetime | None]] = field(default_factory=dict)  # technical workflow -> newest journal line
    deliveries: Outcome[tuple[DeliveryRow, ...]] | None = None
    ping: Outcome[PageReply] | None = None
    monitor: Outcome[PageReply] | None = None
    calls: tuple[str, ...] = ()  # what was sent (audit), without secrets
    duration_ms: int = 0

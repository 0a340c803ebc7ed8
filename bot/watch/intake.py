"""Alerts from the monitoring people already run (Alertmanager, Grafana), mapped to the inventory.

`map_alert` (pure) turns an alert's labels into an environment, host and module of the inventory:
`instance` as a host name or address[:port], `host`, `environment`, `module` (else `job` when it
names a module). `AlertIntake.handle` (a job on a worker) opens or joins the alert thread of that
subject, runs the diagnosis for it in the thread, and posts `resolved` in the same thread; an alert
for a host the inventory does not know gets a message saying so, never silence.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.conversation.core import Conversation
from bot.conversation.replies import Answer
from bot.errors import UnknownModuleError
from bot.inventory import Environment, Host, Inventory
from bot.models import Diagnosis
from bot.resolver import ModuleResolver
from bot.watch.engine import Watch
from bot.watch.model import AlertState, subject_key

log = logging.getLogger(__name__)

Source = Literal["alertmanager", "grafana"]
MAX_ALERTS = 100


class ExternalAlert(BaseModel):
    """One alert of an Alertmanager (webhook v4) or Grafana (webhook contact point) payload."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    fingerprint: str | None = None
    startsAt: str | None = None
    generatorURL: str | None = None


class AlertBatch(BaseModel):
    """The part of both payloads we use (`alerts[]`); everything else is ignored."""

    model_config = ConfigDict(extra="ignore")

    status: str | None = None
    alerts: list[ExternalAlert] = Field(min_length=1, max_length=MAX_ALERTS)


class Mapped(BaseModel):
    """An external alert placed in the inventory (or not: `host` None)."""

    model_config = ConfigDict(frozen=True)

    name: str
    status: Literal["firing", "resolved"]
    environment: str | None
    host: str | None
    module: str | None
    summary: str
    labels: dict[str, str]
    channel: str | None


def _host_of(inv: Inventory, value: str, env_hint: Environment | None) -> tuple[Environment, Host] | None:
    """A host by name or address (with or without :port), preferring the environment the labels name."""
    v = value.strip()
    if v.count(":") == 1 and not v.startswith("["):
        v = v.split(":", 1)[0]
    v = v.strip("[]").lower()
    envs = [env_hint] if env_hint is not None else list(inv.environments.values())
    for env in envs:
        for h in env.hosts:
            if h.name.lower() == v or (h.address or "").lower() == v:
                return env, h
    return None


def map_alert(a: ExternalAlert, inv: Inventory, resolver: ModuleResolver, default_channel: str | None) -> Mapped:
    labels = {k[:100]: v[:300] for k, v in list(a.labels.items())[:50]}
    env_hint = inv.find_environment(labels["environment"]) if labels.get("environment") else None
    found = None
    for key in ("host", "instance", "hostname", "nodename"):
        if labels.get(key):
            found = _host_of(inv, labels[key], env_hint)
            if found is not None:
                break
    module = None
    for key in ("module", "job"):
        if labels.get(key):
            try:
                module = resolver.resolve(labels[key]).module.name
                break
            except UnknownModuleError:
                continue
    env = found[0] if found else env_hint
    channel = (env.watch.channel if env is not None and env.watch is not None else None) or default_channel
    summary = a.annotations.get("summary") or a.annotations.get("description") or a.annotations.get("message") or ""
    return Mapped(
        name=(labels.get("alertname") or "alert")[:100],
        status=a.status,
        environment=env.name if env else None,
        host=found[1].name if found else None,
        module=module,
        summary=summary[:500],
        labels=labels,
        channel=channel,
    )


def describe_labels(labels: dict[str, str]) -> str:
    keep = ("alertname", "instance", "host", "job", "module", "environment", "severity")
    return ", ".join(f"{k}={labels[k]}" for k in keep if k in labels)


class AlertIntake:
    """The job that handles a batch of external alerts on a worker."""

    def __init__(
        self,
        watch: Watch,
        core: Conversation,
        post_unknown: Callable[[str, str], None],
        show_answer: Callable[[Answer, str, str], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.watch = watch
        self.core = core
        self.post_unknown = post_unknown  # (channel, text)
        self.show_answer = show_answer  # (answer, channel, thread ts)
        self.clock = clock

    def handle(self, source: Source, alerts: list[dict[str, Any]]) -> None:
        for raw in alerts:
            m = Mapped.model_validate(raw)
            try:
                self._one(source, m)
            except Exception:
                log.exception("alert %s could not be handled", m.name)

    def _one(self, source: Source, m: Mapped) -> None:
        now = self.clock()
        if m.host is None or m.environment is None:
            if m.channel:
                where = describe_labels(m.labels) or "no host labels"
                self.post_unknown(
                    m.channel,
                    f"{source} alert '{m.name}' ({m.status}) is for a host the inventory does not know ({where}); "
                    "nothing was checked. Add the host to the inventory, or label the alert with a host it knows.",
                )
            self.core.audit_event(
                user=f"({source})",
                channel=m.channel,
                surface="webhook",
                question=f"alert {m.name}",
                environment=m.environment,
                modules=[],
                hosts=[],
                commands=[],
                outcome="alert-unknown-host",
                labels=describe_labels(m.labels),
            )
            return
        check = f"alert:{m.name}"
        key = subject_key(m.environment, m.host, m.module, None, check)
        prev = self.watch.get(key)
        status = "fail"
        summary = m.summary or f"{source} alert {m.name}"
        if m.status == "resolved":
            if prev is not None and prev.open:
                rec = prev.model_copy(
                    update={
                        "open": False,
                        "recovered_at": now,
                        "status": "ok",
                        "last_seen": now,
                        "changes": (*prev.changes, now),
                    }
                )
                self.watch.save(rec)
                self.watch.notifier.recovered(rec)
            outcome = "alert-resolved"
        elif prev is not None and prev.open:
            rec = prev.model_copy(update={"last_seen": now, "count": prev.count + 1, "summary": summary})
            self.watch.save(rec)
            self.watch.notifier.refresh(rec, None)
            outcome = "alert-repeated"
        else:
            rec = AlertState(
                key=key,
                environment=m.environment,
                host=m.host,
                module=m.module,
                instance=None,
                check=check,
                status=status,
                fingerprint=key,
                summary=summary,
                source=source,
                opened_at=now,
                last_seen=now,
                channel=prev.channel if prev else None,
                ts=prev.ts if prev else None,
                changes=(now,),
            )
            # The monitoring system authenticated with the alert token: its alerts are diagnosed
            # whatever the environment's access list says (that list is about people).
            answer = self.core.investigate(
                m.environment,
                m.host,
                m.module,
                user=f"({source})",
                place=m.channel or "",
                thread=None,
                surface="webhook",
                label=f"{source} alert {m.name} on {m.host}",
                trusted=True,
            )
            detail = answer.diagnosis if isinstance(answer, Answer) else None
            if rec.ts:
                self.watch.save(rec)
                self.watch.notifier.note(rec, f"{source} alert '{m.name}' is firing again: {summary}", detail)
            else:
                shown = detail or Diagnosis(
                    question=summary,
                    environment=m.environment,
                    simulated=False,
                    hosts=(m.host,),
                    verdict=f"{source} alert {m.name}: {summary}",
                    status="fail",
                )
                base = rec.model_copy(update={"detail": shown.model_dump(mode="json")})
                posted = self.watch.notifier.opened(base, shown)
                rec = base.model_copy(update={"channel": posted[0], "ts": posted[1]}) if posted else base
                self.watch.save(rec)
                if posted and isinstance(answer, Answer):
                    self.show_answer(answer, posted[0], posted[1])
            outcome = "alert-opened"
        self.core.audit_event(
            user=f"({source})",
            channel=m.channel,
            surface="webhook",
            question=f"alert {m.name}",
            environment=m.environment,
            modules=[m.module] if m.module else [],
            hosts=[m.host],
            commands=[],
            outcome=outcome,
            labels=describe_labels(m.labels),
        )

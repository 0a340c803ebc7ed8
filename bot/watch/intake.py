"""Alerts from the monitoring people already run (Alertmanager, Grafana), mapped to the inventory.

`map_alert` (pure) turns an alert's labels into an environment, host and module of the inventory:
`instance` as a host name, an address, either with :port, `[v6]:port`, a URL (blackbox exporter
probes) or a fully qualified name whose first label is a host of the inventory; `host`,
`environment` (an unknown one is said, never taken for another), `module` (else `job` when it names
a module), `severity` (critical/error: fail, warning: warn, info: not an alert). An address two
environments share needs the `environment` label: the alert says so rather than picking one.

`AlertIntake.job` (a job on a worker) handles a group: each alert on its own. A firing alert opens the
alert thread of its subject, or joins the open thread of that host and module (the scheduled
check's, or another alert's: one thread per problem), and the diagnosis of that host runs in the
thread; `resolved` is posted in the same thread. An alert that fires and resolves more than the
environment's `watch.flap_threshold` times within `flap_window` is reported once as flapping, then
kept quiet (no diagnosis, no recovery) until it settles, as the scheduled check's alerts. An alert
for a host the inventory does not know gets a message saying so, never silence (once per status,
however often the group is re-sent). A group of more than `MAX_ALERTS` is handled up to that
many; the rest are named in a message.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from bot.conversation.core import Conversation
from bot.conversation.replies import Answer
from bot.errors import ConfigError, UnknownModuleError
from bot.inventory import Environment, Host, Inventory
from bot.models import Diagnosis, Status
from bot.resolver import ModuleResolver
from bot.watch.engine import Watch
from bot.watch.model import AlertState, subject_key

log = logging.getLogger(__name__)

Source = Literal["alertmanager", "grafana"]
MAX_ALERTS = 100  # alerts of one group that are handled (each may run a diagnosis); the rest are named
# One subject's alerts are handled one at a time across workers and replicas (a lock in the state
# store): Alertmanager's HA peers and its retries deliver the same group twice at once, and two jobs
# that both found no alert would both open a thread. The lease outlives one alert's diagnosis.
NS_LOCK = "alert-lock"
LOCK_LEASE_S = 300.0
LOCK_WAIT_S = 310.0
LOCK_POLL_S = 0.05
# Messages about alerts for hosts the inventory does not know, already said (by status): not repeated
# when the monitoring system re-sends the group.
NS_UNKNOWN_SAID = "alert-unknown-said"
UNKNOWN_SAID_KEEP_S = 7 * 24 * 3600.0
# A firing of an occurrence (its `startsAt`) that was resolved less than STALE_S ago is a late copy (a
# retry, an HA peer's, or a delivery handled after the later `resolved`): it opens nothing, else its
# thread would stay open for ever (the resolution was sent already). Later, the same startsAt firing
# again is believed (Prometheus keeps an alert's startsAt across its own restart).
NS_RESOLVED = "alert-resolved"
STALE_S = 120.0

Level = Literal["fail", "warn"]
# Severity label values (Alertmanager and Grafana conventions) to what the alert is; None: not a problem.
SEVERITY: dict[str, Level | None] = {
    **dict.fromkeys(
        (
            "critical",
            "crit",
            "error",
            "err",
            "page",
            "high",
            "major",
            "fatal",
            "emergency",
            "alert",
            "p1",
            "p2",
            "sev1",
        ),
        "fail",
    ),
    **dict.fromkeys(("warning", "warn", "minor", "medium", "moderate", "average", "p3", "sev2", "sev3"), "warn"),
    **dict.fromkeys(("info", "informational", "notice", "low", "none", "ok", "debug", "p4", "p5", "sev4"), None),
}


def level_of(labels: dict[str, str]) -> Level | None:
    """What an alert's `severity` (or `priority`) label makes it: fail (also when absent or unknown),
    warn, or None for information that is not a problem."""
    raw = (labels.get("severity") or labels.get("priority") or "").strip().lower()
    if not raw:
        return "fail"
    return SEVERITY.get(raw, "fail")


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
    """The part of both payloads we use (`alerts[]`, Alertmanager's `truncatedAlerts`); the rest is ignored."""

    model_config = ConfigDict(extra="ignore")

    status: str | None = None
    alerts: list[ExternalAlert] = Field(min_length=1)
    truncatedAlerts: int = 0


class Mapped(BaseModel):
    """An external alert placed in the inventory (or not: `host` None, and `why` says why)."""

    model_config = ConfigDict(frozen=True)

    name: str
    status: Literal["firing", "resolved"]
    environment: str | None
    host: str | None
    module: str | None
    summary: str
    labels: dict[str, str]
    channel: str | None
    why: str | None = None
    level: Level | None = "fail"
    starts_at: str | None = None  # the alert's startsAt: which occurrence of it this is


def _address(value: str) -> str:
    """The host part of an `instance` label: name, address, name:port, [v6]:port, or a URL."""
    v = value.strip()
    if "://" in v:
        try:
            return (urlsplit(v).hostname or "").rstrip(".").lower()
        except ValueError:
            return v.lower()
    if v.startswith("["):
        return v[1 : v.index("]")].lower() if "]" in v else v.strip("[]").lower()
    v = v.split("/", 1)[0]
    if v.count(":") == 1:
        v = v.split(":", 1)[0]
    return v.rstrip(".").lower()


def _is_ip(v: str) -> bool:
    try:
        ipaddress.ip_address(v)
    except ValueError:
        return False
    return True


def _hosts_for(inv: Inventory, v: str, envs: list[Environment]) -> list[tuple[Environment, Host]]:
    exact = [(e, h) for e in envs for h in e.hosts if v in (h.name.lower(), (h.address or "").lower())]
    if exact or not v or _is_ip(v):
        return exact
    if "." in v:  # app1.prod.example.com: its first label names a host of the inventory
        first = v.split(".", 1)[0]
        return [(e, h) for e in envs for h in e.hosts if h.name.lower() == first]
    # app2, for a host whose address is app2.prod.example.com
    return [(e, h) for e in envs for h in e.hosts if (h.address or "").lower().split(".", 1)[0] == v]


def find_host(inv: Inventory, value: str, env_hint: Environment | None) -> tuple[Environment, Host] | str:
    """The one host `value` names (in `env_hint` when the labels name an environment), else why not."""
    v = _address(value)
    envs = [env_hint] if env_hint is not None else list(inv.environments.values())
    found = _hosts_for(inv, v, envs)
    if len(found) == 1:
        return found[0]
    if found:
        names = sorted({e.name for e, _ in found})
        if len(names) > 1:
            which = ", ".join(f"{h.name} in {e.name}" for e, h in sorted(found, key=lambda x: x[0].name))
            return (
                f"{value} is ambiguous: it names hosts of several environments ({which}); "
                "label the alert with environment=<one of them>"
            )
        return f"{value} matches several hosts of {names[0]} ({', '.join(sorted(h.name for _, h in found))})"
    if env_hint is not None:
        elsewhere = sorted({e.name for e, _ in _hosts_for(inv, v, list(inv.environments.values()))})
        if elsewhere:
            return f"{value} is not a host of {env_hint.name} (it is a host of {', '.join(elsewhere)})"
        return f"the inventory has no host {value} in {env_hint.name}"
    return f"the inventory has no host {value}"


def default_environment(inv: Inventory) -> Environment | None:
    """The environment an alert without one goes to for its message: the default one, else the only one."""
    name = inv.default_environment or (next(iter(inv.environments)) if len(inv.environments) == 1 else None)
    return inv.environments.get(name) if name else None


def _watch_channel(env: Environment | None) -> str | None:
    return env.watch.channel if env is not None and env.watch is not None else None


_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def module_of(value: str, resolver: ModuleResolver, whole: bool = True) -> str | None:
    """The Campaign module a label names: the whole value (`mta`, `mta@prod`, a typo of a name), else one
    of its words, exactly (`campaign-mta`, `nlserver_web`, `CampaignWfserverDown`); None when none does.
    An alert name is only read word by word (`whole=False`): a typo guess on it would be a guess."""
    if whole:
        try:
            return resolver.resolve(value).module.name
        except UnknownModuleError:
            pass
    parts = [w for chunk in re.split(r"[^A-Za-z0-9]+", value) for w in (chunk, *_WORDS.findall(chunk)) if w]
    for w in parts[:20]:
        hit = resolver.exact(w)
        if hit is not None:
            return hit.name
    return None


def map_alert(a: ExternalAlert, inv: Inventory, resolver: ModuleResolver, default_channel: str | None) -> Mapped:
    labels = {k[:100]: v[:300] for k, v in list(a.labels.items())[:50]}
    env_label = labels.get("environment") or labels.get("env")
    env_hint = inv.find_environment(env_label) if env_label else None
    found: tuple[Environment, Host] | None = None
    why: str | None = None
    if env_label and env_hint is None:
        why = (
            f"the environment {env_label!r} is not in the inventory "
            f"(known: {', '.join(sorted(inv.environments))}); nothing was checked"
        )
    else:
        for key in ("host", "instance", "hostname", "nodename"):
            if not labels.get(key):
                continue
            hit = find_host(inv, labels[key], env_hint)
            if isinstance(hit, str):
                why = why or hit
                continue
            found = hit
            break
        if found is None and why is None:
            why = "it has no host label (instance, host, hostname or nodename)"
    module = None
    for key in ("module", "job", "alertname"):
        if labels.get(key):
            module = module_of(labels[key], resolver, whole=key != "alertname")
            if module is not None:
                break
    env = found[0] if found else env_hint
    if found is not None:
        channel = _watch_channel(env) or default_channel
    else:  # a message about an unknown host goes where the labels point, else where alerts go
        channel = _watch_channel(env_hint) or _watch_channel(default_environment(inv)) or default_channel
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
        why=None if found else why,
        level=level_of(labels),
        starts_at=_occurrence(a.startsAt),
    )


def _occurrence(starts_at: str | None) -> str | None:
    """`startsAt` when it names an occurrence (Go's zero time `0001-01-01T00:00:00Z` does not)."""
    v = (starts_at or "").strip()
    return v[:64] if v and not v.startswith("0001-01-01") else None


def describe_labels(labels: dict[str, str]) -> str:
    keep = ("alertname", "instance", "host", "job", "module", "environment", "severity")
    return ", ".join(f"{k}={labels[k]}" for k in keep if k in labels)


class AlertIntake:
    """The job that handles a group of external alerts on a worker."""

    def __init__(
        self,
        watch: Watch,
        core: Conversation,
        post_unknown: Callable[[str, str], None],
        show_answer: Callable[[Answer, str, str], object],
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.watch = watch
        self.core = core
        self.post_unknown = post_unknown  # (channel, text)
        self.show_answer = show_answer  # (answer, channel, thread ts)
        self.clock = clock or watch.clock  # one clock with the watch (what is snoozed, when it resolved)

    def job(self, payload: dict[str, Any]) -> None:
        """The job of one webhook call (see bot/webhooks/alerts.py)."""
        self.handle(
            payload["source"],
            payload["alerts"],
            left_out=list(payload.get("left_out") or []),
            truncated=int(payload.get("truncated") or 0),
        )

    def handle(
        self, source: Source, alerts: list[dict[str, Any]], left_out: list[str] | None = None, truncated: int = 0
    ) -> None:
        """Each alert on its own: one that fails is logged and the others still run."""
        mapped = [Mapped.model_validate(raw) for raw in alerts]
        diagnosed: set[tuple[str, str, str | None]] = set()  # one diagnosis per host and module per group
        unknown: dict[str, list[Mapped]] = {}
        # A group holds every alert of its group key, firing and recently resolved: alerts of one name on
        # one host and module that differ by another label (mountpoint, device, port) share one subject,
        # which is not resolved while one of them still fires.
        firing = {self._key(m) for m in mapped if m.host and m.environment and m.status == "firing" and m.level}
        for m in mapped:
            if m.host is None or m.environment is None:
                unknown.setdefault(m.channel or "", []).append(m)
                self._audit(source, m, "alert-unknown-host")
                continue
            if m.status == "resolved" and self._key(m) in firing:
                self._audit(source, m, "alert-resolved-others-firing")
                continue
            try:
                with self._subject_lock(self._key(m)):
                    self._one(source, m, diagnosed)
            except Exception:
                log.exception("alert %s could not be handled", m.name)
        for channel, group in unknown.items():
            fresh = [m for m in group if self._first_word(source, channel, m)] if channel else []
            if fresh:
                self.post_unknown(channel, self._unknown_text(source, fresh))
        if left_out or truncated:
            first = next((m.channel for m in mapped if m.channel), None)
            if first:
                self.post_unknown(first, self._left_out_text(source, len(mapped), left_out or [], truncated))

    @staticmethod
    def _key(m: Mapped) -> str:
        """The alert state an external alert is kept in (its subject: environment, host, module, name)."""
        assert m.host is not None and m.environment is not None
        return subject_key(m.environment, m.host, m.module, None, f"alert:{m.name}")

    def _first_word(self, source: Source, channel: str, m: Mapped) -> bool:
        """Whether the message about an alert for an unknown host is news: Alertmanager re-sends a group
        every group_interval / repeat_interval, and the same "firing" (or "resolved") is said once; a
        change of status is news again (the other status's mark is dropped)."""
        labels = json.dumps(sorted(m.labels.items()))
        ident = hashlib.sha256(f"{source}\0{channel}\0{m.name}\0{labels}".encode()).hexdigest()[:32]
        other = "resolved" if m.status == "firing" else "firing"
        store = self.watch.store
        store.delete(NS_UNKNOWN_SAID, f"{ident}:{other}")
        return store.first_time(NS_UNKNOWN_SAID, f"{ident}:{m.status}", UNKNOWN_SAID_KEEP_S)

    def _flap_limits(self, environment: str) -> tuple[int, float]:
        """The environment's `watch.flap_threshold` and `flap_window` (the watch's defaults without one)."""
        try:
            env = self.core.inventory().environments.get(environment)
        except ConfigError:
            env = None
        if env is None or env.watch is None:
            return 4, 3600.0
        return env.watch.flap_threshold, env.watch.flap_window

    @contextmanager
    def _subject_lock(self, key: str) -> Iterator[None]:
        """Hold the subject's lock while its alert is handled; waits for another worker that holds it.
        A holder that died frees it after LOCK_LEASE_S; past LOCK_WAIT_S the alert is handled anyway
        (a duplicate is better than a lost alert)."""
        store = self.watch.store
        end = time.monotonic() + LOCK_WAIT_S
        held = store.add(NS_LOCK, key, {"at": time.time()}, ttl_s=LOCK_LEASE_S)
        while not held and time.monotonic() < end:
            time.sleep(LOCK_POLL_S)  # only when another worker handles the same subject right now
            held = store.add(NS_LOCK, key, {"at": time.time()}, ttl_s=LOCK_LEASE_S)
        if not held:
            log.warning("alert lock of %s still held after %.0f s: handling the alert anyway", key, LOCK_WAIT_S)
        try:
            yield
        finally:
            if held:
                store.delete(NS_LOCK, key)

    @staticmethod
    def _unknown_text(source: Source, group: list[Mapped]) -> str:
        def one(m: Mapped) -> str:
            where = describe_labels(m.labels) or "no host labels"
            return f"'{m.name}' ({m.status}; {where}): {m.why or 'the inventory does not know its host'}"

        fix = "Add the host to the inventory, or label the alert with a host (and environment) it knows."
        if len(group) == 1:
            return (
                f"{source} alert {one(group[0])}. It is for a host the inventory does not know; "
                f"nothing was checked. {fix}"
            )
        lines = "\n".join(f"• {one(m)}" for m in group[:20])
        more = f"\n… and {len(group) - 20} more" if len(group) > 20 else ""
        return (
            f"{len(group)} {source} alerts are for hosts the inventory does not know; nothing was checked "
            f"for them. {fix}\n{lines}{more}"
        )

    @staticmethod
    def _left_out_text(source: Source, handled: int, left_out: list[str], truncated: int) -> str:
        parts = []
        if left_out:
            names = ", ".join(f"'{n}'" for n in left_out[:20]) + (" …" if len(left_out) > 20 else "")
            parts.append(
                f"{source} sent {handled + len(left_out)} alerts in one group: the first {handled} were handled, "
                f"{len(left_out)} were left out ({names}). Split the group (group_by) to have each one handled."
            )
        if truncated:
            parts.append(f"{source} itself left {truncated} alert(s) of this group out (its max_alerts setting).")
        return " ".join(parts)

    def _audit(self, source: Source, m: Mapped, outcome: str) -> None:
        self.core.audit_event(
            user=f"({source})",
            channel=m.channel,
            surface="webhook",
            question=f"alert {m.name}",
            environment=m.environment,
            modules=[m.module] if m.module else [],
            hosts=[m.host] if m.host else [],
            commands=[],
            outcome=outcome,
            labels=describe_labels(m.labels),
        )

    def _one(self, source: Source, m: Mapped, diagnosed: set[tuple[str, str, str | None]]) -> None:
        assert m.host is not None and m.environment is not None
        now = self.clock()
        check = f"alert:{m.name}"
        key = self._key(m)
        stored = self.watch.get(key)
        prev = stored.at(now) if stored is not None else None
        summary = m.summary or f"{source} alert {m.name}"
        threshold, window = self._flap_limits(m.environment)
        if m.starts_at is not None:
            store = self.watch.store
            if m.status == "resolved":
                store.put(NS_RESOLVED, key, {"starts_at": m.starts_at, "at": now}, ttl_s=STALE_S * 10)
            else:
                last = store.get(NS_RESOLVED, key)
                if last and last.get("starts_at") == m.starts_at and 0 <= now - float(last.get("at", 0)) < STALE_S:
                    self._audit(source, m, "alert-stale-firing")
                    return
        if m.status == "resolved":
            if prev is not None and prev.open:
                changes = (*Watch._recent(prev.changes, now, window), now)
                flapping = len(changes) > threshold
                rec = prev.model_copy(
                    update={
                        "open": False,
                        "recovered_at": now,
                        "was": prev.status,
                        "status": "ok",
                        "last_seen": now,
                        "changes": changes,
                        "flapping": flapping,
                    }
                )
                self.watch.save(rec)
                if flapping:  # said once, then quiet: the root stays up to date
                    if not prev.flapping and rec.ts:
                        self.watch.notifier.note(rec, Watch._flap_text(rec, window))
                    self.watch.show(rec, closing="quiet")
                else:
                    self.watch.notifier.recovered(rec)
                    self.watch.show(rec, closing="recovered")
            self._audit(source, m, "alert-resolved")
            return
        if m.level is None:  # severity info: not a problem, nothing to open
            self._audit(source, m, "alert-info-ignored")
            return
        status: Status = m.level
        # A snooze (the watch's clock: `prev` is as of now) keeps the alert quiet unless it gets worse,
        # across a resolve and a re-fire too, as the scheduled check's alerts.
        snooze_over = prev is not None and prev.snoozed(now) and prev.worse_than_snoozed(status)
        unsnooze: dict[str, Any] = {"snoozed_until": 0.0, "snoozed_status": None} if snooze_over else {}
        ended = " The snooze ended because it got worse." if snooze_over else ""
        if prev is not None and prev.open:
            still = prev.flapping and bool(Watch._recent(prev.changes, now, window))
            rec = prev.model_copy(
                update={
                    "last_seen": now,
                    "count": prev.count + 1,
                    "summary": summary,
                    "status": status,
                    "fingerprint": f"{key}:{status}",
                    "flapping": still,
                    **unsnooze,
                }
            )
            if not rec.ts:  # its thread could not be posted before: try again
                shown = Diagnosis.model_validate(rec.detail) if rec.detail else self._plain(source, m, summary)
                self.watch.open_thread(rec, shown)
            else:
                if status != prev.status and not rec.snoozed(now):
                    what = "got worse" if status == "fail" else "changed"
                    self.watch.notifier.note(
                        rec, f"{source} alert '{m.name}' {what}: {prev.status} -> {status}.{ended}"
                    )
                elif prev.flapping and not still and not rec.snoozed(now):
                    self.watch.notifier.note(
                        rec, f"settled: no change for {window / 60:.0f} min, {source} alert '{m.name}' still fires."
                    )
                self.watch.show(rec)
            self._audit(source, m, "alert-repeated")
            return
        changes = (*Watch._recent(prev.changes if prev else (), now, window), now)
        rec = AlertState(
            key=key,
            environment=m.environment,
            host=m.host,
            module=m.module,
            instance=None,
            check=check,
            status=status,
            fingerprint=f"{key}:{status}",
            summary=summary,
            source=source,
            opened_at=now,
            last_seen=now,
            channel=prev.channel if prev else None,
            ts=prev.ts if prev else None,
            joined=prev.joined if prev else None,
            marked=prev.marked if prev else False,
            changes=changes,
            flapping=len(changes) > threshold,
            snoozed_until=prev.snoozed_until if prev else 0.0,
            snoozed_status=prev.snoozed_status if prev else None,
            snoozed_by=prev.snoozed_by if prev else None,
        ).model_copy(update=unsnooze)
        if rec.snoozed(now) and rec.ts:
            # Back while snoozed, and not worse: the root says it, nothing is posted, nothing runs.
            self.watch.show(rec)
            self._audit(source, m, "alert-snoozed")
            return
        if rec.flapping and rec.ts:
            # Back again within the flapping window: no new diagnosis, no "firing again"; said once.
            if not (prev is not None and prev.flapping):
                self.watch.notifier.note(rec, Watch._flap_text(rec, window))
            self.watch.show(rec)
            self._audit(source, m, "alert-flapping")
            return
        subject = (m.environment, m.host, m.module)
        answer = None
        if subject not in diagnosed:
            diagnosed.add(subject)
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
        shown = detail or self._plain(source, m, summary)
        rec = rec.model_copy(update={"detail": shown.model_dump(mode="json")})
        mate = self.watch.joinable(rec)
        if rec.ts and (mate is None or (mate.channel, mate.ts) == (rec.channel, rec.ts)):
            self.watch.notifier.note(rec, f"{source} alert '{m.name}' is firing again: {summary}{ended}")
            rec = self.watch.show(rec)
        else:
            if rec.ts:  # its old thread is closed, another one about this host and module is open: that one
                rec = rec.model_copy(update={"ts": None, "channel": None, "joined": None, "marked": False})
            rec = self.watch.open_thread(
                rec, shown, join_text=f"{source} alert '{m.name}' is firing for this host and module too: {summary}"
            )
        if rec.ts and rec.channel and isinstance(answer, Answer):
            self.show_answer(answer, rec.channel, rec.ts)
        self._audit(source, m, "alert-joined" if rec.joined else "alert-opened")

    @staticmethod
    def _plain(source: Source, m: Mapped, summary: str) -> Diagnosis:
        assert m.environment is not None and m.host is not None
        return Diagnosis(
            question=summary,
            environment=m.environment,
            simulated=False,
            hosts=(m.host,),
            verdict=f"{source} alert {m.name}: {summary}",
            status="fail" if m.level == "fail" else "warn",
        )

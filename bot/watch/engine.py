"""The watch: scheduled checks that open one alert thread per problem and say when it recovered.

One round (`Watch.run`) runs the environment's checks (the same diagnosis as an answer) and
compares the problems with the alerts in the store:

- a new problem opens a thread (through the `Notifier`); it is told by its subject and status,
  never its text; the subject includes the finding's `target`, so two problems one check finds on
  one host and module (two log files, two workflows) are two alerts, each recovering on its own;
- a problem seen again updates the thread's root in place (last seen, count) and posts nothing;
- a status change is said in the thread (a snooze ends early when it got worse);
- a problem gone (the host answered and the check is fine) is posted as recovered, root gets ✅;
- a subject that changed state more than `flap_threshold` times within `flap_window` is reported
  once as flapping, then kept quiet until it settles;
- a snoozed subject stays quiet until the snooze ends or it gets worse.

Time comes from `clock` (tests drive it); nothing here sleeps or knows Slack.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from bot.audit import AuditLog
from bot.diagnosis import Diagnoser
from bot.inventory import Environment
from bot.kb.models import KnowledgeBase, Module
from bot.models import STATUS_ORDER, Diagnosis, Finding, worst
from bot.stores.base import StateStore
from bot.watch.model import PROBLEM, AlertState, WatchEvent, WatchRound, finding_key, fingerprint, subject_key

log = logging.getLogger(__name__)

NS_ALERT = "alert"
NS_LAST = "watch-last"
CLOSED_KEEP_S = 7 * 86400  # a recovered alert is remembered for a week (flapping, re-opening in its thread)


class Notifier(Protocol):
    """Where alerts are shown. Implementations never raise for delivery problems (they log)."""

    def opened(self, alert: AlertState, detail: Diagnosis) -> tuple[str, str] | None:
        """Open a thread for a new problem; return (channel, root ts), or None when it could not be posted."""

    def refresh(self, alert: AlertState, detail: Diagnosis | None) -> None:
        """Update the thread's root in place (status, last seen, count, snooze, acknowledgement)."""

    def note(self, alert: AlertState, text: str, detail: Diagnosis | None = None) -> None:
        """Say something in the alert's thread."""

    def recovered(self, alert: AlertState) -> None:
        """Say in the thread that the problem recovered, and mark the root (✅)."""


def detail_for(d: Diagnosis, host: str, module: str | None, focus: Finding | None = None) -> Diagnosis:
    """The part of a round's diagnosis about one host and module: its findings and next steps.

    `focus`, the finding an alert is about, comes first and gives the verdict (another problem of the
    same host and module has its own alert)."""
    findings = tuple(f for f in d.findings if f.host == host and (module is None or f.module == module))
    steps = tuple(s for s in d.next_steps if s.host in (host, None) and (module is None or s.module in (module, None)))
    shown = findings or tuple(f for f in d.findings if f.host == host)
    if focus is not None and focus in shown:
        shown = (focus, *(f for f in shown if f != focus))
    problem = [f for f in shown if f.status in PROBLEM]
    verdict = f"{problem[0].summary}" if problem else d.verdict
    return d.model_copy(
        update={
            "findings": shown,
            "next_steps": steps[:8],
            "hosts": (host,),
            "modules": (module,) if module else d.modules,
            "verdict": verdict,
            "status": worst(list(shown)),
            "matches": (),
        }
    )


class Watch:
    def __init__(
        self,
        *,
        kb: KnowledgeBase,
        diagnoser: Diagnoser,
        store: StateStore,
        notifier: Notifier,
        audit: AuditLog | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.kb = kb
        self.diagnoser = diagnoser
        self.store = store
        self.notifier = notifier
        self.audit = audit
        self.clock = clock

    def modules(self, env: Environment) -> tuple[Module, ...]:
        """`watch.modules`, else every module with checks (each host reports the ones it runs)."""
        if env.watch is not None and env.watch.modules:
            return tuple(self.kb.get(m) for m in env.watch.modules if m in self.kb.names)
        return tuple(m for m in self.kb.modules if m.checks)

    def run(self, env: Environment, now: float | None = None, slot: str | None = None) -> WatchRound:
        """One scheduled check of `env`: run the checks, update the alerts, notify."""
        d = self.diagnoser.check(self.modules(env), env, label=f"scheduled check of {env.name}")
        return self.apply(env, d, self.clock() if now is None else now, slot)

    # ------------------------------------------------------------------ one round
    def apply(self, env: Environment, d: Diagnosis, now: float, slot: str | None = None) -> WatchRound:
        threshold = env.watch.flap_threshold if env.watch else 4
        window = env.watch.flap_window if env.watch else 3600.0
        problems: dict[str, Finding] = {}
        for f in d.findings:
            if f.status in PROBLEM:
                key = finding_key(env.name, f)
                if key not in problems or STATUS_ORDER[f.status] > STATUS_ORDER[problems[key].status]:
                    problems[key] = f
        unreachable = {f.host for f in d.findings if f.status == "error" and f.module is None}
        seen_ok = {finding_key(env.name, f) for f in d.findings if f.status == "ok"}
        events: list[WatchEvent] = []
        current = frozenset(problems)
        for key, f in problems.items():
            events.append(self._problem(env, key, f, d, now, threshold, window, current))
        for key, rec in self._open_alerts(env.name):
            if key in problems or rec.source != "watch":
                continue
            if rec.host in unreachable:
                continue  # we cannot see it: not a recovery
            cannot_tell = any(
                f.host == rec.host
                and f.module == rec.module
                and f.check == rec.check
                and f.status == "unknown"
                and (f.target is None or f.target == rec.target)  # blind as a whole, or about this target
                for f in d.findings
            )
            if key not in seen_ok and cannot_tell:
                continue  # the check could not see it this round: neither a problem nor a recovery
            events.append(self._recovered(key, now, threshold, window))
        rnd = WatchRound(
            environment=env.name,
            at=now,
            status=d.status,
            verdict=d.verdict,
            events=tuple(events),
            problems=len(problems),
            hosts=len(d.hosts),
            simulated=env.simulated,
        )
        self.store.put(NS_LAST, env.name, rnd.model_dump(mode="json"))
        if self.audit is not None:
            try:
                self.audit.record(
                    user="(watch)",
                    channel=env.watch.channel if env.watch else None,
                    environment=env.name,
                    question="(scheduled check)",
                    modules=list(d.modules),
                    hosts=list(d.hosts),
                    commands=list(d.commands),
                    outcome=d.status,
                    slot=slot,
                    events=[f"{e.kind}: {e.subject}" for e in events],
                )
            except Exception as e:
                log.error("watch round not audited: %s", type(e).__name__)
        return rnd

    def _open_alerts(self, env: str) -> list[tuple[str, AlertState]]:
        out = []
        for key, data in self.store.scan(NS_ALERT):
            rec = AlertState.model_validate(data)
            if rec.environment == env and rec.open:
                out.append((key, rec))
        return out

    def get(self, key: str) -> AlertState | None:
        data = self.store.get(NS_ALERT, key)
        return AlertState.model_validate(data) if data else None

    def save(self, rec: AlertState) -> None:
        """Store an alert (a recovered one is kept a week, for flapping and for re-opening in its thread)."""
        self.store.put(NS_ALERT, rec.key, rec.model_dump(mode="json"), ttl_s=None if rec.open else CLOSED_KEEP_S)

    @staticmethod
    def _recent(changes: tuple[float, ...], now: float, window: float) -> tuple[float, ...]:
        return tuple(t for t in changes if now - t <= window)

    def _problem(
        self,
        env: Environment,
        key: str,
        f: Finding,
        d: Diagnosis,
        now: float,
        threshold: int,
        window: float,
        current: frozenset[str] = frozenset(),
    ) -> WatchEvent:
        prev = self.get(key)
        if prev is None and f.target is not None:
            prev = self._adopt_legacy(env.name, key, f, current)
        detail = detail_for(d, f.host, f.module, f)
        fp = fingerprint(env.name, f)
        if prev is not None and prev.open and prev.status == f.status:
            rec = prev.model_copy(
                update={
                    "last_seen": now,
                    "count": prev.count + 1,
                    "summary": f.summary,
                    "fingerprint": fp,
                    "detail": detail.model_dump(mode="json"),
                    "flapping": prev.flapping and bool(self._recent(prev.changes, now, window)),
                }
            )
            self.save(rec)
            self.notifier.refresh(rec, detail)
            return WatchEvent(
                kind="ongoing", key=key, subject=rec.subject, status=f.status, summary=f.summary, notified=False
            )
        changes = (*self._recent(prev.changes if prev else (), now, window), now)
        flapping = len(changes) > threshold
        base: dict[str, Any] = {
            "detail": detail.model_dump(mode="json"),
            "status": f.status,
            "fingerprint": fp,
            "summary": f.summary,
            "last_seen": now,
            "changes": changes,
            "flapping": flapping,
        }
        if prev is not None and prev.open:  # a change of status
            worse = STATUS_ORDER[f.status] > STATUS_ORDER[prev.status]
            snooze_over = prev.snoozed(now) and prev.worse_than_snoozed(f.status)
            rec = prev.model_copy(
                update={
                    **base,
                    "count": prev.count + 1,
                    **({"snoozed_until": 0.0, "snoozed_status": None} if snooze_over else {}),
                }
            )
            self.save(rec)
            quiet = (rec.snoozed(now) and not snooze_over) or (prev.flapping and flapping)
            kind = "snooze_ended" if snooze_over else "flapping" if flapping and not prev.flapping else "changed"
            if not quiet:
                if kind == "flapping":
                    self.notifier.note(rec, self._flap_text(rec, window))
                else:
                    what = "got worse" if worse else "changed"
                    extra = " The snooze ended because it got worse." if snooze_over else ""
                    self.notifier.note(rec, f"{what}: {prev.status} -> {f.status}: {f.summary}.{extra}", detail)
            self.notifier.refresh(rec, detail)
            return WatchEvent(
                kind=kind, key=key, subject=rec.subject, status=f.status, summary=f.summary, notified=not quiet
            )
        # a new problem, or one back after a recovery
        rec = AlertState(
            key=key,
            environment=env.name,
            host=f.host,
            module=f.module,
            instance=f.instance,
            check=f.check,
            target=f.target,
            opened_at=now,
            count=1,
            channel=prev.channel if prev else None,
            ts=prev.ts if prev else None,
            snoozed_until=prev.snoozed_until if prev else 0.0,
            snoozed_status=prev.snoozed_status if prev else None,
            snoozed_by=prev.snoozed_by if prev else None,
            **base,
        )
        snooze_over = rec.snoozed(now) and rec.worse_than_snoozed(f.status)
        if snooze_over:
            rec = rec.model_copy(update={"snoozed_until": 0.0, "snoozed_status": None})
        quiet_snooze = rec.snoozed(now)
        if flapping and prev is not None and prev.flapping:
            kind, notified = "flapping", False
        elif flapping:
            kind, notified = "flapping", not quiet_snooze
            if notified:
                rec = self._ensure_thread(rec, detail)
                self.notifier.note(rec, self._flap_text(rec, window))
        elif quiet_snooze:
            kind, notified = "opened", False
        else:
            kind, notified = "opened", True
            if rec.ts:
                self.notifier.note(rec, f"back again: {f.summary}", detail)
            else:
                self._ensure_thread(rec, detail)
                return WatchEvent(
                    kind=kind, key=key, subject=rec.subject, status=f.status, summary=f.summary, notified=True
                )
        self.save(rec)
        self.notifier.refresh(rec, detail)
        return WatchEvent(
            kind=kind, key=key, subject=rec.subject, status=f.status, summary=f.summary, notified=notified
        )

    def _adopt_legacy(self, env: str, key: str, f: Finding, current: frozenset[str]) -> AlertState | None:
        """An alert stored before findings had a target, for the subject of `f` without it: the first
        targeted problem of that subject takes it over (its thread, snooze, acknowledgement), rather
        than the old alert being told as recovered and the same problem opening a second thread.
        Not when a problem without target is still found on that subject this round (`current`)."""
        old_key = subject_key(env, f.host, f.module, f.instance, f.check)
        if old_key in current:
            return None
        old = self.get(old_key)
        if old is None or not old.open or old.source != "watch" or old.target is not None:
            return None
        self.store.delete(NS_ALERT, old_key)
        return old.model_copy(update={"key": key, "target": f.target})

    def _ensure_thread(self, rec: AlertState, detail: Diagnosis) -> AlertState:
        """The alert with a thread: opened now if it has none yet (and saved either way)."""
        if not rec.ts:
            where = self.notifier.opened(rec, detail)
            if where is not None:
                rec = rec.model_copy(update={"channel": where[0], "ts": where[1]})
        self.save(rec)
        return rec

    @staticmethod
    def _flap_text(rec: AlertState, window: float) -> str:
        return (
            f"flapping: {rec.subject} changed state {len(rec.changes)} times in {window / 60:.0f} min; "
            "I will keep quiet about it until it settles (the root message stays up to date)."
        )

    def _recovered(self, key: str, now: float, threshold: int, window: float) -> WatchEvent:
        prev = self.get(key)
        assert prev is not None
        changes = (*self._recent(prev.changes, now, window), now)
        flapping = len(changes) > threshold
        rec = prev.model_copy(
            update={
                "open": False,
                "recovered_at": now,
                "changes": changes,
                "flapping": flapping,
                "status": "ok",
                "last_seen": now,
            }
        )
        self.save(rec)
        quiet = flapping and prev.flapping
        if flapping and not prev.flapping:
            self.notifier.note(rec, self._flap_text(rec, window))
            self.notifier.refresh(rec, None)
        elif quiet:
            self.notifier.refresh(rec, None)
        else:
            self.notifier.recovered(rec)  # good news is told even while snoozed: it closes the matter
        return WatchEvent(
            kind="recovered" if not flapping else "flapping",
            key=key,
            subject=rec.subject,
            status="ok",
            summary="recovered",
            notified=not quiet,
        )

    # ------------------------------------------------------------------ people
    def snooze(self, key: str, user: str, seconds: float, now: float | None = None) -> AlertState | None:
        """Keep an alert quiet for `seconds` (ends early if it gets worse)."""
        t = self.clock() if now is None else now

        def fn(cur: dict[str, Any] | None) -> dict[str, Any] | None:
            if cur is None:
                return None
            return {**cur, "snoozed_until": t + seconds, "snoozed_status": cur.get("status"), "snoozed_by": user}

        new = self.store.update(NS_ALERT, key, fn)
        rec = AlertState.model_validate(new) if new else None
        if rec is not None:
            self.notifier.refresh(rec, None)
        return rec

    def acknowledge(self, key: str, user: str, now: float | None = None) -> AlertState | None:
        t = self.clock() if now is None else now
        new = self.store.update(NS_ALERT, key, lambda cur: {**cur, "acked_by": user, "acked_at": t} if cur else None)
        rec = AlertState.model_validate(new) if new else None
        if rec is not None:
            self.notifier.refresh(rec, None)
        return rec

    # ------------------------------------------------------------------ reading (App Home, terminal)
    def last_round(self, env: str) -> WatchRound | None:
        data = self.store.get(NS_LAST, env)
        return WatchRound.model_validate(data) if data else None

    def open_alerts(self, env: str | None = None) -> list[AlertState]:
        out = []
        for _, data in self.store.scan(NS_ALERT):
            rec = AlertState.model_validate(data)
            if rec.open and (env is None or rec.environment == env):
                out.append(rec)
        return sorted(out, key=lambda r: (-STATUS_ORDER[r.status], r.opened_at))

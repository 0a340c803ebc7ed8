"""The watch: scheduled checks that open one alert thread per problem and say when it recovered.

One round (`Watch.run`) runs the environment's checks (the same diagnosis as an answer) and
compares the problems with the alerts in the store:

- a new problem opens a thread (through the `Notifier`); it is told by its subject and status,
  never its text; the subject includes the finding's `target`, so two problems one check finds on
  one host and module (two log files, two workflows) are two alerts, each recovering on its own;
  a problem of a host and module whose thread an external alert (Alertmanager, Grafana) opened
  joins that thread: one thread per problem;
- a thread that could not be posted (the bot not in the channel, Slack down) is posted by the
  next round that sees the alert;
- a problem seen again updates the thread's root in place (last seen, count) and posts nothing;
- a status change is said in the thread (a snooze ends early when it got worse);
- a problem a check saw gone (the subject was checked and is fine) is posted as recovered, the
  root gets ✅; a problem back in a recovered thread takes the ✅ away;
- an alert whose subject is no longer watched (its host removed from the inventory, its module
  from `watch.modules`, its environment or watch block removed) is closed with a note saying so,
  without ✅: nobody saw it recover;
- a subject that changed state more than `flap_threshold` times within `flap_window` is reported
  once as flapping, then kept quiet until it settles (no change for `flap_window`); then it is
  said once: recovered (with ✅) or still failing;
- a snoozed subject stays quiet until the snooze ends or it gets worse.

Time comes from `clock` or the round's `now` (tests drive it); nothing here sleeps or knows Slack.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol

from bot.audit import AuditLog
from bot.checks.base import API_HOST
from bot.diagnosis import Diagnoser
from bot.inventory import Environment, Inventory
from bot.kb.models import KnowledgeBase, Module
from bot.models import STATUS_ORDER, Diagnosis, Finding, worst
from bot.stores.base import StateStore
from bot.watch.model import PROBLEM, AlertState, WatchEvent, WatchRound, finding_key, fingerprint, subject_key

log = logging.getLogger(__name__)

NS_ALERT = "alert"
NS_LAST = "watch-last"
CLOSED_KEEP_S = 7 * 86400  # a recovered alert is remembered for a week (flapping, re-opening in its thread)

Closing = Literal["recovered", "quiet", "retired"]
RECOVERED = "recovered"


class Notifier(Protocol):
    """Where alerts are shown. Implementations never raise for delivery problems (they log)."""

    def opened(self, alert: AlertState, detail: Diagnosis) -> tuple[str, str] | None:
        """Open a thread for a new problem; return (channel, root ts), or None when it could not be posted."""

    def refresh(self, alert: AlertState, detail: Diagnosis | None) -> None:
        """Update the thread's root in place (status, last seen, count, snooze, acknowledgement)."""

    def note(self, alert: AlertState, text: str, detail: Diagnosis | None = None) -> None:
        """Say something in the alert's thread."""

    def recovered(self, alert: AlertState) -> None:
        """Say in the thread that the problem recovered (the ✅ follows through `mark`)."""

    def mark(self, alert: AlertState) -> None:
        """Put ✅ on the thread's root when `alert.marked`, else take it away (a problem back in its thread).

        Optional: the watch does without it for notifiers that have no root to mark."""


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
            if key in problems or rec.external:
                continue
            verdict = self._absent(env, rec, d, seen_ok, unreachable)
            if verdict == RECOVERED:
                events.append(self._recovered(key, now, threshold, window))
            elif verdict is not None:
                gone = self.retire(key, verdict, now)
                if gone is not None:
                    events.append(gone)
        for rec in self._alerts():
            if rec.environment == env.name and rec.key not in problems:
                settled = self._settled(env, rec, d, seen_ok, unreachable, now, window)
                if settled is not None:
                    events.append(settled)
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
        self._audit(env.name, env.watch.channel if env.watch else None, d, events, slot)
        return rnd

    def _audit(
        self, env: str, channel: str | None, d: Diagnosis | None, events: list[WatchEvent], slot: str | None
    ) -> None:
        if self.audit is None:
            return
        try:
            self.audit.record(
                user="(watch)",
                channel=channel,
                environment=env,
                question="(scheduled check)" if d is not None else "(no longer watched)",
                modules=list(d.modules) if d else [],
                hosts=list(d.hosts) if d else [],
                commands=list(d.commands) if d else [],
                outcome=d.status if d else "unwatched",
                slot=slot,
                events=[f"{e.kind}: {e.subject}" for e in events],
            )
        except Exception as e:
            log.error("watch round not audited: %s", type(e).__name__)

    def _absent(
        self, env: Environment, rec: AlertState, d: Diagnosis, seen_ok: set[str], unreachable: set[str]
    ) -> str | None:
        """What an open alert that is no problem this round is: RECOVERED (a check saw it fine), why it is
        no longer watched (the inventory changed), or None (nobody could see it: neither)."""
        if rec.key in seen_ok:
            return RECOVERED
        if rec.host in unreachable:
            return None  # we cannot see it: not a recovery
        same = [
            f
            for f in d.findings
            if f.host == rec.host and f.module == rec.module and f.instance == rec.instance and f.check == rec.check
        ]
        if any(f.status == "unknown" and (f.target is None or f.target == rec.target) for f in same):
            return None  # the check could not see it this round (blind as a whole, or about this target)
        if same:
            return RECOVERED  # the subject was checked and is not failing any more
        blind = any(
            f.host == rec.host and f.status == "unknown" and f.target is None and f.module in (None, rec.module)
            for f in d.findings
        )
        if rec.host.startswith("("):  # (all hosts), (campaign API): about the environment
            if blind:
                return None
            if rec.host == API_HOST:
                return RECOVERED if any(f.host == API_HOST for f in d.findings) else None
            covered = any(
                not f.host.startswith("(") and f.status != "error" and (rec.module is None or f.module == rec.module)
                for f in d.findings
            )
            return RECOVERED if covered else None
        hosts = {h.name: h for h in env.hosts}
        host = hosts.get(rec.host)
        if host is None:
            return f"{rec.host} was removed from the inventory of {env.name}"
        if rec.module and env.watch is not None and env.watch.modules and rec.module not in env.watch.modules:
            return f"{rec.module} was removed from watch.modules of {env.name}"
        if rec.module and host.modules is not None and not host.lists_module(rec.module, rec.instance):
            return f"{rec.module} was removed from the modules of {rec.host} in the inventory"
        if rec.instance and env.instances and rec.instance not in env.instances:
            return f"instance {rec.instance} was removed from the inventory of {env.name}"
        if rec.status == "error" and any(f.host == rec.host and f.status != "error" for f in d.findings):
            return RECOVERED  # the check could not run; now the host answers and it reports nothing wrong
        if blind:
            return None
        return f"{rec.check} was not checked on {rec.host} in the last round (is {rec.module or 'it'} still configured there?)"

    def _settled(
        self,
        env: Environment,
        rec: AlertState,
        d: Diagnosis,
        seen_ok: set[str],
        unreachable: set[str],
        now: float,
        window: float,
    ) -> WatchEvent | None:
        """A flapping alert that recovered quietly and has not changed since for `flap_window`: said once.
        An external alert's last word was its `resolved` (the round has nothing to say about it)."""
        if rec.open or not rec.flapping or rec.closed_why:
            return None
        if self._recent(rec.changes, now, window):
            return None
        if not rec.external and self._absent(env, rec, d, seen_ok, unreachable) != RECOVERED:
            return None
        rec = rec.at(now).model_copy(update={"flapping": False})
        self.save(rec)
        self.notifier.recovered(rec)
        rec = self.show(rec, closing="recovered")
        return WatchEvent(
            kind="recovered",
            key=rec.key,
            subject=rec.subject,
            status="ok",
            summary="recovered (it stopped flapping)",
            notified=bool(rec.ts),
        )

    def _alerts(self) -> list[AlertState]:
        return [AlertState.model_validate(data) for _, data in self.store.scan(NS_ALERT)]

    def _open_alerts(self, env: str) -> list[tuple[str, AlertState]]:
        return [(rec.key, rec) for rec in self._alerts() if rec.environment == env and rec.open]

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
        prev = prev.at(now) if prev is not None else None
        detail = detail_for(d, f.host, f.module, f)
        fp = fingerprint(env.name, f)

        def event(kind: Any, rec: AlertState, notified: bool) -> WatchEvent:
            return WatchEvent(
                kind=kind, key=key, subject=rec.subject, status=f.status, summary=f.summary, notified=notified
            )

        if prev is not None and prev.open and prev.status == f.status:
            still = prev.flapping and bool(self._recent(prev.changes, now, window))
            rec = prev.model_copy(
                update={
                    "last_seen": now,
                    "count": prev.count + 1,
                    "summary": f.summary,
                    "fingerprint": fp,
                    "detail": detail.model_dump(mode="json"),
                    "flapping": still,
                }
            )
            if not rec.ts:  # its thread could not be posted yet: this round tries again
                rec = self.open_thread(rec, detail)
                return event("ongoing", rec, bool(rec.ts))
            if prev.flapping and not still and not rec.snoozed(now):
                self.notifier.note(
                    rec,
                    f"settled: no change for {window / 60:.0f} min, it stays {f.status}: {f.summary}.",
                    detail,
                )
                self.show(rec, detail)
                return event("settled", rec, True)
            self.show(rec, detail)
            return event("ongoing", rec, False)
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
            quiet = (rec.snoozed(now) and not snooze_over) or (prev.flapping and flapping)
            kind = "snooze_ended" if snooze_over else "flapping" if flapping and not prev.flapping else "changed"
            if not rec.ts:  # never posted: the thread opens now, its root says the new status
                rec = self.open_thread(rec, detail)
                return event(kind, rec, bool(rec.ts))
            if not quiet:
                if kind == "flapping":
                    self.notifier.note(rec, self._flap_text(rec, window))
                else:
                    what = "got worse" if worse else "changed"
                    extra = " The snooze ended because it got worse." if snooze_over else ""
                    self.notifier.note(rec, f"{what}: {prev.status} -> {f.status}: {f.summary}.{extra}", detail)
            self.show(rec, detail)
            return event(kind, rec, not quiet)
        # a new problem, or one back after a recovery (or after it was no longer watched)
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
            joined=prev.joined if prev else None,
            marked=prev.marked if prev else False,
            snoozed_until=prev.snoozed_until if prev else 0.0,
            snoozed_status=prev.snoozed_status if prev else None,
            snoozed_by=prev.snoozed_by if prev else None,
            **base,
        )
        snooze_over = rec.snoozed(now) and rec.worse_than_snoozed(f.status)
        if snooze_over:
            rec = rec.model_copy(update={"snoozed_until": 0.0, "snoozed_status": None})
        quiet_snooze = rec.snoozed(now)
        mate = self.joinable(rec)
        joining = mate is not None and (mate.channel, mate.ts) != (rec.channel, rec.ts)
        if mate is not None and joining:
            rec = rec.model_copy(update={"channel": mate.channel, "ts": mate.ts, "joined": mate.key, "marked": False})
        if flapping and prev is not None and prev.flapping:
            kind, notified = "flapping", False
        elif flapping:
            kind, notified = "flapping", not quiet_snooze
            if notified:
                if not rec.ts:
                    rec = self.open_thread(rec, detail)
                if rec.ts:
                    self.notifier.note(rec, self._flap_text(rec, window))
        elif quiet_snooze:
            kind, notified = "opened", False
        else:
            kind, notified = "opened", True
            if joining:
                self.notifier.note(rec, self._join_text(rec), detail)
            elif rec.ts:
                again = "watched again" if prev is not None and prev.closed_why else "back again"
                self.notifier.note(rec, f"{again}: {f.summary}", detail)
            else:
                rec = self.open_thread(rec, detail)
                return event(kind, rec, bool(rec.ts))
        self.show(rec, detail)
        return event(kind, rec, notified)

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

    # ------------------------------------------------------------------ threads
    @staticmethod
    def _join_text(rec: AlertState) -> str:
        if rec.external:
            return f"{rec.source} alert '{rec.alert_name}' is firing for this host and module too: {rec.summary}"
        return f"the scheduled check sees a problem here too: {rec.subject}: {rec.summary}"

    def joinable(self, rec: AlertState) -> AlertState | None:
        """An open thread about the same host and module that `rec` should post in instead of its own: one
        thread per problem. An external alert joins any (a scheduled check's first); a scheduled check's
        problem joins a thread an external alert is open in (its own subjects keep their own threads).
        Without a module, only a host that cannot be checked is one problem (an external alert saying the
        host is down, the scheduled check that cannot reach it): an alert without a module label says
        nothing about which of the host's problems it is."""
        if rec.module is None and not rec.external and rec.status != "error":
            return None
        threads: dict[tuple[str, str], list[AlertState]] = {}
        for a in self._alerts():
            if (
                a.open
                and a.ts
                and a.channel
                and a.key != rec.key
                and a.environment == rec.environment
                and a.host == rec.host
                and a.module == rec.module
            ):
                threads.setdefault((a.channel, a.ts), []).append(a)
        if not rec.external:
            threads = {k: v for k, v in threads.items() if any(a.external for a in v)}
        elif rec.module is None:
            threads = {k: v for k, v in threads.items() if any(not a.external and a.status == "error" for a in v)}
        if not threads:
            return None
        best = min(  # a scheduled check's thread first, then the worst, then the oldest
            threads.values(),
            key=lambda v: (
                not any(not a.external for a in v),
                -max(STATUS_ORDER[a.status] for a in v),
                min(a.opened_at for a in v),
            ),
        )
        return min(best, key=lambda a: (a.joined is not None, a.opened_at))

    def open_thread(self, rec: AlertState, detail: Diagnosis, join_text: str | None = None) -> AlertState:
        """Give an alert without a thread one: the open thread of its host and module when there is one to
        join (said there), else a new root. Saved either way; still without `ts` when Slack refused."""
        if rec.ts:
            return self.show(rec, detail)
        mate = self.joinable(rec)
        if mate is not None:
            rec = rec.model_copy(update={"channel": mate.channel, "ts": mate.ts, "joined": mate.key, "marked": False})
            self.notifier.note(rec, join_text or self._join_text(rec), detail)
            return self.show(rec, detail)
        where = self.notifier.opened(rec, detail)
        if where is not None:
            rec = rec.model_copy(update={"channel": where[0], "ts": where[1], "joined": None, "marked": False})
        return self.show(rec, detail, refresh=False)

    def show(
        self, rec: AlertState, detail: Diagnosis | None = None, closing: Closing | None = None, refresh: bool = True
    ) -> AlertState:
        """Save `rec` and make its thread's root show the thread: an open alert owns the root (the one that
        opened it, else the oldest still open), the thread's other open alerts are listed under it, and the
        root has ✅ once none is open and the last one was seen to recover."""
        self.save(rec)
        if not rec.ts or not rec.channel:
            return rec
        members = [rec, *(a for a in self._alerts() if a.key != rec.key and (a.channel, a.ts) == (rec.channel, rec.ts))]
        open_ = sorted((a for a in members if a.open), key=lambda a: (a.opened_at, a.key))
        roots = [a for a in members if a.joined is None]
        current = next((a for a in roots if a.open), None) or (roots[0] if roots else rec)
        owner = current if current.open or not open_ else open_[0]
        was_marked = any(a.marked for a in members)
        if open_:
            want = False
        elif closing is not None:
            want = closing == "recovered" or (closing == "quiet" and was_marked)
        else:
            want = was_marked
        also = tuple(a.brief() for a in open_ if a.key != owner.key)
        for a in members:
            upd: dict[str, Any] = {
                "joined": None if a.key == owner.key else owner.key,
                "marked": want if a.key == owner.key else False,
                "also": also if a.key == owner.key else (),
            }
            new = a.model_copy(update=upd)
            if new == a:
                continue
            if a.key == rec.key:
                rec = new
                self.save(rec)
            else:
                self._patch(a, upd)
            if a.key == owner.key:
                owner = new
        if want != was_marked:
            mark = getattr(self.notifier, "mark", None)
            if mark is not None:
                mark(owner)
        if refresh or owner.key != rec.key or want != was_marked or also:
            self.notifier.refresh(owner, detail if owner.key == rec.key else None)
        return rec

    def _patch(self, a: AlertState, upd: dict[str, Any]) -> None:
        """Change a few fields of another alert (its thread's root, ✅), keeping what others changed meanwhile."""
        self.store.update(
            NS_ALERT, a.key, lambda cur: {**cur, **upd} if cur else None, ttl_s=None if a.open else CLOSED_KEEP_S
        )

    @staticmethod
    def _flap_text(rec: AlertState, window: float) -> str:
        return (
            f"flapping: {rec.subject} changed state {len(rec.changes)} times in {window / 60:.0f} min; "
            "I will keep quiet about it until it settles (the root message stays up to date)."
        )

    def _recovered(self, key: str, now: float, threshold: int, window: float) -> WatchEvent:
        prev = self.get(key)
        assert prev is not None
        prev = prev.at(now)
        changes = (*self._recent(prev.changes, now, window), now)
        flapping = len(changes) > threshold
        rec = prev.model_copy(
            update={
                "open": False,
                "recovered_at": now,
                "changes": changes,
                "flapping": flapping,
                "was": prev.status,
                "status": "ok",
                "last_seen": now,
                "closed_why": None,
            }
        )
        quiet = flapping and prev.flapping
        if flapping and not prev.flapping:
            self.save(rec)
            if rec.ts:
                self.notifier.note(rec, self._flap_text(rec, window))
            self.show(rec, closing="quiet")
        elif quiet:
            self.show(rec, closing="quiet")  # said once it settles
        else:
            self.save(rec)
            self.notifier.recovered(rec)  # good news is told even while snoozed: it closes the matter
            self.show(rec, closing="recovered")
        return WatchEvent(
            kind="recovered" if not flapping else "flapping",
            key=key,
            subject=rec.subject,
            status="ok",
            summary="recovered",
            notified=not quiet and bool(rec.ts),
        )

    def retire(self, key: str, why: str, now: float | None = None) -> WatchEvent | None:
        """Close an open alert nobody watches any more, saying why in its thread (no ✅: not a recovery)."""
        t = self.clock() if now is None else now
        prev = self.get(key)
        if prev is None or not prev.open:
            return None
        rec = prev.at(t).model_copy(update={"open": False, "closed_why": why, "was": prev.status, "flapping": False})
        self.save(rec)
        if rec.ts:
            self.notifier.note(rec, f"no longer watched: {why}. I close this alert without a check seeing it recover.")
        rec = self.show(rec, closing="retired")
        return WatchEvent(
            kind="unwatched",
            key=key,
            subject=rec.subject,
            status=prev.status,
            summary=f"no longer watched: {why}",
            notified=bool(rec.ts),
        )

    def retire_environment(self, inv: Inventory, env_name: str, now: float | None = None) -> list[WatchEvent]:
        """The alerts of an environment removed from the inventory (all of them) or whose watch block was
        removed (the scheduled check's; external alerts still come and resolve), closed with a note."""
        env = inv.environments.get(env_name)
        if env is not None and env.watch is not None:
            return []
        why = (
            f"the environment {env_name} was removed from the inventory"
            if env is None
            else f"the environment {env_name} has no watch block any more"
        )
        events = []
        for key, rec in self._open_alerts(env_name):
            if env is not None and rec.external:
                continue
            gone = self.retire(key, why, now)
            if gone is not None:
                events.append(gone)
        if events:
            self._audit(env_name, None, None, events, "retire")
        return events

    # ------------------------------------------------------------------ people
    def snooze(self, key: str, user: str, seconds: float, now: float | None = None) -> AlertState | None:
        """Keep an alert quiet for `seconds` (ends early if it gets worse)."""
        t = self.clock() if now is None else now

        def fn(cur: dict[str, Any] | None) -> dict[str, Any] | None:
            if cur is None:
                return None
            return {**cur, "snoozed_until": t + seconds, "snoozed_status": cur.get("status"), "snoozed_by": user}

        return self._changed(self.store.update(NS_ALERT, key, fn), t)

    def acknowledge(self, key: str, user: str, now: float | None = None) -> AlertState | None:
        t = self.clock() if now is None else now
        new = self.store.update(NS_ALERT, key, lambda cur: {**cur, "acked_by": user, "acked_at": t} if cur else None)
        return self._changed(new, t)

    def _changed(self, data: dict[str, Any] | None, now: float) -> AlertState | None:
        if data is None:
            return None
        rec = AlertState.model_validate(data)
        return self.show(rec.at(now)) if rec.ts else rec

    # ------------------------------------------------------------------ reading (App Home, terminal)
    def last_round(self, env: str) -> WatchRound | None:
        data = self.store.get(NS_LAST, env)
        return WatchRound.model_validate(data) if data else None

    def open_alerts(self, env: str | None = None, now: float | None = None) -> list[AlertState]:
        """The open alerts (of `env`), worst first, as of `now` (the watch's clock: a snooze that ended is not shown)."""
        t = self.clock() if now is None else now
        out = [rec.at(t) for rec in self._alerts() if rec.open and (env is None or rec.environment == env)]
        return sorted(out, key=lambda r: (-STATUS_ORDER[r.status], r.opened_at))

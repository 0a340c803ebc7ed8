"""The conversation core: one place that answers questions and clicks, for every surface.

It owns environment choice, follow-ups (thread context), clarifying questions, access decisions,
offered actions and audit events. Surfaces (Slack, the terminal chat, the watch, webhooks) hand it
a `Question` or a `Click` and render the `Reply`; they never decide any of this themselves, so the
terminal chat and Slack give the same answers.

Collaborators are handed in by the composition root: the knowledge base, an `Understanding`, the
current inventory (a callable, so a reloaded inventory applies to the next question at once), a
`Diagnoser`, the state store, the audit log, an identity port (Slack user groups) and the
transport factory for confirmed actions.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from typing import Any, Protocol

from bot.access import Decision as AccessDecision
from bot.access import may_act, may_check
from bot.actions import ActionRefused, action_script, actionable, run_action
from bot.audit import AuditLog
from bot.conversation.replies import (
    ActionOutcome,
    Answer,
    Card,
    Clarify,
    Click,
    Help,
    ModuleList,
    Plan,
    Problem,
    Question,
    Refusal,
    Reply,
    Surface,
)
from bot.conversation.understand import Context, Decision, Understanding, normalize
from bot.diagnosis import Diagnoser, select_modules
from bot.errors import ConfigError, StoreError, UnknownModuleError, UnknownNameError
from bot.inventory import INSTANCE_RE, Environment, Inventory
from bot.kb.models import KnowledgeBase, Risk
from bot.models import Diagnosis, Finding, Match
from bot.runner import TransportFactory
from bot.stores.base import StateStore

log = logging.getLogger(__name__)

THREAD_TTL_S = 7 * 86400
ACTION_TTL_S = 3600
MAX_AUDIT_QUESTION = 300


class Listener(Protocol):
    """Progress of a question, for surfaces that show it live (Slack updates its first reply)."""

    def on_plan(self, plan: Plan) -> None:
        """The checks are about to run: what, where, why."""

    def on_finding(self, finding: Finding) -> None:
        """One more finding arrived (called from the runner's threads)."""


class Identity(Protocol):
    """Who a user is, beyond their id: the user groups they belong to (Slack: usergroups.users.list)."""

    def groups_of(self, user: str, candidates: tuple[str, ...]) -> set[str]:
        """Which of `candidates` (user-group ids) the user is a member of."""


class NoIdentity:
    """Surfaces without user groups (terminal, tests)."""

    def groups_of(self, user: str, candidates: tuple[str, ...]) -> set[str]:
        return set()


class JobHandle(Protocol):
    """The job a click runs in, so a confirmed action survives a crash honestly (see `click`)."""

    @property
    def stage(self) -> str | None:
        """The last stage recorded for this job (None on its first run)."""

    @property
    def data(self) -> dict[str, Any] | None:
        """Data recorded with the stage."""

    def set_stage(self, stage: str, data: dict[str, Any] | None = None) -> None:
        """Record a stage durably before going on."""


class OneShotJob:
    """A job that is never re-run (terminal, tests): stages live in memory."""

    def __init__(self) -> None:
        self._stage: str | None = None
        self._data: dict[str, Any] | None = None

    @property
    def stage(self) -> str | None:
        return self._stage

    @property
    def data(self) -> dict[str, Any] | None:
        return self._data

    def set_stage(self, stage: str, data: dict[str, Any] | None = None) -> None:
        self._stage, self._data = stage, data if data is not None else self._data


class Conversation:
    def __init__(
        self,
        *,
        kb: KnowledgeBase,
        understanding: Understanding,
        inventory: Callable[[], Inventory],
        diagnoser: Diagnoser,
        store: StateStore,
        audit: AuditLog,
        transport_for: TransportFactory,
        identity: Identity | None = None,
        default_env: str | None = None,
    ) -> None:
        self.kb = kb
        self.understanding = understanding
        self.inventory = inventory
        self.diagnoser = diagnoser
        self.store = store
        self.audit = audit
        self.transport_for = transport_for
        self.identity: Identity = identity or NoIdentity()
        self.default_env = default_env

    # ------------------------------------------------------------------ helpers
    def _audit(self, **fields: Any) -> str | None:
        """Write an audit record; on failure log it and return the reason (answers still go out)."""
        try:
            self.audit.record(**fields)
            return None
        except Exception as e:
            log.error("audit log not writable: %s: %s", type(e).__name__, e)
            return f"the audit log could not be written ({type(e).__name__})"

    def _access(self, env: Environment, user: str, place: str, trusted: bool) -> AccessDecision:
        if trusted:
            return AccessDecision(True, "the local operator of the bot's machine")
        d = may_check(env, user, place)
        if not d.allowed and env.access.groups:
            d = may_check(env, user, place, self.identity.groups_of(user, env.access.groups))
        return d

    def _context(self, thread: str | None) -> Context | None:
        if not thread:
            return None
        try:
            data = self.store.get("thread", thread)
        except StoreError as e:
            log.warning("thread context unavailable: %s", e)
            return None
        return Context.from_record(data) if data else None

    def _save_context(self, thread: str | None, plan: Plan, host: str | None) -> None:
        if not thread:
            return
        # A follow-up remembers the question it repeated, so "check again" twice repeats the original.
        ctx = Context(plan.environment, plan.modules, plan.intent, plan.rerun_of or plan.question, host)
        self.store.put("thread", thread, ctx.public(), ttl_s=THREAD_TTL_S)

    def _current_inventory(self) -> Inventory | Refusal:
        try:
            return self.inventory()
        except ConfigError as e:
            # Never answer from an old configuration: a broken inventory stops every check until fixed.
            return Refusal(why="configuration", reason=f"the inventory cannot be used: {e}")

    # ------------------------------------------------------------------ questions
    def ask(self, q: Question, listener: Listener | None = None) -> Reply:
        """Answer one question. Never raises for expected problems: they are replies."""
        text = normalize(q.text)
        inv = self._current_inventory()
        if isinstance(inv, Refusal):
            return inv
        if text.startswith("/campaign-module"):
            return self.module_command(text[len("/campaign-module") :], q.user, q.place, q.trusted)
        context = self._context(q.thread)
        channel_env = inv.environment_for_channel(q.place) if q.surface == "slack" else None
        understood = self.understanding.decide(q, text, inv, context, self.default_env, channel_env)
        base = {"user": q.user, "channel": q.place, "surface": q.surface, "question": text[:MAX_AUDIT_QUESTION]}
        if isinstance(understood, Help):
            self._audit(
                **base,
                environment=understood.environment,
                modules=[],
                hosts=[],
                commands=[],
                outcome="not-about-campaign" if understood.not_campaign else "help",
            )
            return understood
        if isinstance(understood, Refusal):
            self._audit(
                **base,
                environment=understood.environment,
                modules=[],
                hosts=[],
                commands=[],
                outcome=f"refused-{understood.why}",
                reason=understood.reason,
            )
            return understood
        if isinstance(understood, Clarify):
            env = inv.environment(understood.environment)
            allowed = self._access(env, q.user, q.place, q.trusted)
            if not allowed.allowed:
                return self._refuse_access(base, env, allowed, [c.module for c in understood.candidates])
            if q.thread:
                self.store.put(
                    "thread",
                    q.thread,
                    Context(env.name, (), "symptom", text).public(),
                    ttl_s=THREAD_TTL_S,
                )
            self._audit(
                **base,
                environment=env.name,
                modules=[c.module for c in understood.candidates],
                hosts=[],
                commands=[],
                outcome="clarify",
            )
            return understood
        return self.run(understood, q, listener, base)

    def _refuse_access(
        self, base: dict[str, Any], env: Environment, decision: AccessDecision, modules: list[str]
    ) -> Refusal:
        self._audit(
            **base,
            environment=env.name,
            modules=modules,
            hosts=[],
            commands=[],
            outcome="refused",
            reason=decision.reason,
        )
        return Refusal(why="access", reason=decision.reason, environment=env.name)

    def run(self, d: Decision, q: Question, listener: Listener | None, base: dict[str, Any] | None = None) -> Reply:
        """Check access, run the decision's checks, remember the thread, audit, offer actions."""
        base = base or {
            "user": q.user,
            "channel": q.place,
            "surface": q.surface,
            "question": d.plan.question[:MAX_AUDIT_QUESTION],
        }
        env = d.env
        allowed = self._access(env, q.user, q.place, q.trusted)
        if not allowed.allowed:
            return self._refuse_access(base, env, allowed, list(d.plan.modules))
        if not d.modules:
            return Help(environment=env.name, environments=(), modules=tuple(self.kb.names), not_campaign=False)
        # An instance the inventory does not list (it lists none: they are read from the hosts) is
        # looked up on each host rather than taken as typed.
        read_instance = d.instance if d.instance is not None and not env.instances else None
        if d.instance is not None:
            env = env.model_copy(update={"instances": (d.instance,)})
        if listener is not None:
            listener.on_plan(d.plan)
        diagnosis = self.diagnoser.check(
            d.modules,
            env,
            hosts=d.hosts,
            on_finding=listener.on_finding if listener is not None else None,
            label=d.plan.question,
            matches=d.plan.matches,
            read_instance=read_instance,
        )
        # Thread context and audit first: a follow-up may come the moment the answer shows.
        try:
            self._save_context(q.thread, d.plan, d.hosts[0].name if d.hosts and len(d.hosts) == 1 else None)
        except StoreError as e:
            log.warning("thread context not saved: %s", e)
        audit_problem = self._audit(
            **base,
            environment=env.name,
            modules=list(d.plan.modules),
            hosts=list(diagnosis.hosts),
            commands=list(diagnosis.commands),
            outcome=diagnosis.status,
            verdict=diagnosis.verdict,
            intent=d.plan.intent,
        )
        direct = running_sentences(diagnosis, d) if d.plan.intent == "running" else ()
        offers = () if q.trusted else self._offer_actions(diagnosis, env, q)
        notes = (f"Note: {audit_problem}.",) if audit_problem else ()
        return Answer(plan=d.plan, diagnosis=diagnosis, direct=direct, offers=offers, notes=notes)

    def _offer_actions(self, d: Diagnosis, env: Environment, q: Question) -> tuple[tuple[int, str], ...]:
        if not may_act(env, q.user).allowed:
            return ()
        out: list[tuple[int, str]] = []
        for i, s in enumerate(d.next_steps):
            if s.risk != Risk.CHANGES_STATE or not s.host or not s.module or not s.step_id:
                continue
            if not actionable(s.command, self.kb):
                continue
            action_id = secrets.token_urlsafe(12)
            data = {
                "env": env.name,
                "host": s.host,
                "module": s.module,
                "step": s.step_id,
                "command": s.command,
                "channel": q.place,
                "thread": q.thread,
                "offered_to": q.user,
            }
            try:
                self.store.put("action", action_id, data, ttl_s=ACTION_TTL_S)
            except StoreError as e:
                log.warning("action not offered: %s", e)
                return tuple(out)
            out.append((i, action_id))
        return tuple(out)

    # ------------------------------------------------------------------ for the watch and alert surfaces
    def may_check(self, env_name: str, user: str, place: str) -> AccessDecision:
        """Whether `user` may run read-only checks (and act on alerts) in `env_name`."""
        inv = self._current_inventory()
        if isinstance(inv, Refusal):
            return AccessDecision(False, inv.reason)
        env = inv.find_environment(env_name)
        if env is None:
            return AccessDecision(False, f"unknown environment {env_name!r}")
        return self._access(env, user, place, False)

    def audit_event(self, **fields: Any) -> str | None:
        """Record an event of another surface (alert buttons, alert intake); None when written."""
        return self._audit(**fields)

    def investigate(
        self,
        env_name: str,
        host_name: str,
        module: str | None,
        *,
        user: str,
        place: str,
        thread: str | None,
        surface: Surface = "slack",
        listener: Listener | None = None,
        label: str = "",
        trusted: bool = False,
    ) -> Reply:
        """The full diagnosis of one host (and module) of an alert, as an answer in the alert's thread.

        `trusted` is for the monitoring systems that authenticated with the alert token (not people).
        """
        inv = self._current_inventory()
        if isinstance(inv, Refusal):
            return inv
        env = inv.find_environment(env_name)
        if env is None:
            return Refusal(
                why="unknown_environment",
                reason=f"unknown environment {env_name!r}",
                known=tuple(sorted(inv.environments)),
            )
        hosts = tuple(h for h in env.hosts if h.name == host_name) or None
        if module is not None and module in self.kb.names:
            modules = tuple(select_modules([Match(module=module, score=1.0, reasons=("alert",))], self.kb))
        else:
            modules = self.understanding.host_modules()
        text = label or f"investigate {module or 'all modules'} on {host_name}"
        decision = self.understanding.decision("host" if hosts else "module", text, env, modules, hosts, (), True)
        q = Question(text=text, user=user, place=place, thread=thread, surface=surface, trusted=trusted)
        return self.run(decision, q, listener)

    # ------------------------------------------------------------------ /campaign-module
    def module_command(self, arg: str, user: str, place: str, trusted: bool = False) -> Reply:
        """`/campaign-module [MODULE[@instance]] [environment]`: a card; nothing runs from here."""
        text = " ".join(normalize(arg).split())[:200]
        if not text:
            return ModuleList()
        inv = self._current_inventory()
        if isinstance(inv, Refusal):
            return inv
        parts = text.split(" ")
        env_name: str | None = None
        if len(parts) > 1 and inv.find_environment(parts[-1]) is not None:
            env_name, text = parts[-1], " ".join(parts[:-1])
        elif len(parts) > 1:
            try:
                self.understanding.resolver.resolve(" ".join(parts[:-1]))
                return Refusal(
                    why="unknown_environment",
                    reason=f"unknown environment {parts[-1]!r}; known: {', '.join(sorted(inv.environments))}",
                    known=tuple(sorted(inv.environments)),
                )
            except UnknownModuleError:
                pass
        try:
            res = self.understanding.resolver.resolve(text)
        except UnknownModuleError as e:
            self._audit(
                user=user,
                channel=place,
                environment=env_name,
                question=f"/campaign-module {text}"[:MAX_AUDIT_QUESTION],
                modules=[],
                hosts=[],
                commands=[],
                outcome="unknown-module",
            )
            return Refusal(
                why="unknown_module",
                reason=str(e),
                suggestions=tuple(e.suggestions),
                known=() if e.suggestions else tuple(self.kb.names),
                subject=e.argument[:100],
            )
        env: Environment | None
        try:
            env = inv.environment(env_name or inv.environment_for_channel(place) or self.default_env)
        except UnknownNameError:
            env = None
        card_inst = res.instance
        if env is not None and card_inst is not None and env.instances:
            card_inst = env.known_instance(card_inst) or card_inst  # `MTA@PROD2` is mta@prod2
        if (
            env is not None
            and card_inst is not None
            and res.module.scope == "instance"
            and (not INSTANCE_RE.match(card_inst) or (env.instances and card_inst not in env.instances))
        ):
            return Refusal(
                why="unknown_instance",
                reason=f"unknown instance {res.instance!r} in {env.name}; known: {', '.join(env.instances)}",
                environment=env.name,
                known=tuple(env.instances),
            )
        can_run = env is not None and self._access(env, user, place, trusted).allowed
        return Card(module=res.module.name, instance=card_inst, environment=env.name if env else None, can_run=can_run)

    def check(
        self,
        module_arg: str,
        env_name: str | None,
        host_name: str | None,
        *,
        user: str,
        place: str,
        surface: Surface = "cli",
        trusted: bool = True,
        listener: Listener | None = None,
    ) -> Reply:
        """`campaign-bot check MODULE[@instance] [--env] [--host]`: a module's checks, names validated first."""
        inv = self._current_inventory()
        if isinstance(inv, Refusal):
            return inv
        try:
            res = self.understanding.resolver.resolve(module_arg)
        except UnknownModuleError as e:
            return Refusal(
                why="unknown_module",
                reason=str(e),
                suggestions=tuple(e.suggestions),
                known=() if e.suggestions else tuple(self.kb.names),
                subject=e.argument[:100],
            )
        wanted = env_name or self.default_env
        if env_name is None and wanted is not None and inv.find_environment(wanted) is None:
            wanted = None  # a default environment this inventory does not have (the simulated fleet)
        try:
            env = inv.environment(wanted)
        except UnknownNameError as e:
            return Refusal(why="unknown_environment", reason=str(e), known=tuple(e.known))
        inst = res.instance if res.module.scope == "instance" else None
        if inst is not None and env.instances:
            inst = env.known_instance(inst) or inst  # `MTA@PROD2` is mta@prod2, as pdump is read
        if inst is not None and (not INSTANCE_RE.match(inst) or (env.instances and inst not in env.instances)):
            return Refusal(
                why="unknown_instance",
                reason=f"unknown instance {inst!r} in {env.name}; known: {', '.join(env.instances)}",
                environment=env.name,
                known=tuple(env.instances),
            )
        hosts = None
        if host_name is not None:
            try:
                hosts = (env.host(host_name),)
            except UnknownNameError as e:
                return Refusal(
                    why="unknown_host", reason=f"{e} (in {env.name})", environment=env.name, known=tuple(e.known)
                )
        label = f"check {res.module.name}" + (f"@{inst}" if inst else "")
        decision = self.understanding.decision("module", label, env, (res.module,), hosts, (), False, instance=inst)
        q = Question(text=label, user=user, place=place, surface=surface, trusted=trusted)
        reply = self.run(decision, q, listener)
        if res.how == "typo" and isinstance(reply, Answer):
            # Never correct a name silently: say which module was checked.
            note = f"Note: read {module_arg!r} as {res.module.name}."
            reply = reply.model_copy(update={"notes": (note, *reply.notes)})
        return reply

    # ------------------------------------------------------------------ clicks
    def click(self, c: Click, listener: Listener | None = None, job: JobHandle | None = None) -> Reply:
        """A button: Run checks (from a card), a clarifying choice, or a confirmed action."""
        if c.kind == "action":
            return self._action(c, job or OneShotJob())
        decided = self.click_decision(c)
        if isinstance(decided, Refusal):
            return decided
        q = Question(text=decided.plan.question, user=c.user, place=c.place, thread=c.thread, surface=c.surface)
        return self.run(decided, q, listener)

    def click_decision(self, c: Click) -> Decision | Refusal:
        """What a Run checks or clarify button asks for, validated; a raw button value is never echoed."""
        inv = self._current_inventory()
        if isinstance(inv, Refusal):
            return inv
        bad = Refusal(why="button", reason="that button is not one of the bot's (or it is too old); ask again")
        try:
            value = json.loads(c.value)
            if not isinstance(value, dict):
                raise ValueError
            res = self.understanding.resolver.resolve(str(value["module"]))
            env = inv.find_environment(str(value.get("env") or self.default_env or inv.default_environment or ""))
            if env is None and len(inv.environments) == 1:
                env = next(iter(inv.environments.values()))
        except (ValueError, KeyError, TypeError, UnknownModuleError):
            env = None
            res = None
        inst = value.get("instance") if res is not None else None
        if (
            res is None
            or env is None
            or (
                inst is not None
                and (
                    not isinstance(inst, str)
                    or not INSTANCE_RE.match(inst)
                    or (env.instances and inst not in env.instances)
                )
            )
        ):
            self._audit(
                user=c.user,
                channel=c.place,
                question=f"(button {c.kind})",
                modules=[],
                hosts=[],
                commands=[],
                outcome="refused-bad-button",
            )
            return bad
        module = res.module
        if c.kind == "clarify":
            modules = select_modules([Match(module=module.name, score=1.0, reasons=("chosen",))], self.kb)
        else:
            modules = [module]
        label = f"check {module.name}" + (f"@{inst}" if inst else "")
        # Access is decided before anything is posted: a refused click is told to the one who clicked.
        allowed = self._access(env, c.user, c.place, False)
        if not allowed.allowed:
            base = {"user": c.user, "channel": c.place, "surface": c.surface, "question": label}
            return self._refuse_access(base, env, allowed, [m.name for m in modules])
        return self.understanding.decision(
            "module", label, env, tuple(modules), None, (), False, instance=inst if module.scope == "instance" else None
        )

    def _action(self, c: Click, job: JobHandle) -> Reply:
        action_id = c.value[:64]
        base = {"user": c.user, "channel": c.place, "surface": c.surface, "question": "(action)"}
        if job.stage in ("sending", "sent"):
            # The bot was interrupted after the command may have reached the host: never run it twice.
            was = job.data or {}
            self._audit(
                **base,
                environment=was.get("env"),
                modules=[was.get("module")],
                hosts=[was.get("host")],
                commands=[f"{was.get('host')}: {was.get('command')}"],
                outcome="action-outcome-unknown",
            )
            return ActionOutcome(
                status="unknown",
                host=str(was.get("host")),
                command=str(was.get("command")),
                user=c.user,
                detail="the bot was interrupted while this ran; check the host (nlserver pdump) before running it again",
            )
        offered = job.data if job.stage == "authorized" else self.store.get("action", action_id)
        if offered is None:
            self._audit(**base, environment=None, modules=[], hosts=[], commands=[], outcome="action-refused-expired")
            return Refusal(why="expired", reason="that action was already used or has expired")
        data: dict[str, Any] = offered
        inv = self._current_inventory()
        if isinstance(inv, Refusal):
            self._audit(
                **base,
                environment=data.get("env"),
                modules=[data.get("module")],
                hosts=[data.get("host")],
                commands=[],
                outcome="action-refused",
                reason=inv.reason,
            )
            return inv
        try:
            env = inv.environment(data["env"])
            host = env.host(data["host"])
        except (UnknownNameError, KeyError) as e:
            # Every refusal is audited: the host or environment left the inventory after the offer.
            self._audit(
                **base,
                environment=data.get("env"),
                modules=[data.get("module")],
                hosts=[data.get("host")],
                commands=[],
                outcome="action-refused",
                reason=str(e),
            )
            return Refusal(why="action", reason=str(e))
        decision = may_act(env, c.user)
        if not decision.allowed:
            # A refused click leaves the one-time id for the operator it was offered to.
            self._audit(
                **base,
                environment=env.name,
                modules=[data.get("module")],
                hosts=[host.name],
                commands=[],
                outcome="action-refused",
                reason=decision.reason,
            )
            return Refusal(why="action", reason=decision.reason, environment=env.name)
        try:
            script = action_script(host, data["command"], self.kb, data["module"], data["step"])
        except (ActionRefused, KeyError) as e:
            self._audit(
                **base,
                environment=env.name,
                modules=[data.get("module")],
                hosts=[host.name],
                commands=[],
                outcome="action-refused",
                reason=str(e),
            )
            return Refusal(why="action", reason=str(e), environment=env.name)
        if job.stage != "authorized":
            job.set_stage("authorized", data)
            if self.store.take("action", action_id) is None:
                self._audit(
                    **base,
                    environment=env.name,
                    modules=[data.get("module")],
                    hosts=[host.name],
                    commands=[],
                    outcome="action-refused-expired",
                )
                return Refusal(why="expired", reason="that action was already used or has expired")
        commands = [f"{host.name}: {script.description}"]
        # The audit record is written before the command is sent; no record, no command.
        failed = self._audit(
            **base,
            environment=env.name,
            modules=[data["module"]],
            hosts=[host.name],
            commands=commands,
            outcome="action-started",
        )
        if failed:
            return Problem(message=f"Not run: {failed}; state-changing steps need an audit record first.")
        job.set_stage("sending", data)
        result = run_action(host, script, self.transport_for)
        ok = result.error is None and result.exit_code == 0
        self._audit(
            **base,
            environment=env.name,
            modules=[data["module"]],
            hosts=[host.name],
            commands=commands,
            outcome="action-ok" if ok else "action-failed",
            exit_code=result.exit_code,
            error=result.error,
        )
        job.set_stage("sent", data)
        return ActionOutcome(
            status="done" if ok else "failed",
            host=host.name,
            command=script.description,
            user=c.user,
            output=result.output,
            exit_code=result.exit_code,
            duration_ms=result.duration_ms,
            detail=result.error or ("" if ok else f"exit {result.exit_code}"),
        )


def running_sentences(d: Diagnosis, decision: Decision) -> tuple[str, ...]:
    """ "is mta running?": one plain sentence per (module, host) from the process findings."""
    out: list[str] = []
    for f in d.findings:
        if f.check != "process" or f.module not in decision.plan.modules or f.host == "(all hosts)":
            continue
        if f.status == "ok" and "not_configured" not in f.conditions and "runs (pid" in f.summary:
            out.append(f"{f.subject} runs on {f.host} {f.summary.split(' runs ', 1)[1]}")
        elif "not_configured" in f.conditions:
            out.append(f"{f.subject} is not configured to run on {f.host}")
        elif f.status == "unknown":
            out.append(f"cannot tell whether {f.subject} runs on {f.host}: {f.summary}")
        else:
            out.append(f"{f.subject} is NOT running on {f.host}: {f.summary}")
    for f in d.findings:
        if f.status == "error" and f.module is None:
            out.append(f"cannot tell for {f.host}: {f.summary}")
    return tuple(dict.fromkeys(out))


__all__ = ["Conversation", "Identity", "JobHandle", "Listener", "NoIdentity", "OneShotJob", "running_sentences"]

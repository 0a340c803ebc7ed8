"""The Bolt app: thin listeners that ack first and hand the work to `SlackBot`, which wires the
diagnosis core to Slack (thread replies, live progress, access control, guarded actions, audit)."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.access import may_act, may_check
from bot.actions import ActionRefused, action_script, actionable, run_action
from bot.audit import AuditLog
from bot.cli import Services
from bot.diagnosis import asks_for_logs, mentioned_environment, select_modules
from bot.errors import UnknownModuleError, UnknownNameError
from bot.inventory import INSTANCE_RE, Environment
from bot.kb.models import Module, Risk
from bot.models import Diagnosis, Finding, Match
from bot.render import slack as blocks
from bot.runner import TransportFactory
from bot.slack.state import StateStore

log = logging.getLogger(__name__)

MENTION_RE = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
AGAIN_RE = re.compile(r"\b(again|re-?run|retry|refresh|opnieuw|nogmaals|nog een keer|check again)\b", re.I)
CLARIFY_GAP = 0.03  # two candidates closer than this (and not tied by the docs) -> ask which one
PROGRESS_EVERY_S = 0.7
REPORT_AS_FILE_CHARS = 2500
GROUP_CACHE_S = 300


class SlackBot:
    """Everything the listeners do; collaborators are handed in by the composition root."""

    def __init__(
        self,
        svc: Services,
        client: WebClient,
        state: StateStore,
        audit: AuditLog,
        transport_for: TransportFactory,
        default_env: str | None,
        support_channels: tuple[str, ...] = (),
    ) -> None:
        self.svc = svc
        self.kb = svc.kb
        self.client = client
        self.state = state
        self.audit = audit
        self.transport_for = transport_for
        self.default_env = default_env
        self.support_channels = set(support_channels)
        self._groups: dict[str, tuple[float, set[str]]] = {}
        self._groups_lock = threading.Lock()

    # ------------------------------------------------------------------ Slack calls
    def call(self, method: str, **kwargs: Any) -> dict[str, Any] | None:
        """A Web API call that never takes the bot down: failures are logged (without tokens)."""
        try:
            resp = getattr(self.client, method)(**kwargs)
            return dict(resp.data) if hasattr(resp, "data") and isinstance(resp.data, dict) else {}
        except SlackApiError as e:
            err = e.response.get("error") if e.response is not None else "unknown"
            log.warning("Slack %s failed: %s", method, err)
        except Exception as e:  # network, timeouts: the bot lives on
            log.warning("Slack %s failed: %s: %s", method, type(e).__name__, e)
        return None

    def react(self, channel: str, ts: str, name: str) -> None:
        self.call("reactions_add", channel=channel, timestamp=ts, name=name)

    def post(self, channel: str, thread_ts: str | None, bt: tuple[list[blocks.Block], str]) -> str | None:
        resp = self.call(
            "chat_postMessage",
            channel=channel,
            thread_ts=thread_ts,
            blocks=bt[0],
            text=bt[1],
            unfurl_links=False,
            unfurl_media=False,
        )
        return str(resp.get("ts")) if resp and resp.get("ts") else None

    def update(self, channel: str, ts: str, bt: tuple[list[blocks.Block], str]) -> None:
        self.call("chat_update", channel=channel, ts=ts, blocks=bt[0], text=bt[1])

    # ------------------------------------------------------------------ environment, access
    def environment(self, text: str, channel: str, ctx: dict[str, Any] | None) -> Environment:
        inv = self.svc.inventory
        name = (
            mentioned_environment(text, inv)
            or (ctx or {}).get("env")
            or inv.environment_for_channel(channel)
            or self.default_env
        )
        return inv.environment(name)

    def user_groups(self, user: str, env: Environment) -> set[str]:
        found = set()
        for group in env.access.groups:
            with self._groups_lock:
                cached = self._groups.get(group)
            if cached is None or time.monotonic() - cached[0] > GROUP_CACHE_S:
                resp = self.call("usergroups_users_list", usergroup=group)
                members = set(resp.get("users", [])) if resp else set()
                with self._groups_lock:
                    self._groups[group] = (time.monotonic(), members)
                cached = self._groups[group]
            if user in cached[1]:
                found.add(group)
        return found

    def check_access(self, env: Environment, user: str, channel: str) -> tuple[bool, str]:
        d = may_check(env, user, channel)
        if not d.allowed and env.access.groups:
            d = may_check(env, user, channel, self.user_groups(user, env))
        return d.allowed, d.reason

    # ------------------------------------------------------------------ jobs
    JOBS = ("event", "run_checks_button", "clarify_button", "action_button")

    def handle(self, kind: str, payload: dict[str, Any]) -> None:
        """Run one job handed over by the listeners (in this process or through the shared queue)."""
        try:
            if kind == "event":
                # Slack re-delivers events it thinks were missed. Every delivery was acked at once;
                # only the first one, deployment-wide, is answered.
                event_id = payload.get("event_id")
                if not event_id or self.state.first_time(str(event_id)):
                    self.on_message(payload["event"])
            elif kind in self.JOBS:
                getattr(self, kind)(payload)
            else:
                log.error("unknown job kind %r", kind)
        except Exception:  # one bad job must not stop the worker
            log.exception("job %s failed", kind)

    # ------------------------------------------------------------------ questions
    def on_message(self, event: dict[str, Any]) -> None:
        """An @mention, a DM or a message in a support channel: answer in its thread."""
        text = MENTION_RE.sub(" ", event.get("text") or "").strip()
        channel = event["channel"]
        ts = event["ts"]
        parent = event.get("thread_ts") or ts
        user = event.get("user", "")
        self.react(channel, ts, "eyes")
        ctx = self.state.thread(channel, parent) if event.get("thread_ts") else None
        try:
            env = self.environment(text, channel, ctx)
        except UnknownNameError as e:
            self.post(channel, parent, ([blocks.section(f":grey_question: {blocks.escape(str(e))}")], str(e)))
            return
        matches = self.svc.matcher.match(text)
        modules: list[Module]
        if matches:
            modules = select_modules(matches, self.kb)
        elif ctx and (AGAIN_RE.search(text) or mentioned_environment(text, self.svc.inventory)):
            modules = [self.kb.get(n) for n in ctx.get("modules", [])]  # "check again", "and on staging?"
        else:
            self.post(channel, parent, blocks.help_blocks(self.kb, env.name))
            self.audit.record(
                user=user,
                channel=channel,
                environment=env.name,
                question=text,
                modules=[],
                hosts=[],
                commands=[],
                outcome="not-about-campaign",
            )
            return
        allowed, reason = self.check_access(env, user, channel)
        if not allowed:
            self.audit.record(
                user=user,
                channel=channel,
                environment=env.name,
                question=text,
                modules=[m.name for m in modules],
                hosts=[],
                commands=[],
                outcome="refused",
                reason=reason,
            )
            self.post(channel, parent, blocks.refusal_blocks(reason, env.name))
            self.react(channel, ts, "no_entry_sign")
            return
        if self._ambiguous(matches):
            self.post(channel, parent, blocks.clarify_blocks(text, matches[:2], env.name, self.kb))
            self.state.save_thread(channel, parent, {"env": env.name, "modules": [], "question": text})
            return
        d = self.run_checks(text, env, modules, matches, channel, parent, user)
        self.react(channel, ts, "white_check_mark" if d.status in ("ok", "warn") else "x")

    def _ambiguous(self, matches: list[Match]) -> bool:
        if len(matches) < 2 or matches[0].mentioned:
            return False
        a, b = matches[0], matches[1]
        tied = b.module in self.kb.get(a.module).related or a.module in self.kb.get(b.module).related
        return not tied and a.score - b.score < CLARIFY_GAP

    def run_checks(
        self,
        text: str,
        env: Environment,
        modules: list[Module],
        matches: list[Match],
        channel: str,
        parent: str,
        user: str,
    ) -> Diagnosis:
        hosts = [h.name for h in env.hosts]
        names = [m.name for m in modules]
        done: dict[str, str] = {}
        seen_per_host: dict[str, list[Finding]] = {}
        progress_ts = self.post(
            channel, parent, blocks.progress_blocks(text, env.name, env.simulated, matches, names, hosts, {}, self.kb)
        )
        lock = threading.Lock()
        last = [0.0]

        def on_finding(f: Finding) -> None:
            with lock:
                seen_per_host.setdefault(f.host, []).append(f)
                order = {"ok": 0, "warn": 1, "fail": 2, "error": 3}
                done[f.host] = max((x.status for x in seen_per_host[f.host]), key=lambda s: order[s])
                now = time.monotonic()
                if (
                    progress_ts
                    and (now - last[0] >= PROGRESS_EVERY_S or len(done) == len(hosts))
                    and len(done) < len(hosts)
                ):
                    last[0] = now
                    snapshot = dict(done)
                else:
                    return
            self.update(
                channel,
                progress_ts,
                blocks.progress_blocks(text, env.name, env.simulated, matches, names, hosts, snapshot, self.kb),
            )

        assert self.svc.diagnoser is not None
        if matches:
            d = self.svc.diagnoser.diagnose(text, env, on_finding=on_finding, matches=matches)
        else:
            d = self.svc.diagnoser.check(modules, env, on_finding=on_finding, label=text)
        action_ids = self._offer_actions(d, env, user, channel, parent)
        report = blocks.raw_report(d, self.kb)
        note = ""
        if len(report) > REPORT_AS_FILE_CHARS or asks_for_logs(text):
            up = self.call(
                "files_upload_v2",
                channel=channel,
                thread_ts=parent,
                content=report,
                filename=f"campaign-bot-{env.name}-{int(time.time())}.txt",
                title=f"Full report ({env.name})",
            )
            note = (
                ":page_facing_up: Full report with all evidence and the logs' last lines attached in this thread."
                if up is not None
                else ""
            )
        # Thread context and audit record first: a follow-up may come the moment the answer shows.
        self.state.save_thread(channel, parent, {"env": env.name, "modules": names, "question": text})
        self.audit.record(
            user=user,
            channel=channel,
            environment=env.name,
            question=text,
            modules=names,
            hosts=d.hosts,
            commands=d.commands,
            outcome=d.status,
            verdict=d.verdict,
        )
        final = blocks.result_blocks(d, self.kb, action_ids, note)
        if progress_ts:
            self.update(channel, progress_ts, final)
        else:
            self.post(channel, parent, final)
        return d

    def _offer_actions(self, d: Diagnosis, env: Environment, user: str, channel: str, parent: str) -> dict[int, str]:
        if not may_act(env, user).allowed:
            return {}
        out: dict[int, str] = {}
        for i, s in enumerate(d.next_steps):
            if s.risk != Risk.CHANGES_STATE or not s.host or not s.module or not s.step_id:
                continue
            if not actionable(s.command, self.kb):
                continue
            out[i] = self.state.offer_action(
                {
                    "env": env.name,
                    "host": s.host,
                    "module": s.module,
                    "step": s.step_id,
                    "command": s.command,
                    "channel": channel,
                    "thread_ts": parent,
                    "offered_to": user,
                }
            )
        return out

    # ------------------------------------------------------------------ /campaign-module
    def module_command(self, text: str, user: str, channel: str) -> tuple[list[blocks.Block], str]:
        """The command's answer (sent in the ack). Nothing runs from here: checks need the button."""
        text = " ".join(text.split())[:200]
        if not text:
            return blocks.modules_blocks(self.kb)
        inv = self.svc.inventory
        parts = text.split(" ")
        env_name = None
        if len(parts) > 1 and parts[-1] in inv.environments:
            env_name, text = parts[-1], " ".join(parts[:-1])
        try:
            res = self.svc.resolver.resolve(text)
        except UnknownModuleError as e:
            self.audit.record(
                user=user,
                channel=channel,
                environment=env_name,
                question=f"/campaign-module {text}",
                modules=[],
                hosts=[],
                commands=[],
                outcome="unknown-module",
            )
            hint = f" Did you mean {', '.join(f'`{s}`' for s in e.suggestions)}?" if e.suggestions else ""
            msg = f":grey_question: Unknown module `{blocks.escape(text[:60])}`.{hint} Try `/campaign-module` for the list."
            return [blocks.section(msg)], msg
        try:
            env = inv.environment(env_name or inv.environment_for_channel(channel) or self.default_env)
            can_run = self.check_access(env, user, channel)[0]
            env_label: str | None = env.name
        except UnknownNameError:
            can_run, env_label = False, None
        return blocks.card_blocks(res.module, res.instance, env_label, can_run)

    def run_checks_button(self, body: dict[str, Any]) -> None:
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id") or body.get("container", {}).get("channel_id", "")
        try:
            value = json.loads(body["actions"][0]["value"])
            res = self.svc.resolver.resolve(str(value["module"]))
            env = self.svc.inventory.environment(value.get("env") or self.default_env)
            inst = value.get("instance")
        except (ValueError, KeyError, TypeError, UnknownModuleError, UnknownNameError) as e:
            self.call("chat_postEphemeral", channel=channel, user=user, text=f"Cannot run that: {e}")
            return
        if inst is not None and (
            not isinstance(inst, str) or not INSTANCE_RE.match(inst) or (env.instances and inst not in env.instances)
        ):
            self.call(
                "chat_postEphemeral",
                channel=channel,
                user=user,
                text=f"Unknown instance {str(inst)[:40]!r} in {env.name}",
            )
            return
        allowed, reason = self.check_access(env, user, channel)
        if not allowed:
            self.call(
                "chat_postEphemeral", channel=channel, user=user, text=f"I can't run checks on {env.name}: {reason}."
            )
            return
        if inst is not None and res.module.scope == "instance":
            env = env.model_copy(update={"instances": (inst,)})
        parent = self.post(
            channel,
            None,
            (
                [blocks.section(f":mag: Checks of *{res.module.name}* on *{env.name}*, asked by <@{user}>")],
                f"Checks of {res.module.name} on {env.name}",
            ),
        )
        if parent:
            d = self.run_checks(f"check {res.module.name}", env, [res.module], [], channel, parent, user)
            self.react(channel, parent, "white_check_mark" if d.status in ("ok", "warn") else "x")

    def clarify_button(self, body: dict[str, Any]) -> None:
        user = body["user"]["id"]
        channel = body["channel"]["id"]
        msg = body.get("message") or {}
        parent = msg.get("thread_ts") or msg.get("ts") or body.get("container", {}).get("message_ts")
        try:
            value = json.loads(body["actions"][0]["value"])
            module = self.svc.resolver.resolve(str(value["module"])).module
            env = self.svc.inventory.environment(value.get("env"))
        except (ValueError, KeyError, TypeError, UnknownModuleError, UnknownNameError):
            return
        allowed, reason = self.check_access(env, user, channel)
        if not allowed:
            self.post(channel, parent, blocks.refusal_blocks(reason, env.name))
            return
        modules = select_modules([Match(module=module.name, score=1.0, reasons=("chosen",))], self.kb)
        self.run_checks(f"check {module.name}", env, modules, [], channel, str(parent), user)

    # ------------------------------------------------------------------ guarded actions
    def action_button(self, body: dict[str, Any]) -> None:
        user = body["user"]["id"]
        channel = body["channel"]["id"]
        action_id = str(body["actions"][0].get("value", ""))[:64]
        data = self.state.take_action(action_id)
        if data is None:
            self.call(
                "chat_postEphemeral", channel=channel, user=user, text="That action was already used or has expired."
            )
            return
        try:
            env = self.svc.inventory.environment(data["env"])
            host = env.host(data["host"])
        except UnknownNameError as e:
            self.call("chat_postEphemeral", channel=channel, user=user, text=str(e))
            return
        decision = may_act(env, user)
        thread = data.get("thread_ts")
        if not decision.allowed:
            self._audit_action(user, channel, env, data, host.name, [], "action-refused", reason=decision.reason)
            self.post(
                channel,
                thread,
                ([blocks.section(f":no_entry_sign: Not run: {decision.reason}.")], f"Not run: {decision.reason}."),
            )
            return
        try:
            script = action_script(host, data["command"], self.kb, data["module"], data["step"])
        except (ActionRefused, KeyError) as e:
            self.post(
                channel,
                thread,
                ([blocks.section(f":no_entry_sign: Not run: {blocks.escape(str(e))}")], f"Not run: {e}"),
            )
            return
        self.post(
            channel,
            thread,
            (
                [blocks.section(f":gear: <@{user}> confirmed: running `{script.description}` on *{host.name}*…")],
                f"Running {script.description} on {host.name}",
            ),
        )
        result = run_action(host, script, self.transport_for)
        ok = result.error is None and result.exit_code == 0
        status = "done" if ok else ("failed: " + (result.error or f"exit {result.exit_code}"))
        out = blocks.escape(result.output.strip()[-2500:]) or "(no output)"
        text = f"{':white_check_mark:' if ok else ':x:'} `{script.description}` on *{host.name}* {status} ({result.duration_ms} ms)\n```{out}```"
        # The audit record is written before anyone can see the result.
        commands = [f"{host.name}: {script.description}"]
        outcome = "action-ok" if ok else "action-failed"
        self._audit_action(user, channel, env, data, host.name, commands, outcome, exit_code=result.exit_code)
        self.post(channel, thread, ([blocks.section(text)], f"{script.description} on {host.name}: {status}"))

    def _audit_action(
        self,
        user: str,
        channel: str,
        env: Environment,
        data: dict[str, Any],
        host: str,
        commands: list[str],
        outcome: str,
        **extra: Any,
    ) -> None:
        self.audit.record(
            user=user,
            channel=channel,
            environment=env.name,
            question="(action)",
            modules=[data["module"]],
            hosts=[host],
            commands=commands,
            outcome=outcome,
            **extra,
        )


def build_app(
    bot: SlackBot,
    *,
    client: WebClient,
    signing_secret: str | None,
    executor: Executor,
    submit: Callable[[str, dict[str, Any]], None],
    socket_mode: bool = False,
) -> App:
    """The Bolt app with its listeners. Listeners only route: events and clicks become jobs for
    `submit` (a worker process through the shared queue, or `bot.handle` on a thread)."""
    app = App(
        client=client,
        signing_secret=signing_secret or "socket-mode",
        request_verification_enabled=not socket_mode,
        process_before_response=False,
        listener_executor=executor,
        raise_error_for_unhandled_request=False,
    )

    @app.middleware
    def drop_bots(body: dict[str, Any], next: Callable[[], Any]) -> Any:
        event = body.get("event") or {}
        if event.get("bot_id") or event.get("subtype") in ("bot_message", "message_changed", "message_deleted"):
            return BoltResponse(status=200, body="")
        return next()

    @app.event("app_mention")
    def on_mention(body: dict[str, Any]) -> None:
        submit("event", {"event_id": body.get("event_id"), "event": body["event"]})

    @app.event("message")
    def on_message(event: dict[str, Any], body: dict[str, Any], context: dict[str, Any]) -> None:
        if event.get("subtype"):
            return
        text = event.get("text") or ""
        bot_user = context.get("bot_user_id")
        if bot_user and f"<@{bot_user}>" in text:
            return  # the app_mention event answers it
        if event.get("channel_type") == "im" or event.get("channel") in bot.support_channels:
            submit("event", {"event_id": body.get("event_id"), "event": event})

    @app.command("/campaign-module")
    def on_command(ack: Callable[..., None], command: dict[str, Any]) -> None:
        try:
            bl, fallback = bot.module_command(
                command.get("text", ""), command.get("user_id", ""), command.get("channel_id", "")
            )
        except Exception:  # the ack must go out whatever happens
            log.exception("/campaign-module failed")
            bl, fallback = (
                [blocks.section("Something went wrong; the error is in the bot's log.")],
                "Something went wrong.",
            )
        ack(blocks=bl, text=fallback)

    @app.action("run_checks")
    def on_run_checks(ack: Callable[..., None], body: dict[str, Any]) -> None:
        ack()
        submit("run_checks_button", body)

    @app.action(re.compile(r"^clarify:"))
    def on_clarify(ack: Callable[..., None], body: dict[str, Any]) -> None:
        ack()
        submit("clarify_button", body)

    @app.action(re.compile(r"^act:"))
    def on_act(ack: Callable[..., None], body: dict[str, Any]) -> None:
        ack()
        submit("action_button", body)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("listener error: %s: %s", type(error).__name__, error)

    return app

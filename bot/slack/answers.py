"""What a worker does with an accepted Slack question or click: ask the core, show the reply.

Every accepted question ends visibly in its thread: the answer, or an explained error and ❌,
whatever failed. A question run again after an interruption updates the same message and says so.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Literal

from bot.conversation.core import Conversation
from bot.conversation.replies import Answer, Click, Plan, Question, Refusal, Reply
from bot.errors import JobLost
from bot.jobs.engine import JobContext
from bot.jobs.ledger import JobRecord
from bot.kb.models import KnowledgeBase
from bot.models import STATUS_ORDER, Finding
from bot.present import slack as present
from bot.redact import redact
from bot.render import slack as blocks
from bot.slack.alerts import AlertButtons
from bot.slack.calls import SlackCalls

log = logging.getLogger(__name__)

MENTION_PREFIX = "<@"
PROGRESS_EVERY_S = 0.7
REPORT_AS_FILE_CHARS = 2500
ANSWER_TAG = "campaign_bot_answer"  # message metadata of a question's first reply: {"job": <job id>}
HEAD_STAGE = "head"  # a Run checks click's job stage: the thread it opened ({"channel": ..., "ts": ...})
_CANNOT_POST = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action"})


class Progress:
    """The core's `Listener` on Slack: the first reply names the plan, then is updated as hosts finish."""

    def __init__(
        self, calls: SlackCalls, kb: KnowledgeBase, channel: str, thread_ts: str, job: JobContext | None
    ) -> None:
        self.calls = calls
        self.kb = kb
        self.channel = channel
        self.thread_ts = thread_ts
        self.job = job
        self.ts: str | None = job.message["ts"] if job is not None and job.message else None
        self.note = present.INTERRUPTED_NOTE if job is not None and job.interrupted_before else ""
        self.plan: Plan | None = None
        self._done: dict[str, str] = {}
        self._lock = threading.Lock()
        self._last = 0.0

    def on_plan(self, plan: Plan) -> None:
        self.plan = plan
        msg = present.progress(plan, {}, self.kb, self.note)
        job = self.job
        if self.ts is None and job is not None and job.interrupted_before:
            # Killed between posting its first reply and recording where: that reply is in the thread,
            # tagged with the job's id; answer there rather than leave it "Checking…" forever.
            self.ts = self.calls.find_tagged(self.channel, self.thread_ts, ANSWER_TAG, "job", job.record.id)
            if self.ts is not None:
                job.set_message(self.channel, self.ts)
        if self.ts is not None and self.calls.update(self.channel, self.ts, msg):
            return
        tag = {"event_type": ANSWER_TAG, "event_payload": {"job": job.record.id}} if job is not None else None
        self.ts = self.calls.post(self.channel, self.thread_ts, msg, metadata=tag)
        if self.ts is not None and job is not None:
            job.set_message(self.channel, self.ts)

    def on_finding(self, f: Finding) -> None:
        if self.plan is None or self.ts is None:
            return
        with self._lock:
            prev = self._done.get(f.host)
            if prev is None or STATUS_ORDER[f.status] > STATUS_ORDER[prev]:
                self._done[f.host] = f.status
            now = time.monotonic()
            if now - self._last < PROGRESS_EVERY_S or len(self._done) >= len(self.plan.hosts):
                return
            self._last = now
            snapshot = dict(self._done)
        if self.job is not None and not self.job.still_ours():
            return  # another worker runs the job again: its reply must not go back to "Checking…"
        # Cosmetic: a rate-limited progress update is skipped (the next one or the answer says more),
        # never waited for while the run's results wait behind it.
        self.calls.update(
            self.channel, self.ts, present.progress(self.plan, snapshot, self.kb, self.note), cosmetic=True
        )


class SlackAnswers:
    """Job handlers for `question` and `click` jobs."""

    def __init__(
        self, core: Conversation, calls: SlackCalls, kb: KnowledgeBase, alerts: AlertButtons | None = None
    ) -> None:
        self.core = core
        self.calls = calls
        self.kb = kb
        self.alerts = alerts

    # ------------------------------------------------------------------ questions
    def question(self, job: JobContext) -> None:
        event: dict[str, Any] = job.record.payload.get("event") or {}
        if not event.get("channel") or not event.get("ts"):
            # A signed event Slack would never send (no channel or ts): there is no thread to answer in.
            log.warning("question %s has no channel or ts: nowhere to answer, dropped", job.record.id)
            return
        channel = str(event["channel"])
        ts = str(event["ts"])
        parent = str(event.get("thread_ts") or ts)
        if not job.interrupted_before:
            self.calls.react(channel, ts, "eyes")
        progress = Progress(self.calls, self.kb, channel, parent, job)
        try:
            q = Question(
                text=str(event.get("text") or ""),
                user=str(event.get("user") or ""),
                place=channel,
                thread=f"{channel}:{parent}",
                surface="slack",
            )
            reply = self.core.ask(q, progress)
            if not job.still_ours():
                raise JobLost(f"job {job.record.id} is another worker's now")
            shown = self.show(reply, channel, parent, progress, user=q.user)
            self.calls.react(channel, ts, "white_check_mark" if shown and present.ok_status(reply) else "x")
        except JobLost:
            raise  # the worker that runs it now answers; nothing more from this one
        except Exception as e:
            self.fail(channel, parent, ts, progress.ts, e)
            raise

    def show(
        self,
        reply: Reply,
        channel: str,
        parent: str,
        progress: Progress | None,
        response_url: str | None = None,
        user: str | None = None,
    ) -> bool:
        """Post (or put in place of the progress message) the reply; attach the full report when long.
        `user` (who asked or clicked) is the only person a refusal in it may mention.

        Returns whether the reply itself was shown. When Slack refuses it (both the update and a new
        message: too long, blocks it will not take), a short explained error takes its place, so the
        thread never stays on "Checking…", and the caller ends with ❌."""
        notes: tuple[str, ...] = ()
        attached = False
        if isinstance(reply, Answer):
            notes = reply.notes
            if progress is not None and progress.note:
                # The answer replaces the progress reply that said so: it says it too, or a re-run's answer
                # reads as if nothing had happened.
                notes = (*notes, progress.note)
            report = redact(blocks.raw_report(reply.diagnosis, self.kb))
            if len(report) > REPORT_AS_FILE_CHARS or reply.plan.show_logs:
                name = f"campaign-bot-{reply.plan.environment}-{int(time.time())}.txt"
                attached = self.calls.upload(channel, parent, report, name, f"Full report ({reply.plan.environment})")
                if attached:
                    notes = (
                        *notes,
                        ":page_facing_up: Full report with all evidence and the logs' last lines attached in this thread.",
                    )
        msg = present.reply(reply, self.kb, notes, user, attached)
        progress_ts = progress.ts if progress else None
        ts = self.calls.update_or_post(channel, parent, progress_ts, msg)
        if ts is not None:
            return True
        if response_url and self.calls.respond(response_url, msg):
            return True
        error = self.calls.last_error
        log.error("could not show the answer in %s (%s)", channel, error)
        short = present.problem(
            f"Slack refused the answer ({error or 'no reason given'}); the checks ran and their verdict "
            "is in the bot's audit log. Ask again, or run `campaign-bot diagnose` on the bot's machine."
        )
        if self.calls.update_or_post(channel, parent, progress_ts, short) is None:
            log.error("could not show an error in %s either (%s)", channel, self.calls.last_error)
        return False

    def fail(self, channel: str, parent: str, ts: str | None, progress_ts: str | None, e: BaseException) -> None:
        """An explained error in the thread, and ❌ (never silence)."""
        log.error("answer failed: %s", type(e).__name__)
        msg = present.problem(f"an internal error ({type(e).__name__}) stopped the checks; it is in the bot's log")
        self.calls.update_or_post(channel, parent, progress_ts, msg)
        if ts:
            self.calls.react(channel, ts, "x")

    def gave_up(self, record: JobRecord) -> None:
        """A job interrupted too often: say so where it was asked."""
        where = _where(record)
        if where is None:
            return
        channel, parent, ts = where
        msg = present.problem("the checks were interrupted several times (the bot restarted); ask again in a minute")
        progress_ts = record.message["ts"] if record.message else None
        self.calls.update_or_post(channel, parent, progress_ts, msg)
        if ts:
            self.calls.react(channel, ts, "x")

    # ------------------------------------------------------------------ clicks
    def click(self, job: JobContext) -> None:
        body: dict[str, Any] = job.record.payload["body"]
        user = str((body.get("user") or {}).get("id") or "")
        channel = str((body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or "")
        action = (body.get("actions") or [{}])[0]
        action_id = str(action.get("action_id") or "")
        value = str(action.get("value") or "")
        message = body.get("message") or {}
        parent = str(
            message.get("thread_ts") or message.get("ts") or (body.get("container") or {}).get("message_ts") or ""
        )
        response_url = body.get("response_url")
        if action_id.startswith("alert:") and self.alerts is not None:
            self._alert_button(action_id, value, user, channel, response_url)
            return
        kind: Literal["run_checks", "clarify", "action"] = (
            "action"
            if action_id.startswith("act:")
            else "clarify"
            if action_id.startswith("clarify:")
            else "run_checks"
        )
        if kind == "run_checks":
            # From a card (an ephemeral answer to /campaign-module): the checks get a thread of their own,
            # whose first message names what was validated (never the raw button value).
            decided = self.core.click_decision(Click(kind=kind, value=value, user=user, place=channel))
            if isinstance(decided, Refusal):
                self.tell(channel, user, present.refusal(decided, self.kb, user), response_url)
                return
            # The head message is the job's stage ("head"); the job's message is its progress reply, as
            # for a question, so a run again after a killed worker updates both instead of posting anew.
            parent = str((job.data or {}).get("ts") or "") if job.stage == HEAD_STAGE else ""
            if not parent:
                posted = self.calls.post(channel, None, _checks_head(decided.plan, user))
                if posted is None:
                    if self.calls.last_error in _CANNOT_POST and isinstance(response_url, str):
                        self._click_via_response_url(kind, value, user, channel, response_url, job)
                        return
                    raise RuntimeError(f"cannot post in {channel}: {self.calls.last_error}")
                parent = posted
                job.set_stage(HEAD_STAGE, {"channel": channel, "ts": parent})
        c = Click(kind=kind, value=value, user=user, place=channel, thread=f"{channel}:{parent}" if parent else None)
        # Checks from a button answer in one progress reply, tied to the job: a killed worker's re-run
        # finds it (and says it ran again), never leaving it on "Checking…" beside a second answer.
        progress = Progress(self.calls, self.kb, channel, parent, job) if kind != "action" else None
        try:
            reply = self.core.click(c, progress, job)
            if not job.still_ours():
                raise JobLost(f"job {job.record.id} is another worker's now")
            if isinstance(reply, Refusal):
                # Only the person who clicked needs to know (why not, expired, not a button of ours):
                # the thread stays clean; where the bot is no member, the response URL carries it.
                self.tell(channel, user, present.refusal(reply, self.kb, user), response_url)
                return
            url = response_url if isinstance(response_url, str) else None
            shown = self.show(reply, channel, parent, progress, url, user)
            if kind == "run_checks" and parent:
                self.calls.react(channel, parent, "white_check_mark" if shown and present.ok_status(reply) else "x")
        except JobLost:
            raise
        except Exception as e:
            self.fail(channel, parent, None, progress.ts if progress else None, e)
            raise

    def tell(self, channel: str, user: str, msg: present.Message, response_url: object) -> None:
        """An answer only the person who clicked sees: an ephemeral message, or, where the bot cannot
        post one (not a member of the channel, an archived one), the interaction's response URL."""
        self.calls.ephemeral(channel, user, msg[1])
        if self.calls.last_error is None:
            return
        error = self.calls.last_error
        if isinstance(response_url, str) and self.calls.respond(response_url, msg):
            return
        log.error("could not tell %s in %s (%s)", user, channel, error)

    def _alert_button(self, action_id: str, value: str, user: str, channel: str, response_url: object = None) -> None:
        refusal, answer = self.alerts.press(action_id, value, user, channel) if self.alerts else (None, None)
        if refusal is not None:
            # Only the person who pressed needs to know why; the alert thread stays clean.
            self.tell(channel, user, present.refusal(refusal, self.kb, user), response_url)
            return
        if isinstance(answer, Answer | Refusal):
            alert = self.alerts.watch.get(value[:64]) if self.alerts else None
            if alert is not None and alert.channel and alert.ts:
                progress = None
                self.show(answer, alert.channel, alert.ts, progress, user=user)

    def _click_via_response_url(
        self,
        kind: Literal["run_checks", "clarify", "action"],
        value: str,
        user: str,
        channel: str,
        response_url: str,
        job: JobContext,
    ) -> None:
        """The bot is not in the channel: run the checks and answer through the response URL."""
        c = Click(kind=kind, value=value, user=user, place=channel)
        self.calls.respond(response_url, ([blocks.section(":mag: Running the checks…")], "Running the checks…"))
        reply = self.core.click(c, None, job)
        self.calls.respond(response_url, present.reply(reply, self.kb, user=user))


def _checks_head(plan: Plan, user: str) -> tuple[list[blocks.Block], str]:
    """The parent message of checks started from a card: what, where, asked by whom."""
    module = ", ".join(plan.modules)
    text = f":mag: Checks of *{blocks.esc(module, 80)}* on *{blocks.esc(plan.environment, 60)}*, asked by <@{blocks.esc(user, 30)}>"
    return [blocks.section(text)], blocks.fallback(f"Checks of {module} on {plan.environment}")


def _where(record: JobRecord) -> tuple[str, str, str | None] | None:
    """(channel, thread, message to react on) of a job: the question's thread, a Run checks head, or the
    thread of the message the button was on."""
    if record.kind == "question":
        ev = record.payload.get("event") or {}
        channel, ts = ev.get("channel"), ev.get("ts")
        if channel and ts:
            return str(channel), str(ev.get("thread_ts") or ts), str(ts)
    if record.kind == "click":
        head = record.stage_data or {}
        if record.stage == HEAD_STAGE and head.get("channel") and head.get("ts"):
            return str(head["channel"]), str(head["ts"]), None
        body = record.payload.get("body") or {}
        channel = (body.get("channel") or {}).get("id")
        msg = body.get("message") or {}
        parent = msg.get("thread_ts") or msg.get("ts")
        if channel and parent:
            return str(channel), str(parent), None
    if record.message:
        return record.message["channel"], record.message["ts"], None
    return None

"""Alert threads in Slack: the watch's `Notifier`, and the Snooze / Acknowledge / Investigate buttons."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.conversation.core import Conversation
from bot.conversation.replies import Refusal
from bot.kb.models import KnowledgeBase
from bot.models import Diagnosis
from bot.present import slack as present
from bot.redact import redact
from bot.slack.calls import SlackCalls
from bot.watch.engine import Watch
from bot.watch.model import AlertState

log = logging.getLogger(__name__)


# What to do about the Slack errors that keep an alert thread from being posted.
_POST_HINTS = {
    "not_in_channel": "invite the bot to the channel",
    "channel_not_found": "check watch.channel (or CAMPAIGN_BOT_ALERT_CHANNEL): no such channel for this bot",
    "is_archived": "the channel is archived: set another watch.channel",
    "not_authed": "check SLACK_BOT_TOKEN",
    "invalid_auth": "check SLACK_BOT_TOKEN",
    "missing_scope": "the bot needs the chat:write scope",
    "ratelimited": "Slack is rate limiting the bot",
}


class SlackAlerts:
    """Posts alert threads in the environment's `watch.channel` (else CAMPAIGN_BOT_ALERT_CHANNEL).

    An alert that joined another one's thread (`joined`) posts in it and never rewrites its root."""

    def __init__(
        self,
        calls: SlackCalls,
        kb: KnowledgeBase,
        channel_for: Callable[[str], str | None],
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.calls = calls
        self.kb = kb
        self.channel_for = channel_for
        self.clock = clock  # the watch's clock, for "snoozed until" (None: as the watch stored it)

    def _now(self) -> float | None:
        return self.clock() if self.clock is not None else None

    def opened(self, alert: AlertState, detail: Diagnosis) -> tuple[str, str] | None:
        channel = self.channel_for(alert.environment)
        if channel is None:
            log.error(
                "alert thread for %s (%s) not posted: no watch.channel and no CAMPAIGN_BOT_ALERT_CHANNEL",
                redact(alert.subject),
                alert.environment,
            )
            return None
        shown = alert.model_copy(update={"detail": detail.model_dump(mode="json")})
        ts = self.calls.post(channel, None, present.alert_message(shown, self.kb, self._now()))
        if not ts:
            why = self.calls.last_error or "no answer"
            hint = _POST_HINTS.get(why, "Slack did not take the message")
            log.error(
                "alert thread for %s (%s) not posted in %s: %s (%s); the next round that sees it tries again",
                redact(alert.subject),
                alert.environment,
                channel,
                redact(why),
                hint,
            )
            return None
        return channel, ts

    def refresh(self, alert: AlertState, detail: Diagnosis | None) -> None:
        if alert.channel and alert.ts and alert.joined is None:
            self.calls.update(alert.channel, alert.ts, present.alert_message(alert, self.kb, self._now()))

    def note(self, alert: AlertState, text: str, detail: Diagnosis | None = None) -> None:
        if alert.channel and alert.ts:
            self.calls.post(alert.channel, alert.ts, present.alert_note(text, self.kb, detail))

    def recovered(self, alert: AlertState) -> None:
        if alert.channel and alert.ts:
            self.calls.post(alert.channel, alert.ts, present.recovered_note(alert))

    def mark(self, alert: AlertState) -> None:
        if alert.channel and alert.ts:
            if alert.marked:
                self.calls.react(alert.channel, alert.ts, "white_check_mark")
            else:
                self.calls.unreact(alert.channel, alert.ts, "white_check_mark")


class AlertButtons:
    """Snooze 1 h / 4 h / 24 h, Acknowledge, Investigate: access checked and audited like any request."""

    def __init__(self, watch: Watch, core: Conversation, calls: SlackCalls, kb: KnowledgeBase) -> None:
        self.watch = watch
        self.core = core
        self.calls = calls
        self.kb = kb

    def press(self, action_id: str, key: str, user: str, channel: str) -> tuple[Refusal | None, object | None]:
        """Handle one press; returns (refusal, investigate answer) for the caller to show."""
        alert = self.watch.get(key[:64])
        if alert is None:
            # Every refusal is audited, an unknown or forgotten alert's button too.
            self.core.audit_event(
                user=user,
                channel=channel,
                surface="slack",
                question=f"({action_id[:40]})",
                environment=None,
                modules=[],
                hosts=[],
                commands=[],
                outcome="refused-expired-alert",
            )
            return Refusal(why="expired", reason="that alert is no longer known"), None
        decision = self.core.may_check(alert.environment, user, channel)
        base = {
            "user": user,
            "channel": channel,
            "surface": "slack",
            "question": f"({action_id})",
            "environment": alert.environment,
            "modules": [alert.module] if alert.module else [],
            "hosts": [alert.host],
            "commands": [],
        }
        if not decision.allowed:
            self.core.audit_event(**base, outcome="refused", reason=decision.reason)
            return Refusal(why="access", reason=decision.reason, environment=alert.environment), None
        if action_id.startswith("alert:snooze:"):
            # Looked up as text: a value the bot never offers ("abc", "nan") is refused, never raised on.
            offered = {str(secs): float(secs) for secs, _ in present.SNOOZES}
            seconds = offered.get(action_id.rsplit(":", 1)[1], 0.0)
            if seconds not in offered.values():
                self.core.audit_event(**base, outcome="refused-bad-button")
                return Refusal(why="action", reason="not a snooze the bot offers"), None
            self.watch.snooze(alert.key, user, seconds)
            self.core.audit_event(**base, outcome=f"alert-snoozed-{int(seconds)}s")
            self.note(
                alert, f"<@{user}> snoozed this for {int(seconds // 3600)} h (it ends early if it gets worse).", user
            )
            return None, None
        if action_id == "alert:ack":
            self.watch.acknowledge(alert.key, user)
            self.core.audit_event(**base, outcome="alert-acknowledged")
            self.note(alert, f"<@{user}> acknowledged this.", user)
            return None, None
        if action_id == "alert:investigate":
            self.core.audit_event(**base, outcome="alert-investigate")
            reply = self.core.investigate(
                alert.environment,
                alert.host,
                alert.module,
                user=user,
                place=alert.channel or channel,
                thread=f"{alert.channel}:{alert.ts}" if alert.ts else None,
            )
            return None, reply
        self.core.audit_event(**base, outcome="refused-bad-button")
        return Refusal(why="action", reason="not an alert button of the bot"), None

    def note(self, alert: AlertState, text: str, user: str) -> None:
        """A line in the alert thread naming `user` (who pressed), the only mention in it."""
        if alert.channel and alert.ts:
            self.calls.post(alert.channel, alert.ts, present.notice(text, (user,)))

"""Alert threads in Slack: the watch's `Notifier`, and the Snooze / Acknowledge / Investigate buttons."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.conversation.core import Conversation
from bot.conversation.replies import Refusal
from bot.kb.models import KnowledgeBase
from bot.models import Diagnosis
from bot.present import slack as present
from bot.slack.calls import SlackCalls
from bot.watch.engine import Watch
from bot.watch.model import AlertState

log = logging.getLogger(__name__)


class SlackAlerts:
    """Posts alert threads in the environment's `watch.channel` (else CAMPAIGN_BOT_ALERT_CHANNEL)."""

    def __init__(self, calls: SlackCalls, kb: KnowledgeBase, channel_for: Callable[[str], str | None]) -> None:
        self.calls = calls
        self.kb = kb
        self.channel_for = channel_for

    def opened(self, alert: AlertState, detail: Diagnosis) -> tuple[str, str] | None:
        channel = self.channel_for(alert.environment)
        if channel is None:
            log.error("alert for %s not posted: no watch.channel and no CAMPAIGN_BOT_ALERT_CHANNEL", alert.environment)
            return None
        ts = self.calls.post(
            channel,
            None,
            present.alert_message(alert.model_copy(update={"detail": detail.model_dump(mode="json")}), self.kb),
        )
        return (channel, ts) if ts else None

    def refresh(self, alert: AlertState, detail: Diagnosis | None) -> None:
        if alert.channel and alert.ts:
            self.calls.update(alert.channel, alert.ts, present.alert_message(alert, self.kb))

    def note(self, alert: AlertState, text: str, detail: Diagnosis | None = None) -> None:
        if alert.channel and alert.ts:
            self.calls.post(alert.channel, alert.ts, present.alert_note(text, self.kb, detail))

    def recovered(self, alert: AlertState) -> None:
        if alert.channel and alert.ts:
            self.calls.post(alert.channel, alert.ts, present.recovered_note(alert))
            self.calls.react(alert.channel, alert.ts, "white_check_mark")
            self.refresh(alert, None)


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
            seconds = float(action_id.rsplit(":", 1)[1])
            if seconds not in (3600, 4 * 3600, 24 * 3600):
                return Refusal(why="action", reason="not a snooze the bot offers"), None
            self.watch.snooze(alert.key, user, seconds)
            self.core.audit_event(**base, outcome=f"alert-snoozed-{int(seconds)}s")
            self.note(alert, f"<@{user}> snoozed this for {int(seconds // 3600)} h (it ends early if it gets worse).")
            return None, None
        if action_id == "alert:ack":
            self.watch.acknowledge(alert.key, user)
            self.core.audit_event(**base, outcome="alert-acknowledged")
            self.note(alert, f"<@{user}> acknowledged this.")
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
        return Refusal(why="action", reason="not an alert button of the bot"), None

    def note(self, alert: AlertState, text: str) -> None:
        if alert.channel and alert.ts:
            self.calls.post(alert.channel, alert.ts, present.notice(text))

"""The alert thread's buttons (Snooze, Acknowledge), pressed through the worker's click handler, on
simulated hosts and the fake Slack API: a press the bot never offered is told to the one who pressed
and audited, never raised on (the job would fail without a word)."""

from __future__ import annotations

import json
from pathlib import Path

from slack_sdk import WebClient

from bot.audit import AuditLog
from bot.jobs.engine import JobContext
from bot.jobs.ledger import Ledger, worker_id
from bot.slack.alerts import AlertButtons
from bot.slack.answers import SlackAnswers
from bot.slack.calls import SlackCalls
from tests.watch.conftest import CHANNEL, Sim, mta_key
from tests.watch.test_alert_lifecycle import open_mta


def press(sim: Sim, answers: SlackAnswers, ledger: Ledger, root: str, action_id: str, user: str = "UOPS") -> None:
    body = {
        "user": {"id": user},
        "channel": {"id": CHANNEL},
        "actions": [{"action_id": action_id, "value": mta_key()}],
        "message": {"ts": root},
        "response_url": sim.fake.url + "response",
    }
    job_id = ledger.accept("click", {"body": body})
    assert job_id is not None
    record = ledger.claim(job_id, worker_id())
    assert record is not None
    answers.click(JobContext(ledger, record))


def test_a_snooze_the_bot_never_offers_is_refused_to_the_presser(sim: Sim, tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    sim.svc.conversation.audit = audit  # the simulation's own log is os.devnull
    root = open_mta(sim)
    calls = SlackCalls(WebClient(token="xoxb-test", base_url=sim.fake.url))
    answers = SlackAnswers(
        sim.svc.conversation, calls, sim.svc.kb, AlertButtons(sim.watch, sim.svc.conversation, calls, sim.svc.kb)
    )
    ledger = Ledger(sim.svc.store)
    for forged in ("alert:snooze:abc", "alert:snooze:nan", "alert:snooze:7200", "alert:snooze:"):
        before = len(sim.fake.of("chat.postEphemeral"))
        press(sim, answers, ledger, root, forged)
        told = sim.fake.of("chat.postEphemeral")[before:]
        assert len(told) == 1 and "not a snooze the bot offers" in str(told[0].params.get("text"))
        assert "abc" not in str(told[0].params.get("text"))
    alert = sim.watch.get(mta_key())
    assert alert is not None and alert.snoozed_until == 0.0
    audited = [json.loads(line) for line in audit.path.read_text().splitlines()]
    assert [r["outcome"] for r in audited].count("refused-bad-button") == 4, "every refusal is audited"
    press(sim, answers, ledger, root, "alert:snooze:3600")
    alert = sim.watch.get(mta_key())
    assert alert is not None and alert.snoozed_until > 0 and alert.snoozed_by == "UOPS"
    assert any("<@UOPS> snoozed this for 1 h" in str(c.params.get("blocks")) for c in sim.fake.of("chat.postMessage"))

"""Slack-side pure parts and stores: access decisions, dedupe across workers, audit, Block Kit limits, settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.access import may_act, may_check
from bot.audit import AuditLog
from bot.config import Settings, load_settings
from bot.conversation.understand import Understanding
from bot.errors import ConfigError
from bot.inventory import parse_inventory
from bot.kb import KnowledgeBase, Risk
from bot.models import Diagnosis, Finding, Match, NextStep
from bot.render import slack as blocks
from bot.resolver import ModuleResolver

INV = parse_inventory(
    {
        "environments": {
            "open": {"hosts": [{"name": "a", "address": "h"}]},
            "listed": {
                "access": {"users": ["UAAA1"], "groups": ["SGGG1"], "channels": ["CCCC1"]},
                "hosts": [{"name": "a", "address": "h"}],
            },
            "locked": {"protected": True, "hosts": [{"name": "a", "address": "h"}]},
            "ops": {"actions": "enabled", "operators": ["UOP"], "hosts": [{"name": "a", "address": "h"}]},
        }
    },
    "t",
)


def test_access_rules() -> None:
    assert may_check(INV.environment("open"), "UX", "CX").allowed
    lst = INV.environment("listed")
    assert may_check(lst, "UAAA1", "CX").allowed and may_check(lst, "UX", "CCCC1").allowed
    assert may_check(lst, "UX", "CX", ["SGGG1"]).allowed
    assert not may_check(lst, "UX", "CX").allowed
    locked = may_check(INV.environment("locked"), "UX", "CX")
    assert not locked.allowed and "protected" in locked.reason
    assert not may_act(INV.environment("open"), "UOP").allowed  # actions disabled by default
    assert may_act(INV.environment("ops"), "UOP").allowed and not may_act(INV.environment("ops"), "UX").allowed


def test_audit_redacts_and_truncates(tmp_path: Path) -> None:
    a = AuditLog(tmp_path / "a.jsonl")
    a.record(user="U1", question="x" * 1000, commands=["password=hunter2", "token xoxb-123456789"])
    rec = json.loads((tmp_path / "a.jsonl").read_text())
    assert len(rec["question"]) == 300 and "hunter2" not in json.dumps(rec) and "xoxb-123456789" not in json.dumps(rec)
    assert rec["time"].endswith("+00:00")


def huge_diagnosis(kb: KnowledgeBase) -> Diagnosis:
    findings = [
        Finding(
            host=f"host{i:03d}",
            module="mta",
            instance="prod",
            check="log",
            status="warn",
            summary="E" * 4000,
            evidence=("x" * 5000,),
        )
        for i in range(120)
    ]
    steps = [
        NextStep(
            host=f"host{i:03d}",
            module="mta",
            text="restart " * 600,
            command="nlserver restart mta@prod",
            risk=Risk.CHANGES_STATE,
        )
        for i in range(80)
    ]
    return Diagnosis(
        question="mail not sending",
        environment="prod",
        simulated=False,
        matches=(Match(module="mta", score=0.9, reasons=("r" * 5000,)),),
        modules=("mta", "stat"),
        findings=tuple(findings),
        next_steps=tuple(steps),
        verdict="V" * 5000,
        status="warn",
        hosts=tuple(f"host{i:03d}" for i in range(120)),
        duration_ms=1234,
    )


def test_block_limits_hold_for_huge_results(kb: KnowledgeBase) -> None:
    d = huge_diagnosis(kb)
    bl, text = blocks.result_blocks(d, kb, {0: "a1"}, ["report attached"])
    assert len(bl) <= 50 and text
    for b in bl:
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= 3000
        if b["type"] == "context":
            assert all(len(e["text"]) <= 3000 for e in b["elements"])
    assert any("more host" in json.dumps(b) for b in bl)
    assert len(blocks.raw_report(d, kb)) > 100_000  # the full report goes to a file instead


def test_progress_and_card_blocks(kb: KnowledgeBase) -> None:
    bl, text = blocks.progress_blocks(
        "q", "prod", True, [Match(module="mta", score=0.9, reasons=("why",))], ["mta"], ["a", "b"], {"a": "fail"}, kb
    )
    dumped = json.dumps(bl)
    assert "Simulated" in dumped and "1/2 done" in dumped and text
    card, _ = blocks.card_blocks(kb.get("mta"), "prod", "prod", can_run=False)
    assert "run_checks" not in json.dumps(card) and "mta@prod" in json.dumps(card)


def test_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for k in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "PORT"):
        monkeypatch.delenv(k, raising=False)
    s = load_settings(None)
    assert not s.slack_configured and s.slack_api_url == "https://slack.com/api/"
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        s.require_slack()
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
    s = load_settings(None)
    assert "xoxb-secret-value" not in repr(s) and "xoxb-secret-value" not in str(s.model_dump())
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        s.require_slack()
    monkeypatch.setenv("SLACK_BOT_TOKEN", "not-a-token")
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        load_settings(None)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("PORT", "http")
    with pytest.raises(ConfigError, match="PORT"):
        load_settings(None)
    assert isinstance(Settings, type)


def test_clarify_only_when_two_unrelated_modules_tie(kb: KnowledgeBase, matcher) -> None:  # type: ignore[no-untyped-def]
    bot = Understanding(kb, matcher, ModuleResolver(kb))
    assert bot.ambiguous(
        [Match(module="import", score=0.60, reasons=()), Match(module="export", score=0.59, reasons=())]
    )
    assert not bot.ambiguous(
        [Match(module="mta", score=0.60, reasons=()), Match(module="stat", score=0.60, reasons=())]
    )  # tied by the documentation
    assert not bot.ambiguous(
        [Match(module="import", score=0.80, reasons=()), Match(module="export", score=0.60, reasons=())]
    )
    assert not bot.ambiguous(
        [Match(module="import", score=0.60, reasons=(), mentioned=True), Match(module="export", score=0.60, reasons=())]
    )
    assert not bot.ambiguous(matcher.match("mail not sending"))


def test_notices_mention_only_the_people_the_bot_names(kb: KnowledgeBase) -> None:
    from bot.conversation.replies import Refusal
    from bot.present import slack as present

    # An external alert's name or label with a mention in it (the intake's notice) is shown as text.
    bl, text = present.notice("alertmanager alert '<@UCEO> disk' (<!here>; host=<@W0X>): unknown host")
    shown = json.dumps(bl) + text
    assert "<@UCEO>" not in shown and "<@W0X>" not in shown and "<!here>" not in shown
    assert "&lt;@UCEO&gt;" in shown
    # An access refusal names who asked: that one mention stays, a typed one does not.
    r = Refusal(why="access", reason="<@UALICE> is not an operator of prod (asked about <@UBOSS>)", environment="prod")
    bl, text = present.refusal(r, kb, "UALICE")
    for out in (bl[0]["text"]["text"], text):
        assert "<@UALICE> is not an operator" in out and "<@UBOSS>" not in out and "&lt;@UBOSS&gt;" in out
    bl, _ = present.refusal(Refusal(why="unknown_module", reason="x", subject="<@UALICE>"), kb, "UBOB")
    assert "<@UALICE>" not in bl[0]["text"]["text"]


def test_an_answer_points_to_its_report_only_when_it_is_attached(kb: KnowledgeBase, world) -> None:  # type: ignore[no-untyped-def]
    from slack_sdk import WebClient

    from bot.conversation.replies import Answer, Plan
    from bot.slack.answers import SlackAnswers
    from bot.slack.calls import SlackCalls
    from tests.harness.fake_slack import FakeSlack

    d = huge_diagnosis(kb)
    plan = Plan(
        intent="symptom", question=d.question, environment="prod", simulated=False, modules=d.modules, hosts=d.hosts
    )
    reply = Answer(plan=plan, diagnosis=d)
    fake = FakeSlack().start()
    try:
        answers = SlackAnswers(world.core, SlackCalls(WebClient(token="xoxb-test", base_url=fake.url)), kb)
        # The bot lacks files:write (or Slack's files are down): the answer says what it left out, truthfully.
        fake.fail["files.getUploadURLExternal"] = ["missing_scope"]
        assert answers.show(reply, "CPROD", "1700000000.000001", None)
        shown = json.dumps(fake.of("chat.postMessage")[-1].params["blocks"])
        assert "more host(s): not shown" in shown and "attached" not in shown
        assert answers.show(reply, "CPROD", "1700000000.000002", None)
        shown = json.dumps(fake.of("chat.postMessage")[-1].params["blocks"])
        assert "more host(s): see the attached report" in shown and "Full report" in shown
    finally:
        fake.stop()
    fake.assert_all_valid()

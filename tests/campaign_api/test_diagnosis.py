"""End to end through `Diagnoser`: a Runner wired to the Campaign API collaborator, the simulated
fleet's hosts (local transport) and a simulated application server on loopback. Plants the
password and the session and security tokens, and proves none of them reaches any output."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bot.audit import AuditLog
from bot.campaign_api.session import campaign_api_factory
from bot.diagnosis import Diagnoser
from bot.inventory import Environment
from bot.kb import KnowledgeBase
from bot.matcher import Matcher
from bot.models import Diagnosis
from bot.render import slack as slack_render
from bot.render import text as text_render
from bot.runner import Runner
from bot.simulator import build_simulated_inventory
from bot.simulator.appserver import SimulatedAppServer
from bot.transports.base import Transport
from bot.transports.local import LocalTransport
from tests.campaign_api.conftest import environment, seen_tokens


def _local(host: object) -> Transport:
    return LocalTransport(getattr(host, "env_path", None))


@pytest.fixture
def prod(tmp_path: Path, appserver: SimulatedAppServer) -> Environment:
    """The simulated fleet's hosts as environment `prod`, its API at the test's own app server."""
    fleet = build_simulated_inventory(tmp_path / "fleet").environments["prod"]
    api = environment(appserver.url).campaign_api
    return fleet.model_copy(update={"name": "prod", "campaign_api": api})


def _diagnoser(kb: KnowledgeBase, matcher: Matcher, password: str) -> Diagnoser:
    assert kb.campaign_api is not None
    runner = Runner(_local, api_for=campaign_api_factory(kb.campaign_api, {"CAMPAIGN_TEST_PASSWORD": password}))
    return Diagnoser(kb, matcher, runner)


def test_workflow_stuck_names_the_failed_technical_workflow_and_the_next_step(
    kb: KnowledgeBase, matcher: Matcher, prod: Environment, password: str
) -> None:
    d = _diagnoser(kb, matcher, password).diagnose("workflow stuck on prod", prod)
    assert "wfserver" in d.modules
    failed = [f for f in d.findings if f.check == "api_workflows" and f.status == "fail"]
    assert failed and "'cleanup' (Database cleanup) is in error" in failed[0].summary
    ids = {s.step_id for s in d.next_steps}
    assert {"workflow-journal", "cleanup-late"} <= ids
    journal = next(s for s in d.next_steps if s.step_id == "workflow-journal")
    assert "journal" in journal.text and journal.module == "wfserver"
    rendered = text_render.diagnosis(d, kb)
    assert "'cleanup' (Database cleanup) is in error" in rendered and "read its journal" in rendered
    assert any(
        c.startswith("(campaign API): POST /nl/jsp/soaprouter.jsp xtk:queryDef#ExecuteQuery") for c in d.commands
    )


def test_mail_not_sending_names_the_delivery_stuck_in_pending(
    kb: KnowledgeBase, matcher: Matcher, prod: Environment, password: str
) -> None:
    d = _diagnoser(kb, matcher, password).diagnose("mail not sending", prod)
    assert "mta" in d.modules
    stuck = [f for f in d.findings if f.check == "api_deliveries" and f.status == "fail"]
    assert stuck and "'Spring sale newsletter' (DM7207): Start pending" in stuck[0].summary
    step = next(s for s in d.next_steps if s.step_id == "pending-delivery")
    assert "affinity" in step.text
    # The hosts were checked too, in the same run (app2's mta is down in the simulated fleet).
    assert any(f.host == "app2" and f.module == "mta" and f.status == "fail" for f in d.findings)


def test_tracking_and_database_questions_bring_the_api_checks_in(
    kb: KnowledgeBase, matcher: Matcher, prod: Environment, password: str
) -> None:
    diag = _diagnoser(kb, matcher, password)
    tracking = diag.diagnose("tracking logs missing", prod)
    assert {"api_workflows", "api_workflow_runs"} <= {f.check for f in tracking.findings if f.module == "tracking"}
    growing = diag.diagnose("database growing", prod)
    assert any(f.check == "api_workflows" and "'cleanup'" in f.summary for f in growing.findings)


def test_no_credential_in_any_output_log_or_audit(
    kb: KnowledgeBase,
    matcher: Matcher,
    prod: Environment,
    password: str,
    appserver: SimulatedAppServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    diag = _diagnoser(kb, matcher, password)
    answers: list[Diagnosis] = [
        diag.diagnose(q, prod)
        for q in ("workflow stuck on prod", "mail not sending", "is web ok", "tracking logs missing")
    ]
    appserver.expire_sessions(1)  # a re-logon mid-run creates more tokens to hide
    answers.append(diag.diagnose("workflow stuck on prod", prod))
    wrong = _diagnoser(kb, matcher, password + "-wrong").diagnose("workflow stuck on prod", prod)  # refused logon
    answers.append(wrong)
    tokens = seen_tokens(appserver)
    assert len(tokens) >= 4  # session and security tokens of several logons really travelled
    planted = {password, password + "-wrong", *tokens}

    audit = AuditLog(tmp_path / "audit.jsonl")
    outputs: list[str] = [caplog.text]
    for d in answers:
        outputs.append(json.dumps(d.public()))
        outputs.append(d.model_dump_json())
        outputs.append(text_render.diagnosis(d, kb, show_ok=True, show_logs=True))
        blocks, fallback = slack_render.result_blocks(d, kb)
        outputs.append(json.dumps(blocks) + fallback)
        outputs.append(slack_render.raw_report(d, kb))
        audit.record(
            user="U1",
            environment=d.environment,
            question=d.question,
            commands=list(d.commands),
            findings=[f.public() for f in d.findings],
        )
    outputs.append((tmp_path / "audit.jsonl").read_text())
    outputs.extend(path for _m, path, _h, _b in appserver.requests)  # URLs never carry a secret
    everything = "\n".join(outputs)
    for secret in planted:
        assert secret not in everything
    assert "logon refused" in text_render.diagnosis(wrong, kb)


def test_workflow_stuck_names_a_failed_tracking_workflow_too(
    kb: KnowledgeBase, matcher: Matcher, prod: Environment, password: str, appserver: SimulatedAppServer
) -> None:
    for w in appserver.state.workflows:
        if w.internal_name == "tracking":
            w.failed, w.state = True, 13
        elif w.internal_name == "cleanup":
            w.failed, w.state = False, 11
    d = _diagnoser(kb, matcher, password).diagnose("workflow stuck on prod", prod)
    failed = [f for f in d.findings if f.check == "api_workflows" and f.status == "fail"]
    assert any(f.module == "wfserver" and "'tracking' (Tracking) is in error" in f.summary for f in failed)
    rendered = text_render.diagnosis(d, kb)
    assert "'tracking' (Tracking) is in error" in rendered
    assert "no other workflow" not in rendered

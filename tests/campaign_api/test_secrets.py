"""Tokens received at Logon are secrets for as long as the bot uses them: a server that echoes them
(in monitor.jsp, ping.jsp, a fault's text) never gets them into a finding, a rendering, a log line or
the audit. The simulated server here issues tokens no redaction pattern could recognise
("plain" words, low entropy), so only the session's own registration of every token it received can
hide them."""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path

import pytest

from bot.audit import AuditLog
from bot.campaign_api.session import campaign_api_factory
from bot.diagnosis import Diagnoser
from bot.inventory import Environment, Host
from bot.kb import KnowledgeBase
from bot.matcher import Matcher
from bot.render import slack as slack_render
from bot.render import text as text_render
from bot.runner import Runner
from bot.simulator.appserver import SimulatedAppServer
from bot.transports.base import CommandResult, Script
from bot.transports.fake import FakeTransport
from tests.campaign_api.conftest import environment, seen_tokens


def _silent(script: Script) -> CommandResult:
    return CommandResult(0, b"", b"", 1)


def _echoing(srv: SimulatedAppServer) -> None:
    """monitor.jsp and ping.jsp show the request's tokens; a delivery query's fault quotes them."""
    original = srv.handle

    def handle(method: str, path: str, headers: dict[str, str], body: bytes):  # type: ignore[no-untyped-def]
        session, security = headers.get("x-session-token", ""), headers.get("x-security-token", "")
        if path.startswith("/nl/jsp/monitor.jsp"):
            page = (
                "<html><body><h1>Server monitoring for the instance prod</h1><h2>Summary</h2>"
                f"<p>Workflow failed: Import (WKF1) session {session}</p><p>Process failed: mta@prod {security}</p>"
                "</body></html>"
            )
            original(method, path, headers, body)  # recorded like any other call
            return 200, "text/html", page.encode()
        if path.startswith("/nl/jsp/ping.jsp"):
            original(method, path, headers, body)
            return 200, "text/plain", f"Error\nsession {session} refused with {security}\n".encode()
        if b"nms:delivery" in body:
            original(method, path, headers, body)
            fault = (
                "<SOAP-ENV:Envelope xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/'><SOAP-ENV:Body>"
                f"<SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode><faultstring>SOP-330011 cannot run the "
                f"query of {session} / {security}</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"
            )
            return 500, "text/xml", fault.encode()
        return original(method, path, headers, body)

    srv.handle = handle  # type: ignore[method-assign]


def test_tokens_received_at_logon_never_reach_any_output(
    kb: KnowledgeBase,
    matcher: Matcher,
    appserver: SimulatedAppServer,
    password: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    n = itertools.count(1)
    appserver.new_tokens = lambda: (f"plainsession{next(n)}", f"plainsecurity{next(n)}")
    _echoing(appserver)
    env: Environment = environment(appserver.url).model_copy(
        update={"hosts": (Host(name="app1", transport="local", modules=("web", "mta", "wfserver")),)}
    )
    assert kb.campaign_api is not None
    runner = Runner(
        lambda h: FakeTransport(_silent),
        api_for=campaign_api_factory(kb.campaign_api, {"CAMPAIGN_TEST_PASSWORD": password}),
    )
    diag = Diagnoser(kb, matcher, runner)
    answers = [diag.diagnose(q, env) for q in ("is web ok", "mail not sending", "check everything")]
    appserver.expire_sessions(1)  # a second Logon mid-run: its tokens are new, and hidden too
    answers.append(diag.diagnose("is web ok", env))
    tokens = seen_tokens(appserver)
    assert len(tokens) >= 4 and all(t.startswith("plain") for t in tokens)

    audit = AuditLog(tmp_path / "audit.jsonl")
    outputs = []
    for d in answers:
        outputs += [json.dumps(d.public()), d.model_dump_json(), text_render.diagnosis(d, kb, show_ok=True)]
        blocks, fallback = slack_render.result_blocks(d, kb)
        outputs += [json.dumps(blocks), fallback, slack_render.raw_report(d, kb)]
        audit.record(user="U1", environment=d.environment, question=d.question, commands=list(d.commands),
                     findings=[f.public() for f in d.findings])  # fmt: skip
    outputs += [(tmp_path / "audit.jsonl").read_text(), caplog.text]
    everything = "\n".join(outputs)
    assert "Workflow failed: Import (WKF1)" in everything  # the echoing pages were read and reported
    for token in tokens:
        assert token not in everything, f"{token} leaked"
    assert password not in everything

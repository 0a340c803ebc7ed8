"""The SOAP client against the simulated application server (a real HTTP server on loopback)."""

from __future__ import annotations

import socket
import time
import xml.etree.ElementTree as ET

import defusedxml.ElementTree as DET
import pytest

from bot.campaign_api import soap
from bot.campaign_api.client import CampaignClient, Secret
from bot.campaign_api.facts import ALL_FACTS, PING, WORKFLOWS
from bot.campaign_api.http import ApiUnreachable
from bot.campaign_api.session import EnvironmentApi
from bot.kb import KnowledgeBase
from bot.simulator.appserver import SimulatedAppServer
from tests.campaign_api.conftest import LOGIN, environment


def _api(kb: KnowledgeBase, srv: SimulatedAppServer, environ: dict[str, str], **kw: object) -> EnvironmentApi:
    token = bool(kw.pop("token", False))
    env = environment(srv.url, token=token, timeout_s=float(kw.pop("timeout_s", 5)))  # type: ignore[arg-type]
    assert env.campaign_api is not None and kb.campaign_api is not None
    return EnvironmentApi(env, env.campaign_api, kb.campaign_api, environ, **kw)  # type: ignore[arg-type]


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def test_logon_with_password_reads_everything_and_logs_off(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    facts = _api(kb, appserver, {"CAMPAIGN_TEST_PASSWORD": password}).fetch(ALL_FACTS, time.monotonic() + 30)
    assert facts.access.ok and facts.access.mode == "password"
    assert appserver.calls[0] == "POST xtk:session#Logon"
    assert list(appserver.calls)[-1] == "POST xtk:session#Logoff"
    assert facts.workflows is not None and facts.workflows.value is not None
    assert {w.internal_name for w in facts.workflows.value} == {t.name for t in kb.campaign_api.technical_workflows}
    assert facts.other_workflows is not None and facts.other_workflows.value is not None
    assert [w.internal_name for w in facts.other_workflows.value.rows] == ["WKF2042"]
    assert facts.ping is not None and facts.ping.value is not None and facts.ping.value.text.startswith("OK")
    assert facts.runs["tracking"].value is not None
    assert facts.deliveries is not None and facts.deliveries.value
    # The audit trail names each call, never a secret.
    assert any("xtk:queryDef#ExecuteQuery (xtk:workflow)" in c for c in facts.calls)


def test_logon_with_a_configured_session_token(kb: KnowledgeBase, password: str) -> None:
    token = "___" + "T0KEN-planted-session"
    srv = SimulatedAppServer(LOGIN, password, session_token=token)
    try:
        facts = _api(kb, srv, {"CAMPAIGN_TEST_TOKEN": token}, token=True).fetch(
            frozenset({WORKFLOWS, PING}), time.monotonic() + 30
        )
        assert facts.access.ok and facts.access.mode == "token"
        assert facts.workflows is not None and facts.workflows.ok
        assert facts.ping is not None and facts.ping.value is not None and facts.ping.value.status == 200
        calls = list(srv.calls)
        assert "POST xtk:session#Logon" not in calls and "POST xtk:session#Logoff" not in calls
        # The token travels where Campaign requires it: headers and the __sessiontoken cookie, never the URL.
        for _method, path, headers, _body in srv.requests:
            assert token not in path
            assert headers.get("x-session-token") == token
            assert f"__sessiontoken={token}" in headers.get("cookie", "")
    finally:
        srv.stop()


def test_expired_session_logs_on_again_and_retries_once(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    appserver.expire_sessions(1)
    facts = _api(kb, appserver, {"CAMPAIGN_TEST_PASSWORD": password}).fetch(frozenset({PING}), time.monotonic() + 30)
    assert facts.ping is not None and facts.ping.ok and facts.ping.value is not None
    assert facts.ping.value.text.startswith("OK")
    calls = list(appserver.calls)
    assert calls.count("POST xtk:session#Logon") == 2
    assert calls.count("GET /nl/jsp/ping.jsp") == 2


def test_expired_twice_is_not_retried_forever(kb: KnowledgeBase, appserver: SimulatedAppServer, password: str) -> None:
    appserver.expire_sessions(5)
    facts = _api(kb, appserver, {"CAMPAIGN_TEST_PASSWORD": password}).fetch(
        frozenset({WORKFLOWS}), time.monotonic() + 30
    )
    assert facts.workflows is not None and not facts.workflows.ok
    assert facts.workflows.code == "XSV-350008"
    # The technical and the other workflows' queries: each tried once and retried once.
    assert list(appserver.calls).count("POST xtk:queryDef#ExecuteQuery") == 4


@pytest.mark.parametrize(
    ("urn", "method"),
    [("xtk:workflow", "Start"), ("xtk:session", "Write"), ("xtk:persist", "Delete"), ("xtk:queryDef", "Select")],
)
def test_allow_list_refuses_other_methods_before_any_io(appserver: SimulatedAppServer, urn: str, method: str) -> None:
    # Against a live server: nothing reaches it. Against a closed port: the refusal comes first,
    # not a connection error, so nothing was even attempted.
    for url in (appserver.url, f"http://127.0.0.1:{_closed_port()}"):
        client = CampaignClient(url, timeout_s=2, deadline=time.monotonic() + 5)
        with pytest.raises(soap.MethodRefused):
            client._soap(urn, method, [])
        with pytest.raises(soap.MethodRefused):
            soap.envelope(urn, method, [], "", "")
    assert list(appserver.calls) == []


def test_write_operations_and_other_pages_are_refused_before_any_io(appserver: SimulatedAppServer) -> None:
    client = CampaignClient(f"http://127.0.0.1:{_closed_port()}", timeout_s=2, deadline=time.monotonic() + 5)
    for op in ("insert", "update", "delete", "insertOrUpdate", ""):
        with pytest.raises(soap.MethodRefused):
            client.query(ET.Element("queryDef", {"schema": "xtk:workflow", "operation": op}))
    for page in ("/nl/jsp/logon.jsp", "/nl/jsp/ping.jsp?x=1", "/r/test", "/xtk/logon.jsp"):
        with pytest.raises(soap.MethodRefused):
            client.page(page)
    # An allowed read against the closed port does try, and fails as unreachable.
    with pytest.raises(ApiUnreachable):
        client.query(ET.Element("queryDef", {"schema": "xtk:workflow", "operation": "select"}))


def test_envelope_has_the_sdk_shape_and_escapes_text() -> None:
    hostile = "x' or 1=1 <evil/> & \"]]>"
    q = ET.Element("queryDef", {"schema": "xtk:workflow", "operation": "select"})
    ET.SubElement(q, "condition", {"expr": hostile})
    body = soap.envelope(
        "xtk:queryDef", "ExecuteQuery", [soap.Param("document", element=q, document=True)], "SESSION", "SECURITY"
    )
    root = DET.fromstring(body)
    env = "{http://schemas.xmlsoap.org/soap/envelope/}"
    header = root.find(f"{env}Header")
    assert header is not None
    assert header.findtext("Cookie") == "__sessiontoken=SESSION"
    assert header.findtext("X-Security-Token") == "SECURITY"
    call = root.find(f"{env}Body/{{urn:xtk:queryDef}}ExecuteQuery")
    assert call is not None
    assert call[0].tag == "sessiontoken" and call[0].text == "SESSION"
    cond = call.find("document/queryDef/condition")
    assert cond is not None and cond.get("expr") == hostile  # round-trips: escaped, never pasted


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<SOAP-ENV:Envelope xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/'><SOAP-ENV:Body>
<ExecuteQueryResponse xmlns='urn:xtk:queryDef'><pdomOutput><workflow-collection><workflow label="&lol3;"/>
</workflow-collection></pdomOutput></ExecuteQueryResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<SOAP-ENV:Envelope xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/'><SOAP-ENV:Body>
<ExecuteQueryResponse xmlns='urn:xtk:queryDef'><pdomOutput><workflow-collection><workflow label="&xxe;"/>
</workflow-collection></pdomOutput></ExecuteQueryResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd">
<SOAP-ENV:Envelope xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/'><SOAP-ENV:Body/></SOAP-ENV:Envelope>"""


@pytest.mark.parametrize(
    "reply",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        EXTERNAL_DTD,
        b"<SOAP-ENV:Envelope xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/'><SOAP-ENV:Body>",
        b"not xml at all",
        b"<html><body>Tomcat error</body></html>",
        b"",
        b"\xff\xfe\x00<\x00x",
    ],
    ids=["billion-laughs", "external-entity", "external-dtd", "truncated", "text", "html", "empty", "binary"],
)
def test_hostile_or_malformed_replies_are_refused_without_harm(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str, reply: bytes
) -> None:
    appserver.replies["ExecuteQuery"] = [(200, reply)]
    facts = _api(kb, appserver, {"CAMPAIGN_TEST_PASSWORD": password}).fetch(
        frozenset({WORKFLOWS}), time.monotonic() + 30
    )
    assert facts.workflows is not None and facts.workflows.value is None
    assert facts.workflows.kind == "bad_reply"
    assert "root:" not in (facts.workflows.problem or "")  # /etc/passwd never read into a message
    assert list(appserver.calls)[-1] == "POST xtk:session#Logoff"  # the session still ends cleanly


def test_huge_reply_is_cut_not_buffered(kb: KnowledgeBase, appserver: SimulatedAppServer, password: str) -> None:
    huge = b"<SOAP-ENV:Envelope xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/'>" + b"<x/>" * 500_000
    appserver.replies["ExecuteQuery"] = [(200, huge)]
    facts = _api(kb, appserver, {"CAMPAIGN_TEST_PASSWORD": password}, max_bytes=64 * 1024).fetch(
        frozenset({WORKFLOWS}), time.monotonic() + 30
    )
    assert facts.workflows is not None and facts.workflows.kind == "bad_reply"
    assert "KiB" in (facts.workflows.problem or "")


def test_a_server_that_does_not_answer_in_time_is_a_timeout(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    appserver.delay_s = 1.5
    facts = _api(kb, appserver, {"CAMPAIGN_TEST_PASSWORD": password}, timeout_s=0.3).fetch(
        frozenset({WORKFLOWS, PING}), time.monotonic() + 30
    )
    assert facts.access.kind == "timeout"
    assert facts.access.server_down


def test_one_deadline_for_the_whole_environment(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    # Each call alone fits its timeout, but the environment's deadline (3 x timeout) ends the run.
    appserver.delay_s = 0.35
    facts = _api(kb, appserver, {"CAMPAIGN_TEST_PASSWORD": password}, timeout_s=0.5).fetch(
        ALL_FACTS, time.monotonic() + 30
    )
    assert facts.access.ok
    outcomes = [facts.ping, facts.workflows, facts.deliveries, facts.monitor, *facts.runs.values()]
    # What the deadline cut short is "no time left", not a server that did not answer in time.
    assert any(o is not None and o.kind == "no_time" for o in outcomes)
    assert not any(o is not None and o.kind == "timeout" for o in outcomes)


def test_refused_logon_and_missing_variable_are_facts_not_crashes(
    kb: KnowledgeBase, appserver: SimulatedAppServer
) -> None:
    refused = _api(kb, appserver, {"CAMPAIGN_TEST_PASSWORD": "wrong"}).fetch(ALL_FACTS, time.monotonic() + 30)
    assert refused.access.kind == "refused"
    assert "logon refused" in refused.access.message and "wrong" not in refused.access.message
    missing = _api(kb, appserver, {}).fetch(ALL_FACTS, time.monotonic() + 30)
    assert missing.access.kind == "no_secret"
    assert "CAMPAIGN_TEST_PASSWORD" in missing.access.message and missing.access.needs


def test_secret_repr_hides_the_value() -> None:
    s = Secret("hunter2-planted")
    assert "hunter2" not in repr(s) and "hunter2" not in str(s) and "hunter2" not in f"{s}"
    assert s.reveal() == "hunter2-planted"


def test_tokens_that_cannot_travel_in_a_header_are_refused(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    evil = "___abc\r\nX-Injected: 1"
    logon = (
        "<SOAP-ENV:Envelope xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/'><SOAP-ENV:Body>"
        "<LogonResponse xmlns='urn:xtk:session'>"
        f"<pstrSessionToken>{evil.replace(chr(13), '&#13;')}</pstrSessionToken><pSessionInfo/>"
        "<pstrSecurityToken>@sec</pstrSecurityToken></LogonResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )
    appserver.replies["Logon"] = [(200, logon.encode())]
    facts = _api(kb, appserver, {"CAMPAIGN_TEST_PASSWORD": password}).fetch(ALL_FACTS, time.monotonic() + 30)
    assert facts.access.kind == "bad_reply" and "tokens" in facts.access.message
    assert list(appserver.calls) == ["POST xtk:session#Logon"]  # nothing sent with the hostile token
    token_env = _api(kb, appserver, {"CAMPAIGN_TEST_TOKEN": "abc\ndef"}, token=True).fetch(
        ALL_FACTS, time.monotonic() + 30
    )
    assert token_env.access.kind == "error" and "CAMPAIGN_TEST_TOKEN" in token_env.access.message
    assert "abc" not in token_env.access.message

"""What each odd answer of the application server becomes (a real server on loopback: the simulated
application server, over HTTP or HTTPS). Only no answer at all to a request the bot sent, or a
monitoring page that answers a real failure, is a `fail`; a TLS trust problem, a refused logon over
HTTP, a deadline that left no time, a redirect, are "cannot tell" (or "logon refused") and never a
reason to restart the web module."""

from __future__ import annotations

import io
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from pathlib import Path

import defusedxml.ElementTree as DET
import pytest

from bot.campaign_api import soap
from bot.campaign_api.facts import ALL_FACTS, WORKFLOWS, ApiFacts
from bot.campaign_api.session import EnvironmentApi
from bot.checks.base import ApiCheck
from bot.checks.registry import default_registry
from bot.inventory import Environment
from bot.kb import KnowledgeBase
from bot.models import Finding
from bot.simulator.appserver import SimulatedAppServer
from tests.campaign_api.conftest import LOGIN, environment
from tests.campaign_api.rawserver import self_signed

ENV_NS = "{http://schemas.xmlsoap.org/soap/envelope/}"


def _fetch(
    kb: KnowledgeBase,
    srv: SimulatedAppServer,
    environ: dict[str, str],
    *,
    token: bool = False,
    tls_verify: bool = True,
    timeout_s: float = 5,
    deadline: float | None = None,
) -> tuple[Environment, ApiFacts]:
    env = environment(srv.url, token=token, tls_verify=tls_verify, timeout_s=timeout_s)
    assert env.campaign_api is not None and kb.campaign_api is not None
    api = EnvironmentApi(env, env.campaign_api, kb.campaign_api, environ)
    return env, api.fetch(ALL_FACTS, deadline if deadline is not None else time.monotonic() + 30)


def _findings(kb: KnowledgeBase, env: Environment, facts: ApiFacts, modules: Sequence[str]) -> list[Finding]:
    mods = [kb.get(m) for m in modules]
    out: list[Finding] = []
    for check in default_registry().api_checks:
        assert isinstance(check, ApiCheck)
        if check.targets(mods):
            out.extend(check.evaluate_api(env, check.targets(mods), facts))
    return out


def _never_down(fs: Sequence[Finding]) -> None:
    """Nothing says the server is down, nothing leads to a restart."""
    for f in fs:
        assert f.status != "fail", f.summary
        assert "health_failed" not in f.conditions
        assert "does not answer" not in f.summary and "cannot be reached" not in f.summary
        assert "did not answer in time" not in f.summary


@pytest.fixture
def tls_server(password: str, tmp_path: Path) -> Iterator[SimulatedAppServer]:
    srv = SimulatedAppServer(LOGIN, password, "prod", tls=self_signed(tmp_path))
    try:
        yield srv
    finally:
        srv.stop()


# --- TLS -------------------------------------------------------------------------------------------


def test_an_untrusted_certificate_is_a_trust_problem_not_a_server_down(
    kb: KnowledgeBase, tls_server: SimulatedAppServer, password: str
) -> None:
    env, facts = _fetch(kb, tls_server, {"CAMPAIGN_TEST_PASSWORD": password})
    assert facts.access.kind == "tls" and not facts.access.server_down
    fs = _findings(kb, env, facts, ["web", "wfserver"])
    _never_down(fs)
    assert all(f.status == "unknown" and "TLS" in f.summary for f in fs)
    assert all(f.needs and "tls_verify" in f.needs for f in fs)
    # The same server with tls_verify: false is read (the operator's choice).
    env, facts = _fetch(kb, tls_server, {"CAMPAIGN_TEST_PASSWORD": password}, tls_verify=False)
    ping = next(f for f in _findings(kb, env, facts, ["web"]) if f.check == "api_ping")
    assert ping.status == "ok"


# --- a refused logon over HTTP ---------------------------------------------------------------------

FORBIDDEN_HTML = b"<html><head><title>403 Forbidden</title></head><body><h1>Forbidden</h1></body></html>"
XSV_350013 = b"XSV-350013 The '10.1.2.3' IP address via which you are trying to connect is not allowed."


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [(403, XSV_350013, "XSV-350013"), (401, FORBIDDEN_HTML, None), (403, FORBIDDEN_HTML, None)],
    ids=["403-xsv-350013", "401-html", "403-html"],
)
def test_a_logon_refused_over_http_is_logon_refused(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str, status: int, body: bytes, code: str | None
) -> None:
    appserver.replies["Logon"] = [(status, body)]
    env, facts = _fetch(kb, appserver, {"CAMPAIGN_TEST_PASSWORD": password})
    assert facts.access.kind == "refused" and facts.access.code == code
    fs = _findings(kb, env, facts, ["web", "wfserver", "mta"])
    _never_down(fs)
    for f in fs:
        assert f.status == "unknown" and "logon refused" in f.summary
        assert f.needs and "security zone" in f.needs and "rights" in f.needs
        if code:
            assert code in f.summary
    if code == "XSV-350013":
        assert all("not in a security zone" in (f.needs or "") for f in fs)


def test_a_server_error_at_logon_is_cannot_tell_not_down(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    appserver.replies["Logon"] = [(503, b"<html><body>Service Unavailable</body></html>")]
    env, facts = _fetch(kb, appserver, {"CAMPAIGN_TEST_PASSWORD": password})
    fs = _findings(kb, env, facts, ["web"])
    _never_down(fs)
    assert all("HTTP 503" in f.summary for f in fs)


# --- no time left ----------------------------------------------------------------------------------


def test_no_time_left_before_the_logon_is_cannot_tell(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    env, facts = _fetch(kb, appserver, {"CAMPAIGN_TEST_PASSWORD": password}, deadline=time.monotonic() - 1)
    assert facts.access.kind == "no_time"
    assert list(appserver.calls) == []  # nothing was sent
    fs = _findings(kb, env, facts, ["web", "wfserver"])
    _never_down(fs)
    assert all("no time left" in f.summary for f in fs)


def test_pages_the_deadline_left_no_time_for_are_cannot_tell(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    # Each call takes 0.3 s of the environment's 1.5 s (3 x 0.5 s): monitor.jsp, read last, gets no time.
    appserver.delay_s = 0.3
    env, facts = _fetch(kb, appserver, {"CAMPAIGN_TEST_PASSWORD": password}, timeout_s=0.5)
    assert facts.access.ok
    assert facts.monitor is not None and facts.monitor.kind == "no_time"
    monitor = next(f for f in _findings(kb, env, facts, ["web"]) if f.check == "api_monitor")
    assert monitor.status == "unknown" and "no time left" in monitor.summary
    assert "health_failed" not in monitor.conditions and "does not answer" not in monitor.summary


# --- redirects -------------------------------------------------------------------------------------


def test_ping_redirecting_is_cannot_tell_naming_where(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    appserver.replies["/nl/jsp/ping.jsp"] = [
        (302, b"", {"Location": "https://sso.example.com/login?next=/nl/jsp/ping.jsp&token=abc"})
    ]
    env, facts = _fetch(kb, appserver, {"CAMPAIGN_TEST_PASSWORD": password})
    ping = next(f for f in _findings(kb, env, facts, ["web"]) if f.check == "api_ping")
    assert ping.status == "unknown" and "health_failed" not in ping.conditions
    assert "redirects to https://sso.example.com/login" in ping.summary and "front" in ping.summary
    assert "token=abc" not in ping.model_dump_json()  # the query of a redirect is never shown
    assert list(appserver.calls).count("GET /nl/jsp/ping.jsp") == 1  # never followed


def test_soaprouter_redirecting_names_the_redirect(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    appserver.replies["Logon"] = [(302, b"moved", {"Location": "http://10.0.0.5:8080/nl/jsp/soaprouter.jsp"})]
    env, facts = _fetch(kb, appserver, {"CAMPAIGN_TEST_PASSWORD": password})
    assert facts.access.kind == "redirect"
    fs = _findings(kb, env, facts, ["web", "wfserver"])
    _never_down(fs)
    for f in fs:
        assert "redirects to http://10.0.0.5:8080/nl/jsp/soaprouter.jsp" in f.summary
        assert "well-formed" not in f.summary


# --- an expired session, however Campaign wraps it --------------------------------------------------

WRAPPED_EXPIRY = (
    b"<?xml version='1.0'?><SOAP-ENV:Envelope xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/'>"
    b"<SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode>"
    b"<faultstring>SOP-330011 Error while executing the method 'ExecuteQuery' of service 'xtk:queryDef'."
    b"</faultstring><detail>XSV-350008 Session has expired or is invalid. Please reconnect.</detail>"
    b"</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"
)


@pytest.mark.parametrize(
    "reply",
    [
        (500, WRAPPED_EXPIRY),
        (200, WRAPPED_EXPIRY),
        (500, b"<html><body><p>XSV-350008 Session has expired or is invalid.</p></body></html>"),
        (200, b"XSV-350008 Session has expired or is invalid. Please reconnect."),
    ],
    ids=["sop-wrapped-500", "sop-wrapped-200", "html-500", "bare-200"],
)
def test_an_expired_session_anywhere_in_the_reply_is_retried(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str, reply: tuple[int, bytes]
) -> None:
    appserver.replies["ExecuteQuery"] = [reply]
    env = environment(appserver.url)
    assert env.campaign_api is not None and kb.campaign_api is not None
    facts = EnvironmentApi(env, env.campaign_api, kb.campaign_api, {"CAMPAIGN_TEST_PASSWORD": password}).fetch(
        frozenset({WORKFLOWS}), time.monotonic() + 30
    )
    assert facts.workflows is not None and facts.workflows.ok
    calls = list(appserver.calls)
    assert calls.count("POST xtk:session#Logon") == 2 and calls.count("POST xtk:queryDef#ExecuteQuery") >= 2


def test_parse_finds_xsv_350008_in_the_detail() -> None:
    with pytest.raises(soap.SessionExpired) as e:
        soap.parse(WRAPPED_EXPIRY, "ExecuteQuery")
    assert e.value.code == "XSV-350008" and "SOP-330011" in str(e.value)


# --- a configured session token the server refuses -------------------------------------------------


def test_a_refused_session_token_is_logon_refused_naming_the_variable(
    kb: KnowledgeBase, appserver: SimulatedAppServer
) -> None:
    env, facts = _fetch(kb, appserver, {"CAMPAIGN_TEST_TOKEN": "___not-a-session-it-knows"}, token=True)
    assert facts.access.kind == "refused" and facts.access.code == "XSV-350008"
    assert "the session token in CAMPAIGN_TEST_TOKEN was refused" in facts.access.message
    # Refused once (and tried once more after re-reading the variable), then nothing else is sent.
    assert list(appserver.calls).count("GET /nl/jsp/ping.jsp") == 2
    assert not [c for c in appserver.calls if "ExecuteQuery" in c]
    fs = _findings(kb, env, facts, ["wfserver", "mta", "web"])
    _never_down(fs)
    for f in fs:
        assert "logon refused: the session token in CAMPAIGN_TEST_TOKEN was refused" in f.summary
        assert "read access" not in (f.needs or "") and "CAMPAIGN_TEST_TOKEN" in (f.needs or "")
        assert "___not-a-session-it-knows" not in f.model_dump_json()


def test_an_unusable_session_token_keeps_its_words(kb: KnowledgeBase, appserver: SimulatedAppServer) -> None:
    env, facts = _fetch(kb, appserver, {"CAMPAIGN_TEST_TOKEN": "bad token; x"}, token=True)
    assert facts.access.kind == "error"
    fs = _findings(kb, env, facts, ["wfserver"])
    assert "the session token in CAMPAIGN_TEST_TOKEN cannot be used" in fs[0].summary
    assert "[REDACTED]" not in fs[0].summary  # nothing in the wording looks like a secret to redact
    assert list(appserver.calls) == []


# --- the request envelope --------------------------------------------------------------------------


def _declared_and_used(body: bytes) -> tuple[set[str], set[str]]:
    declared: set[str] = set()
    used: set[str] = set()
    for event, item in ET.iterparse(io.BytesIO(body), events=("start-ns", "start")):
        if event == "start-ns":
            declared.add(item[0])
        else:
            value = item.get("{http://www.w3.org/2001/XMLSchema-instance}type", "")
            if ":" in value:
                used.add(value.split(":", 1)[0])
    return declared, used


def test_the_envelope_declares_every_prefix_its_types_use(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    _fetch(kb, appserver, {"CAMPAIGN_TEST_PASSWORD": password})
    soap_bodies = [(path, body) for method, path, _h, body in appserver.requests if method == "POST"]
    assert len(soap_bodies) >= 4  # Logon, queries, Logoff
    for _path, body in soap_bodies:
        declared, used = _declared_and_used(body)
        assert "xsd" in used and used <= declared, f"undeclared: {used - declared}"
        root = DET.fromstring(body)
        assert root.tag == f"{ENV_NS}Envelope"
    logon = DET.fromstring(soap_bodies[0][1])
    assert _declared_and_used(soap_bodies[0][1])[1] == {"xsd", "ns"}
    call = logon.find(f"{ENV_NS}Body/{{urn:xtk:session}}Logon")
    assert call is not None
    params = {c.tag: c for c in call}
    assert list(params) == ["sessiontoken", "login", "password", "parameters"]
    parameters = params["parameters"]
    assert len(parameters) == 0 and not (parameters.text or "").strip()  # empty, as the SDK writes it
    assert parameters.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "ns:Element"
    assert b'xmlns:xsd="http://www.w3.org/2001/XMLSchema"' in soap_bodies[0][1]
    assert b'xmlns:ns="http://xml.apache.org/xml-soap"' in soap_bodies[0][1]
    assert b"<m:Logon " in soap_bodies[0][1]


def test_a_request_with_an_undeclared_type_prefix_is_refused_by_the_simulator(
    appserver: SimulatedAppServer,
) -> None:
    # The simulator is as strict as a real server's parser: the bot's envelopes pass only because they
    # declare xsd: and ns: (ElementTree alone drops them: they appear only in attribute values).
    body = (
        b"<SOAP-ENV:Envelope xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/' "
        b"xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'><SOAP-ENV:Body>"
        b"<m:Logon xmlns:m='urn:xtk:session'><sessiontoken xsi:type='xsd:string'/></m:Logon>"
        b"</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )
    status, _ctype, out, *_ = appserver.handle(
        "POST", "/nl/jsp/soaprouter.jsp", {"soapaction": "xtk:session#Logon"}, body
    )
    assert status == 500 and b"undeclared namespace prefix" in out and b"xsd" in out


def test_a_configured_token_over_untrusted_tls_names_tls_for_every_check(
    kb: KnowledgeBase, tls_server: SimulatedAppServer
) -> None:
    env, facts = _fetch(kb, tls_server, {"CAMPAIGN_TEST_TOKEN": "___some-token"}, token=True)
    assert facts.access.kind == "tls" and facts.access.mode == "token"
    fs = _findings(kb, env, facts, ["web", "wfserver", "mta"])
    _never_down(fs)
    assert all("TLS" in f.summary and "tls_verify" in (f.needs or "") for f in fs)


def test_a_configured_token_answered_http_403_is_refused(kb: KnowledgeBase, appserver: SimulatedAppServer) -> None:
    appserver.replies["ExecuteQuery"] = [(403, FORBIDDEN_HTML)]
    env = environment(appserver.url, token=True)
    assert env.campaign_api is not None and kb.campaign_api is not None
    api = EnvironmentApi(env, env.campaign_api, kb.campaign_api, {"CAMPAIGN_TEST_TOKEN": "___tok"})
    facts = api.fetch(frozenset({WORKFLOWS}), time.monotonic() + 30)
    assert facts.access.kind == "refused"
    assert "the session token in CAMPAIGN_TEST_TOKEN was refused" in facts.access.message
    assert "HTTP 403" in facts.access.message

"""The runner's Campaign API hook: beside the hosts (proved by overlap, not wall time), within the
run's deadline, left out of runs limited to some hosts, and "cannot tell" when not wired."""

from __future__ import annotations

import threading

from bot.campaign_api.facts import ApiFacts
from bot.campaign_api.session import campaign_api_factory
from bot.checks.base import API_HOST
from bot.diagnosis import Diagnoser
from bot.inventory import Environment, Host
from bot.kb import KnowledgeBase
from bot.matcher import Matcher
from bot.render import text as text_render
from bot.runner import Runner
from bot.simulator.appserver import SimulatedAppServer
from bot.transports.base import CommandResult, Script, Transport
from bot.transports.fake import FakeTransport
from tests.campaign_api.conftest import environment


def _env(url: str, hosts: int = 2, timeout_s: float = 5) -> Environment:
    base = environment(url, timeout_s=timeout_s)
    return base.model_copy(
        update={
            "hosts": tuple(Host(name=f"app{i}", transport="local", command_timeout_s=2) for i in range(1, hosts + 1))
        }
    )


def _silent(script: Script) -> CommandResult:
    return CommandResult(0, b"", b"", 1)


def test_api_is_read_beside_the_hosts(kb: KnowledgeBase, appserver: SimulatedAppServer, password: str) -> None:
    # Each side waits for the other to have started: only a concurrent run gets past both waits.
    host_started, api_started = threading.Event(), threading.Event()
    original = appserver.handle

    def handle(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
        api_started.set()
        host_started.wait(5)
        return original(method, path, headers, body)

    appserver.handle = handle  # type: ignore[method-assign]

    def host(script: Script) -> CommandResult:
        host_started.set()
        assert api_started.wait(5), "the API was not read while the host ran"
        return CommandResult(0, b"", b"", 1)

    assert kb.campaign_api is not None
    runner = Runner(
        lambda h: FakeTransport(host),
        api_for=campaign_api_factory(kb.campaign_api, {"CAMPAIGN_TEST_PASSWORD": password}),
    )
    res = runner.run(_env(appserver.url, hosts=1), [kb.get("wfserver")])
    api = [f for f in res.findings if f.host == API_HOST]
    assert any(f.check == "api_workflows" and f.status == "fail" and "'cleanup'" in f.summary for f in api)
    assert res.findings[-1].host == API_HOST  # after the hosts
    assert any(c.startswith(f"{API_HOST}: POST /nl/jsp/soaprouter.jsp xtk:session#Logon") for c in res.commands)


def test_slow_api_ends_within_the_run(kb: KnowledgeBase, appserver: SimulatedAppServer, password: str) -> None:
    appserver.delay_s = 3
    assert kb.campaign_api is not None
    runner = Runner(
        lambda h: FakeTransport(_silent),
        api_for=campaign_api_factory(kb.campaign_api, {"CAMPAIGN_TEST_PASSWORD": password}),
        run_deadline_factor=1.0,
    )
    res = runner.run(_env(appserver.url, timeout_s=0.5), [kb.get("web"), kb.get("wfserver")])
    api = {(f.check, f.module): f for f in res.findings if f.host == API_HOST}
    assert api[("api_ping", "web")].status == "fail"  # the application server did not answer
    assert "did not answer" in api[("api_ping", "web")].summary
    assert api[("api_workflows", "wfserver")].status == "unknown"


def test_runs_limited_to_some_hosts_leave_the_api_out(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    assert kb.campaign_api is not None
    runner = Runner(
        lambda h: FakeTransport(_silent),
        api_for=campaign_api_factory(kb.campaign_api, {"CAMPAIGN_TEST_PASSWORD": password}),
    )
    env = _env(appserver.url)
    res = runner.run(env, [kb.get("wfserver")], hosts=[env.hosts[0]])
    assert not [f for f in res.findings if f.host == API_HOST]
    assert list(appserver.calls) == []


def test_not_wired_says_cannot_tell_and_why(kb: KnowledgeBase, appserver: SimulatedAppServer) -> None:
    transports: dict[str, Transport] = {}
    res = Runner(lambda h: transports.setdefault(h.name, FakeTransport(_silent))).run(
        _env(appserver.url), [kb.get("mta")]
    )
    api = [f for f in res.findings if f.host == API_HOST]
    assert [f.status for f in api] == ["unknown"]
    assert api[0].needs and "api_for" in api[0].needs
    assert list(appserver.calls) == []


class _StuckSession:
    """A Campaign API session that never comes back within the run (it ignores its deadline)."""

    def __init__(self, release: threading.Event) -> None:
        self.release = release

    def fetch(self, wanted: frozenset[str], deadline: float) -> ApiFacts:
        self.release.wait(30)
        raise RuntimeError("released")


def test_an_api_past_the_runs_deadline_is_not_counted_as_a_host(kb: KnowledgeBase, matcher: Matcher) -> None:
    release = threading.Event()
    try:
        runner = Runner(
            lambda h: FakeTransport(_silent), api_for=lambda env: _StuckSession(release), run_deadline_factor=1.0
        )
        env = _env("http://127.0.0.1:9").model_copy(
            update={
                "hosts": tuple(
                    Host(name=f"app{i}", transport="local", command_timeout_s=0.5, connect_timeout_s=0.5)
                    for i in (1, 2)
                )
            }
        )
        d = Diagnoser(kb, matcher, runner).diagnose("is web ok", env)
    finally:
        release.set()
    errors = [f for f in d.findings if f.status == "error"]
    assert sorted(f.host for f in errors) == sorted(["app1", "app2", API_HOST])  # the silent hosts fail too
    assert "Could not check 2 host(s): app1: " in d.verdict  # two hosts; the Campaign API is not one
    assert "Could not read the Campaign API: no answer within the run's deadline." in d.verdict
    rendered = text_render.diagnosis(d, kb)
    assert "ERR  the Campaign API campaign_api:" in rendered and "ERR  host campaign_api" not in rendered

"""The API checks' findings, from facts read from the simulated application server."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from bot.campaign_api.facts import ALL_FACTS, ApiFacts
from bot.campaign_api.session import EnvironmentApi
from bot.checks.base import API_HOST, ApiCheck
from bot.checks.registry import default_registry
from bot.inventory import Environment, Host
from bot.kb import KnowledgeBase
from bot.models import Finding
from bot.simulator.appserver import SimulatedAppServer, SimWorkflow
from tests.campaign_api.conftest import environment


class SimulatedAppServerStub:
    """Only the URL of a server that has stopped."""

    def __init__(self, url: str) -> None:
        self.url = url


def _facts(
    kb: KnowledgeBase, srv: SimulatedAppServer | SimulatedAppServerStub, password: str
) -> tuple[Environment, ApiFacts]:
    env = environment(srv.url)
    assert env.campaign_api is not None and kb.campaign_api is not None
    facts = EnvironmentApi(env, env.campaign_api, kb.campaign_api, {"CAMPAIGN_TEST_PASSWORD": password}).fetch(
        ALL_FACTS, time.monotonic() + 30
    )
    return env, facts


def _run(kb: KnowledgeBase, env: Environment, facts: ApiFacts | None, modules: Sequence[str]) -> list[Finding]:
    mods = [kb.get(m) for m in modules]
    out: list[Finding] = []
    for check in default_registry().api_checks:
        assert isinstance(check, ApiCheck)
        targets = check.targets(mods)
        if targets:
            out.extend(check.evaluate_api(env, targets, facts))
    return out


def test_every_api_check_is_listed_by_a_module(kb: KnowledgeBase) -> None:
    listed = {c for m in kb.modules for c in m.checks}
    assert {c.name for c in default_registry().api_checks} <= listed


def test_failed_technical_workflow_and_paused_workflow(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    env, facts = _facts(kb, appserver, password)
    fs = _run(kb, env, facts, ["wfserver"])
    failed = [f for f in fs if f.check == "api_workflows" and f.status == "fail"]
    assert failed[0].summary.startswith("technical workflow 'cleanup' (Database cleanup) is in error")
    assert "workflow_failed" in failed[0].conditions
    assert all(f.host == API_HOST and f.module == "wfserver" and f.instance == "prod" for f in fs)
    paused = [f for f in fs if f.status == "warn" and f.check == "api_workflows"]
    assert any("WKF2042" in f.summary and "paused" in f.summary for f in paused)
    ok = {f.summary for f in fs if f.status == "ok" and f.check == "api_workflows"}
    assert any("'operationMgt'" in s for s in ok)
    # one alert per distinct problem in the watch: each technical workflow, each group of the others
    assert failed[0].target == "workflow cleanup"
    assert [f.target for f in paused] == ["other workflows paused"]
    wf_targets = [f.target for f in fs if f.check == "api_workflows" and f.target]
    assert len(wf_targets) == len(set(wf_targets))
    # cleanup's journal is 20 h old: within its daily period (+ the bot's margin)
    runs = [f for f in fs if f.check == "api_workflow_runs"]
    assert [f.status for f in runs] == ["ok"] and "cleanup" in runs[0].summary


def test_tracking_workflow_late_is_a_heuristic_warning(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    wf = next(w for w in appserver.state.workflows if w.internal_name == "tracking")
    wf.journal_ago_s = 5 * 3600
    env, facts = _facts(kb, appserver, password)
    fs = [f for f in _run(kb, env, facts, ["tracking"]) if f.check == "api_workflow_runs"]
    assert len(fs) == 1 and fs[0].status == "warn" and "workflow_late" in fs[0].conditions
    assert "'tracking' (Tracking) last ran 5.0 h ago" in fs[0].summary
    assert any("heuristic" in e for e in fs[0].evidence)


def test_technical_workflow_stopped_or_missing(kb: KnowledgeBase, appserver: SimulatedAppServer, password: str) -> None:
    appserver.state.workflows = [w for w in appserver.state.workflows if w.internal_name != "deliverabilityUpdate"] + [
        SimWorkflow(99, "WKFX", "x", 11)
    ]
    wf = next(w for w in appserver.state.workflows if w.internal_name == "tracking")
    wf.state = 20
    env, facts = _facts(kb, appserver, password)
    tracking = [f for f in _run(kb, env, facts, ["tracking"]) if f.check == "api_workflows"]
    assert tracking[0].status == "warn" and "is stopped" in tracking[0].summary
    inmail = [f for f in _run(kb, env, facts, ["inMail"]) if f.check == "api_workflows"]
    assert inmail[0].status == "unknown" and "deliverabilityUpdate" in inmail[0].summary and inmail[0].needs


def test_stuck_delivery_is_named_scheduled_and_proofs_are_not(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    env, facts = _facts(kb, appserver, password)
    fs = [f for f in _run(kb, env, facts, ["mta"]) if f.check == "api_deliveries"]
    stuck = [f for f in fs if f.status == "fail"]
    assert len(stuck) == 1
    assert "'Spring sale newsletter' (DM7207): Start pending" in stuck[0].summary
    assert "delivery_stuck" in stuck[0].conditions
    text = " ".join([stuck[0].summary, *stuck[0].evidence])
    assert "DM7210" not in text  # scheduled five hours ahead: waiting is what it should do
    assert "DM7212" not in text  # a proof
    assert "DM7211" not in text  # in personalization for 10 min only
    assert any("ASSUMED" in e for e in stuck[0].evidence)


def test_long_preparation_is_a_warning(kb: KnowledgeBase, appserver: SimulatedAppServer, password: str) -> None:
    d = next(d for d in appserver.state.deliveries if d.internal_name == "DM7211")
    d.modified_ago_s, d.contact_in_s = 2 * 3600, -2 * 3600
    appserver.state.deliveries = [x for x in appserver.state.deliveries if x.internal_name != "DM7207"]
    env, facts = _facts(kb, appserver, password)
    fs = [f for f in _run(kb, env, facts, ["mta"]) if f.check == "api_deliveries"]
    assert [f.status for f in fs] == ["warn"]
    assert "Personalization in progress" in fs[0].summary and "maxPreparationJobsSec" in fs[0].summary


def test_ping_ok_and_monitor_lists_the_failed_workflow(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    env, facts = _facts(kb, appserver, password)
    fs = _run(kb, env, facts, ["web"])
    ping = next(f for f in fs if f.check == "api_ping")
    assert ping.status == "ok" and ping.evidence[0].startswith(f"{appserver.url}/nl/jsp/ping.jsp: OK")
    monitor = next(f for f in fs if f.check == "api_monitor")
    assert monitor.status == "warn" and "Workflow failed: Database cleanup (cleanup) (prod)" in monitor.summary


def test_ping_refusing_the_session_is_cannot_tell_never_a_failure(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    body = b"XSV-350013 The '10.0.0.9' IP address via which you are connecting is not allowed"
    appserver.replies["/nl/jsp/ping.jsp"] = [(403, body)]
    env, facts = _facts(kb, appserver, password)
    ping = next(f for f in _run(kb, env, facts, ["web"]) if f.check == "api_ping")
    assert ping.status == "unknown" and "XSV-350013" in ping.summary and ping.needs
    assert "health_failed" not in ping.conditions


def test_server_errors_on_the_pages_are_real_failures(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    appserver.replies["/nl/jsp/ping.jsp"] = [(200, b"Error\nThe database is not reachable")]
    appserver.replies["/nl/jsp/monitor.jsp"] = [(503, b"<html>Service unavailable</html>")]
    env, facts = _facts(kb, appserver, password)
    fs = _run(kb, env, facts, ["web"])
    assert {f.check: f.status for f in fs} == {"api_ping": "fail", "api_monitor": "fail"}
    assert all("health_failed" in f.conditions for f in fs)


def test_application_server_down_fails_pages_and_cannot_tell_the_rest(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    url = appserver.url
    appserver.stop()
    env, facts = _facts(kb, SimulatedAppServerStub(url), password)
    fs = _run(kb, env, facts, ["web", "wfserver", "mta"])
    by = {(f.check, f.module): f for f in fs}
    assert by[("api_ping", "web")].status == "fail" and "refused the connection" in by[("api_ping", "web")].summary
    assert by[("api_monitor", "web")].status == "fail"
    assert by[("api_workflows", "wfserver")].status == "unknown"
    assert by[("api_deliveries", "mta")].status == "unknown"


def test_without_campaign_api_everything_is_cannot_tell(kb: KnowledgeBase) -> None:
    env = Environment(name="prod", instances=("prod",), hosts=(Host(name="app1", transport="local"),))
    fs = _run(kb, env, None, ["wfserver", "tracking", "mta", "web", "inMail"])
    assert fs and all(f.status == "unknown" for f in fs)
    assert all(f.needs and "campaign_api in the inventory" in f.needs for f in fs)
    assert {f.check for f in fs} == {c.name for c in default_registry().api_checks}


def test_refused_logon_is_a_finding_naming_it(kb: KnowledgeBase, appserver: SimulatedAppServer) -> None:
    env, facts = _facts(kb, appserver, "not-the-password")
    fs = _run(kb, env, facts, ["wfserver", "web"])
    assert all(f.status == "unknown" for f in fs)
    assert all("logon refused" in f.summary for f in fs)
    assert all(f.needs and "CAMPAIGN_TEST_PASSWORD" in f.needs for f in fs)
    assert not any("not-the-password" in f.model_dump_json() for f in fs)


def test_missing_variable_names_it(kb: KnowledgeBase, appserver: SimulatedAppServer) -> None:
    env = environment(appserver.url)
    assert env.campaign_api is not None and kb.campaign_api is not None
    facts = EnvironmentApi(env, env.campaign_api, kb.campaign_api, {}).fetch(ALL_FACTS, time.monotonic() + 30)
    fs = _run(kb, env, facts, ["mta"])
    assert [f.status for f in fs] == ["unknown"]
    assert "CAMPAIGN_TEST_PASSWORD" in fs[0].summary and "CAMPAIGN_TEST_PASSWORD" in (fs[0].needs or "")
    assert list(appserver.calls) == []  # nothing sent without the secret


def test_wfserver_reports_every_technical_workflow_in_error_or_paused(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    for w in appserver.state.workflows:
        if w.internal_name == "tracking":
            w.failed, w.state = True, 13
        elif w.internal_name == "deliverabilityUpdate":
            w.state = 13  # paused by an operator
        elif w.internal_name == "cleanup":
            w.failed, w.state = False, 11
        elif w.internal_name == "WKF2042":
            w.state = 11
    env, facts = _facts(kb, appserver, password)
    wf = [f for f in _run(kb, env, facts, ["wfserver"]) if f.check == "api_workflows"]
    by_target = {f.target: f for f in wf}
    assert by_target["workflow tracking"].status == "fail" and "'tracking'" in by_target["workflow tracking"].summary
    assert any("also reported under tracking" in e for e in by_target["workflow tracking"].evidence)
    assert by_target["workflow deliverabilityUpdate"].status == "warn"
    assert "is paused" in by_target["workflow deliverabilityUpdate"].summary
    # technical workflows first, then the sentence about the others, which is now true
    assert [f.target for f in wf].index("workflow tracking") < len(wf) - 1
    assert wf[-1].status == "ok" and wf[-1].summary == "no workflow other than the technical ones is in error or paused"
    # each module keeps its own view
    tracking = [f for f in _run(kb, env, facts, ["tracking"]) if f.check == "api_workflows"]
    assert [f.status for f in tracking] == ["fail"]
    inmail = [f for f in _run(kb, env, facts, ["inMail"]) if f.check == "api_workflows"]
    assert [f.status for f in inmail] == ["warn"]


def _many(appserver: SimulatedAppServer, failed: int, paused: int) -> None:
    appserver.state.workflows += [
        SimWorkflow(5000 + i, f"WKF{5000 + i}", f"Import {i}", 13, True) for i in range(failed)
    ]
    appserver.state.workflows += [SimWorkflow(8000 + i, f"WKF{8000 + i}", f"Export {i}", 13) for i in range(paused)]


def test_hundreds_of_failed_workflows_never_hide_the_technical_ones(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    _many(appserver, failed=260, paused=40)
    next(w for w in appserver.state.workflows if w.internal_name == "tracking").state = 13  # paused, not failed
    env, facts = _facts(kb, appserver, password)
    wf = [f for f in _run(kb, env, facts, ["wfserver", "tracking"]) if f.check == "api_workflows"]
    by = {(f.module, f.target): f for f in wf}
    assert by[("wfserver", "workflow cleanup")].status == "fail"
    assert by[("tracking", "workflow tracking")].status == "warn"
    assert by[("wfserver", "workflow tracking")].status == "warn"
    assert all(
        by[("wfserver", f"workflow {t.name}")] for t in kb.campaign_api.technical_workflows if t.module == "wfserver"
    )  # type: ignore[union-attr]
    others = by[("wfserver", "other workflows in error")]
    assert others.status == "fail" and "at least 200 workflow(s) in error" in others.summary
    assert "more than 200 workflows are in error or paused" in others.summary
    paused = by[("wfserver", "other workflows paused")]
    assert paused.status == "unknown" and "cannot tell which other workflows are paused" in paused.summary


@pytest.mark.parametrize(
    ("failed", "paused", "failed_text", "paused_text"),
    [
        (150, 30, "150 workflow(s) in error: ", "30 workflow(s) paused: "),
        (150, 100, "150 workflow(s) in error: ", "at least 50 workflow(s) paused: "),
    ],
)
def test_the_other_workflows_are_counted_exactly_or_as_a_lower_bound(
    kb: KnowledgeBase,
    appserver: SimulatedAppServer,
    password: str,
    failed: int,
    paused: int,
    failed_text: str,
    paused_text: str,
) -> None:
    appserver.state.workflows = [w for w in appserver.state.workflows if w.internal_name != "WKF2042"]
    _many(appserver, failed, paused)
    env, facts = _facts(kb, appserver, password)
    wf = {f.target: f for f in _run(kb, env, facts, ["wfserver"]) if f.check == "api_workflows"}
    assert wf["other workflows in error"].summary.startswith(failed_text)
    assert f"and {failed - 3} more" in wf["other workflows in error"].summary
    assert wf["other workflows paused"].summary.startswith(paused_text)


# monitor.jsp as the SDK-shaped fake of the audit served it: summary items are inline text between tags.
MONITOR_PAGE = (
    b"<html><head><title>Server monitoring</title></head><body><h1>Server monitoring for the instance ffdamkt</h1>"
    b"<table><tr><td>Server</td><td>app1 (10.0.0.1)</td></tr><tr><td>Build</td><td>9219</td></tr></table>"
    b"<h2>Summary</h2><font color='red'>Workflow failed: Database cleanup (cleanup) (ffdamkt)</font><br>"
    b"<font color='red'>Workflow failed: Nightly CRM import (WKF3001) (ffdamkt)</font><br/>"
    b"<a href='x'>Processes list</a></body></html>"
)


def test_monitor_jsp_lines_are_not_glued_together(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    appserver.replies["/nl/jsp/monitor.jsp"] = [(200, MONITOR_PAGE)]
    env, facts = _facts(kb, appserver, password)
    monitor = next(f for f in _run(kb, env, facts, ["web"]) if f.check == "api_monitor")
    assert monitor.summary == "monitor.jsp lists 2 problem(s): Workflow failed: Database cleanup (cleanup) (ffdamkt)"
    assert "Workflow failed: Nightly CRM import (WKF3001) (ffdamkt)" in monitor.evidence
    assert not any("Summary" in e for e in monitor.evidence)


def test_an_oversized_ping_reply_is_not_worded_as_no_answer(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    appserver.replies["/nl/jsp/ping.jsp"] = [(200, b"OK\n" + b"x" * (5 * 1024 * 1024))]
    env, facts = _facts(kb, appserver, password)
    ping = next(f for f in _run(kb, env, facts, ["web"]) if f.check == "api_ping")
    # Something answered, but not ping.jsp's two lines: not "does not answer", and no reason to restart web.
    assert ping.status == "unknown" and "health_failed" not in ping.conditions
    assert "does not answer" not in ping.summary
    assert "answered, but not with the page" in ping.summary and "KiB" in ping.summary


def test_a_delivery_in_state_45_says_pending(kb: KnowledgeBase, appserver: SimulatedAppServer, password: str) -> None:
    d = next(d for d in appserver.state.deliveries if d.internal_name == "DM7207")
    d.state = 45
    env, facts = _facts(kb, appserver, password)
    stuck = [f for f in _run(kb, env, facts, ["mta"]) if f.check == "api_deliveries" and f.status == "fail"]
    assert len(stuck) == 1 and "stuck Pending" in stuck[0].summary
    assert "'Spring sale newsletter' (DM7207): Pending (ready to be delivered)" in stuck[0].summary

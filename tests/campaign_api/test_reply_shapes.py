"""Answers in shapes the simulator does not write by itself but a real server or its front may send
(through the simulated application server's canned replies, over real HTTP on loopback): what the
bot cannot read is "cannot tell", never a blind `ok`, and never a false `fail`."""

from __future__ import annotations

import time
from collections.abc import Sequence

from bot.campaign_api.facts import DELIVERIES, WORKFLOWS
from bot.campaign_api.session import EnvironmentApi
from bot.checks.base import ApiCheck
from bot.checks.registry import default_registry
from bot.kb import KnowledgeBase
from bot.models import Finding
from bot.simulator.appserver import SimulatedAppServer, _query_response
from tests.campaign_api.conftest import environment

ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def _findings(
    kb: KnowledgeBase, srv: SimulatedAppServer, password: str, wanted: frozenset[str], modules: Sequence[str]
) -> list[Finding]:
    env = environment(srv.url)
    assert env.campaign_api is not None and kb.campaign_api is not None
    facts = EnvironmentApi(env, env.campaign_api, kb.campaign_api, {"CAMPAIGN_TEST_PASSWORD": password}).fetch(
        wanted, time.monotonic() + 30
    )
    mods = [kb.get(m) for m in modules]
    out: list[Finding] = []
    for check in default_registry().api_checks:
        assert isinstance(check, ApiCheck)
        if check.targets(mods) and check.wants & wanted:
            out.extend(check.evaluate_api(env, check.targets(mods), facts))
    return out


def _technical_rows(kb: KnowledgeBase, attrs: str = "state='0' failed='0'") -> bytes:
    assert kb.campaign_api is not None
    rows = "".join(
        f"<workflow id='{1000 + i}' internalName='{t.name}' label='{t.label}' {attrs}/>"
        for i, t in enumerate(kb.campaign_api.technical_workflows)
    )
    return _query_response(f"<workflow-collection>{rows}</workflow-collection>")


def test_an_answer_that_is_not_the_collection_asked_for_is_cannot_tell_not_none_in_error(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    # The technical workflows' query, then the other workflows' one answered with another document.
    appserver.replies["ExecuteQuery"] = [
        (200, _technical_rows(kb)),
        (200, _query_response("<error code='SOP-330011'>query failed</error>")),
    ]
    fs = _findings(kb, appserver, password, frozenset({WORKFLOWS}), ["wfserver"])
    others = [f for f in fs if "other" in f.summary]
    assert others and all(f.status == "unknown" for f in others), [(f.status, f.summary) for f in others]
    assert any("<workflow-collection>" in f.summary for f in others)


def test_a_workflow_row_without_failed_is_never_read_as_not_in_error(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    appserver.replies["ExecuteQuery"] = [
        (200, _technical_rows(kb, "state='0'")),  # no @failed on the technical workflows
        # selected by `@failed = 1 OR @state = 13`, not paused, no @failed: it was selected as in error
        (
            200,
            _query_response(
                "<workflow-collection><workflow id='7' internalName='userWf' label='U' state='0'/>"
                "</workflow-collection>"
            ),
        ),
    ]
    fs = _findings(kb, appserver, password, frozenset({WORKFLOWS}), ["wfserver"])
    cleanup = [f for f in fs if f.target == "workflow cleanup"]
    assert [f.status for f in cleanup] == ["unknown"], [(f.status, f.summary) for f in cleanup]
    assert "@failed" in cleanup[0].summary
    assert not any(f.status == "ok" and "technical workflow" in f.summary for f in fs)
    failed = [f for f in fs if f.status == "fail"]
    assert len(failed) == 1 and "userWf" in failed[0].summary
    assert not any(f.status == "ok" and "no workflow other" in f.summary for f in fs)


def test_a_row_with_readable_attributes_in_any_order_and_spacing_is_read(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    appserver.replies["ExecuteQuery"] = [
        (200, _technical_rows(kb, "failed=' 0 ' state=' 0 '")),
        (
            200,
            _query_response(
                "\n <workflow-collection>\n  <workflow failed='true' label='U' state='0' "
                "internalName='userWf' id='7'/>\n </workflow-collection>\n"
            ),
        ),
    ]
    fs = _findings(kb, appserver, password, frozenset({WORKFLOWS}), ["wfserver"])
    cleanup = [f for f in fs if f.target == "workflow cleanup"]
    assert [f.status for f in cleanup] == ["ok"]
    assert [f.status for f in fs if "userWf" in f.summary] == ["fail"]


def test_a_delivery_waiting_since_an_unknown_date_is_cannot_tell_not_none_stuck(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    appserver.replies["ExecuteQuery"] = [
        (
            200,
            _query_response(
                "<delivery-collection><delivery id='9' label='Promo' internalName='DM9' state='45'/>"
                "</delivery-collection>"
            ),
        ),
    ]
    fs = _findings(kb, appserver, password, frozenset({DELIVERIES}), ["mta"])
    assert [f.status for f in fs if f.check == "api_deliveries"] == ["unknown"], [(f.status, f.summary) for f in fs]
    assert "DM9" in " ".join(fs[0].evidence)


def test_a_fault_with_qualified_children_keeps_its_message_and_code(
    kb: KnowledgeBase, appserver: SimulatedAppServer, password: str
) -> None:
    fault = (
        f"<?xml version='1.0'?><soapenv:Envelope xmlns:soapenv='{ENV}'><soapenv:Body><soapenv:Fault>"
        "<soapenv:faultcode>soapenv:Client</soapenv:faultcode>"
        f"<soapenv:faultstring>XSV-350001 Password incorrect for {password}</soapenv:faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    ).encode()
    appserver.replies["Logon"] = [(500, fault)]
    fs = _findings(kb, appserver, password, frozenset({WORKFLOWS}), ["wfserver"])
    assert fs and all(f.status == "unknown" for f in fs)
    text = " ".join(f.summary + " ".join(f.evidence) + (f.needs or "") for f in fs)
    assert "logon refused" in text and "XSV-350001" in text
    assert password not in text
